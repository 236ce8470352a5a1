"""Deleting a profile of 200,000 users: the batch writes it makes and how long they take.

A profile's users are its base's changes (USERS#<profile>, one item a user) and its base's pages
(USER_PAGES#<profile>); the worst case is every user an item of its own, as here. The delete reads
their keys page by page and deletes them in BatchWriteItem calls of 25 (DynamoDB's limit), retrying
what it leaves unprocessed with jittered backoff.

Measured on moto's DynamoDB in this process (the calls counted, the wall time taken), and projected
for DynamoDB on demand: 200,000 deletes are 200,000 write units; one partition takes 1,000 a second,
so at least 200 s when the users share one partition key, as they do (USERS#<profile>), however
fast the client is. DELETE /profiles/{id} runs the delete within the request, and API Gateway answers
after 29 s, as the API function stops: a profile this large outlasts one request (the profile item
goes last, so repeating the DELETE finishes it). See the README.

    PYTHONPATH=layers/seatkeeper:local python bench/profile_delete.py [USERS]
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from datetime import UTC, datetime

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")

import boto3
from moto import mock_aws

from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles
from seatkeeper.aws.dynamodb.table import key
from seatkeeper.profiles.catalog import build_profile
from seatkeeper.profiles.records import ProfileRecord

TABLE = "bench-profile-delete"
ON_DEMAND_PARTITION_WRITES_PER_SECOND = 1000


class Counting:
    def __init__(self, client):
        self.client, self.batch_writes, self.first_batch_at = client, 0, 0.0

    def __getattr__(self, name):
        return getattr(self.client, name)

    def batch_write_item(self, **kwargs):
        if not self.batch_writes:
            self.first_batch_at = time.perf_counter()  # the keys are read: the deletes begin
        self.batch_writes += 1
        return self.client.batch_write_item(**kwargs)


def main(users: int) -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        profile_id = f"prf_{uuid.uuid4().hex[:20]}"
        now = datetime.now(UTC)
        profile = build_profile(
            {
                "name": "Bench",
                "template": "scim2",
                "base_url": "https://acme.example.com/scim/v2",
                "subscription": {"licenses_purchased": users, "cost_per_license": 1},
            }
        )
        DynamoDBProfiles(TABLE).add(
            ProfileRecord(id=profile_id, own={}, profile=profile, created_at=now, updated_at=now)
        )
        started = time.perf_counter()
        for start in range(0, users, 25):
            dynamodb.batch_write_item(
                RequestItems={
                    TABLE: [
                        {
                            "PutRequest": {
                                "Item": {**key(f"USERS#{profile_id}", f"u{i:07d}"), "email": {"S": f"u{i}@x.io"}}
                            }
                        }
                        for i in range(start, min(start + 25, users))
                    ]
                }
            )
        print(f"written: {users} users in {time.perf_counter() - started:.1f} s", flush=True)
        counting = Counting(boto3.client("dynamodb"))
        started = time.perf_counter()
        DynamoDBProfiles(TABLE, client=counting).delete(profile_id)  # type: ignore[arg-type]
        took = time.perf_counter() - started
        left = dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"USERS#{profile_id}"}},
            Select="COUNT",
        )["Count"]
        reading = counting.first_batch_at - started
        deleting = took - reading
        print(
            f"deleted: {users} users in {counting.batch_writes} BatchWriteItem calls, {took:.1f} s on moto "
            f"(reading the keys {reading:.1f} s, the batches {deleting:.1f} s: "
            f"{1000 * deleting / max(counting.batch_writes, 1):.1f} ms a batch); left {left}"
        )
        print(
            f"DynamoDB on demand, one partition key: at least {users / ON_DEMAND_PARTITION_WRITES_PER_SECOND:.0f} s "
            f"({users} write units at {ON_DEMAND_PARTITION_WRITES_PER_SECOND}/s)"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
