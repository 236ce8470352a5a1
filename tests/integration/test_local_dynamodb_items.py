"""The local stack's DynamoDB items: sized once, with moto's own result and moto's own error.

moto's LimitedSizeDict re-sums every attribute already set each time it sets one (O(attributes²)
per item); the local stack keeps a running total instead (seatkeeper_local.stack.aws.items_sized_once).
"""

from __future__ import annotations

import sys
import threading
import uuid

import boto3
import pytest
from botocore.config import Config
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item

from seatkeeper_local.stack import aws

ITEMS = [
    {"pk": {"S": "p"}, "sk": {"S": "s"}},
    {
        "pk": {"S": "USERS#p"},
        "sk": {"S": "u1"},
        "email": {"S": "ü@example.com"},
        "active": {"BOOL": False},
        "logins": {"N": "12.50"},
        "nothing": {"NULL": True},
        "blob": {"B": b"\x00\x01"},
        "tags": {"SS": ["a", "b"]},
        "scores": {"NS": ["1", "2.5"]},
        "doc": {"M": {"deep": {"L": [{"S": "x"}, {"M": {"n": {"N": "1"}}}]}}},
    },
]


def built(init, attrs):
    item = Item.__new__(Item)
    init(item, DynamoType(attrs["pk"]), DynamoType(attrs["sk"]), attrs)
    return item


@pytest.mark.parametrize("attrs", ITEMS)
def test_an_item_is_built_as_moto_builds_it(attrs):
    ours, motos = built(aws._item_sized_once, attrs), built(aws._moto_item_init, attrs)
    assert ours == motos
    assert ours.to_json() == motos.to_json()
    assert type(ours.attrs) is type(motos.attrs)
    assert list(ours.attrs) == list(motos.attrs)


@pytest.mark.parametrize(("size", "refused"), [(aws.ITEM_SIZE_LIMIT, False), (aws.ITEM_SIZE_LIMIT + 1, True)])
def test_the_size_limit_falls_on_the_same_byte(size, refused):
    # "pk" + "p" and "sk" + "s" are 6 bytes, the name "big" 3: its value makes up the rest
    attrs = {"pk": {"S": "p"}, "sk": {"S": "s"}, "big": {"S": "x" * (size - 9)}}
    outcomes: list = []
    for init in (aws._item_sized_once, aws._moto_item_init):
        try:
            outcomes.append(built(init, attrs).to_json())
        except ItemSizeTooLarge as error:
            outcomes.append(error)
    assert [isinstance(o, ItemSizeTooLarge) for o in outcomes] == [refused, refused]
    assert str(outcomes[0]) == str(outcomes[1])


def test_through_the_local_stack_an_oversized_item_is_refused_and_a_batch_is_stored_as_written(stack):
    dynamodb, table = boto3.client("dynamodb"), stack.template.physical_name("Table")
    key = {"pk": {"S": f"test-{uuid.uuid4().hex}"}, "sk": {"S": "item"}}
    with pytest.raises(dynamodb.exceptions.ClientError, match="Item size has exceeded the maximum allowed size"):
        dynamodb.put_item(TableName=table, Item={**key, "big": {"S": "x" * 410_000}})
    assert "Item" not in dynamodb.get_item(TableName=table, Key=key)

    items = [{**ITEMS[1], "pk": key["pk"], "sk": {"S": f"u{n}"}} for n in range(30)]
    for start in (0, 25):
        dynamodb.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]}
        )
    stored = dynamodb.query(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": key["pk"]}
    )["Items"]
    assert sorted(stored, key=lambda i: i["sk"]["S"]) == sorted(items, key=lambda i: i["sk"]["S"])
    dynamodb.batch_write_item(
        RequestItems={table: [{"DeleteRequest": {"Key": {"pk": i["pk"], "sk": i["sk"]}}} for i in items[:25]]}
    )
    dynamodb.batch_write_item(
        RequestItems={table: [{"DeleteRequest": {"Key": {"pk": i["pk"], "sk": i["sk"]}}} for i in items[25:]]}
    )


def test_a_query_of_the_index_while_another_thread_writes_the_table_answers(stack):
    # Given a partition of a thousand users, and a thread writing batches into it all the while
    dynamodb, table = boto3.client("dynamodb"), stack.template.physical_name("Table")
    pk = {"S": f"test-{uuid.uuid4().hex}"}

    def batch(start: int) -> dict:
        return {
            table: [{"PutRequest": {"Item": {"pk": pk, "sk": {"S": f"u{n:06d}"}}}} for n in range(start, start + 25)]
        }

    for start in range(0, 1000, 25):
        dynamodb.batch_write_item(RequestItems=batch(start))
    writing, failures = threading.Event(), []

    def write() -> None:
        writer = boto3.client("dynamodb")
        start = 1000
        while not writing.is_set():
            writer.batch_write_item(RequestItems=batch(start))
            start += 25

    writer = threading.Thread(target=write)
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns far more often: the writer lands inside a Query's walk
    writer.start()
    # When the index that lists profiles is queried meanwhile (moto walks every item of the table for it),
    # by a client that does not retry a 500 away
    reader = boto3.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))
    try:
        for _ in range(20):
            try:
                reader.query(
                    TableName=table,
                    IndexName="gsi1",
                    KeyConditionExpression="gsi1pk = :kind",
                    ExpressionAttributeValues={":kind": {"S": "PROFILES"}},
                    Limit=50,
                )
            except dynamodb.exceptions.ClientError as error:
                failures.append(error)
    finally:
        writing.set()
        writer.join()
        sys.setswitchinterval(switching)
    # Then every query answered (moto walked the live dicts and failed with a 500)
    assert failures == []
    # (every Query walks the whole table in moto: the session's other tests should not pay for these)
    for page in dynamodb.get_paginator("query").paginate(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": pk}
    ):
        for start in range(0, len(page["Items"]), 25):
            keys = [{"pk": pk, "sk": item["sk"]} for item in page["Items"][start : start + 25]]
            dynamodb.batch_write_item(RequestItems={table: [{"DeleteRequest": {"Key": key}} for key in keys]})
