"""POST /profiles/preview and /profiles/{id}/preview through the local stack (SPEC "Authoring profiles").

The app is the paging app of our own (seatkeeper_local.fakes.paging_app), asking for a bearer token and
answering as the app of issue #28 does (records with last_login_at).
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from datetime import datetime
from pathlib import Path

import boto3
import pytest

from seatkeeper.profiles.catalog import templates
from tests.integration.connection_checks import make_profile, table_text, wait_for
from tests.paging_app import paging_app, profile_fields
from tests.vendor_fakes import vendor_app

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "profile.schema.json"


@pytest.fixture
def function_logs(api):
    """Every line the functions' Powertools loggers write during the test, at DEBUG, as they format it."""
    assert api("sam_viewer").get("/profiles/schema").status_code == 200  # the API function is loaded
    out = io.StringIO()
    changed = []
    for logger in list(logging.Logger.manager.loggerDict.values()):
        handler = getattr(logger, "powertools_handler", None)
        if isinstance(handler, logging.Handler):
            capture = logging.StreamHandler(out)
            capture.setFormatter(handler.formatter)
            changed.append((logger, logger.level, capture))
            logger.addHandler(capture)
    assert changed, "no Powertools logger to listen to"
    # Each route module's child logger has the function's level of its own: all of them at DEBUG.
    services = tuple(f"{logger.name}." for logger, *_ in changed)
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and (
            name.startswith(services) or any(name == c.name for c, *_ in changed)
        ):
            changed.append((logger, logger.level, None))
            logger.setLevel(logging.DEBUG)
    yield out
    for logger, level, capture in reversed(changed):
        if capture is not None:
            logger.removeHandler(capture)
        logger.setLevel(level)


def new_profile(app, kind="offset", *, page_size=10, **fields):
    profile = profile_fields(app, kind, page_size=page_size)
    profile["users"]["fields"].update(fields)
    return {
        "name": f"Preview {uuid.uuid4().hex[:8]}",
        **profile,
        "reclaim": {"method": "PATCH", "path": "/users/{id}", "body": {"active": False, "note": "reclaimed {email}"}},
        "subscription": {"licenses_purchased": 100, "cost_per_license": 4},
    }


def with_last_login_at(app):
    for user in app.users:
        user["last_login_at"] = user.pop("last_login")


def test_a_wrong_activity_path_is_shown_with_the_key_to_use_and_nothing_is_sent_or_stored(api, stack, function_logs):
    integrator = api("sam_integrator")
    token = f"preview-secret-{uuid.uuid4().hex}"
    with paging_app(100, bearer_token=token) as app:
        # Given an app whose records have last_login_at, and a profile that maps lastLogin
        with_last_login_at(app)
        body = {"profile": new_profile(app, last_activity="lastLogin"), "credential": {"token": token}}

        # When it is previewed with the app's token
        answer = integrator.post("/profiles/preview", json=body)

        # Then the first three pages are read as a sync reads them, and no further
        assert answer.status_code == 200, answer.text
        found = answer.json()
        assert [u["id"] for u in found["users"]] == [f"u{i:06d}" for i in range(30)]
        assert found["paging"] == "cut" and found["error"] is None
        assert app.requests == 3
        # And the field that matched nothing says which key the records have
        activity = found["fields"]["users.fields.last_activity"]
        assert (activity["matched"], activity["of"], activity["suggestion"]) == (0, 30, "last_login_at")
        assert "last_login_at" in activity["keys_seen"]
        assert found["fields"]["users.fields.email"] == {
            "path": "email",
            "matched": 30,
            "of": 30,
            "keys_seen": None,
            "suggestion": None,
        }
        assert [w["field"] for w in found["warnings"]] == ["users.fields.last_activity"]
        # And each request is listed with its answer and the next page it pointed at, without the credential
        assert [(r["method"], r["status"], r["next_page"]) for r in found["requests"]] == [
            ("GET", 200, "10"),
            ("GET", 200, "20"),
            ("GET", 200, "30"),
        ]
        assert found["requests"][0]["url"] == f"{app.url}/offset/users?offset=0&limit=10"
        # And the removal is rendered for the first user, not sent
        assert found["removal"] == {
            "action": "reclaim",
            "method": "PATCH",
            "url": f"{app.url}/offset/users/u000000",
            "body": {"active": False, "note": "reclaimed user0@example.com"},
            "user_id": "u000000",
            "kind": None,  # the users list's own user: the profile's reclaim
        }
        assert app.reclaim_requests == []

    # And the credential is in no answer, no log line, no item and no secret
    logged = function_logs.getvalue()
    assert "profile previewed" in logged  # the preview's own line was heard
    assert token not in answer.text and token not in logged
    assert token not in table_text(stack)
    secrets = boto3.client("secretsmanager").list_secrets()["SecretList"]
    assert not any(
        token in boto3.client("secretsmanager").get_secret_value(SecretId=s["ARN"])["SecretString"] for s in secrets
    )


