"""Create connection & credential, end to end: the API, the saga on moto's engine, real SaaS peers."""

from __future__ import annotations

import re

import boto3
import pytest
import requests

from tests.integration.connection_checks import (
    connect_at_certified_provider,
    executions_text,
    leftovers,
    make_profile,
    table_text,
    wait_for,
)
from tests.oidc_provider import ODD_CLIENT_SECRET
from tests.saas_apps import fake_saas
from tests.vendor_fakes import vendor_app


def test_bearer_token_against_scim2_server_connects_and_keeps_the_token_only_in_secrets_manager(
    api, stack, scim, capfd
):
    integrator = api("sam_integrator")
    profile = make_profile(integrator, base_url=scim.url)

    started = integrator.post(f"/profiles/{profile['id']}/connection", json={"token": scim.token})
    assert started.status_code == 202, started.text
    view = wait_for(integrator, profile["id"], {"connected", "failed"})

    assert view["status"] == "connected", view
    records = view["records"]
    assert records["connection"]["status"] == "connected"
    assert records["credential"]["secret_arn"].startswith("arn:aws:secretsmanager:")
    assert records["app_registry"] is None
    assert leftovers(stack, profile["id"])["items"] == ["CONNECTION", "CREDENTIAL"]

    stored = boto3.client("secretsmanager").get_secret_value(SecretId=records["credential"]["secret_arn"])
    assert scim.token in stored["SecretString"]
    # Nowhere else: not in DynamoDB, an API answer, the execution's input/output/history, or a log line.
    assert scim.token not in table_text(stack)
    assert scim.token not in started.text + str(view)
    assert scim.token not in executions_text(profile["id"])
    out, err = capfd.readouterr()
    assert scim.token not in out + err


def test_connecting_a_connected_profile_is_409_and_disconnect_removes_everything(api, stack, scim):
    integrator = api("sam_integrator")
    profile = make_profile(integrator, base_url=scim.url)
    integrator.post(f"/profiles/{profile['id']}/connection", json={"token": scim.token})
    assert integrator.post(f"/profiles/{profile['id']}/connection", json={"token": scim.token}).status_code == 409
    assert wait_for(integrator, profile["id"], {"connected", "failed"})["status"] == "connected"
    assert integrator.post(f"/profiles/{profile['id']}/connection", json={"token": scim.token}).status_code == 409

    assert api("sam_viewer").delete(f"/profiles/{profile['id']}/connection").status_code == 403
    assert integrator.delete(f"/profiles/{profile['id']}/connection").status_code == 204
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}
    assert integrator.get(f"/profiles/{profile['id']}/connection").status_code == 404
    assert integrator.delete(f"/profiles/{profile['id']}/connection").status_code == 404

    integrator.post(f"/profiles/{profile['id']}/connection", json={"token": scim.token})
    assert wait_for(integrator, profile["id"], {"connected", "failed"})["status"] == "connected"


def test_wrong_credentials_fail_and_leave_nothing_behind(api, stack, scim):
    integrator = api("sam_integrator")
    profile = make_profile(integrator, base_url=scim.url)
    integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "not-the-token"})
    view = wait_for(integrator, profile["id"], {"connected", "failed"})
    assert view["status"] == "failed"
    assert view["error"].startswith("the app did not accept the credential")
    assert "401" in view["error"]
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}


def test_basic_auth_with_user_name_and_api_key(api, saas):
    integrator = api("sam_integrator")
    profile = make_profile(integrator, base_url=f"{saas.url}/basic", auth={"type": "basic"})
    answer = integrator.post(
        f"/profiles/{profile['id']}/connection", json={"username": saas.username, "api_key": saas.api_key}
    )
    assert answer.status_code == 202
    assert wait_for(integrator, profile["id"], {"connected", "failed"})["status"] == "connected"


