"""Deleting a profile deletes its users in batch writes of 25, retrying what DynamoDB leaves unprocessed.

DynamoDB's BatchWriteItem (API reference: at most 25 requests; "UnprocessedItems" for those it did not
process, to be retried with exponential backoff) against moto's DynamoDB; throttling is simulated by a
client that passes half of each batch on and answers the other half as unprocessed, as DynamoDB does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import boto3
import pytest

from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles
from seatkeeper.aws.dynamodb.table import key
from seatkeeper.core.errors import ProfileConflict, ProfileNotFound
from seatkeeper.profiles.catalog import build_profile
from seatkeeper.profiles.records import ProfileRecord


class Throttled:
    """The real client, except that each batch write processes only its first part the first `times` times."""

    def __init__(self, times: int, *, processed: float = 0.5) -> None:
        self.real, self.times, self.batches, self.processed = boto3.client("dynamodb"), times, [], processed

    def __getattr__(self, name):
        return getattr(self.real, name)

    def batch_write_item(self, RequestItems):
        ((table, requests),) = RequestItems.items()
        self.batches.append(len(requests))
        if self.times <= 0 or len(requests) < 2:
            return self.real.batch_write_item(RequestItems=RequestItems)
        self.times -= 1
        half = int(len(requests) * self.processed)
        if half:
            self.real.batch_write_item(RequestItems={table: requests[:half]})
        return {"UnprocessedItems": {table: requests[half:]}}


def profile_with_users(table: str, users: int) -> str:
    profile_id = f"prf_{uuid.uuid4().hex[:20]}"
    profile = build_profile(
        {
            "name": f"Delete {profile_id}",
            "template": "scim2",
            "base_url": "https://acme.example.com/scim/v2",
            "subscription": {"licenses_purchased": 10, "cost_per_license": 1},
        }
    )
    now = datetime.now(UTC)
    record = ProfileRecord(id=profile_id, own={}, profile=profile, created_at=now, updated_at=now)
    DynamoDBProfiles(table).add(record)
    dynamodb = boto3.client("dynamodb")
    for start in range(0, users, 25):
        dynamodb.batch_write_item(
            RequestItems={
                table: [
                    {"PutRequest": {"Item": {**key(f"USERS#{profile_id}", f"u{i:06d}"), "email": {"S": f"u{i}@x.io"}}}}
                    for i in range(start, min(start + 25, users))
                ]
            }
        )
    return profile_id


def left(table: str, profile_id: str) -> int:
    return boto3.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"USERS#{profile_id}"}},
        Select="COUNT",
    )["Count"]


def test_a_profile_s_users_go_in_batches_of_25_and_unprocessed_ones_are_retried(stack):
    # Given a profile with 1,000 users, and DynamoDB throttling half of each of the first 30 batch writes
    table = stack.template.physical_name("Table")
    profile_id = profile_with_users(table, 1000)
    client = Throttled(times=30)
    # When it is deleted
    DynamoDBProfiles(table, client=client).delete(profile_id)
    # Then every user and the profile are gone, and no batch held more than 25 requests
    assert left(table, profile_id) == 0
    with pytest.raises(ProfileNotFound):
        DynamoDBProfiles(table).get(profile_id)
    assert max(client.batches) == 25 and len(client.batches) >= 1002 // 25 + 30


def test_a_delete_that_stays_throttled_says_so_and_can_be_repeated(stack, monkeypatch):
    # Given a profile whose batch writes stay throttled
    monkeypatch.setattr("seatkeeper.aws.dynamodb.profiles.UNPROCESSED_BACKOFF_SECONDS", 0.001)
    table = stack.template.physical_name("Table")
    profile_id = profile_with_users(table, 60)
    # When it is deleted, Then the error says that it was deleted in part, and the profile itself is still there
    with pytest.raises(ProfileConflict, match="delete it again"):
        DynamoDBProfiles(table, client=Throttled(times=10**6, processed=0)).delete(profile_id)
    assert DynamoDBProfiles(table).get(profile_id).id == profile_id
    # And repeating the delete once DynamoDB keeps up finishes it
    DynamoDBProfiles(table).delete(profile_id)
    assert left(table, profile_id) == 0
