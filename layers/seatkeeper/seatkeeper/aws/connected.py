"""The SaaS client of a connected profile as the Lambda functions assemble it: DynamoDB, Secrets Manager, the guard."""

from __future__ import annotations

from seatkeeper.connections.client import saas_client
from seatkeeper.profiles.records import ProfileRecord
from seatkeeper.saas.http import RetryPolicy, SaaSClient
from seatkeeper.saas.network_guard import NetworkPolicy


def saas_client_on_aws(
    profile: ProfileRecord, table_name: str, policy: NetworkPolicy, *, retries: RetryPolicy | None = None
) -> SaaSClient:
    """The SaaS client as the Lambda functions assemble it: DynamoDB, Secrets Manager, the guard."""
    # Cold start: the stores and the vault come with the first client made, not with this module.
    from seatkeeper.aws.dynamodb.connections import DynamoDBConnections
    from seatkeeper.aws.events import EventBridgeNotices
    from seatkeeper.aws.vault import SecretsManagerVault
    from seatkeeper.saas.http import GuardedTokenEndpoint

    connections = DynamoDBConnections(table_name)
    return saas_client(
        profile,
        connections=connections,
        secrets=SecretsManagerVault(),
        lock=connections,
        endpoint=GuardedTokenEndpoint(policy),
        policy=policy,
        retries=retries,
        notices=EventBridgeNotices(),
    )
