"""The connection service on in-memory ports: what is stored where, conflicts, views, disconnect."""

from __future__ import annotations

import pytest

from seatkeeper.connections.service import (
    AppRegistryRecord,
    ConnectionFailure,
    ConnectionRecord,
    ConnectionRecords,
    ConnectionService,
    CredentialInput,
    CredentialRecord,
    refuse_needs_reconnect,
)
from seatkeeper.core.errors import ConnectionConflict, ConnectionNotFound, InvalidInput
from seatkeeper.profiles.model import BearerAuth, OAuth2AuthorizationCodeAuth
from seatkeeper.profiles.service import ProfileService
from seatkeeper.saas.network_guard import NetworkPolicy

from .fakes import InMemoryProfiles


class Records:
    def __init__(self) -> None:
        self.records = ConnectionRecords()
        self.failure: ConnectionFailure | None = None
        self.deleted = 0

    def connection_records(self, profile_id):
        return self.records, self.failure

    def delete_connection_records(self, profile_id):
        self.deleted += 1
        self.records, self.failure = ConnectionRecords(), None

    def reserve_connection(self, profile_id, record):
        if self.records.connection is not None:
            raise ConnectionConflict("taken")
        self.records = self.records.model_copy(update={"connection": record})

    def release_connection(self, profile_id, attempt_id):
        if self.records.connection and self.records.connection.attempt_id == attempt_id:
            self.records = self.records.model_copy(update={"connection": None})

    def reserve_reconnection(self, profile_id, record):
        if not self.records.needs_reconnect:
            raise ConnectionConflict("not refused")
        self.records = self.records.model_copy(update={"connection": record})


class Vault:
    def __init__(self) -> None:
        self.secrets: dict[str, dict] = {}

    def create(self, name, value):
        self.secrets[name] = value
        return f"arn:secret:{name}"

    def read(self, secret_id):
        return self.secrets[secret_id.removeprefix("arn:secret:")]

    def delete(self, secret_id):
        self.secrets.pop(secret_id.removeprefix("arn:secret:"), None)

    def delete_all(self, prefix):
        names = [n for n in self.secrets if n.startswith(prefix)]
        for name in names:
            del self.secrets[name]
        return len(names)


class Saga:
    def __init__(self, fail: bool = False) -> None:
        self.started: list[tuple[str, dict]] = []
        self.stopped: list[str] = []
        self.fail = fail

    def start(self, name, payload):
        if self.fail:
            raise RuntimeError("Step Functions is down")
        self.started.append((name, payload))
        return f"arn:execution:{name}"

    def stop(self, execution_arn, reason):
        self.stopped.append(execution_arn)


@pytest.fixture
def profile():
    service = ProfileService(InMemoryProfiles(), NetworkPolicy())
    return service.create(
        {
            "name": "Acme",
            "template": "scim2",
            "base_url": "https://acme.example.com/scim/v2",
            "subscription": {"licenses_purchased": 5},
        },
        created_by=None,
    )


def test_connect_puts_the_value_in_the_vault_and_only_its_arn_in_the_saga(profile):
    records, vault, saga = Records(), Vault(), Saga()
    attempt = ConnectionService(records, vault, saga).connect(
        profile, CredentialInput(token="tok-123"), requested_by="u", redirect_uri="https://x/oauth/callback"
    )
    ((name, value),) = vault.secrets.items()
    assert name == f"seatkeeper/{profile.id}/{attempt.attempt_id}" and value == {"token": "tok-123"}
    ((_, payload),) = saga.started
    assert payload["secret_arn"] == f"arn:secret:{name}"
    assert "tok-123" not in str(payload)


def test_if_the_saga_cannot_start_the_secret_is_deleted(profile):
    vault = Vault()
    with pytest.raises(RuntimeError):
        ConnectionService(Records(), vault, Saga(fail=True)).connect(
            profile, CredentialInput(token="t"), requested_by=None, redirect_uri="r"
        )
    assert vault.secrets == {}


@pytest.mark.parametrize("status", ["pending", "awaiting_grant", "connected"])
def test_a_profile_with_a_connection_or_an_attempt_under_way_is_a_conflict(profile, status):
    records = Records()
    records.records = ConnectionRecords(connection=ConnectionRecord(attempt_id="a", status=status, auth_type="bearer"))
    vault = Vault()
    with pytest.raises(ConnectionConflict):
        ConnectionService(records, vault, Saga()).connect(
            profile, CredentialInput(token="t"), requested_by=None, redirect_uri="r"
        )
    assert vault.secrets == {}