def test_a_list_that_ends_within_the_pages_asked_for_says_ended(api):
    integrator = api("sam_integrator")
    with paging_app(25) as app:
        # Given an app of 25 users, ten a page
        body = {"profile": new_profile(app, "cursor"), "credential": {"token": "t"}, "max_pages": 10}
        # When previewed with up to ten pages
        found = integrator.post("/profiles/preview", json=body).json()
    # Then all three pages are read, the list ended, and every field matched
    assert (len(found["users"]), found["paging"], found["warnings"]) == (25, "ended", [])
    assert [r["next_page"] for r in found["requests"]] == ["10", "20", None]
    assert found["fields"]["users.fields.last_activity"]["matched"] == 23  # two of the 25 never signed in


def test_a_wrong_cursor_path_is_shown_with_the_path_the_answers_have(api):
    integrator = api("sam_integrator")
    with paging_app(37, cursor_key="meta.next_cursor") as app:
        profile = new_profile(app, "cursor")
        profile["users"]["pagination"]["cursor_path"] = "next_cursor"
        found = integrator.post("/profiles/preview", json={"profile": profile, "credential": {"token": "t"}}).json()
    assert (len(found["users"]), found["paging"]) == (10, "ended")
    [warning] = found["warnings"]
    assert (warning["field"], warning["suggestion"]) == ("users.pagination.cursor_path", "meta.next_cursor")


def test_an_app_that_refuses_the_credential_is_a_200_with_the_refusal(api):
    integrator = api("sam_integrator")
    with paging_app(20, bearer_token="right") as app:
        body = {"profile": new_profile(app), "credential": {"token": "wrong"}}
        answer = integrator.post("/profiles/preview", json=body)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert [r["status"] for r in found["requests"]] == [401]
    assert "401" in found["error"] and found["users"] == [] and found["removal"] is None


def test_a_profile_that_does_not_parse_or_a_missing_credential_is_422_with_field_paths(api):
    integrator = api("sam_integrator")
    with paging_app(1) as app:
        broken = new_profile(app)
        broken["users"]["pagination"] = {"type": "pages"}
        bad = integrator.post("/profiles/preview", json={"profile": broken, "credential": {"token": "t"}})
        missing = integrator.post("/profiles/preview", json={"profile": new_profile(app)})
    assert bad.status_code == 422
    assert all(e["loc"][:4] == ["body", "profile", "users", "pagination"] for e in bad.json()["detail"])
    assert missing.status_code == 422
    assert [e["loc"] for e in missing.json()["detail"]] == [["body", "credential", "token"]]


def test_a_viewer_may_not_preview(api):
    assert api("sam_viewer").post("/profiles/preview", json={"profile": {}, "credential": {}}).status_code == 403


