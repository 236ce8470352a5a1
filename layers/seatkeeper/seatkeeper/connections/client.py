"""How a connected profile's SaaS client is put together: the credential from the vault, read
once per client, and for OAuth an access token that the client holds until it is about to
expire, then reads again and refreshes under a lock."""

from __future__ import annotations

from datetime import UTC, datetime

from seatkeeper.connections.service import ConnectionRepository
from seatkeeper.core.errors import GrantRevoked, InvalidInput, SaaSAuthenticationFailed
from seatkeeper.notify.events import NoNotices, Notices
from seatkeeper.profiles.links import connection_owner
from seatkeeper.profiles.model import (
    OAuth2AuthorizationCodeAuth,
    OAuth2ClientCredentialsAuth,
    OAuth2JwtBearerAuth,
    Profile,
)
from seatkeeper.profiles.records import ProfileRecord
from seatkeeper.saas.http import RetryPolicy, SaaSClient
from seatkeeper.saas.network_guard import NetworkPolicy
from seatkeeper.saas.oauth import AccessToken, ClientCredentialsToken, RefreshLock, SecretStore, TokenEndpoint


def saas_client(
    profile: ProfileRecord,
    *,
    connections: ConnectionRepository,
    secrets: SecretStore,
    lock: RefreshLock,
    endpoint: TokenEndpoint,
    policy: NetworkPolicy,
    retries: RetryPolicy | None = None,
    notices: Notices | None = None,
) -> SaaSClient:
    # A profile whose users come from its IdP is sent with the IdP's credential, checked against it below.
    owner = connection_owner(profile)
    records, _ = connections.connection_records(owner)
    if records.credential is None:
        raise SaaSAuthenticationFailed(f"profile {profile.id} has no credential; connect it first")
    records.credential.check_bound_to(profile.profile)
    secret_id = records.credential.secret_arn
    auth = profile.profile.auth
    if isinstance(auth, OAuth2AuthorizationCodeAuth):
        attempt_id, told = records.credential.attempt_id, notices or NoNotices()

        def revoked(exc: GrantRevoked) -> None:
            # Whoever meets the refusal first (a sync, a reclaim, a preview) flips the status, once.
            if connections.mark_needs_reconnect(owner, attempt_id, str(exc)):
                told.put(
                    "Connection Needs Reconnect",
                    {
                        "profile_id": owner,
                        "attempt_id": attempt_id,
                        "reason": "invalid_grant",
                        "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    },
                )

        token = AccessToken(auth, secret_id, store=secrets, lock=lock, endpoint=endpoint, on_revoked=revoked)
        return SaaSClient(profile.profile, {}, policy=policy, access_token=token, retries=retries)
    if isinstance(auth, OAuth2ClientCredentialsAuth | OAuth2JwtBearerAuth):
        credential = secrets.read(secret_id)
        app_only = ClientCredentialsToken(auth, credential, endpoint=endpoint)
        # The client id is no secret, and some apps want it with every request (Adobe); the secret stays here.
        with_id = isinstance(auth, OAuth2ClientCredentialsAuth) and auth.client_id_header
        sent = {"client_id": credential["client_id"]} if with_id else {}
        return SaaSClient(profile.profile, sent, policy=policy, access_token=app_only, retries=retries)
    return SaaSClient(profile.profile, secrets.read(secret_id), policy=policy, retries=retries)


def preview_client(
    profile: Profile, credential: dict[str, str], *, endpoint: TokenEndpoint, policy: NetworkPolicy
) -> SaaSClient:
    """A client for a profile not connected yet, with a credential held for this one preview: never stored.
    An authorization-code profile needs a person's grant, which only a connection gets and keeps: before it
    is connected, it is previewed with an access token got out of band (`access_token`), sent as the
    connection's would be, never refreshed."""
    auth = profile.auth
    # A preview shows what the app answers: a few quick attempts, not a sync's patience.
    retries = RetryPolicy(max_attempts=2, budget_seconds=10)
    if isinstance(auth, OAuth2AuthorizationCodeAuth):
        if "access_token" not in credential:
            raise InvalidInput.at(
                ("body", "credential", "access_token"),
                "an authorization-code profile is previewed with an access token got out of band, or once"
                " connected: POST /profiles/{id}/preview",
            )
        token = credential["access_token"]
        return SaaSClient(profile, {}, policy=policy, access_token=lambda: token, retries=retries)
    if isinstance(auth, OAuth2ClientCredentialsAuth | OAuth2JwtBearerAuth):
        app_only = ClientCredentialsToken(auth, credential, endpoint=endpoint)
        with_id = isinstance(auth, OAuth2ClientCredentialsAuth) and auth.client_id_header
        sent = {"client_id": credential["client_id"]} if with_id else {}
        return SaaSClient(profile, sent, policy=policy, access_token=app_only, retries=retries)
    return SaaSClient(profile, credential, policy=policy, retries=retries)