def test_the_credential_must_fit_the_auth_type():
    with pytest.raises(InvalidInput) as raised:
        CredentialInput(username="u", api_key="k").values_for(BearerAuth(type="bearer"))
    assert {tuple(e["loc"]) for e in raised.value.errors} == {
        ("body", "token"),
        ("body", "username"),
        ("body", "api_key"),
    }
    code_grant = OAuth2AuthorizationCodeAuth(
        type="oauth2_authorization_code", authorize_url="https://a.example/auth", token_url="https://a.example/token"
    )
    assert CredentialInput(client_id="c", client_secret="s").values_for(code_grant) == {
        "client_id": "c",
        "client_secret": "s",
    }


def test_secret_values_do_not_show_in_the_models_repr():
    assert "tok-123" not in repr(CredentialInput(token="tok-123"))


def test_the_view_says_failed_with_a_readable_error_for_the_failed_attempt(profile):
    records = Records()
    service = ConnectionService(records, Vault(), Saga())
    with pytest.raises(ConnectionNotFound):
        service.view(profile.id)
    records.failure = ConnectionFailure(attempt_id="a", error="SaaSAuthenticationFailed", cause="acme answered 401")
    view = service.view(profile.id)
    assert view.status == "failed" and view.error == "the app did not accept the credential: acme answered 401"
    records.records = ConnectionRecords(
        connection=ConnectionRecord(attempt_id="b", status="pending", auth_type="bearer")
    )
    assert service.view(profile.id).status == "pending"  # a newer attempt is under way
    records.records = ConnectionRecords(
        connection=ConnectionRecord(attempt_id="a", status="pending", auth_type="bearer")
    )
    assert service.view(profile.id).status == "failed"  # the same attempt failed while cleaning up


def test_disconnect_stops_an_attempt_under_way_and_deletes_records_and_secrets(profile):
    records, vault, saga = Records(), Vault(), Saga()
    vault.secrets[f"seatkeeper/{profile.id}/a"] = {"token": "t"}
    vault.secrets["seatkeeper/prf_other/b"] = {"token": "u"}
    records.records = ConnectionRecords(
        connection=ConnectionRecord(attempt_id="a", status="awaiting_grant", auth_type="bearer", execution_arn="arn:x"),
        credential=CredentialRecord(attempt_id="a", auth_type="bearer", secret_arn="arn:secret"),
    )
    ConnectionService(records, vault, saga).disconnect(profile.id)
    assert saga.stopped == ["arn:x"]
    assert list(vault.secrets) == ["seatkeeper/prf_other/b"]
    assert records.deleted == 1
    with pytest.raises(ConnectionNotFound):
        ConnectionService(records, vault, saga).disconnect(profile.id)


def test_the_view_for_readers_keeps_the_status_and_drops_every_grant_link(profile):
    # Given an OAuth attempt waiting for its grant, with the link that carries state and PKCE challenge
    link = "https://idp.example.com/authorize?state=s3cr3t&code_challenge=ch4ll3ng3"
    records = Records()
    records.records = ConnectionRecords(
        connection=ConnectionRecord(
            attempt_id="a", status="awaiting_grant", auth_type="oauth2_authorization_code", authorize_url=link
        ),
        app_registry=AppRegistryRecord(
            attempt_id="a",
            client_id="c",
            authorize_url="https://idp.example.com/authorize",
            token_url="https://idp.example.com/token",
            redirect_uri="https://api.example.com/oauth/callback",
        ),
    )
    view = ConnectionService(records, Vault(), Saga()).view(profile.id)
    # When it is shown to someone who may only read
    shown = view.without_grant_link()
    # Then it still says what is going on, but holds no authorize URL at all
    assert shown.status == "awaiting_grant" and shown.records.app_registry.client_id == "c"
    assert "authorize" not in shown.model_dump_json(exclude_none=True)
    assert view.authorize_url == link  # the full view, for those who may connect, is untouched


