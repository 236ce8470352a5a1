"""Connections & credentials: what the API and the create-connection saga do with them.

A connection attempt stores the credential value in the vault (Secrets Manager), then starts
the create-connection saga, which writes the connection, credential and app registry
records, runs the OAuth grant when needed, tests the connection and, on any failure,
deletes all it created. Only references to secrets ever reach DynamoDB or the saga.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from seatkeeper.core.errors import ConnectionConflict, ConnectionNotFound, InvalidInput, SaaSAuthenticationFailed
from seatkeeper.notify.events import NoNotices, Notices
from seatkeeper.profiles.links import connection_owner, credential_binding, credential_origins, sso_activity
from seatkeeper.profiles.model import Auth, OAuth2AuthorizationCodeAuth, Profile, credential_fields
from seatkeeper.profiles.records import ProfileRecord

# needs_reconnect: the authorization server refused the refresh token (invalid_grant): nothing the app
# says is read until a person grants access again (POST /profiles/{id}/connection/reconnect).
ConnectionStatus = Literal["pending", "awaiting_grant", "connected", "needs_reconnect", "failed"]

# What people read when a connection fails, by the error name the saga recorded.
FAILURE_MESSAGES = {
    "States.Timeout": "access was not granted in time; connect again to get a new authorization link",
    "SaaSAuthenticationFailed": "the app did not accept the credential",
    "SaaSUnavailable": "the app did not answer in time or answered with a server error, also after retries",
    "SaaSRequestFailed": "the app refused the test request",
    "UnreadableResponse": "the app's answer does not match the profile's users endpoint",
    "AddressRefused": "the network guard refused the app's address",
    "GrantFailed": "the authorization server did not grant access",
    "GrantRevoked": "the authorization server refused the refresh token: reconnect",
    "ConnectionConflict": "another connection attempt for this profile was already under way",
}


PREVIEW_TOKEN_FIELDS = ("access_token",)
"""What a preview of an authorization-code profile takes: a token someone got from the app out of band."""


class CredentialInput(BaseModel):
    """Credential values for POST /profiles/{id}/connection; which ones depends on the profile's auth type."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    username: str | None = Field(None, min_length=1, max_length=320)
    api_key: SecretStr | None = Field(None, min_length=1, max_length=8192)
    token: SecretStr | None = Field(None, min_length=1, max_length=8192)
    client_id: str | None = Field(None, min_length=1, max_length=512)
    client_secret: SecretStr | None = Field(None, min_length=1, max_length=8192)
    client_email: str | None = Field(
        None, min_length=3, max_length=320, description="oauth2_jwt_bearer: the service account (Google: client_email)"
    )
    private_key: SecretStr | None = Field(
        None,
        min_length=1,
        max_length=16384,
        description="client_auth private_key_jwt: the private key, PEM (PKCS#8 or PKCS#1) or a JWK",
    )
    access_token: SecretStr | None = Field(
        None,
        min_length=1,
        max_length=8192,
        description="POST /profiles/preview of an oauth2_authorization_code profile only: an access token obtained"
        " out of band (the vendor's console, any OAuth client), used for that preview's requests and forgotten",
    )

    def values_for(self, auth: Auth, *, preview: bool = False) -> dict[str, str]:
        """The plain values the auth needs; 422 for a missing one, one it does not use, or a key that is none.

        `preview`: for a preview, where an authorization-code profile, which has no grant yet, takes an access
        token instead of its client's id and secret (the grant needs a person, and a connection to keep it)."""
        auth_type, needed = auth.type, credential_fields(auth)
        needs = f"required for auth type {auth_type}"
        if preview and isinstance(auth, OAuth2AuthorizationCodeAuth):
            needed = PREVIEW_TOKEN_FIELDS
            needs = f"required to preview a profile of auth type {auth_type} before it is connected"
        errors = [
            {"loc": ["body", name], "msg": needs, "type": "missing"} for name in needed if getattr(self, name) is None
        ] + [
            {"loc": ["body", name], "msg": f"not used by auth type {auth_type}", "type": "extra_forbidden"}
            for name in type(self).model_fields
            if name not in needed and getattr(self, name) is not None
        ]
        if errors:
            raise InvalidInput(errors)
        values = {}
        for name in needed:
            value = getattr(self, name)
            values[name] = value.get_secret_value() if isinstance(value, SecretStr) else value
        if "private_key" in values:
            # Cold start: the JWT signing (cryptography) only for a private key.
            from seatkeeper.saas.oauth import UnusableSigningKey, signing_key

            try:
                signing_key(values["private_key"])
            except UnusableSigningKey as exc:
                raise InvalidInput.at(("body", "private_key"), str(exc)) from None
        return values