def test_api_key_in_a_query_parameter(api, saas):
    integrator = api("sam_integrator")
    profile = make_profile(
        integrator, base_url=f"{saas.url}/apikey", auth={"type": "api_key", "location": "query", "name": "api_token"}
    )
    integrator.post(f"/profiles/{profile['id']}/connection", json={"api_key": saas.api_key})
    assert wait_for(integrator, profile["id"], {"connected", "failed"})["status"] == "connected"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"token"}),
        ({"token": "t", "api_key": "k"}, {"api_key"}),
        ({"username": "u", "api_key": "k"}, {"token", "username", "api_key"}),
        ({"token": ""}, {"token"}),
        ({"token": "t", "colour": "red"}, {"colour"}),
    ],
)
def test_a_credential_that_does_not_fit_the_auth_type_is_422_and_starts_nothing(api, stack, scim, body, fields):
    integrator = api("sam_integrator")
    profile = make_profile(integrator, base_url=scim.url)
    answer = integrator.post(f"/profiles/{profile['id']}/connection", json=body)
    assert answer.status_code == 422, answer.text
    assert {e["loc"][-1] for e in answer.json()["detail"]} == fields
    assert "k" not in [e.get("input") for e in answer.json()["detail"]]  # values are never echoed
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}


def test_connecting_an_unknown_profile_is_404(api):
    assert api("admin").post("/profiles/prf_00000000000000000000/connection", json={"token": "x"}).status_code == 404


def test_an_unreachable_host_fails_after_retries_and_leaves_nothing(api, stack):
    from seatkeeper_local.ports import free_port

    integrator = api("sam_integrator")
    profile = make_profile(integrator, base_url=f"http://127.0.0.1:{free_port()}/scim/v2")
    integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
    view = wait_for(integrator, profile["id"], {"connected", "failed"}, timeout=90)
    assert view["status"] == "failed"
    assert "did not answer in time or answered with a server error" in view["error"]
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}


def test_a_redirect_to_the_metadata_service_is_refused_by_the_network_guard(api, stack, saas):
    integrator = api("sam_integrator")
    profile = make_profile(integrator, base_url=f"{saas.url}/metadata-redirect")
    integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
    view = wait_for(integrator, profile["id"], {"connected", "failed"})
    assert view["status"] == "failed"
    assert view["error"].startswith("the network guard refused the app's address")
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}


def test_an_empty_scim_tenant_connects(api, stack):
    # Given a SCIM app with no users yet, which leaves Resources out of its list (RFC 7644 allows it)
    integrator = api("sam_integrator")
    with fake_saas(users=[]) as empty:
        profile = make_profile(integrator, base_url=f"{empty.url}/scim/v2")
        # When the profile is connected, Then the connection test reads an empty first page, as a sync would
        integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
        view = wait_for(integrator, profile["id"], {"connected", "failed"})
    assert view["status"] == "connected", view.get("error")


def test_an_html_answer_fails_as_unreadable(api, stack, saas):
    integrator = api("sam_integrator")
    profile = make_profile(integrator, base_url=f"{saas.url}/html")
    integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
    view = wait_for(integrator, profile["id"], {"connected", "failed"})
    assert view["status"] == "failed" and "not JSON" in view["error"]


def test_deleting_a_profile_deletes_its_connection_and_secrets(api, stack, scim):
    integrator = api("sam_integrator")
    profile = make_profile(integrator, base_url=scim.url)
    integrator.post(f"/profiles/{profile['id']}/connection", json={"token": scim.token})
    wait_for(integrator, profile["id"], {"connected"})
    assert integrator.delete(f"/profiles/{profile['id']}").status_code == 204
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}


# --- OAuth 2.0 authorization code, against oidc-provider-mock ------------------------------


def oauth_profile(client, oidc, saas, **auth):
    return make_profile(
        client,
        base_url=f"{saas.url}/oauth",
        auth={
            "type": "oauth2_authorization_code",
            "authorize_url": f"{oidc}/oauth2/authorize",
            "token_url": f"{oidc}/oauth2/token",
            "scopes": ["openid", "email"],
            **auth,
        },
    )


