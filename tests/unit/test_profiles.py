"""The profile service, on an in-memory repository."""

from __future__ import annotations

import pytest

from seatkeeper.core.cursors import decode_cursor
from seatkeeper.core.errors import InvalidInput, ProfileConflict, ProfileNotFound
from seatkeeper.profiles.records import ProfileView
from seatkeeper.profiles.service import ProfileService
from seatkeeper.saas.network_guard import NetworkPolicy

from .fakes import InMemoryProfiles

ACME = {
    "name": "Acme HR",
    "template": "scim2",
    "base_url": "https://acme.example.com/scim/v2",
    "subscription": {"licenses_purchased": 100, "cost_per_license": 12.5},
}


@pytest.fixture
def service() -> ProfileService:
    return ProfileService(InMemoryProfiles(), NetworkPolicy())


def test_create_keeps_the_authors_fields_and_the_complete_profile(service):
    record = service.create(ACME, created_by="user-1")
    assert record.id.startswith("prf_")
    assert record.own == ACME
    assert record.profile.users.path == "/Users"
    assert (record.created_by, record.version) == ("user-1", 1)
    assert service.get(record.id) == record


def test_names_are_unique_whatever_their_case(service):
    service.create(ACME, created_by=None)
    with pytest.raises(ProfileConflict):
        service.create({**ACME, "name": "acme hr"}, created_by=None)


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"base_url": "http://169.254.169.254/latest"}, ["body", "base_url"]),
        ({"base_url": "http://127.0.0.1:8080/scim"}, ["body", "base_url"]),
        ({"base_url": "file:///etc/passwd"}, ["body", "base_url"]),
        (
            {"template": "zoom", "base_url": None, "auth": {"token_url": "http://10.1.2.3/token"}},
            ["body", "auth", "token_url"],
        ),
    ],
)
def test_urls_the_network_guard_refuses_are_422_at_their_field(service, change, loc):
    own = {k: v for k, v in {**ACME, **change}.items() if v is not None}
    with pytest.raises(InvalidInput) as raised:
        service.create(own, created_by=None)
    assert raised.value.errors[0]["loc"] == loc


def test_patch_merges_into_the_authors_fields_and_rebuilds_from_the_template(service):
    record = service.create(ACME, created_by=None)
    changed = service.patch(
        record.id,
        {
            "template": None,
            "users": {"path": "/Users", "fields": {"id": "id"}, "pagination": {"type": "none"}},
            "auth": {"type": "bearer"},
            "subscription": {"licenses_purchased": 120},
        },
    )
    assert changed.version == 2
    assert changed.profile.template is None
    assert changed.profile.users.pagination.type == "none"
    assert changed.profile.reclaim is None  # it came from the template, which is gone
    assert changed.profile.subscription.licenses_purchased == 120
    assert changed.profile.subscription.cost_per_license == 12.5


def test_a_patch_that_breaks_the_profile_changes_nothing(service):
    record = service.create(ACME, created_by=None)
    with pytest.raises(InvalidInput):
        service.patch(record.id, {"subscription": {"licenses_purchased": -3}})
    assert service.get(record.id) == record


def test_unknown_ids_are_not_found(service):
    for call in (
        lambda: service.get("prf_nope"),
        lambda: service.patch("prf_nope", {}),
        lambda: service.delete("prf_nope"),
    ):
        with pytest.raises(ProfileNotFound):
            call()


def test_pages_walk_every_profile_once(service):
    ids = {service.create({**ACME, "name": f"App {i}"}, created_by=None).id for i in range(7)}
    seen, cursor = [], None
    while True:
        records, cursor = service.page(limit=3, cursor=cursor)
        seen += [r.id for r in records]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 7


@pytest.mark.parametrize("cursor", ["not-base64!", "eyJ4IjogMX0", "W10"])
def test_a_cursor_the_api_did_not_give_is_422(cursor):
    with pytest.raises(InvalidInput) as raised:
        decode_cursor(cursor)
    assert raised.value.errors[0]["loc"] == ["query", "cursor"]


def test_the_view_shows_the_complete_profile_with_its_id(service):
    record = service.create(ACME, created_by="u")
    view = ProfileView.of(record).model_dump(mode="json")
    assert view["id"] == record.id and view["users"]["records_path"] == "Resources"
    assert view["subscription"]["cost_per_license"] == 12.5


@pytest.mark.parametrize(
    "patch",
    [
        {"base_url": "https://elsewhere.example.net/scim/v2"},
        {"base_url": "https://acme.example.com:8443/scim/v2"},
        {"base_url": "http://acme.example.com/scim/v2"},
        {"auth": {"type": "api_key", "name": "X-Token"}},
        {"template": "okta"},  # same host, but the template sends the key as an SSWS header
    ],
)
def test_the_origins_and_auth_of_a_profile_with_a_credential_do_not_move(patch):
    # Given a profile that holds a credential
    service = ProfileService(InMemoryProfiles(), NetworkPolicy(), holds_credential=lambda _id: True)
    record = service.create(ACME, created_by=None)
    # When a change would send that credential to another origin or in another way
    # Then it is a conflict that says what to do
    with pytest.raises(ProfileConflict, match="disconnect first"):
        service.patch(record.id, patch)
    assert service.get(record.id).version == 1


def test_what_keeps_the_credential_where_it_was_may_change_while_connected():
    service = ProfileService(InMemoryProfiles(), NetworkPolicy(), holds_credential=lambda _id: True)
    record = service.create(ACME, created_by=None)
    changed = service.patch(
        record.id, {"base_url": "https://ACME.example.com:443/scim/v3", "policy": {"inactivity_days": 7}}
    )
    assert changed.profile.policy.inactivity_days == 7


def test_a_profile_without_a_credential_may_point_anywhere(service):
    record = service.create(ACME, created_by=None)
    assert service.patch(record.id, {"base_url": "https://elsewhere.example.net/api"}).version == 2


def test_an_identity_provider_that_profiles_read_from_keeps_being_one(service):
    # Given an Okta profile that another profile takes its sign-ins from
    okta = service.create(
        {"name": "Okta", "template": "okta_sso", "base_url": "https://acme.okta.com"}, created_by=None
    )
    app = {**ACME, "activity": {"source": "sso", "idp_profile_id": okta.id, "app_id": "0oa1"}}
    service.create(app, created_by=None)
    # When a patch would make it another identity provider's profile, or none at all
    becomes_an_app = {"template": "scim2", "identity_provider": None, "subscription": {"licenses_purchased": 1}}
    for patch in ({"template": "entra_sso"}, becomes_an_app):
        with pytest.raises(ProfileConflict, match="identity provider of 1 profile"):
            service.patch(okta.id, patch)
    # Then it is unchanged, and changes that keep it the same identity provider go through
    assert service.get(okta.id).profile.identity_provider == okta.profile.identity_provider
    assert service.patch(okta.id, {"name": "Okta (prod)"}).profile.name == "Okta (prod)"
