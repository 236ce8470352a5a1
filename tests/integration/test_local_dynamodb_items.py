"""The local stack's DynamoDB items: sized once, with moto's own result and moto's own error.

moto's LimitedSizeDict re-sums every attribute already set each time it sets one (O(attributes²)
per item); the local stack keeps a running total instead (seatkeeper_local.aws.items_sized_once).
"""

from __future__ import annotations

import uuid

import boto3
import pytest
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item

from seatkeeper_local import aws

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
