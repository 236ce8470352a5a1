"""Reconciliations, license positions, the overview's trend and renewal reminders on the seatkeeper table."""

from __future__ import annotations

import gzip
import time
from datetime import date
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from seatkeeper.aws.dynamodb.table import Table, cancelled_by_condition, from_item, key, to_item

# Cold start: the domain models of this aggregate's items are imported by the methods that read them,
# so that a function that only writes or lists them does not load them (README, Benchmarks: cold start).
if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    from seatkeeper.licensing.analytics import TrendPoint
    from seatkeeper.licensing.position import LicensePosition
    from seatkeeper.licensing.reconciliation import Reconciliation


def _position_key(profile_id: str) -> dict[str, AttributeValueTypeDef]:
    return key(f"PROFILE#{profile_id}", "POSITION")


def _reconciliation_key(reconciliation_id: str) -> dict[str, AttributeValueTypeDef]:
    return key(f"RECONCILIATION#{reconciliation_id}", "RECONCILIATION")


class DynamoDBReconciliations(Table):
    """ReconciliationStore, and the positions it keeps, on the seatkeeper table."""

    def put_position(self, position: LicensePosition) -> None:
        document = to_item({"document": position.model_dump_json()})
        pk = f"PROFILE#{position.profile_id}"
        self.client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": {**key(pk, f"POSITION#{position.reconciled_at.isoformat()}"), **document},
                    }
                },
                {"Put": {"TableName": self.table_name, "Item": {**key(pk, "POSITION"), **document}}},
            ]
        )

    def latest_position(self, profile_id: str) -> LicensePosition | None:
        # Cold start: the position's models where positions are read (module docstring).
        from seatkeeper.licensing.position import LicensePosition

        item = self.client.get_item(TableName=self.table_name, Key=_position_key(profile_id)).get("Item")
        return LicensePosition.model_validate_json(from_item(item)["document"]) if item else None

    def latest_positions(self, profile_ids: list[str]) -> list[LicensePosition]:
        # Cold start: the position's models where positions are read (module docstring).
        from seatkeeper.licensing.position import LicensePosition

        found: list[LicensePosition] = []
        for start in range(0, len(profile_ids), 100):
            keys = [_position_key(i) for i in profile_ids[start : start + 100]]
            # Consistent: today's trend point is summed from them right after one of them was written.
            pending: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
            while pending:
                answer = self.client.batch_get_item(RequestItems=pending)
                found += [
                    LicensePosition.model_validate_json(from_item(i)["document"])
                    for i in answer["Responses"].get(self.table_name, [])
                ]
                pending = answer.get("UnprocessedKeys") or {}
        return found

    def standing_positions(self) -> list[LicensePosition]:
        """The latest position of every profile there is (deleted profiles leave theirs out)."""
        ids: list[str] = []
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :kind",
            ExpressionAttributeValues=to_item({":kind": "PROFILES"}),
            ProjectionExpression="pk",
        ):
            ids += [from_item(i)["pk"].removeprefix("PROFILE#") for i in page["Items"]]
        return self.latest_positions(ids)

    def positions(self, profile_id: str, limit: int) -> list[LicensePosition]:
        # Cold start: the position's models where positions are read (module docstring).
        from seatkeeper.licensing.position import LicensePosition

        answer = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :history)",
            ExpressionAttributeValues=to_item({":pk": f"PROFILE#{profile_id}", ":history": "POSITION#"}),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [LicensePosition.model_validate_json(from_item(i)["document"]) for i in answer["Items"]]

    def put_trend_point(self, point: TrendPoint) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={**key("TREND", point.date.isoformat()), **to_item({"document": point.model_dump_json()})},
        )

    def trend_points(self, since: date) -> list[TrendPoint]:
        """The days' points from `since` on, oldest first: one query, however many profiles there are."""
        # Only the overview reads them: the other functions need not load its models at cold start.
        from seatkeeper.licensing.analytics import TrendPoint

        points: list[TrendPoint] = []
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :trend AND sk >= :since",
            ExpressionAttributeValues=to_item({":trend": "TREND", ":since": since.isoformat()}),
        ):
            points += [TrendPoint.model_validate_json(from_item(i)["document"]) for i in page["Items"]]
        return points

    @staticmethod
    def _reconciliation_item(reconciliation: Reconciliation) -> dict[str, AttributeValueTypeDef]:
        # Gzipped: with a position for each of up to 500 profiles (MAX_PROFILES) the JSON comes to
        # 0.75-1 KB a profile, at or over DynamoDB's 400 KB an item; gzipped, a tenth of that.
        document = gzip.compress(reconciliation.model_dump_json().encode(), mtime=0)
        return {
            **_reconciliation_key(reconciliation.id),
            **to_item({"status": reconciliation.status, "document_gz": document}),
        }

    def mark_renewal_reminder(self, profile_id: str, renewal_date: date, days: int) -> bool:
        return self._put_if_absent(
            {
                **key(f"PROFILE#{profile_id}", f"RENEWAL_REMINDER#{renewal_date.isoformat()}#{days}"),
                # Kept a while past the renewal, then gone: the next renewal has another date.
                **to_item({"expires_at": int(time.time()) + 800 * 86400}),
            }
        )

    def put_reconciliation(self, reconciliation: Reconciliation) -> None:
        self.client.put_item(TableName=self.table_name, Item=self._reconciliation_item(reconciliation))

    def replace_reconciliation(self, reconciliation: Reconciliation, *, expected_status: str) -> None:
        # Cold start: the reconciliation's models where one is read (module docstring).
        from seatkeeper.licensing.reconciliation import ReconciliationConflict

        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=self._reconciliation_item(reconciliation),
                # Items written before the status had an attribute of its own say it only in the document.
                ConditionExpression="attribute_not_exists(#status) OR #status = :expected",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_item({":expected": expected_status}),
            )
        except ClientError as exc:
            if cancelled_by_condition(exc):
                raise ReconciliationConflict(
                    f"reconciliation {reconciliation.id} is no longer {expected_status}"
                ) from None
            raise

    def get_reconciliation(self, reconciliation_id: str) -> Reconciliation:
        # Cold start: the reconciliation's models where one is read (module docstring).
        from seatkeeper.licensing.reconciliation import Reconciliation, ReconciliationNotFound

        item = self.client.get_item(
            TableName=self.table_name, ConsistentRead=True, Key=_reconciliation_key(reconciliation_id)
        ).get("Item")
        if item is None:
            raise ReconciliationNotFound(reconciliation_id)
        values = from_item(item)
        if "document_gz" in values:
            return Reconciliation.model_validate_json(gzip.decompress(values["document_gz"]))
        return Reconciliation.model_validate_json(values["document"])  # written before it was gzipped
