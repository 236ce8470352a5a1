"""The seatkeeper table itself: its client, leases, conditional writes and the values of items (key design: the
package's docstring)."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from decimal import Decimal
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from seatkeeper.aws.clients import aws_client

if TYPE_CHECKING:
    from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

KEY = ("pk", "sk")


@cache
def _types() -> tuple[TypeSerializer, TypeDeserializer, type[Binary]]:
    # Cold start: boto3's types where the first item is converted, not where a handler module is
    # imported (importing boto3 brings s3transfer with it: tests/unit/test_cold_start_imports.py).
    from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer(), Binary


def to_item(values: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    """Plain values as DynamoDB's typed attribute values: an item, a key or ExpressionAttributeValues.

    str is S, int is N, bool is BOOL, bytes is B, a dict M and a list L (TypeSerializer's types);
    a float is the N it prints as (TypeSerializer takes no float). None is left out: the table
    keeps no NULL, an attribute it does not have is None.
    """
    serialize = _types()[0].serialize
    return {
        name: serialize(Decimal(str(value)) if isinstance(value, float) else value)
        for name, value in values.items()
        if value is not None
    }


def from_item(item: Mapping[str, AttributeValueTypeDef], *, skip: Collection[str] = ()) -> dict[str, Any]:
    """An item (or key) as plain values, without the attributes in `skip`: what to_item makes them from.

    An N is an int (a float if it has a fraction), never a Decimal, and a B is bytes.
    """
    deserialize = _types()[1].deserialize
    return {name: _plain(deserialize(value)) for name, value in item.items() if name not in skip}


def _plain(value: Any) -> Any:
    if isinstance(value, str | bool):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, _types()[2]):
        return value.value  # type: ignore[attr-defined]  # boto3-stubs leaves out Binary's one attribute
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


def key(pk: str, sk: str) -> dict[str, AttributeValueTypeDef]:
    """An item's key: two strings, typed here without TypeSerializer (bulk writes and deletes make one a user)."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def profile_key(profile_id: str) -> dict[str, AttributeValueTypeDef]:
    return key(f"PROFILE#{profile_id}", "PROFILE")


def name_key(name: str) -> dict[str, AttributeValueTypeDef]:
    return key(f"PROFILE_NAME#{name.casefold()}", "PROFILE_NAME")


def cancelled_by_condition(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    if code == "ConditionalCheckFailedException":
        return True
    reasons = error.response.get("CancellationReasons", [])
    return code == "TransactionCanceledException" and any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)


class Table:
    """The seatkeeper table, with a client made on first use (routes that never touch it start faster)."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @cached_property
    def client(self) -> DynamoDBClient:
        return self._client or aws_client("dynamodb")

    @cached_property
    def bulk_client(self) -> DynamoDBClient:
        """For batches of items built here: checking each typed attribute against the API model
        first cost about a tenth of a commit's client-side time, for requests DynamoDB checks anyway."""
        return self._client or aws_client("dynamodb", validated=False)

    def _take_lease(self, key: dict[str, AttributeValueTypeDef], holder: str, seconds: int) -> bool:
        """Hold the item at `key` for `seconds`, unless another holder's lease is still running."""
        now = int(time.time())
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={**key, **to_item({"holder": holder, "expires_at": now + seconds})},
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues=to_item({":now": now}),
            )
        except ClientError as exc:
            if cancelled_by_condition(exc):
                return False
            raise
        return True

    def _put_if_absent(self, item: dict[str, AttributeValueTypeDef]) -> bool:
        """Write the item unless one with its key exists: whether this call wrote it."""
        try:
            self.client.put_item(TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if cancelled_by_condition(exc):
                return False
            raise
        return True

    def _end_lease(self, key: dict[str, AttributeValueTypeDef], holder: str) -> None:
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=key,
                ConditionExpression="holder = :holder",
                ExpressionAttributeValues=to_item({":holder": holder}),
            )
        except ClientError as exc:
            if not cancelled_by_condition(exc):
                raise