class ConnectionRecord(BaseModel):
    model_config = ConfigDict(defer_build=True)

    attempt_id: str
    status: ConnectionStatus
    auth_type: str
    execution_arn: str | None = None
    requested_by: str | None = None
    started_at: str | None = None
    authorize_url: str | None = None
    connected_at: str | None = None
    needs_reconnect_since: str | None = None
    reconnect_reason: str | None = Field(None, description="Why the connection needs a new grant")
    grant_state: str | None = Field(None, exclude=True)  # the key of a waiting grant's state; never shown


class CredentialRecord(BaseModel):
    model_config = ConfigDict(defer_build=True)

    attempt_id: str
    auth_type: str
    secret_arn: str = Field(description="Where the value is; the value itself is never shown")
    created_at: str | None = None
    bound_to: list[str] = Field(default_factory=list, description="The origins the credential may be sent to")
    binding: str | None = Field(None, description="Digest of those origins and the auth it was entered for")

    def check_bound_to(self, profile: Profile) -> None:
        """Refuse to send the credential anywhere but where it was entered for.

        Changing a connected profile's origins is refused by the API; this holds the line when
        a change raced a connection attempt, or came from outside the API.
        """
        if self.binding is not None and self.binding != credential_binding(profile):
            raise SaaSAuthenticationFailed(
                f"the credential was entered for {', '.join(self.bound_to) or 'other origins'}, and the profile's "
                "URLs or authentication have changed since: disconnect and connect again"
            )


class AppRegistryRecord(BaseModel):
    model_config = ConfigDict(defer_build=True)

    attempt_id: str
    client_id: str
    authorize_url: str | None = Field(None, description="Shown only to the roles that may connect")
    token_url: str
    redirect_uri: str
    scopes: list[str] = Field(default_factory=list)
    created_at: str | None = None


class ConnectionFailure(BaseModel):
    model_config = ConfigDict(defer_build=True)

    attempt_id: str
    error: str
    cause: str | None = None
    failed_at: str | None = None


class ConnectionRecords(BaseModel):
    model_config = ConfigDict(defer_build=True)

    connection: ConnectionRecord | None = None
    credential: CredentialRecord | None = None
    app_registry: AppRegistryRecord | None = None

    @property
    def connected(self) -> bool:
        return self.connection is not None and self.connection.status == "connected"

    @property
    def needs_reconnect(self) -> bool:
        return self.connection is not None and self.connection.status == "needs_reconnect"


def refuse_needs_reconnect(profile: ProfileRecord, repository: ConnectionRepository, doing: str) -> None:
    """409 when a connection the profile's users or activity come through needs a reconnect: its grant was
    refused, so seatkeeper cannot see current activity, and nothing is synced or taken back on what it saw
    last (a dry run neither: its candidates would be yesterday's)."""
    sso = sso_activity(profile.profile)
    through = dict.fromkeys([connection_owner(profile), *([sso.idp_profile_id] if sso else [])])
    for profile_id in through:
        records, _ = repository.connection_records(profile_id)
        if records.needs_reconnect:
            whose = "its" if profile_id == profile.id else f"its identity provider {profile_id}'s"
            raise ConnectionConflict(
                f"profile {profile.id} needs_reconnect: {whose} authorization server refused the grant, so "
                f"seatkeeper cannot see current activity; reconnect before {doing}"
            )


class ConnectionView(BaseModel):
    model_config = ConfigDict(defer_build=True)

    status: ConnectionStatus
    authorize_url: str | None = Field(
        None, description="Where to grant access while awaiting_grant; shown only to the roles that may connect"
    )
    error: str | None = None
    records: ConnectionRecords

    def without_grant_link(self) -> ConnectionView:
        """The view for those who may only read.

        A pending grant's link carries its state and PKCE challenge: whoever holds it can
        complete someone else's grant with their own account in the app, or spoil it.
        """
        records = self.records
        return self.model_copy(
            update={
                "authorize_url": None,
                "records": records.model_copy(
                    update={
                        "connection": records.connection
                        and records.connection.model_copy(update={"authorize_url": None}),
                        "app_registry": records.app_registry
                        and records.app_registry.model_copy(update={"authorize_url": None}),
                    }
                ),
            }
        )


