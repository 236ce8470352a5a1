"""Request paths filled from what the app says about a user: each value exactly one path segment."""

from __future__ import annotations

import pytest

from seatkeeper.core.errors import SaaSRequestFailed
from seatkeeper.saas.templating import fill_path


@pytest.mark.parametrize(
    ("user_id", "path"),
    [
        ("u1", "/v1/users/u1"),
        ("a/b", "/v1/users/a%2Fb"),
        ("../admin", "/v1/users/..%2Fadmin"),
        ("?x=1", "/v1/users/%3Fx%3D1"),
        ("#top", "/v1/users/%23top"),
        ("50%", "/v1/users/50%25"),
        ("Zoë 東京", "/v1/users/Zo%C3%AB%20%E6%9D%B1%E4%BA%AC"),
        ("...", "/v1/users/..."),
        ("a..b", "/v1/users/a..b"),
    ],
)
def test_each_value_is_one_percent_encoded_segment(user_id, path):
    # Given a user id from the app; When it is filled into a path; Then it is one segment of it.
    assert fill_path("/v1/users/{id}", {"id": user_id}) == path


@pytest.mark.parametrize("user_id", [".", "..", "%2e", "%2e%2E", "%2E.", "%252e%252e", "", None])
def test_a_dot_segment_or_an_empty_value_is_refused(user_id):
    # Given an id that would make DELETE /v1/users/{id} into DELETE /v1/users/ or DELETE /v1/
    with pytest.raises(SaaSRequestFailed, match="cannot be a path segment"):
        fill_path("/v1/users/{id}", {"id": user_id})


def test_only_the_fields_the_path_names_are_checked_and_each_must_exist():
    # Given a user without an e-mail, a path that does not need one still fills
    assert fill_path("/v1/users/{id}/activity", {"id": "u1", "email": None}) == "/v1/users/u1/activity"
    # ... and a path naming no field of the user is refused, whatever the format syntax
    for template in ("/v1/users/{login}", "/v1/users/{id.__class__}", "/v1/users/{id[0]}", "/v1/users/{}"):
        with pytest.raises(SaaSRequestFailed, match="names no user field"):
            fill_path(template, {"id": "u1"})


def test_format_conversions_cannot_bypass_the_encoding():
    # {id!r} or {id:>10} would otherwise put quotes or spaces around an unencoded value
    assert fill_path("/v1/users/{id!r}", {"id": "a/b"}) == "/v1/users/a%2Fb"
    assert fill_path("/v1/users/{id:>10}", {"id": "a/b"}) == "/v1/users/a%2Fb"
