"""Delivery records on the seatkeeper table: NOTIFY#<what it is about> / <kind>#<occasion>#<channel>#<recipient>.

The key is what makes a message distinct (notify.delivery), so the conditional write that claims a
record before its message is sent is the whole of "once per (event, recipient, channel)". Under
one partition are a reclamation's keep prompts and approval requests (or a profile's renewal
reminders and low-seat alerts), which the end of a grace period reads to tell who was reached.
GSI1 lists every delivery, newest first (gsi1pk=NOTIFICATIONS). Kept a year (TTL).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from seatkeeper.aws.dynamodb.table import Table, cancelled_by_condition, from_item, key, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    from seatkeeper.notify.delivery import Delivery

KEPT_SECONDS = 365 * 86400
LISTED = "NOTIFICATIONS"


def _key(about: str, sk: str) -> dict[str, AttributeValueTypeDef]:
    return key(f"NOTIFY#{about}", sk)


class DynamoDBDeliveries(Table):
    """DeliveryStore on the seatkeeper table."""

    def _item(self, delivery: Delivery, sk: str) -> dict[str, AttributeValueTypeDef]:
        return {
            **_key(delivery.about, sk),
            **to_item(
                {
                    "gsi1pk": LISTED,
                    "gsi1sk": f"{delivery.created_at}#{delivery.id}",
                    "status": delivery.status,
                    "kind": delivery.kind,
                    "profile_id": delivery.profile_id,
                    "lease_until": int(time.time()) + 300 if delivery.status == "pending" else None,
                    "document": delivery.model_dump_json(),
                    "expires_at": int(time.time()) + KEPT_SECONDS,
                }
            ),
        }

    def claim(self, delivery: Delivery, key: str, *, lease_seconds: int) -> Delivery | None:
        from seatkeeper.notify.delivery import Delivery  # cold start: the model where an item is read

        now = int(time.time())
        try:
            # ALL_OLD: the attempts so far, and the record's first creation time, carried on.
            answer = self.client.put_item(
                TableName=self.table_name,
                Item=self._item(delivery.model_copy(update={"attempts": 1}), key),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR #s = :failed OR (#s = :pending AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=to_item({":failed": "failed", ":pending": "pending", ":now": now}),
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if cancelled_by_condition(exc):
                return None
            raise
        old = answer.get("Attributes")
        if not old:
            return delivery.model_copy(update={"attempts": 1})
        before = Delivery.model_validate_json(from_item(old)["document"])
        claimed = delivery.model_copy(update={"attempts": before.attempts + 1, "created_at": before.created_at})
        self.client.put_item(TableName=self.table_name, Item=self._item(claimed, key))
        return claimed

    def finish(self, delivery: Delivery, key: str) -> None:
        self.client.put_item(TableName=self.table_name, Item=self._item(delivery, key))

    def record(self, delivery: Delivery, key: str) -> bool:
        return self._put_if_absent(self._item(delivery, key))

    def of(self, about: str, kind: str) -> list[Delivery]:
        from seatkeeper.notify.delivery import Delivery  # cold start: the model where an item is read

        found: list[Delivery] = []
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :kind)",
            "ExpressionAttributeValues": to_item({":pk": f"NOTIFY#{about}", ":kind": f"{kind}#"}),
            "ConsistentRead": True,
        }
        while True:
            answer = self.client.query(**request)
            found += [Delivery.model_validate_json(from_item(i)["document"]) for i in answer["Items"]]
            if "LastEvaluatedKey" not in answer:
                return found
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def listed(
        self, *, profile_id: str | None, kind: str | None, status: str | None, limit: int, after: dict[str, str] | None
    ) -> tuple[list[Delivery], dict[str, str] | None]:
        """Deliveries newest first, filtered; and where the next page starts."""
        from seatkeeper.notify.delivery import Delivery  # cold start: the model where an item is read

        filters = {"profile_id": profile_id, "kind": kind, "status": status}
        wanted = {name: value for name, value in filters.items() if value is not None}
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :listed",
            "ScanIndexForward": False,
            "Limit": limit,
            "ExpressionAttributeValues": to_item({":listed": LISTED, **{f":{n}": v for n, v in wanted.items()}}),
        }
        if wanted:
            request["FilterExpression"] = " AND ".join(f"#{n} = :{n}" for n in wanted)
            request["ExpressionAttributeNames"] = {f"#{n}": n for n in wanted}
        if after:
            request["ExclusiveStartKey"] = to_item(after)
        found: list[Delivery] = []
        while True:
            answer = self.client.query(**request)
            found += [Delivery.model_validate_json(from_item(i)["document"]) for i in answer["Items"]]
            last = answer.get("LastEvaluatedKey")
            # A page of `limit` items read, whatever the filter kept of them: never more, never one skipped.
            if last is None or found:
                return found, ({k: str(v) for k, v in from_item(last).items()} if last else None)
            request["ExclusiveStartKey"] = last
