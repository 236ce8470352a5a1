"""Third-party and home-made SaaS peers shared by the integration tests, one of each per module."""

from __future__ import annotations

import pytest
from oidc_provider_mock import run_server_in_thread

from tests.oidc_provider import ODD_CLIENT_SECRET, oidc_provider
from tests.saas_apps import fake_saas, scim_server, scim_user


@pytest.fixture(scope="module")
def scim():
    with scim_server() as server:
        server.add_users([scim_user(i) for i in range(5)])
        yield server


@pytest.fixture(scope="module")
def oidc():
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def saas(oidc):
    with fake_saas(userinfo_url=f"{oidc}/userinfo") as app:
        yield app


@pytest.fixture(scope="module")
def certified_oidc(stack):
    """oidc-provider with one client per client authentication method, both with an odd secret,
    that send the person back to the local stack's callback."""
    clients = [
        {
            "client_id": method,
            "client_secret": ODD_CLIENT_SECRET,
            "token_endpoint_auth_method": method,
            "redirect_uris": [f"{stack.url}/oauth/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
        }
        for method in ("client_secret_basic", "client_secret_post")
    ]
    with oidc_provider(clients) as provider:
        yield provider