def test_a_connected_profile_is_previewed_with_its_stored_credential(api):
    integrator = api("sam_integrator")
    with paging_app(15, bearer_token="stored") as app:
        # Given a profile not connected yet, then connected
        profile = make_profile(integrator, **{k: v for k, v in new_profile(app).items() if k != "name"})
        refused = integrator.post(f"/profiles/{profile['id']}/preview", json={})
        integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "stored"})
        assert wait_for(integrator, profile["id"], {"connected", "failed"})["status"] == "connected"
        # When previewed
        found = integrator.post(f"/profiles/{profile['id']}/preview", json={"max_pages": 1}).json()
    # Then not connected is 409, connected reads its first page with the stored credential
    assert refused.status_code == 409
    assert (len(found["users"]), found["paging"], [r["status"] for r in found["requests"]]) == (10, "cut", [200])


def test_the_profile_schema_is_served_as_committed(api):
    answer = api("sam_viewer").get("/profiles/schema")
    assert answer.status_code == 200
    assert answer.json() == json.loads(SCHEMA_FILE.read_text())


@pytest.mark.parametrize(
    ("kind", "where"),
    [("cursor", "cursor_path 'next'"), ("next_url", "next_url_path 'links.next'"), ("link_header", "its Link header")],
)
def test_a_next_page_pointer_that_comes_back_to_a_page_read_already_is_looped(api, kind, where):
    integrator = api("sam_integrator")
    with paging_app(60, loops_from_page=3) as app:
        # Given an app whose third page points back at the second (a paging bug seen in the wild: a cursor that
        # resets), ten users a page
        body = {"profile": new_profile(app, kind), "credential": {"token": "t"}, "max_pages": 10}
        # When the profile is previewed for up to ten pages
        found = integrator.post("/profiles/preview", json=body).json()
    # Then the preview says the paging looped, naming where the pointer was read, after the three pages read
    assert found["paging"] == "looped", found
    assert "repeats itself" in found["error"] and where in found["error"]
    assert len(found["requests"]) == 3
    assert [u["id"] for u in found["users"]] == [f"u{i:06d}" for i in range(20)]


def token_out_of_band(oidc: str) -> str:
    """An access token from oidc-provider-mock, got as an author gets one from a vendor's console or any OAuth
    client: the authorization code grant run by hand, its redirect never followed."""
    import base64
    import hashlib
    import secrets
    from urllib.parse import parse_qs, urlencode, urlsplit

    import requests

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = "http://127.0.0.1:9/callback"
    authorize = f"{oidc}/oauth2/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": "author-console",
            "redirect_uri": redirect,
            "scope": "openid email",
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    browser = requests.Session()
    answer = browser.post(authorize, data={"sub": "author@acme.example.com"}, allow_redirects=False, timeout=10)
    assert answer.status_code in (302, 303), answer.text
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    tokens = browser.post(
        f"{oidc}/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "code_verifier": verifier},
        auth=("author-console", "any-secret"),
        timeout=10,
    )
    assert tokens.status_code == 200, tokens.text
    return tokens.json()["access_token"]


def test_an_authorization_code_profile_previews_before_it_is_connected_with_a_token_got_out_of_band(
    api, stack, oidc, saas, function_logs
):
    integrator = api("sam_integrator")
    # Given an app that checks each bearer token at its authorization server (oidc-provider-mock's userinfo),
    # an authorization-code profile for it, and an access token its author got from that server out of band
    profile = {
        "name": f"OAuth preview {uuid.uuid4().hex[:8]}",
        "template": "scim2",
        "base_url": f"{saas.url}/oauth",
        "auth": {
            "type": "oauth2_authorization_code",
            "authorize_url": f"{oidc}/oauth2/authorize",
            "token_url": f"{oidc}/oauth2/token",
            "scopes": ["openid", "email"],
        },
        "subscription": {"licenses_purchased": 10},
    }
    token = token_out_of_band(oidc)

    # When the profile is previewed with that token
    answer = integrator.post("/profiles/preview", json={"profile": profile, "credential": {"access_token": token}})

    # Then the app accepted it as the authorization server's, and its users are read
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["error"] is None and [r["status"] for r in found["requests"]] == [200]
    assert [u["id"] for u in found["users"]] == ["0", "1", "2"]
    assert saas.requests_seen[-1]["authorization"] == f"Bearer {token}"
    # And the token is in no answer, no log line and no stored item
    assert token not in answer.text and token not in function_logs.getvalue() and token not in table_text(stack)

    # When it is previewed with a token the authorization server never issued
    made_up = integrator.post(
        "/profiles/preview", json={"profile": profile, "credential": {"access_token": "not-issued-by-the-server"}}
    ).json()
    # Then the app's refusal is the preview's answer
    assert [r["status"] for r in made_up["requests"]] == [401] and made_up["error"]

    # When it is previewed with the client's id and secret, which only a connection's grant can use
    refused = integrator.post(
        "/profiles/preview",
        json={"profile": profile, "credential": {"client_id": "seatkeeper", "client_secret": "s3cret"}},
    )
    # Then it is a 422 that says the preview takes an access token, and which values it does not use
    assert refused.status_code == 422, refused.text
    places = {tuple(e["loc"]): e["msg"] for e in refused.json()["detail"]}
    assert "before it is connected" in places[("body", "credential", "access_token")]
    assert ("body", "credential", "client_secret") in places