def grant_at_the_provider(authorize_url: str, *, deny: bool = False) -> str:
    """Do what the person does at the provider's form; the redirect back to seatkeeper."""
    browser = requests.Session()
    form = browser.get(authorize_url, timeout=10)
    assert form.status_code == 200 and "<form" in form.text
    decision = {"action": "deny"} if deny else {"sub": "alice@acme.example.com"}
    answer = browser.post(authorize_url, data=decision, allow_redirects=False, timeout=10)
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["Location"]


def test_oauth_grant_connects_and_stores_the_tokens(api, stack, oidc, saas, capfd):
    integrator = api("sam_integrator")
    profile = oauth_profile(integrator, oidc, saas)
    secret = "client-secret-7a1c0f"
    answer = integrator.post(
        f"/profiles/{profile['id']}/connection", json={"client_id": "seatkeeper-test", "client_secret": secret}
    )
    assert answer.status_code == 202
    view = wait_for(integrator, profile["id"], {"awaiting_grant", "failed"})
    assert view["status"] == "awaiting_grant"
    url = view["authorize_url"]
    assert url.startswith(f"{oidc}/oauth2/authorize?")
    for part in (
        "response_type=code",
        "client_id=seatkeeper-test",
        "code_challenge_method=S256",
        "code_challenge=",
        "state=",
        "scope=openid+email",
        f"redirect_uri={requests.utils.quote(stack.url + '/oauth/callback', safe='')}",
    ):
        assert part in url, part
    assert view["records"]["app_registry"]["client_id"] == "seatkeeper-test"

    back = grant_at_the_provider(url)
    assert back.startswith(f"{stack.url}/oauth/callback?")
    page = requests.get(back, timeout=30)
    assert page.status_code == 200 and "Access granted" in page.text
    view = wait_for(integrator, profile["id"], {"connected", "failed"})
    assert view["status"] == "connected", view
    assert sorted(leftovers(stack, profile["id"])["items"]) == ["APP_REGISTRY", "CONNECTION", "CREDENTIAL"]

    stored = boto3.client("secretsmanager").get_secret_value(SecretId=view["records"]["credential"]["secret_arn"])
    assert '"access_token"' in stored["SecretString"] and '"refresh_token"' in stored["SecretString"]
    assert any(r["authorization"] and r["authorization"].startswith("Bearer ") for r in saas.requests_seen)
    # The replayed callback is refused and touches nothing.
    again = requests.get(back, timeout=30)
    assert again.status_code == 400 and "already used" in again.text
    assert wait_for(integrator, profile["id"], {"connected", "failed"})["status"] == "connected"
    out, err = capfd.readouterr()
    assert secret not in out + err + table_text(stack) + executions_text(profile["id"])


def test_oauth_denied_at_the_provider_is_never_granted_and_cleans_up(api, stack, oidc, saas, api_environment):
    api_environment(GRANT_TIMEOUT_SECONDS="3")
    integrator = api("sam_integrator")
    profile = oauth_profile(integrator, oidc, saas)
    integrator.post(f"/profiles/{profile['id']}/connection", json={"client_id": "c", "client_secret": "s"})
    view = wait_for(integrator, profile["id"], {"awaiting_grant"})
    back = grant_at_the_provider(view["authorize_url"], deny=True)
    assert "error=access_denied" in back
    # oidc-provider-mock 0.3 leaves `state` out of its denial (RFC 6749 4.1.2.1 requires it), so the
    # answer cannot be tied to a saga: it is refused without touching any, and the grant times out.
    assert "state=" not in back
    page = requests.get(back, timeout=30)
    assert page.status_code == 400 and "unknown" in page.text
    assert wait_for(integrator, profile["id"], {"awaiting_grant", "failed"})["status"] == "awaiting_grant"
    view = wait_for(integrator, profile["id"], {"failed"}, timeout=30)
    assert view["error"].startswith("access was not granted in time")
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}


