"""How a profile is built from a template and changed with a merge patch."""

from __future__ import annotations

import pytest

from seatkeeper.core.errors import InvalidInput
from seatkeeper.profiles.catalog import build_profile, merge, merge_patch

SCIM = {
    "name": "Acme",
    "template": "scim2",
    "base_url": "https://acme.example.com/scim/v2",
    "subscription": {"licenses_purchased": 100, "cost_per_license": 12.5},
}


def test_the_template_fills_what_the_profile_leaves_out():
    profile = build_profile(SCIM)
    assert profile.users.path == "/Users"
    assert profile.users.pagination.type == "offset"
    assert profile.users.pagination.offset_param == "startIndex"
    assert profile.reclaim is not None and profile.reclaim.method == "PATCH"


def test_the_profiles_own_fields_win_and_nested_objects_merge_key_by_key():
    own = {**SCIM, "users": {"pagination": {"page_size": 25}, "fields": {"last_activity": '"urn:acme:lastLogin"'}}}
    profile = build_profile(own)
    assert profile.users.pagination.page_size == 25
    assert profile.users.pagination.offset_param == "startIndex"  # kept from the template
    assert profile.users.fields.last_activity == '"urn:acme:lastLogin"'
    assert profile.users.fields.id == "id"


def test_a_pagination_of_another_type_replaces_the_templates_whole():
    own = {**SCIM, "users": {"pagination": {"type": "cursor", "cursor_path": "next"}}}
    profile = build_profile(own)
    assert profile.users.pagination.type == "cursor"
    assert profile.users.pagination.cursor_path == "next"


def test_merge_keeps_base_keys_and_prefers_own_scalars():
    assert merge({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 9}}) == {"a": 1, "b": {"c": 9, "d": 3}}
    assert merge({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}


def test_merge_patch_follows_rfc_7396():
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    assert merge_patch(target, {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}
    assert merge_patch({"a": [1]}, {"a": {"b": 1}}) == {"a": {"b": 1}}
    assert merge_patch(target, {}) == target


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"template": "no-such-template"}, ["body", "template"]),
        ({"subscription": {"licenses_purchased": -1}}, ["body", "subscription", "licenses_purchased"]),
        ({"users": {"pagination": {"type": "scroll"}}}, ["body", "users", "pagination"]),
        ({"auth": {"type": "kerberos"}}, ["body", "auth"]),
        ({"users": {"records_path": "Resources[?"}}, ["body", "users", "records_path"]),
        ({"users": {"path": "https://elsewhere.example.com/Users"}}, ["body", "users", "path"]),
        ({"subscription": {"licenses_purchased": 1, "currency": "dollars"}}, ["body", "subscription", "currency"]),
        ({"policy": {"grace_period": "one week"}}, ["body", "policy", "grace_period"]),
        ({"policy": {"max_reclaim_percent": 150}}, ["body", "policy", "max_reclaim_percent"]),
        ({"surprise": True}, ["body", "surprise"]),
    ],
)
def test_bad_input_names_the_failing_field(change, loc):
    with pytest.raises(InvalidInput) as raised:
        build_profile({**SCIM, **change})
    locs = [e["loc"][: len(loc)] for e in raised.value.errors]
    assert loc in locs, raised.value.errors


def test_a_profile_without_a_template_must_say_everything():
    with pytest.raises(InvalidInput) as raised:
        build_profile({"name": "Bare", "base_url": "https://x.example.com", "subscription": {"licenses_purchased": 1}})
    missing = {tuple(e["loc"]) for e in raised.value.errors}
    assert {("body", "auth"), ("body", "users")} <= missing
