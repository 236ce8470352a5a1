"""Third-party and home-made SaaS peers shared by the integration tests, one of each per module."""

from __future__ import annotations

import pytest
from oidc_provider_mock import run_server_in_thread

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
