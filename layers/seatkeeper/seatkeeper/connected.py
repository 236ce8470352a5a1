"""How a connected profile's SaaS client is put together: the credential from the vault, read
once per client, and for OAuth an access token that the client holds until it is about to
expire, then reads again and refreshes under a lock."""

from __future__ import annotations

from seatkeeper.connections import ConnectionRepository
from seatkeeper.errors import SaaSAuthenticationFailed
from seatkeeper.network_guard import NetworkPolicy
from seatkeeper.oauth import AccessToken, RefreshLock, SecretStore, TokenEndpoint
from seatkeeper.profile import OAuth2AuthorizationCodeAuth
from seatkeeper.profiles import ProfileRecord
from seatkeeper.saas_http import RetryPolicy, SaaSClient


def saas_client(
    profile: ProfileRecord,
    *,
    connections: ConnectionRepository,
    secrets: SecretStore,
    lock: RefreshLock,
    endpoint: TokenEndpoint,
    policy: NetworkPolicy,
    retries: RetryPolicy | None = None,
) -> SaaSClient:
    records, _ = connections.connection_records(profile.id)
    if records.credential is None:
        raise SaaSAuthenticationFailed(f"profile {profile.id} has no credential; connect it first")
    records.credential.check_bound_to(profile.profile)
    secret_id = records.credential.secret_arn
    auth = profile.profile.auth
    if isinstance(auth, OAuth2AuthorizationCodeAuth):
        token = AccessToken(auth, secret_id, store=secrets, lock=lock, endpoint=endpoint)
        return SaaSClient(profile.profile, {}, policy=policy, access_token=token, retries=retries)
    return SaaSClient(profile.profile, secrets.read(secret_id), policy=policy, retries=retries)


def saas_client_on_aws(
    profile: ProfileRecord, table_name: str, policy: NetworkPolicy, *, retries: RetryPolicy | None = None
) -> SaaSClient:
    """The SaaS client as the Lambda functions assemble it: DynamoDB, Secrets Manager, the guard."""
    from seatkeeper.saas_http import GuardedTokenEndpoint
    from seatkeeper.store import DynamoDBConnections
    from seatkeeper.vault import SecretsManagerVault

    connections = DynamoDBConnections(table_name)
    return saas_client(
        profile,
        connections=connections,
        secrets=SecretsManagerVault(),
        lock=connections,
        endpoint=GuardedTokenEndpoint(policy),
        policy=policy,
        retries=retries,
    )