def test_a_per_user_activity_endpoint_is_read_as_the_sync_reads_it_and_its_field_counted(api):
    integrator = api("sam_integrator")
    with paging_app(40) as app:
        # Given a profile whose last activity comes from a per-user endpoint (/users/{id}), ten users a page
        profile = new_profile(app, "offset")
        profile["users"]["fields"].pop("last_activity")
        profile["activity"] = {"mode": "per_user", "path": "/users/{id}", "fields": {"last_activity": "last_login"}}
        # When it is previewed for three pages
        found = integrator.post("/profiles/preview", json={"profile": profile, "credential": {"token": "t"}}).json()
    # Then the first twenty users' activity was asked for, one request each, after their page, as the sync does
    assert found["error"] is None, found
    paths = [r["url"].removeprefix(f"{app.url}/offset/users") for r in found["requests"]]
    assert paths[0] == "?offset=0&limit=10" and paths[11] == "?offset=10&limit=10"
    assert sorted(paths[1:11]) == [f"/u{i:06d}" for i in range(10)]  # the first page's users, before the second
    asked = [r["url"].removeprefix(f"{app.url}/offset/users/") for r in found["requests"] if "/users/u" in r["url"]]
    assert sorted(asked) == [f"u{i:06d}" for i in range(20)]
    # and the activity field's matches are counted, and each user shows the activity the app has for it
    assert found["fields"]["activity.fields.last_activity"]["matched"] == sum(
        1 for u in app.users[:20] if u["last_login"] is not None
    )
    assert found["fields"]["activity.fields.last_activity"]["of"] == 20
    for user, expected in zip(found["users"][:20], app.users[:20], strict=True):
        assert (user["last_activity"] is None) == (expected["last_login"] is None)
    assert all(user["last_activity"] is None for user in found["users"][20:])


def test_a_bulk_activity_endpoint_with_a_wrong_path_is_shown_with_the_key_to_use(api):
    integrator = api("sam_integrator")
    with paging_app(25) as app:
        # Given a profile whose last activity comes from a bulk endpoint, mapped to lastLogin where records have
        # last_login
        profile = new_profile(app, "offset")
        profile["users"]["fields"].pop("last_activity")
        profile["activity"] = {
            "mode": "bulk",
            "path": "/users",
            "records_path": "items",
            "pagination": {"type": "offset", "page_size": 10},
            "fields": {"user_id": "id", "last_activity": "lastLogin"},
        }
        body = {"profile": profile, "credential": {"token": "t"}, "max_pages": 5}
        # When it is previewed
        found = integrator.post("/profiles/preview", json=body).json()
        # Then the activity pages were read after the users', and the field says which key the records have
        activity = found["fields"]["activity.fields.last_activity"]
        assert (activity["matched"], activity["of"], activity["suggestion"]) == (0, 25, "last_login"), activity
        assert found["fields"]["activity.fields.user_id"]["matched"] == 25
        assert len(found["requests"]) == 6  # three pages of users, three of activity
        assert any(w["field"] == "activity.fields.last_activity" for w in found["warnings"])
        assert all(user["last_activity"] is None for user in found["users"])

        # When the path is corrected and it is previewed again
        profile["activity"]["fields"]["last_activity"] = "last_login"
        found = integrator.post("/profiles/preview", json=body).json()
    # Then each user has the activity the bulk endpoint gives it, merged as the sync's commit merges it
    assert found["error"] is None, found
    for user, expected in zip(found["users"], app.users, strict=True):
        assert (user["last_activity"] is None) == (expected["last_login"] is None)
        if expected["last_login"] is not None:
            assert datetime.fromisoformat(user["last_activity"]).timestamp() == expected["last_login"]


