"""A credential goes only where it was entered for: re-pointing a connected profile never sends it elsewhere."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import boto3

from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles
from seatkeeper.profiles.catalog import build_profile, merge_patch
from seatkeeper_local.demo.client import wait_until
from tests.integration.connection_checks import make_profile, wait_for
from tests.integration.test_connection_saga import oauth_profile
from tests.saas_apps import fake_saas


def connected(client, scim):
    profile = make_profile(client, base_url=scim.url)
    client.post(f"/profiles/{profile['id']}/connection", json={"token": scim.token})
    assert wait_for(client, profile["id"], {"connected", "failed"})["status"] == "connected"
    return profile


def synced(client, profile_id):
    answer = client.post(f"/profiles/{profile_id}/sync")
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]
    return wait_until(lambda: client.get(f"/runs/{run_id}").json(), lambda run: run["status"] != "running", timeout=60)


def test_re_pointing_a_connected_profile_is_refused_and_the_token_stays_home(api, scim):
    # Given a profile an admin connected with a bearer token, and a second host an integrator controls
    profile = connected(api("admin"), scim)
    integrator = api("sam_integrator")
    with fake_saas() as elsewhere:
        # When the integrator points the profile's base URL at the other host
        moved = integrator.patch(f"/profiles/{profile['id']}", json={"base_url": elsewhere.url})
        # Then it is refused: the credential was entered for the first host
        assert moved.status_code == 409, moved.text
        assert "disconnect first" in moved.json()["message"]
        assert integrator.get(f"/profiles/{profile['id']}").json()["base_url"] == scim.url
        # ... as is a change of auth, which would send the same secret another way
        assert integrator.patch(f"/profiles/{profile['id']}", json={"auth": {"type": "api_key"}}).status_code == 409
        # ... while what does not move the credential still changes
        policy = integrator.patch(f"/profiles/{profile['id']}", json={"policy": {"inactivity_days": 30}})
        assert policy.status_code == 200, policy.text
        # And a sync still goes home only
        assert synced(integrator, profile["id"])["status"] == "succeeded"
        assert elsewhere.requests_seen == []


def test_a_profile_changed_behind_the_api_does_not_get_the_credential(api, stack, scim):
    # Given a connected profile whose base URL changed without the API (a race with a connection
    # attempt, or a hand edit of the table)
    integrator = api("sam_integrator")
    profile = connected(integrator, scim)
    profiles = DynamoDBProfiles(stack.template.physical_name("Table"), boto3.client("dynamodb"))
    with fake_saas() as elsewhere:
        previous = profiles.get(profile["id"])
        own = merge_patch(previous.own, {"base_url": elsewhere.url})
        profiles.replace(
            previous.model_copy(update={"own": own, "profile": build_profile(own), "version": previous.version + 1}),
            previous=previous,
        )
        # When it syncs
        run = synced(integrator, profile["id"])
        # Then the run fails, saying why, and the other host never hears from seatkeeper
        assert run["status"] == "failed"
        assert "disconnect and connect again" in run["error"]
        assert elsewhere.requests_seen == []


def test_an_oauth_grant_under_way_binds_its_token_url_and_disconnecting_forgets_its_state(api, stack, oidc, saas):
    # Given an OAuth connection waiting for its grant
    integrator = api("sam_integrator")
    profile = oauth_profile(integrator, oidc, saas)
    integrator.post(
        f"/profiles/{profile['id']}/connection", json={"client_id": "seatkeeper-test", "client_secret": "s3cret"}
    )
    view = wait_for(integrator, profile["id"], {"awaiting_grant", "failed"})
    assert view["status"] == "awaiting_grant"
    state = parse_qs(urlsplit(view["authorize_url"]).query)["state"][-1]
    assert "grant_state" not in view["records"]["connection"]
    # When the integrator moves the token URL (where the client secret and refresh token go)
    moved = integrator.patch(
        f"/profiles/{profile['id']}",
        json={"auth": {**profile["auth"], "token_url": "http://127.0.0.1:9/steal"}},
    )
    # Then it is refused while the credential is bound
    assert moved.status_code == 409, moved.text
    # When the profile is disconnected instead
    assert integrator.delete(f"/profiles/{profile['id']}/connection").status_code == 204
    # Then the grant's state (task token, PKCE verifier) is gone with it, not left to its TTL
    table = stack.template.physical_name("Table")
    item = boto3.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": f"OAUTH_STATE#{state}"}, "sk": {"S": "OAUTH_STATE"}}
    )
    assert "Item" not in item
    # And the profile may now point anywhere: a new connection is a new credential
    again = integrator.patch(
        f"/profiles/{profile['id']}", json={"auth": {**profile["auth"], "token_url": f"{oidc}/oauth2/token?v=2"}}
    )
    assert again.status_code == 200, again.text