class ConnectionAttempt(BaseModel):
    model_config = ConfigDict(defer_build=True)

    attempt_id: str
    status: ConnectionStatus = "pending"


# --- ports ------------------------------------------------------------------------------


class ConnectionRepository(Protocol):
    def connection_records(self, profile_id: str) -> tuple[ConnectionRecords, ConnectionFailure | None]: ...

    def reserve_connection(self, profile_id: str, record: ConnectionRecord) -> None:
        """Write the pending connection record unless the profile has one; ConnectionConflict if it has."""

    def release_connection(self, profile_id: str, attempt_id: str) -> None:
        """Delete the connection record if it is still this attempt's."""

    def delete_connection_records(self, profile_id: str) -> None: ...

    def mark_needs_reconnect(self, profile_id: str, attempt_id: str, reason: str) -> bool:
        """The connected attempt's status to needs_reconnect; False when it is not (or no longer) that attempt
        connected, so that only the first refusal of a grant is announced."""

    def reserve_reconnection(self, profile_id: str, record: ConnectionRecord) -> None:
        """Replace a needs_reconnect connection record with a new attempt's; ConnectionConflict otherwise."""


class Vault(Protocol):
    def create(self, name: str, value: dict[str, Any]) -> str:
        """Store a new secret; its ARN."""

    def read(self, secret_id: str) -> dict[str, Any]: ...

    def delete_all(self, prefix: str) -> int:
        """Delete every secret whose name starts with `prefix`, at once; how many."""

    def delete(self, secret_id: str) -> None: ...