def test_an_access_denied_answer_with_its_state_fails_the_grant_at_once(api, stack, oidc, saas):
    integrator = api("sam_integrator")
    profile = oauth_profile(integrator, oidc, saas)
    integrator.post(f"/profiles/{profile['id']}/connection", json={"client_id": "c", "client_secret": "s"})
    view = wait_for(integrator, profile["id"], {"awaiting_grant"})
    state = requests.utils.unquote(view["authorize_url"].split("state=")[1].split("&")[0])
    page = requests.get(
        f"{stack.url}/oauth/callback",
        timeout=30,
        params={"state": state, "error": "access_denied", "error_description": "The resource owner denied the request"},
    )
    assert page.status_code == 400 and "not granted" in page.text
    view = wait_for(integrator, profile["id"], {"failed"}, timeout=15)
    assert "access_denied" in view["error"] and "denied the request" in view["error"]
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}


def test_an_error_response_that_also_carries_a_code_is_not_exchanged_and_is_shown_escaped(api, stack, oidc, saas):
    integrator = api("sam_integrator")
    profile = oauth_profile(integrator, oidc, saas)
    integrator.post(f"/profiles/{profile['id']}/connection", json={"client_id": "c", "client_secret": "s"})
    view = wait_for(integrator, profile["id"], {"awaiting_grant"})
    state = requests.utils.urlparse(view["authorize_url"]).query.split("state=")[1].split("&")[0]
    page = requests.get(
        f"{stack.url}/oauth/callback",
        timeout=30,
        params={
            "state": requests.utils.unquote(state),
            "code": "stolen",
            "error": "server_error",
            "error_description": "<script>alert(1)</script>",
        },
    )
    assert page.status_code == 400
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    assert wait_for(integrator, profile["id"], {"failed"})["status"] == "failed"
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}


def test_a_response_from_another_issuer_is_refused_as_a_mix_up(api, stack, oidc, saas):
    integrator = api("sam_integrator")
    profile = oauth_profile(integrator, oidc, saas, issuer=oidc)
    integrator.post(f"/profiles/{profile['id']}/connection", json={"client_id": "c", "client_secret": "s"})
    view = wait_for(integrator, profile["id"], {"awaiting_grant"})
    back = grant_at_the_provider(view["authorize_url"])
    page = requests.get(back + "&iss=https%3A%2F%2Fevil.example.com", timeout=30)
    assert page.status_code == 400 and "mix-up" in page.text
    assert "mix-up" in wait_for(integrator, profile["id"], {"failed"})["error"]
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}


def test_an_unknown_state_is_refused_without_touching_any_saga(api):
    page = requests.get(f"{api(None).base_url}/oauth/callback", params={"state": "made-up", "code": "x"}, timeout=10)
    assert page.status_code == 400 and "unknown" in page.text
    assert requests.get(f"{api(None).base_url}/oauth/callback", timeout=10).status_code == 400


def test_a_grant_that_never_comes_times_out_and_cleans_up(api, stack, oidc, saas, api_environment):
    api_environment(GRANT_TIMEOUT_SECONDS="2")
    integrator = api("sam_integrator")
    profile = oauth_profile(integrator, oidc, saas)
    integrator.post(f"/profiles/{profile['id']}/connection", json={"client_id": "c", "client_secret": "s"})
    wait_for(integrator, profile["id"], {"awaiting_grant"})
    view = wait_for(integrator, profile["id"], {"failed"}, timeout=30)
    assert view["error"].startswith("access was not granted in time")
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}


# --- the same grant at a certified provider (npm oidc-provider): PKCE enforced, RFC 6749 client auth


