"""OAuth access tokens refreshed in the one place every SaaS call uses, serialized by a DynamoDB lock."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from oidc_provider_mock import run_server_in_thread

from seatkeeper.aws.dynamodb.connections import DynamoDBConnections
from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles
from seatkeeper.aws.vault import SecretsManagerVault
from seatkeeper.connections.client import saas_client
from seatkeeper.profiles.model import OAuth2AuthorizationCodeAuth
from seatkeeper.profiles.service import ProfileService
from seatkeeper.saas import oauth
from seatkeeper.saas.http import GuardedTokenEndpoint
from seatkeeper.saas.network_guard import NetworkPolicy
from seatkeeper.saas.paging import first_page_of_users
from tests.integration.connection_checks import connect_at_certified_provider, make_profile, wait_for
from tests.oidc_provider import ODD_CLIENT_SECRET
from tests.saas_apps import fake_saas

AUTH = OAuth2AuthorizationCodeAuth(
    type="oauth2_authorization_code",
    authorize_url="https://idp.example.com/a",
    token_url="https://idp.example.com/token",
)


class RotatingTokenServer:
    """Revokes the whole token family when a rotated refresh token is used twice, as many servers do."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.used: set[str] = set()
        self.calls = 0
        self.family_revoked = False

    def post(self, url, *, data, auth):
        with self.lock:
            self.calls += 1
            token = data["refresh_token"]
            if token in self.used:
                self.family_revoked = True
                return 400, {"error": "invalid_grant"}
            self.used.add(token)
            n = self.calls
        time.sleep(0.2)
        return 200, {"access_token": f"access-{n}", "refresh_token": f"refresh-{n}", "expires_in": 3600}


def test_concurrent_users_of_one_expiring_credential_refresh_it_once(stack):
    vault, lock = SecretsManagerVault(kms_key_id=""), DynamoDBConnections(stack.template.physical_name("Table"))
    expires = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    arn = vault.create(
        f"seatkeeper/prf_refresh/{time.time_ns()}",
        {
            "client_id": "c",
            "client_secret": "s",
            "tokens": {"access_token": "old", "refresh_token": "refresh-0", "expires_at": expires},
        },
    )
    server = RotatingTokenServer()
    results: list[str] = []

    def use() -> None:
        results.append(oauth.AccessToken(AUTH, arn, store=vault, lock=lock, endpoint=server)())

    threads = [threading.Thread(target=use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert server.calls == 1 and not server.family_revoked
    assert results == ["access-1"] * 6
    assert vault.read(arn)["tokens"]["refresh_token"] == "refresh-1"


@pytest.fixture(scope="module")
def short_lived_oidc():
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def test_a_connected_oauth_profile_refreshes_at_the_provider_and_keeps_working(api, stack, short_lived_oidc):
    with fake_saas(userinfo_url=f"{short_lived_oidc}/userinfo") as saas:
        integrator = api("sam_integrator")
        profile = make_profile(
            integrator,
            base_url=f"{saas.url}/oauth",
            auth={
                "type": "oauth2_authorization_code",
                "authorize_url": f"{short_lived_oidc}/oauth2/authorize",
                "token_url": f"{short_lived_oidc}/oauth2/token",
                "scopes": ["openid"],
            },
        )
        integrator.post(f"/profiles/{profile['id']}/connection", json={"client_id": "c", "client_secret": "s"})
        view = wait_for(integrator, profile["id"], {"awaiting_grant"})
        browser = requests.Session()
        browser.get(view["authorize_url"], timeout=10)
        back = browser.post(view["authorize_url"], data={"sub": "carol"}, allow_redirects=False, timeout=10)
        requests.get(back.headers["Location"], timeout=30)
        view = wait_for(integrator, profile["id"], {"connected", "failed"})
        assert view["status"] == "connected", view

        vault = SecretsManagerVault(kms_key_id="")
        secret = view["records"]["credential"]["secret_arn"]
        stored = vault.read(secret)
        before = stored["tokens"]
        # An hour later, as far as seatkeeper can tell: the access token has expired.
        vault.write(secret, {**stored, "tokens": {**before, "expires_at": datetime.now(UTC).isoformat()}})
        table = stack.template.physical_name("Table")
        record = ProfileService(DynamoDBProfiles(table), NetworkPolicy.from_environment()).get(profile["id"])
        client = saas_client(
            record,
            connections=DynamoDBConnections(table),
            secrets=vault,
            lock=DynamoDBConnections(table),
            endpoint=GuardedTokenEndpoint(NetworkPolicy.from_environment()),
            policy=NetworkPolicy.from_environment(),
        )

        users = first_page_of_users(client)

        after = vault.read(secret)["tokens"]
        assert len(users) == 3
        assert after["access_token"] != before["access_token"]
        assert datetime.fromisoformat(after["expires_at"]) > datetime.now(UTC) + timedelta(minutes=30)
        assert saas.requests_seen[-1]["authorization"] == f"Bearer {after['access_token']}"


def test_a_refresh_at_a_certified_provider_authenticates_the_client_as_rfc_6749_says(api, stack, certified_oidc):
    # Given a profile connected at oidc-provider with client_secret_basic and a secret that must be
    # form-encoded, whose access token has expired as far as seatkeeper can tell
    with fake_saas(userinfo_url=certified_oidc.userinfo_url) as saas:
        profile, view = connect_at_certified_provider(
            api("sam_integrator"),
            stack,
            certified_oidc,
            client_auth="client_secret_basic",
            client_secret=ODD_CLIENT_SECRET,
            base_url=f"{saas.url}/oauth",
        )
        assert view["status"] == "connected", view
        vault = SecretsManagerVault(kms_key_id="")
        secret = view["records"]["credential"]["secret_arn"]
        stored = vault.read(secret)
        before = stored["tokens"]
        vault.write(secret, {**stored, "tokens": {**before, "expires_at": datetime.now(UTC).isoformat()}})
        table = stack.template.physical_name("Table")
        record = ProfileService(DynamoDBProfiles(table), NetworkPolicy.from_environment()).get(profile["id"])
        client = saas_client(
            record,
            connections=DynamoDBConnections(table),
            secrets=vault,
            lock=DynamoDBConnections(table),
            endpoint=GuardedTokenEndpoint(NetworkPolicy.from_environment()),
            policy=NetworkPolicy.from_environment(),
        )

        # When seatkeeper next calls the app
        users = first_page_of_users(client)

        # Then the provider accepted the refresh, rotated the refresh token, and the app the new token
        after = vault.read(secret)["tokens"]
        assert len(users) == 3
        assert after["access_token"] != before["access_token"]
        assert after["refresh_token"] != before["refresh_token"]
        assert saas.requests_seen[-1]["authorization"] == f"Bearer {after['access_token']}"
