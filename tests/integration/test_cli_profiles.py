"""`seatkeeper profile preview|create FILE` as a user runs it, against the local stack and the paging app of our
own (seatkeeper_local.fakes.paging_app), which asks for a bearer token and has last_login_at (issue #28)."""

from __future__ import annotations

import json

from seatkeeper_local.stack.tokens import mint
from tests.integration.test_cli import seatkeeper
from tests.integration.test_profile_preview import new_profile, with_last_login_at
from tests.paging_app import paging_app
from tests.vendor_fakes import vendor_app


def files(tmp_path, profile, credential):
    (tmp_path / "profile.json").write_text(json.dumps(profile))
    (tmp_path / "credential.json").write_text(json.dumps(credential))
    return str(tmp_path / "profile.json"), str(tmp_path / "credential.json")


def profiles_named(api, name):
    return [p for p in api("sam_viewer").get("/profiles", params={"limit": 100}).json()["items"] if p["name"] == name]


def test_profile_preview_prints_what_each_field_matched_and_the_key_to_use(root, stack, tmp_path):
    with paging_app(40, bearer_token="right") as app:
        # Given a profile file with lastLogin, for an app whose records have last_login_at
        with_last_login_at(app)
        profile, credential = files(tmp_path, new_profile(app, last_activity="lastLogin"), {"token": "right"})
        token = mint(stack.jwt_secret, "sam_integrator")

        # When previewed from the command line
        done = seatkeeper(root, "profile", "preview", profile, "--credential-file", credential,
                          "--url", stack.url, "--token", token)  # fmt: skip

    # Then it says what to change, shows the users, each field and request, and the removal not sent
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "users.fields.last_activity: 0 of 30 records matched 'lastLogin'; did you mean 'last_login_at'?" in out
    assert "30 users read; paging cut" in out
    row = next(line for line in out.splitlines() if line.startswith("users.fields.last_activity"))
    assert "0 of 30" in row and "records have 'last_login_at'" in row
    assert f"GET {app.url}/offset/users?offset=0&limit=10" in out and "right" not in out
    assert f"removal of u000000 (not sent): PATCH {app.url}/offset/users/u000000" in out
    assert app.reclaim_requests == []


def test_profile_create_leaves_nothing_behind_when_the_credential_fails_and_a_retry_works(root, stack, api, tmp_path):
    token = mint(stack.jwt_secret, "sam_integrator")
    with paging_app(12, bearer_token="right") as app:
        profile = new_profile(app)
        name = profile["name"]
        # Given an empty credential, then a wrong one
        for credential in ({}, {"token": "wrong"}):
            given = files(tmp_path, profile, credential)
            # When the profile is created with it
            done = seatkeeper(root, "profile", "create", given[0], "--credential-file", given[1],
                              "--url", stack.url, "--token", token)  # fmt: skip
            # Then it is refused saying why, and no profile of that name exists
            assert done.returncode == 1
            assert ("credential.token" in done.stderr) if not credential else ("401" in done.stderr)
            assert profiles_named(api, name) == []
        # When it is retried with the right credential, Then it is created and connected, once
        given = files(tmp_path, profile, {"token": "right"})
        done = seatkeeper(root, "profile", "create", given[0], "--credential-file", given[1],
                          "--url", stack.url, "--token", token)  # fmt: skip
        assert done.returncode == 0, done.stderr
        [created] = profiles_named(api, name)
        assert api("sam_viewer").get(f"/profiles/{created['id']}/connection").json()["status"] == "connected"
        assert created["id"] in done.stdout  # the id is printed for the next step


def test_profile_draft_writes_a_profile_with_its_notes_that_preview_reads(root, stack, tmp_path):
    from tests.integration.test_profile_drafts import DRAFTS
    from tests.integration.test_vendor_mocks import prism

    # Given Okta's management document (okta/okta-management-openapi-spec dist/2026.06.3, extract in
    # tests/vendor_specs/drafts/okta.yaml), whose listUsers is GET /api/v1/users and whose apiToken is "SSWS"
    out = tmp_path / "okta.json"
    # When a profile is drafted from it on the command line
    done = seatkeeper(root, "profile", "draft", "--openapi", str(DRAFTS / "okta.yaml"), "-o", str(out))
    # Then the file holds the draft and its notes, and the notes are printed, least sure first
    assert done.returncode == 0, done.stderr
    drafted = json.loads(out.read_text())
    assert drafted["users"]["path"] == "/api/v1/users"
    assert {n["field"] for n in drafted["draft_notes"]} >= {"users.path", "auth", "users.fields.last_activity"}
    first = next(line for line in done.stdout.splitlines() if line.startswith(("subscription", "base_url", "users")))
    assert "0.00" in first  # a placeholder, to fill in first
    assert f"seatkeeper profile preview {out}" in done.stdout

    # When the drafted file is previewed, as it is, against Prism serving the same document
    with prism(DRAFTS / "okta.yaml") as url:
        drafted["base_url"] = url
        out.write_text(json.dumps(drafted))
        (tmp_path / "key.json").write_text(json.dumps({"api_key": "prism-key"}))
        token = mint(stack.jwt_secret, "sam_integrator")
        done = seatkeeper(root, "profile", "preview", str(out), "--credential-file", str(tmp_path / "key.json"),
                          "--url", stack.url, "--token", token)  # fmt: skip
    # Then the preview leaves the notes out of the profile it sends, and reads Okta's users with every field
    assert done.returncode == 0, done.stderr + done.stdout
    assert "draft_notes" not in done.stdout + done.stderr
    assert "1 users read; paging ended" in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("users.fields.last_activity"))
    assert "1 of 1" in row


def test_profile_draft_of_what_is_no_api_description_says_why(root, tmp_path):
    # Given a file that is not an OpenAPI document
    (tmp_path / "notes.yaml").write_text("title: my notes\n")
    # When a draft is asked of it
    done = seatkeeper(root, "profile", "draft", "--openapi", str(tmp_path / "notes.yaml"))
    # Then it says what is wrong, and writes nothing
    assert done.returncode == 1
    assert "not an OpenAPI 3.x or Swagger 2.0 document" in done.stderr
    assert done.stdout == ""


def test_profile_preview_prints_how_many_users_each_more_list_gave_and_the_removal_each_would_get(
    root, stack, tmp_path
):
    with vendor_app("github_org", 40) as app:
        # Given a profile file made from the github_org template, for GitHub's fake (tests/vendor_fakes.py,
        # after npm:@octokit/openapi 23.0.2): members, then outside collaborators
        own = {"name": "GitHub", "template": "github_org", "base_url": app.base_url,
               "subscription": {"licenses_purchased": 40}}  # fmt: skip
        profile, credential = files(tmp_path, own, {"token": "t"})
        token = mint(stack.jwt_secret, "sam_integrator")
        outside = sorted(app.vendor.user_id(p) for p in app.people if app.vendor.kind(p))
        # When previewed from the command line
        done = seatkeeper(root, "profile", "preview", profile, "--credential-file", credential,
                          "--url", stack.url, "--token", token)  # fmt: skip
    # Then it says how many of the users are outside collaborators, and each list's removal, none sent
    assert done.returncode == 0, done.stderr
    assert f"40 users read, {len(outside)} of them outside_collaborator;" in done.stdout
    assert f"removal of octo0 (not sent): DELETE {app.base_url}/members/octo0" in done.stdout
    assert f"(outside_collaborator) (not sent): DELETE {app.base_url}/outside_collaborators/" in done.stdout
    assert app.reclaim_requests == []
