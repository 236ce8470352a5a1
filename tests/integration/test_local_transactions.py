"""The local stack's DynamoDB transactions: all or nothing, one at a time, and never at the cost of other writes.

moto's own TransactWriteItems deep-copies every table it touches to roll back: with writes from other
threads (parallel Map iterations, the API) it failed with "dictionary changed size during iteration"
(a 500 to the API) or undid those writes on rollback.
"""

from __future__ import annotations

import threading
import uuid

import boto3
import pytest


@pytest.fixture
def table(stack):
    return stack.template.physical_name("Table")


def put(key: str, value: str, table: str, **condition) -> dict:
    return {
        "Put": {"TableName": table, "Item": {"pk": {"S": key}, "sk": {"S": "item"}, "value": {"S": value}}, **condition}
    }


def value_of(dynamodb, table: str, key: str) -> str | None:
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": key}, "sk": {"S": "item"}}).get("Item")
    return item["value"]["S"] if item else None


def test_a_canceled_transaction_changes_none_of_its_items(stack, table):
    dynamodb = boto3.client("dynamodb")
    test = uuid.uuid4().hex
    dynamodb.put_item(
        TableName=table, Item={"pk": {"S": f"{test}-kept"}, "sk": {"S": "item"}, "value": {"S": "before"}}
    )
    # When a transaction's last operation fails its condition
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(
            TransactItems=[
                put(f"{test}-new", "written", table),
                put(f"{test}-kept", "after", table),
                put(f"{test}-kept-too", "x", table, ConditionExpression="attribute_exists(pk)"),
            ]
        )
    # Then its earlier operations are undone: the new item is gone, the changed one is as it was
    assert value_of(dynamodb, table, f"{test}-new") is None
    assert value_of(dynamodb, table, f"{test}-kept") == "before"


def test_transactions_and_other_writes_at_once_all_land(stack, table):
    dynamodb = boto3.client("dynamodb")
    test = uuid.uuid4().hex
    failures: list[Exception] = []

    def transactions(worker: int) -> None:
        try:
            for n in range(15):
                dynamodb.transact_write_items(
                    TransactItems=[put(f"{test}-t{worker}-{n}", "t", table), put(f"{test}-u{worker}-{n}", "u", table)]
                )
                # A canceled one among them: its rollback must not take anyone else's write with it
                with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
                    dynamodb.transact_write_items(
                        TransactItems=[
                            put(f"{test}-gone{worker}-{n}", "x", table, ConditionExpression="attribute_exists(pk)")
                        ]
                    )
        except Exception as exc:
            failures.append(exc)

    def writes(worker: int) -> None:
        try:
            for n in range(60):
                dynamodb.put_item(TableName=table, Item={"pk": {"S": f"{test}-p{worker}-{n}"}, "sk": {"S": "item"}})
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=transactions, args=(w,)) for w in range(3)]
    threads += [threading.Thread(target=writes, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    mine = [
        item["pk"]["S"]
        for page in dynamodb.get_paginator("scan").paginate(TableName=table)
        for item in page["Items"]
        if item["pk"]["S"].startswith(test)
    ]
    assert len(mine) == 3 * 15 * 2 + 3 * 60