def test_a_preview_shows_each_more_list_s_users_with_their_kind_and_the_removal_each_would_get(api):
    integrator = api("sam_integrator")
    # Given GitHub's organization (tests/vendor_fakes.py, after npm:@octokit/openapi 23.0.2) and a profile
    # made from the github_org template, which reads outside collaborators after the members
    with vendor_app("github_org", 60) as app:
        profile = {
            "name": "GitHub preview",
            "template": "github_org",
            "base_url": app.base_url,
            "subscription": {"licenses_purchased": 60},
        }
        # When it is previewed
        found = integrator.post("/profiles/preview", json={"profile": profile, "credential": {"token": "t"}}).json()
        sent = list(app.reclaim_requests)
    # Then the members come, then the outside collaborators' first page, each of its kind
    kinds = {u["id"]: u.get("kind") for u in found["users"]}
    assert kinds == {app.vendor.user_id(p): app.vendor.kind(p) for p in app.people}, found.get("error")
    assert [u.get("kind") for u in found["users"]][-1] == "outside_collaborator"
    assert any(r["url"].endswith("/orgs/acme/outside_collaborators?per_page=100") for r in found["requests"])
    # And the removal each list would send is shown, the outside collaborators' their own, and none is sent
    assert found["removal"]["url"].endswith(f"/orgs/acme/members/{found['users'][0]['id']}")
    (other,) = found["more_removals"]
    assert other["kind"] == "outside_collaborator" and "/orgs/acme/outside_collaborators/" in other["url"]
    assert sent == []


def test_a_more_list_s_records_are_counted_against_its_own_fields_in_the_preview(api):
    integrator = api("sam_integrator")
    # Given GitHub's organization (tests/vendor_fakes.py, after npm:@octokit/openapi 23.0.2: a Simple User has
    # login and no e-mail_address) and a github_org profile whose outside collaborators map fields of their own,
    # one of them a path no record has
    outside = templates()["github_org"].profile["users"]["also"][0]
    with vendor_app("github_org", 60) as app:
        members = sum(app.vendor.kind(p) is None for p in app.people)
        collaborators = len(app.people) - members
        profile = {
            "name": "GitHub preview",
            "template": "github_org",
            "base_url": app.base_url,
            "subscription": {"licenses_purchased": 60},
            "users": {"also": [{**outside, "fields": {"id": "login", "name": "login", "email": "email_address"}}]},
        }
        # When it is previewed
        found = integrator.post("/profiles/preview", json={"profile": profile, "credential": {"token": "t"}}).json()
    assert found["error"] is None, found
    fields = found["fields"]
    # Then the users list's fields count the members' records only, and the more list's its own records
    counted = {field: (m["path"], m["matched"], m["of"]) for field, m in fields.items()}
    assert counted["users.fields.id"] == ("login", members, members)
    assert counted["users.also[0].fields.id"] == ("login", collaborators, collaborators)
    unmatched = fields["users.also[0].fields.email"]
    assert (unmatched["matched"], unmatched["of"], unmatched["path"]) == (0, collaborators, "email_address")
    assert "login" in unmatched["keys_seen"]
    # And the sync's warning names that list's field, where a fix for that list goes
    (warning,) = [w for w in found["warnings"] if w["kind"] == "field_unmatched"]
    assert warning["field"] == "users.also[0].fields.email" and warning["of"] == collaborators