@pytest.mark.parametrize("client_auth", ["client_secret_basic", "client_secret_post"])
def test_a_client_secret_with_reserved_characters_connects_at_a_certified_provider(
    api, stack, certified_oidc, client_auth
):
    # Given a provider that checks client authentication as RFC 6749 2.3.1 says, and a client
    # secret with "+", "/", "%" and "=" in it
    with fake_saas(userinfo_url=certified_oidc.userinfo_url) as saas:
        # When the person grants access and seatkeeper exchanges the code
        _, view = connect_at_certified_provider(
            api("sam_integrator"),
            stack,
            certified_oidc,
            client_auth=client_auth,
            client_secret=ODD_CLIENT_SECRET,
            base_url=f"{saas.url}/oauth",
        )
        # Then the provider accepted the client and its tokens work at the app
        assert view["status"] == "connected", view
        assert saas.requests_seen[-1]["authorization"].startswith("Bearer ")
    stored = boto3.client("secretsmanager").get_secret_value(SecretId=view["records"]["credential"]["secret_arn"])
    assert '"refresh_token"' in stored["SecretString"]


def test_an_answer_without_iss_from_a_provider_that_sends_it_is_refused(api, stack, certified_oidc):
    # Given a profile that expects oidc-provider's issuer, which names itself in every answer (RFC 9207)
    with fake_saas(userinfo_url=certified_oidc.userinfo_url) as saas:
        # When the answer reaches seatkeeper without its iss (as a mixed-up or forged one would)
        profile, view = connect_at_certified_provider(
            api("sam_integrator"),
            stack,
            certified_oidc,
            client_auth="client_secret_post",
            client_secret=ODD_CLIENT_SECRET,
            base_url=f"{saas.url}/oauth",
            callback=lambda url: re.sub(r"&iss=[^&]*", "", url),
        )
    # Then the grant fails before any code exchange, and nothing is left behind
    assert view["status"] == "failed"
    assert "did not name the authorization server" in view["error"]
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}


def _github_org_profile(integrator, app) -> dict:
    return make_profile(
        integrator,
        template="github_org",
        base_url=app.base_url,
        # GitHub's members list has no activity: a stand-in for what an SSO profile would give.
        users={"fields": {"last_activity": "x_last_seen"}},
    )


def test_a_token_that_may_not_read_a_more_list_fails_at_connect_naming_the_list_and_leaves_nothing(api, stack):
    # Given GitHub's fake (tests/vendor_fakes.py, after npm:@octokit/openapi 23.0.2) whose token may read the
    # members but not the outside collaborators: 403 with GitHub's basic-error body. The extract of
    # GET /orgs/{org}/outside_collaborators (tests/vendor_specs/github/outside-collaborators.yaml) declares
    # only its 200; its 403 is the document's components/responses/forbidden, as GitHub gives it for the
    # members' operations (tests/vendor_specs/github/org-members.yaml).
    integrator = api("sam_integrator")
    with vendor_app("github_org", 12) as app:
        app.refuse_list_at = "/outside_collaborators"
        profile = _github_org_profile(integrator, app)
        # When the profile is connected
        integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
        view = wait_for(integrator, profile["id"], {"connected", "failed"})
        asked = set(app.listed_at)
    # Then the connection test failed at the more list, saying which list and what the app answered
    assert view["status"] == "failed", view
    assert view["error"].startswith("the app did not accept the credential: users.also[0]"), view["error"]
    assert "outside_collaborator list, GET /outside_collaborators" in view["error"]
    assert "answered 403 to GET /orgs/acme/outside_collaborators" in view["error"]
    assert asked == {"/members", "/outside_collaborators"}
    # And the saga rolled back what it created: no connection, no credential, no secret
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}


def test_a_token_that_reads_every_list_connects(api, stack):
    # Given GitHub's fake answering both lists (the members, then the outside collaborators)
    integrator = api("sam_integrator")
    with vendor_app("github_org", 12) as app:
        profile = _github_org_profile(integrator, app)
        # When the profile is connected
        integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
        view = wait_for(integrator, profile["id"], {"connected", "failed"})
        paths = set(app.listed_at)
    # Then it connects, and the connection test read both lists
    assert view["status"] == "connected", view.get("error")
    assert paths == {"/members", "/outside_collaborators"}