def oauth_profile_with_a_refused_grant(status: str = "needs_reconnect"):
    service = ProfileService(InMemoryProfiles(), NetworkPolicy())
    profile = service.create(
        {
            "name": "Acme OAuth",
            "template": "scim2",
            "base_url": "https://acme.example.com/scim/v2",
            "auth": {
                "type": "oauth2_authorization_code",
                "authorize_url": "https://idp.example.com/authorize",
                "token_url": "https://idp.example.com/token",
            },
            "subscription": {"licenses_purchased": 5},
        },
        created_by=None,
    )
    records, vault = Records(), Vault()
    old = vault.create(f"seatkeeper/{profile.id}/old", {"client_id": "c", "client_secret": "s", "tokens": {"x": 1}})
    records.records = ConnectionRecords(
        connection=ConnectionRecord(attempt_id="old", status=status, auth_type="oauth2_authorization_code"),
        credential=CredentialRecord(attempt_id="old", auth_type="oauth2_authorization_code", secret_arn=old),
    )
    return profile, records, vault, old


def test_a_reconnect_runs_the_saga_again_with_the_stored_client_and_none_of_the_refused_tokens():
    # Given a connection whose grant the authorization server refused
    profile, records, vault, old = oauth_profile_with_a_refused_grant()
    saga = Saga()
    # When someone reconnects it
    attempt = ConnectionService(records, vault, saga).reconnect(profile, requested_by="u", redirect_uri="https://x/cb")
    # Then a new attempt of the saga asks for a grant with the same client, from a new secret without the tokens
    ((name, payload),) = saga.started
    assert name == attempt.attempt_id and payload["app_registry"]["client_id"] == "c"
    assert vault.secrets == {f"seatkeeper/{profile.id}/{attempt.attempt_id}": {"client_id": "c", "client_secret": "s"}}
    assert old.removeprefix("arn:secret:") not in vault.secrets
    assert records.records.connection.status == "pending"


def test_a_reconnect_whose_saga_cannot_start_leaves_the_connection_needing_a_reconnect():
    # Given a refused grant, and Step Functions down
    profile, records, vault, old = oauth_profile_with_a_refused_grant()
    # When someone reconnects it
    with pytest.raises(RuntimeError):
        ConnectionService(records, vault, Saga(fail=True)).reconnect(profile, requested_by=None, redirect_uri="r")
    # Then it still needs a reconnect, with its old secret only: the button works again next time
    assert records.records.needs_reconnect and records.records.connection.attempt_id == "old"
    assert list(vault.secrets) == [old.removeprefix("arn:secret:")]


@pytest.mark.parametrize("status", ["connected", "pending", "awaiting_grant"])
def test_only_a_needs_reconnect_connection_reconnects(status):
    profile, records, vault, _ = oauth_profile_with_a_refused_grant(status)
    saga = Saga()
    with pytest.raises(ConnectionConflict, match=status):
        ConnectionService(records, vault, saga).reconnect(profile, requested_by=None, redirect_uri="r")
    assert saga.started == [] and len(vault.secrets) == 1


def test_a_profile_whose_identity_provider_needs_a_reconnect_is_refused_naming_the_idp():
    # Given an app whose activity comes from an IdP profile whose grant was refused
    service = ProfileService(InMemoryProfiles(), NetworkPolicy())
    idp = service.create({"name": "Okta", "template": "okta_sso", "base_url": "https://acme.okta.com"}, created_by=None)
    app = service.create(
        {
            "name": "App",
            "template": "scim2",
            "base_url": "https://acme.example.com/scim/v2",
            "subscription": {"licenses_purchased": 5},
            "activity": {"source": "sso", "idp_profile_id": idp.id, "app_id": "0oa1"},
        },
        created_by=None,
    )
    broken = ConnectionRecords(connection=ConnectionRecord(attempt_id="a", status="needs_reconnect", auth_type="x"))
    fine = ConnectionRecords(connection=ConnectionRecord(attempt_id="b", status="connected", auth_type="bearer"))

    class ByProfile(Records):
        def connection_records(self, profile_id):
            return (broken if profile_id == idp.id else fine), None

    # When it is to be synced or reclaimed, Then it is a conflict that names the IdP
    with pytest.raises(
        ConnectionConflict, match=f"identity provider {idp.id}.*needs_reconnect|needs_reconnect.*{idp.id}"
    ):
        refuse_needs_reconnect(app, ByProfile(), "reclaiming")
    # And the IdP's own connection being fine, nothing is refused
    refuse_needs_reconnect(idp, Records(), "syncing")
