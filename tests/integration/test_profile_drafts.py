"""Drafts from vendors' own API descriptions, proved by the preview against a mock served from the same document.

For each vendor, tests/vendor_specs/drafts/<vendor>.yaml is an extract of its published document (the header names
the repository, path and commit; cut by scripts/vendor_extract.py with the users' operations AND unrelated ones, so
that the finder has to choose). POST /profiles/draft drafts a profile from it; Prism (@stoplight/prism-cli) serves
the same extract, answering as the document says (records shaped by its schemas, 401 without its security scheme,
422 for a parameter it does not allow, 404 for a path it does not have); POST /profiles/preview reads the draft's
first page from it. What each test asserts of the draft is read in the document itself, quoted beside the assert.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.integration.test_vendor_mocks import prism

DRAFTS = Path(__file__).parents[1] / "vendor_specs" / "drafts"
# A static key or token for Prism, which checks that the scheme's header or parameter is there, not its value.
CREDENTIALS = {
    "api_key": {"api_key": "prism-key"},
    "bearer": {"token": "prism-token"},
    "oauth2_authorization_code": {"access_token": "token-got-out-of-band"},
}

# vendor: what the document says (operation ids and schemas quoted where the assert is made)
EXPECTED = {
    # okta/okta-management-openapi-spec dist/2026.06.3/management-minimal.yaml (info.version 2026.06.3):
    # listUsers "GET /api/v1/users" answers a bare array of User; the `after` parameter is "obtained through the
    # next link relation"; User has id, status (enum UserStatus, ACTIVE among them), lastLogin (date-time),
    # profile.email (format email); lifecycle/deactivate is the document's "Deactivate a user".
    "okta": {
        "users": "GET /api/v1/users",
        "removal": "POST /api/v1/users/{id}/lifecycle/deactivate",
        "records_path": "@",
        "pagination": "link_header",
        "fields": {"id": "id", "email": "profile.email", "last_activity": "lastLogin", "active": "status == 'ACTIVE'"},
        "auth": {"type": "api_key", "location": "header", "name": "Authorization", "prefix": "SSWS "},
    },
    # zoom/api openapi.v2.json (Swagger 2.0, info.version 2.0.0): GET /users answers UserList, whose `users` have
    # email, last_login_time (date-time) and whose page_count, page_number, page_size, total_records page it; the
    # security definition `global` is an apiKey in the query, access_token; PUT /users/{userId}/status takes
    # {"action": "activate"|"deactivate"}.
    "zoom": {
        "users": "GET /users",
        "removal": "PUT /users/{userId}/status",
        "records_path": "users",
        "pagination": "page",
        "fields": {"id": "id", "email": "email", "last_activity": "last_login_time"},
        "auth": {"type": "api_key", "location": "query", "name": "access_token"},
        "reclaim_body": {"action": "deactivate"},
        # The outcome against Prism 5.16: the document's user item is allOf [{properties: {id}}, User, {group_ids}],
        # and Prism's answer leaves out the first member's properties (id): the preview says so, naming the field.
        "mock_answer_lacks": "id",
    },
    # box/box-openapi openapi.json (info.version 2024.0): GET /users answers Users, its `entries` User--Full with
    # login ("The primary email address of this user", format email) and status (enum active, inactive, ...);
    # `marker` comes back as next_marker (with usemarker=true); DELETE /users/{user_id} deletes a user; the only
    # security scheme is OAuth2Security, authorization code.
    "box": {
        "users": "GET /users",
        "removal": "DELETE /users/{user_id}",
        "records_path": "entries",
        "pagination": "cursor",
        "cursor_path": "next_marker",
        "fields": {"id": "id", "email": "login", "active": "status == 'active'"},
        "auth": {"type": "oauth2_authorization_code"},
    },
    # Asana/openapi defs/asana_oas.yaml (info.version 1.0): GET /workspaces/{workspace_gid}/workspace_memberships
    # answers `data` (WorkspaceMembershipCompact: gid, user UserCompact) and next_page.offset, sent back as
    # `offset`; POST /workspaces/{workspace_gid}/removeUser takes {"data": {"user": ...}}; personalAccessToken
    # is http bearer.
    "asana": {
        "users": "GET /workspaces/{workspace_gid}/workspace_memberships",
        "removal": "POST /workspaces/{workspace_gid}/removeUser",
        "records_path": "data",
        "pagination": "cursor",
        "cursor_path": "next_page.offset",
        "fields": {"id": "user.gid", "name": "user.name"},
        "auth": {"type": "bearer"},
        "reclaim_body": {"data": {"user": "{id}"}},
    },
    # HubSpot/HubSpot-public-api-spec-collection PublicApiSpecs/Settings/User Provisioning/Rollouts/144927/v3/
    # userProvisioning.json (info.version v3): GET /settings/users/v3 answers
    # CollectionResponsePublicUserForwardPaging (`results` of PublicUser: id, email; paging.next.after, sent back
    # as `after`); DELETE /settings/v3/users/{userId} removes a user; the operations ask for oauth2.
    "hubspot": {
        "users": "GET /settings/users/v3",
        "removal": "DELETE /settings/v3/users/{userId}",
        "records_path": "results",
        "pagination": "cursor",
        "cursor_path": "paging.next.after",
        "fields": {"id": "id", "email": "email"},
        "auth": {"type": "oauth2_authorization_code"},
    },
    # miroapp/api-clients packages/generator/spec.json (info.version v2.0): GET /v2/orgs/{org_id}/members answers
    # OrganizationMembersSearchResponse (`data` of OrganizationMember: id, email, active, lastActivityAt; `cursor`,
    # sent back as `cursor`); the document has no operation that removes an organization's member.
    "miro": {
        "users": "GET /v2/orgs/{org_id}/members",
        "removal": None,
        "records_path": "data",
        "pagination": "cursor",
        "cursor_path": "cursor",
        "fields": {"id": "id", "email": "email", "active": "active", "last_activity": "lastActivityAt"},
        "auth": {"type": "oauth2_authorization_code"},
    },
    # npm @octokit/openapi 23.0.2 generated/api.github.com.json (info.version 23.0.2, GitHub's REST description with
    # Octokit's extensions): orgs/list-members "GET /orgs/{org}/members" answers an array of simple-user (login,
    # id integer, name and email nullable) with a Link header; orgs/remove-member "DELETE
    # /orgs/{org}/members/{username}"; GET /users lists every account on the site, and the document removes none of
    # them; the document declares no security scheme, and its answers are application/json only.
    "github": {
        "users": "GET /orgs/{org}/members",
        "removal": "DELETE /orgs/{org}/members/{username}",
        "records_path": "@",
        "pagination": "link_header",
        # The removal names the member by {username}, simple-user's login: the draft's id is the login, not the
        # numeric id (as the catalog's github_org template has it), so that the removal is sent to the member.
        "fields": {"id": "login", "email": "email", "name": "name"},
        "auth": {"type": "bearer"},
        "reclaim_path": "/orgs/your-org/members/{id}",
        # GitHub asks for application/vnd.github+json; Prism matches Accept literally against the document's
        # application/json, so the preview sends that.
        "headers": {"Accept": "application/json"},
    },
}


def header_of(vendor: str) -> dict:
    return yaml.safe_load((DRAFTS / f"{vendor}.yaml").read_text())["x-source"]


@pytest.mark.parametrize("vendor", sorted(EXPECTED))
def test_a_draft_from_the_vendor_s_document_previews_against_a_mock_of_it(api, vendor):
    integrator = api("sam_integrator")
    expected = EXPECTED[vendor]
    document = (DRAFTS / f"{vendor}.yaml").read_text()
    assert header_of(vendor)["commit"], "the extract names the commit it was cut at"

    # Given the vendor's document, with operations beside the users' ones
    # When an integrator asks for a draft, sending the document as YAML
    answer = integrator.post("/profiles/draft", data=document.encode(), headers={"Content-Type": "application/yaml"})
    assert answer.status_code == 200, answer.text
    draft = answer.json()
    profile = draft["profile"]

    # Then the draft chose the operations, records, paging, fields and auth the document describes
    assert draft["operations"].get("users") == expected["users"]
    assert draft["operations"].get("removal") == expected["removal"]
    users = profile["users"]
    assert users["records_path"] == expected["records_path"]
    assert users["pagination"]["type"] == expected["pagination"]
    if "cursor_path" in expected:
        assert users["pagination"]["cursor_path"] == expected["cursor_path"]
    for name, path in expected["fields"].items():
        assert users["fields"].get(name) == path, (name, users["fields"])
    assert expected["auth"].items() <= profile["auth"].items()
    if "reclaim_body" in expected:
        assert profile["reclaim"]["body"] == expected["reclaim_body"]
    if "reclaim_path" in expected:
        assert profile["reclaim"]["path"] == expected["reclaim_path"]
    # and each guess carries its confidence and why
    noted = {note["field"] for note in draft["draft_notes"]}
    assert {"users.path", "users.records_path", "auth", "base_url", "users.fields.id"} <= noted
    assert all(0 <= note["confidence"] <= 1 and note["why"] for note in draft["draft_notes"])

    # Given the placeholders the notes say to fill in (an organization's id in the path) filled in, as an author would
    for note in draft["draft_notes"]:
        if note["field"] == "users.path" and note["confidence"] < 0.5 and note["guess"].startswith("your-"):
            users["path"] = users["path"].replace(note["guess"], "1200000000000001")
            if "reclaim" in profile:
                profile["reclaim"]["path"] = profile["reclaim"]["path"].replace(note["guess"], "1200000000000001")
    with prism(DRAFTS / f"{vendor}.yaml") as url:
        # When the draft is previewed against Prism serving the same document (Prism serves the document's paths at
        # its root, without the server URL's own path)
        profile["base_url"] = url
        if "headers" in expected:
            profile["headers"] = {**profile.get("headers", {}), **expected["headers"]}
        found = integrator.post(
            "/profiles/preview",
            json={"profile": profile, "credential": CREDENTIALS[profile["auth"]["type"]], "max_pages": 1},
        )
        assert found.status_code == 200, found.text
        preview = found.json()

    if lacks := expected.get("mock_answer_lacks"):
        # Then the preview names the field whose path the mock's records do not hold, and what they hold instead
        assert preview["requests"][0]["status"] == 200, preview["requests"]
        assert f"record has no id at {lacks!r}" in preview["error"], preview["error"]
        assert preview["fields"]["users.fields.id"]["matched"] == 0
        assert "email" in preview["fields"]["users.fields.id"]["keys_seen"]
        assert lacks not in preview["fields"]["users.fields.id"]["keys_seen"]
        return
    # Then the mock accepted the request as the document allows it and its answer read into users
    assert preview["error"] is None, preview
    assert preview["requests"][0]["status"] == 200, preview["requests"]
    assert preview["users"], preview
    # and every field the draft mapped found its value in the records the document describes
    for name, field in preview["fields"].items():
        assert field["matched"] == field["of"] > 0, (name, field)
    if expected["removal"]:
        assert preview["removal"]["method"] == expected["removal"].split(" ")[0]
    if "reclaim_path" in expected:
        # and the removal, rendered for the first user, is addressed to that user's id as the draft maps it
        first = preview["users"][0]["id"]
        assert preview["removal"]["user_id"] == first
        addressed = expected["reclaim_path"].replace("your-org", "1200000000000001").replace("{id}", first)
        assert preview["removal"]["url"] == url + addressed, preview["removal"]


def test_a_document_too_large_for_lambda_is_a_413_that_points_at_the_cli(api):
    integrator = api("sam_integrator")
    # Given a document of more than 5 MB (Lambda takes 6 MB per invocation, the whole event included)
    big = "openapi: 3.0.0\npaths: {}\nx-padding: '" + "a" * (5 * 1024 * 1024) + "'\n"
    # When it is sent for a draft
    answer = integrator.post("/profiles/draft", data=big.encode(), headers={"Content-Type": "application/yaml"})
    # Then it is refused as too large, saying where a larger one is drafted
    assert answer.status_code == 413, answer.text
    assert "seatkeeper profile draft --openapi" in answer.json()["message"]


def test_what_is_no_api_description_is_a_422_and_a_viewer_may_not_draft(api):
    # Given a JSON body that is no OpenAPI document
    # When an integrator sends it for a draft
    answer = api("sam_integrator").post("/profiles/draft", json={"title": "my notes"})
    # Then it is a 422 saying why, at the body
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["detail"]
    assert error["loc"] == ["body"] and "not an OpenAPI 3.x or Swagger 2.0 document" in error["msg"]
    # When a viewer asks for a draft of a real one, Then it is refused: drafting is the integrators' and admins'
    document = (DRAFTS / "zoom.yaml").read_bytes()
    assert api("sam_viewer").post("/profiles/draft", data=document).status_code == 403
    assert api("admin").post("/profiles/draft", data=document).status_code == 200