class Saga(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> str:
        """Start the create-connection state machine; the execution's ARN."""

    def stop(self, execution_arn: str, reason: str) -> None: ...


def secret_prefix(profile_id: str) -> str:
    return f"seatkeeper/{profile_id}/"


def _describe(failure: ConnectionFailure) -> str:
    known = FAILURE_MESSAGES.get(failure.error)
    detail = (failure.cause or "").strip()
    if known and detail:
        return f"{known}: {detail}"
    return known or detail or failure.error


class ConnectionService:
    def __init__(
        self, repository: ConnectionRepository, vault: Vault, saga: Saga, notices: Notices | None = None
    ) -> None:
        self.repository = repository
        self.vault = vault
        self.saga = saga
        self.notices = notices or NoNotices()

    def connect(
        self,
        profile: ProfileRecord,
        credential: CredentialInput,
        *,
        requested_by: str | None,
        redirect_uri: str,
        grant_timeout_seconds: int = 900,
    ) -> ConnectionAttempt:
        if (owner := connection_owner(profile)) != profile.id:
            raise ConnectionConflict(f"profile {profile.id} uses the connection of its identity provider {owner}")
        values = credential.values_for(profile.profile.auth)

        def reserve(record: ConnectionRecord) -> None:
            # The conditional write is what makes a second attempt a 409, also when two arrive at once.
            try:
                self.repository.reserve_connection(profile.id, record)
            except ConnectionConflict:
                records, _ = self.repository.connection_records(profile.id)
                state = "connected" if records.connected else "being connected"
                raise ConnectionConflict(f"profile {profile.id} is {state}; disconnect it first") from None

        return self._attempt(
            profile,
            values,
            reserve,
            requested_by=requested_by,
            redirect_uri=redirect_uri,
            grant_timeout_seconds=grant_timeout_seconds,
        )

    def reconnect(
        self, profile: ProfileRecord, *, requested_by: str | None, redirect_uri: str, grant_timeout_seconds: int = 900
    ) -> ConnectionAttempt:
        """Grant access again to a connection whose grant the authorization server refused: a new attempt
        of the create-connection saga with the client's stored id and secret, so nobody types them again."""
        records, _ = self.repository.connection_records(profile.id)
        if not records.needs_reconnect or records.credential is None:
            status = records.connection.status if records.connection else "not connected"
            raise ConnectionConflict(f"profile {profile.id} is {status}: only a needs_reconnect connection reconnects")
        stored = self.vault.read(records.credential.secret_arn)
        # The client's values only: the refused tokens stay behind with the old secret.
        values = {name: stored[name] for name in credential_fields(profile.profile.auth) if name in stored}

        def reserve(record: ConnectionRecord) -> None:
            try:
                self.repository.reserve_reconnection(profile.id, record)
            except ConnectionConflict:
                raise ConnectionConflict(f"profile {profile.id} is being reconnected already") from None

        try:
            attempt = self._attempt(
                profile,
                values,
                reserve,
                requested_by=requested_by,
                redirect_uri=redirect_uri,
                grant_timeout_seconds=grant_timeout_seconds,
            )
        except Exception:
            # The attempt released its record: the refused one comes back, so the banner and its button stay.
            if records.connection is not None:
                self.repository.reserve_connection(profile.id, records.connection)
            raise
        # Its refresh token is refused and its client values live on in the new attempt's secret.
        self.vault.delete(records.credential.secret_arn)
        return attempt

    def _attempt(
        self,
        profile: ProfileRecord,
        values: dict[str, str],
        reserve: Callable[[ConnectionRecord], None],
        *,
        requested_by: str | None,
        redirect_uri: str,
        grant_timeout_seconds: int,
    ) -> ConnectionAttempt:
        auth = profile.profile.auth
        attempt_id = uuid.uuid4().hex
        requested_at = datetime.now(UTC).isoformat(timespec="seconds")
        reserve(
            ConnectionRecord(
                attempt_id=attempt_id,
                status="pending",
                auth_type=auth.type,
                requested_by=requested_by,
                started_at=requested_at,
            )
        )
        try:
            secret_arn = self.vault.create(f"{secret_prefix(profile.id)}{attempt_id}", values)
        except Exception:
            self.repository.release_connection(profile.id, attempt_id)
            raise
        payload: dict[str, Any] = {
            "profile_id": profile.id,
            "attempt_id": attempt_id,
            "auth_type": auth.type,
            "secret_arn": secret_arn,
            "requested_by": requested_by or "unknown",
            "requested_at": requested_at,
            "grant_timeout_seconds": grant_timeout_seconds,
            "bound_to": " ".join(credential_origins(profile.profile)),
            "binding": credential_binding(profile.profile),
        }
        if isinstance(auth, OAuth2AuthorizationCodeAuth):
            payload["app_registry"] = {
                "client_id": values["client_id"],  # public by OAuth's definition, unlike the secret
                "authorize_url": auth.authorize_url,
                "token_url": auth.token_url,
                "redirect_uri": redirect_uri,
                "scopes": " ".join(auth.scopes),
            }
        try:
            self.saga.start(attempt_id, payload)
        except Exception:
            self.vault.delete(secret_arn)
            self.repository.release_connection(profile.id, attempt_id)
            raise
        return ConnectionAttempt(attempt_id=attempt_id)

    def view(self, profile_id: str) -> ConnectionView:
        records, failure = self.repository.connection_records(profile_id)
        connection = records.connection
        failed_attempt = failure is not None and (connection is None or connection.attempt_id == failure.attempt_id)
        if connection is not None and not failed_attempt:
            return ConnectionView(
                status=connection.status,
                authorize_url=connection.authorize_url,
                error=connection.reconnect_reason if connection.status == "needs_reconnect" else None,
                records=records,
            )
        if failure is not None:
            return ConnectionView(status="failed", error=_describe(failure), records=records)
        raise ConnectionNotFound(profile_id)

    def holds_credential(self, profile_id: str) -> bool:
        """Whether a credential is bound to the profile: connected, or a connection under way."""
        records, _ = self.repository.connection_records(profile_id)
        return records.connection is not None or records.credential is not None

    def disconnect(self, profile_id: str, *, missing_ok: bool = False) -> None:
        """Stop a saga under way, then delete every record and secret of the profile's connection."""
        records, failure = self.repository.connection_records(profile_id)
        if records.connection is None and records.credential is None and failure is None and not missing_ok:
            raise ConnectionNotFound(profile_id)
        connection = records.connection
        if connection and connection.status not in ("connected", "needs_reconnect") and connection.execution_arn:
            self.saga.stop(connection.execution_arn, "disconnected")
        self.vault.delete_all(secret_prefix(profile_id))
        self.repository.delete_connection_records(profile_id)
        self.notices.put("Connection Removed", {"profile_id": profile_id})
