"""Built-in templates: each builds a valid profile and reads its vendor's recorded sample response."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from seatkeeper.core.errors import InvalidInput
from seatkeeper.profiles.catalog import build_profile, templates
from seatkeeper.profiles.model import OAuth2AuthorizationCodeAuth
from seatkeeper.profiles.service import check_template_blanks
from seatkeeper.saas.records import read_page, search
from tests.vendor_fakes import fill_need

SAMPLES = Path(__file__).parent / "samples"
SUBSCRIPTION = {"licenses_purchased": 10, "cost_per_license": 5}
BASE_URLS = {
    "scim2": "https://scim.example.com/scim/v2",
    "github_copilot": "https://api.github.com/orgs/acme",
    "okta": "https://acme.okta.com",
    "okta_sso": "https://acme.okta.com",
    "atlassian": "https://api.atlassian.com/admin",
    "zendesk": "https://acme.zendesk.com",
}


def profile_from(name: str):
    own = {"name": f"{name} test", "template": name, "subscription": SUBSCRIPTION}
    if name in BASE_URLS:
        own["base_url"] = BASE_URLS[name]
    return build_profile(own)


def users_in_sample(name: str):
    profile = profile_from(name)
    return profile, read_page(profile.users, json.loads((SAMPLES / f"{name}.json").read_text()))


def test_scim2_plus_at_least_twenty_four_vendor_templates():
    names = set(templates())
    assert "scim2" in names
    assert len(names - {"scim2"}) >= 24
    assert {p.stem for p in SAMPLES.glob("*.json")} <= names  # the others have a contract test's fake


@pytest.mark.parametrize("name", sorted(templates()))
def test_a_template_builds_a_complete_profile_when_its_needs_are_given(name):
    template = templates()[name]
    own = {"name": "x", "template": name, "subscription": SUBSCRIPTION}
    if "base_url" in template.needs:
        own["base_url"] = BASE_URLS.get(name, "https://tenant.example.com/api")
    profile = build_profile(own)
    assert profile.template == name
    assert profile.base_url.startswith("https://")
    assert all(link.startswith("https://") for link in [template.documentation, *template.see_also])
    # Every blank the template leaves for the customer's value (<org-id>) is at one of its needs, so the
    # dashboard's form asks for it; left unfilled it is refused there, and filled in the profile is whole.
    needs = [need for need in template.needs if need != "base_url"]
    if needs:
        with pytest.raises(InvalidInput) as refused:
            check_template_blanks(profile)
        assert {".".join(map(str, e["loc"][1:])) for e in refused.value.errors} == set(needs)
    built = profile.model_dump(mode="json")
    for need in needs:
        example = built
        for key in need.split("."):
            example = example[key]
        fill_need(own, need, re.sub(r"<[a-z0-9_-]+>", "x1", example))
    check_template_blanks(build_profile(own))


@pytest.mark.parametrize("name", sorted(templates()))
def test_a_template_says_what_it_can_do_and_why_not_the_rest(name):
    template = templates()[name]
    capabilities = template.capabilities
    assert capabilities.users and template.scopes
    # The facts about activity and reclaiming agree with what the profile part can do.
    assert capabilities.activity is (template.activity is not None)
    assert capabilities.reclaim is (template.reclaim is not None)
    if template.activity is None:
        assert "SSO template" in (template.activity_note or "")
    if template.reclaim is None:
        assert template.reclaim_note
    auth = template.profile["auth"]
    if auth["type"] == "oauth2_authorization_code":
        for scope in set(auth["scopes"]) - {"offline_access"}:
            assert any(scope in needed for needed in template.scopes), scope


def test_the_templates_that_lose_data_on_reclaim_are_marked():
    losing = {name for name, t in templates().items() if t.reclaim and t.reclaim.loses_data}
    assert {"box"} <= losing
    assert "google_workspace" not in losing and templates()["google_workspace"].reclaim is None
    assert "transfer" in (templates()["google_workspace"].reclaim_note or "").lower()


def test_capabilities_follow_the_profile_sections_a_template_fills_in():
    # Zoom moves a licensed user to Basic (a downgrade request) and reads each user's tier.
    assert templates()["zoom"].capabilities.downgrade and templates()["zoom"].capabilities.tiers
    okta = templates()["okta"]
    assert not okta.capabilities.downgrade and not okta.capabilities.tiers
    with_downgrade = okta.model_copy(
        update={"profile": {**okta.profile, "downgrade": {"method": "PATCH", "path": "/users/{id}"}}}
    )
    assert with_downgrade.capabilities.downgrade and not with_downgrade.capabilities.tiers


def test_scim2_sample_reads_primary_email_display_name_and_active_flag():
    _, users = users_in_sample("scim2")
    assert [u.id for u in users] == ["2819c223-7f76-453a-919d-413861904646", "c75ad752-64ae-4823-840d-ffa80929976c"]
    babs, jsmith = users
    assert (babs.email, babs.name, babs.active, babs.role) == ("bjensen@example.com", "Babs Jensen", True, "Tour Guide")
    assert babs.created_at == datetime(2010, 1, 23, 4, 56, 22, tzinfo=UTC)
    assert babs.last_activity is None  # SCIM has no standard activity attribute
    assert (jsmith.email, jsmith.name, jsmith.active) == ("jsmith@example.com", "jsmith", False)


def test_github_copilot_sample_reads_seat_activity_and_pending_cancellation():
    profile, users = users_in_sample("github_copilot")
    assert profile.users.pagination.type == "page"
    assert search(profile.users.pagination.total_path, json.loads((SAMPLES / "github_copilot.json").read_text())) == 2
    octocat, kitten = users
    assert octocat.id == "octocat" and octocat.active is True
    assert octocat.last_activity == datetime(2021, 10, 14, 6, 53, 32, tzinfo=UTC)
    assert kitten.active is False and kitten.last_activity is None


def test_zoom_sample_counts_only_licensed_users_as_holding_a_seat():
    profile, users = users_in_sample("zoom")
    assert isinstance(profile.auth, OAuth2AuthorizationCodeAuth)
    jill, bob = users
    assert (jill.name, jill.active, jill.last_activity) == (
        "Jill Chill",
        True,
        datetime(2019, 6, 1, 7, 58, 3, tzinfo=UTC),
    )
    assert (bob.name, bob.active, bob.last_activity) == ("Basic Bob", False, None)
    assert profile.reclaim is not None and profile.reclaim.body == {"type": 1}
    assert (jill.tier, bob.tier) == ("Licensed", "Basic")


def test_zoom_downgrades_a_licensed_user_to_basic_with_an_update_of_their_type():
    profile = build_profile(
        {
            "name": "zoom tiers",
            "template": "zoom",
            "subscription": {
                "licenses_purchased": 10,
                "cost_per_license": 15.99,
                "tiers": [{"name": "Licensed", "cost_per_license": 15.99}, {"name": "Basic", "cost_per_license": 0}],
            },
            "policy": {"stale_action": "downgrade", "downgrade_to": "Basic"},
        }
    )
    downgrade = profile.downgrade
    assert downgrade is not None
    assert (downgrade.method, downgrade.path, downgrade.body) == ("PATCH", "/users/{id}", {"type": 1})


def test_okta_sample_reads_status_and_last_login():
    profile, users = users_in_sample("okta")
    assert profile.auth.type == "api_key" and profile.auth.prefix == "SSWS "
    easy, isaac = users
    assert (easy.email, easy.name, easy.active) == ("easy-e@example.com", "Easy E", True)
    assert easy.last_activity == datetime(2013, 12, 12, 22, 14, 22, tzinfo=UTC)
    assert (isaac.active, isaac.last_activity, isaac.role) == (False, None, "Developer")


def test_google_workspace_sample_treats_1970_as_never_and_suspended_as_unlicensed():
    _, users = users_in_sample("google_workspace")
    liz, new = users
    assert (liz.email, liz.role, liz.active) == ("liz@example.com", "admin", True)
    assert liz.last_activity == datetime(2013, 2, 5, 10, 30, 3, tzinfo=UTC)
    assert (new.last_activity, new.active, new.role) == (None, False, "user")


def test_microsoft_graph_sample_reads_next_link_and_license_holders():
    profile, users = users_in_sample("microsoft_graph")
    body = json.loads((SAMPLES / "microsoft_graph.json").read_text())
    assert search(profile.users.pagination.next_url_path, body).startswith("https://graph.microsoft.com/v1.0/users?")
    adele, room = users
    assert adele.active is True and adele.last_activity == datetime(2021, 6, 17, 16, 40, 2, tzinfo=UTC)
    assert room.active is False and room.last_activity is None


def test_atlassian_sample_reads_last_active_date_and_billable_status():
    profile, users = users_in_sample("atlassian")
    body = json.loads((SAMPLES / "atlassian.json").read_text())
    assert search(profile.users.pagination.cursor_path, body) == "dGhlIG5leHQgY3Vyc29y"
    mia, former = users
    assert (mia.active, mia.last_activity) == (True, datetime(2023, 6, 1, tzinfo=UTC))
    assert former.active is False


def test_monday_pages_through_graphql_variables_keeping_their_json_types():
    from seatkeeper.saas.paging import with_page_values

    users = profile_from("monday").users
    body = with_page_values(users.body, {"page": 2, "limit": 50})
    assert body["variables"] == {"page": 2, "limit": 50}  # GraphQL's Int! refuses "2"
    assert body["query"] == users.body["query"]  # its braces are GraphQL's, not placeholders


def test_zendesk_repeats_role_to_list_agents_and_admins():
    assert profile_from("zendesk").users.params["role[]"] == ["agent", "admin"]
