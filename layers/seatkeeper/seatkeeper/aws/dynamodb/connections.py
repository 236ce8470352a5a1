"""Connections, their credentials' references and app registries, OAuth grants waiting for their callback and
refresh locks, on the seatkeeper table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from seatkeeper.aws.dynamodb.table import KEY, Table, cancelled_by_condition, from_item, key, to_item
from seatkeeper.connections.service import (
    AppRegistryRecord,
    ConnectionFailure,
    ConnectionRecord,
    ConnectionRecords,
    CredentialRecord,
)
from seatkeeper.core.errors import ConnectionConflict

# Cold start: the domain models of this aggregate's items are imported by the methods that read them,
# so that a function that only writes or lists them does not load them (README, Benchmarks: cold start).
if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    from seatkeeper.saas.oauth import GrantState


CONNECTION_ITEMS = ("CONNECTION", "CREDENTIAL", "APP_REGISTRY", "CONNECTION_FAILURE")


def _grant_key(state: str) -> dict[str, AttributeValueTypeDef]:
    return key(f"OAUTH_STATE#{state}", "OAUTH_STATE")


def _lock_key(secret: str) -> dict[str, AttributeValueTypeDef]:
    return key(f"REFRESH_LOCK#{secret}", "REFRESH_LOCK")


def _connection_key(profile_id: str, sk: str = "CONNECTION") -> dict[str, AttributeValueTypeDef]:
    return key(f"PROFILE#{profile_id}", sk)


class DynamoDBConnections(Table):
    """ConnectionRepository, GrantStates and RefreshLock on the seatkeeper table."""

    def connection_records(self, profile_id: str) -> tuple[ConnectionRecords, ConnectionFailure | None]:
        # Cold start: the sync's module only where a failed attempt's cause is read.
        from seatkeeper.sync.runs import run_error

        answer = self.client.batch_get_item(
            RequestItems={
                self.table_name: {
                    "Keys": [_connection_key(profile_id, sk) for sk in CONNECTION_ITEMS],
                    "ConsistentRead": True,
                }
            }
        )
        items = [from_item(item) for item in answer["Responses"].get(self.table_name, [])]
        found = {values["sk"]: {k: v for k, v in values.items() if k not in KEY} for values in items}
        registry = found.get("APP_REGISTRY")
        if registry is not None:
            registry["scopes"] = registry.get("scopes", "").split()
        if "CREDENTIAL" in found:
            found["CREDENTIAL"]["bound_to"] = found["CREDENTIAL"].get("bound_to", "").split()
        failure = found.get("CONNECTION_FAILURE")
        if failure is not None:
            failure["cause"] = run_error(failure.get("cause"))
        return (
            ConnectionRecords(
                connection=ConnectionRecord.model_validate(found["CONNECTION"]) if "CONNECTION" in found else None,
                credential=CredentialRecord.model_validate(found["CREDENTIAL"]) if "CREDENTIAL" in found else None,
                app_registry=AppRegistryRecord.model_validate(registry) if registry else None,
            ),
            ConnectionFailure.model_validate(failure) if failure else None,
        )

    def reserve_connection(self, profile_id: str, record: ConnectionRecord) -> None:
        item = to_item({k: str(v) for k, v in record.model_dump(exclude_none=True).items()})
        if not self._put_if_absent({**_connection_key(profile_id), **item}):
            raise ConnectionConflict(f"profile {profile_id} has a connection")

    def reserve_reconnection(self, profile_id: str, record: ConnectionRecord) -> None:
        item = to_item({k: str(v) for k, v in record.model_dump(exclude_none=True).items()})
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={**_connection_key(profile_id), **item},
                ConditionExpression="#status = :needs",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item({":needs": "needs_reconnect"}),
            )
        except ClientError as exc:
            if cancelled_by_condition(exc):
                raise ConnectionConflict(f"profile {profile_id} does not need a reconnect") from None
            raise

    def mark_needs_reconnect(self, profile_id: str, attempt_id: str, reason: str) -> bool:
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_connection_key(profile_id),
                UpdateExpression="SET #status = :needs, needs_reconnect_since = :now, reconnect_reason = :reason",
                ConditionExpression="#status = :connected AND attempt_id = :attempt",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item(
                    {
                        ":needs": "needs_reconnect",
                        ":connected": "connected",
                        ":attempt": attempt_id,
                        ":now": datetime.now(UTC).isoformat(timespec="seconds"),
                        ":reason": reason,
                    }
                ),
            )
        except ClientError as exc:
            if cancelled_by_condition(exc):
                return False
            raise
        return True

    def release_connection(self, profile_id: str, attempt_id: str) -> None:
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=_connection_key(profile_id),
                ConditionExpression="attempt_id = :attempt",
                ExpressionAttributeValues=to_item({":attempt": attempt_id}),
            )
        except ClientError as exc:
            if not cancelled_by_condition(exc):
                raise

    def delete_connection_records(self, profile_id: str) -> None:
        for sk in CONNECTION_ITEMS:
            old = from_item(
                self.client.delete_item(
                    TableName=self.table_name, Key=_connection_key(profile_id, sk), ReturnValues="ALL_OLD"
                ).get("Attributes", {})
            )
            if "grant_state" in old:
                # A grant still waiting holds a task token and a PKCE verifier: gone with its attempt.
                self.client.delete_item(TableName=self.table_name, Key=_grant_key(old["grant_state"]))

    def await_grant(self, profile_id: str, attempt_id: str, authorize_url: str) -> None:
        """Show the person the authorize URL, if the attempt is still the profile's current one."""
        self.client.update_item(
            TableName=self.table_name,
            Key=_connection_key(profile_id),
            UpdateExpression="SET #status = :awaiting, authorize_url = :url",
            ConditionExpression="attempt_id = :attempt",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=to_item(
                {":awaiting": "awaiting_grant", ":url": authorize_url, ":attempt": attempt_id}
            ),
        )

    def put_grant_state(self, grant: GrantState) -> None:
        """Keep the grant's state, and note it on its attempt's connection record so that disconnecting finds it.

        One transaction: an attempt disconnected meanwhile leaves no state behind.
        """
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {
                                **_grant_key(grant.state),
                                **to_item({"document": grant.model_dump_json(), "expires_at": grant.expires_at}),
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": _connection_key(grant.profile_id),
                            "UpdateExpression": "SET grant_state = :state",
                            "ConditionExpression": "attempt_id = :attempt",
                            "ExpressionAttributeValues": to_item({":state": grant.state, ":attempt": grant.attempt_id}),
                        }
                    },
                ]
            )
        except ClientError as exc:
            if cancelled_by_condition(exc):
                raise ConnectionConflict(f"the connection attempt {grant.attempt_id} is gone") from None
            raise

    def take_grant_state(self, state: str) -> GrantState | None:
        # Cold start: the OAuth models only where a grant is taken back.
        from seatkeeper.saas.oauth import GrantState

        try:
            answer = self.client.delete_item(
                TableName=self.table_name,
                Key=_grant_key(state),
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if cancelled_by_condition(exc):
                return None
            raise
        return GrantState.model_validate_json(from_item(answer["Attributes"])["document"])

    def acquire(self, key: str, holder: str, seconds: int) -> bool:
        return self._take_lease(_lock_key(key), holder, seconds)

    def release(self, key: str, holder: str) -> None:
        self._end_lease(_lock_key(key), holder)
