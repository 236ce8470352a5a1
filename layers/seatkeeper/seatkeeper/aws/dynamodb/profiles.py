"""ProfileRepository on the seatkeeper table: PROFILE#<id>/PROFILE, the name that keeps it unique, the GSI1 list."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from seatkeeper.aws.dynamodb.table import Table, cancelled_by_condition, from_item, name_key, profile_key, to_item
from seatkeeper.core.errors import ProfileConflict, ProfileNotFound
from seatkeeper.profiles.records import ProfileRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


# BatchWriteItem takes at most 25 requests; unprocessed ones are retried with full jitter, 0.05 s doubling.
BATCH_WRITE_ITEMS = 25
UNPROCESSED_ATTEMPTS = 8
UNPROCESSED_BACKOFF_SECONDS = 0.05


class DynamoDBProfiles(Table):
    """ProfileRepository on the seatkeeper table."""

    def _item(self, record: ProfileRecord) -> dict[str, Any]:
        return {
            **profile_key(record.id),
            **to_item(
                {
                    "gsi1pk": "PROFILES",
                    "gsi1sk": f"{record.created_at.isoformat()}#{record.id}",
                    "name": record.profile.name,
                    "version": record.version,
                    "document": record.model_dump_json(),
                }
            ),
        }

    @staticmethod
    def _record(item: dict[str, Any]) -> ProfileRecord:
        return ProfileRecord.model_validate_json(from_item(item)["document"])

    def add(self, record: ProfileRecord) -> None:
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {**name_key(record.profile.name), **to_item({"profile_id": record.id})},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": self._item(record),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as exc:
            if cancelled_by_condition(exc):
                raise ProfileConflict(f"a profile named {record.profile.name!r} exists already") from None
            raise

    def get(self, profile_id: str) -> ProfileRecord:
        item = self.client.get_item(TableName=self.table_name, Key=profile_key(profile_id), ConsistentRead=True).get(
            "Item"
        )
        if item is None:
            raise ProfileNotFound(profile_id)
        return self._record(item)

    def page(self, limit: int, after: dict[str, Any] | None) -> tuple[list[ProfileRecord], dict[str, Any] | None]:
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :kind",
            "ExpressionAttributeValues": to_item({":kind": "PROFILES"}),
            "Limit": limit,
        }
        if after:
            query["ExclusiveStartKey"] = to_item(after)
        answer = self.client.query(**query)
        last = answer.get("LastEvaluatedKey")
        return [self._record(i) for i in answer["Items"]], (from_item(last) if last else None)

    def every(self) -> Iterator[ProfileRecord]:
        after = None
        while True:
            page, after = self.page(100, after)
            yield from page
            if after is None:
                return

    def replace(self, record: ProfileRecord, *, previous: ProfileRecord) -> None:
        writes: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": self._item(record),
                    "ConditionExpression": "version = :previous",
                    "ExpressionAttributeValues": to_item({":previous": previous.version}),
                }
            }
        ]
        if record.profile.name.casefold() != previous.profile.name.casefold():
            writes += [
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": {**name_key(record.profile.name), **to_item({"profile_id": record.id})},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Delete": {"TableName": self.table_name, "Key": name_key(previous.profile.name)}},
            ]
        try:
            self.client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if cancelled_by_condition(exc):
                raise ProfileConflict(
                    f"a profile named {record.profile.name!r} exists already, or the profile changed meanwhile"
                ) from None
            raise

    def delete(self, profile_id: str) -> None:
        record = self.get(profile_id)
        keys: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": f"PROFILE#{profile_id}"}),
            ProjectionExpression="pk, sk",
        ):
            keys += [k for k in page["Items"] if k != profile_key(profile_id)]
        for users in (f"USERS#{profile_id}", f"USER_PAGES#{profile_id}"):  # a base's changes, its pages
            for page in paginator.paginate(
                TableName=self.table_name,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues=to_item({":pk": users}),
                ProjectionExpression="pk, sk",
            ):
                keys += page["Items"]
        # The profile goes last, so that a delete cut short can simply be repeated.
        keys += [name_key(record.profile.name), profile_key(profile_id)]
        for start in range(0, len(keys), BATCH_WRITE_ITEMS):
            pending: dict[str, Any] = {
                self.table_name: [{"DeleteRequest": {"Key": k}} for k in keys[start : start + BATCH_WRITE_ITEMS]]
            }
            for attempt in range(UNPROCESSED_ATTEMPTS):
                pending = self.bulk_client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
                # A throttled partition leaves items unprocessed: retrying at once would be throttled again.
                time.sleep(random.uniform(0, UNPROCESSED_BACKOFF_SECONDS * 2**attempt))  # noqa: S311 - jitter
            else:
                left = sum(len(requests) for requests in pending.values())
                raise ProfileConflict(
                    f"profile {profile_id} was deleted in part: {left} items stayed unprocessed after "
                    f"{UNPROCESSED_ATTEMPTS} attempts; delete it again to finish"
                )
