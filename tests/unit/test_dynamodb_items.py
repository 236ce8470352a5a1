"""Plain values and DynamoDB's typed attribute values (seatkeeper.aws.dynamodb.table), without AWS."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from seatkeeper.aws.dynamodb.snapshots import _change, _change_item
from seatkeeper.aws.dynamodb.table import KEY, from_item, key, name_key, profile_key, to_item

ROOT = Path(__file__).resolve().parents[2]


def test_the_values_the_store_writes_are_typed_as_they_were_typed_by_hand():
    page = gzip.compress(b'[{"id":"u1"}]', mtime=0)
    item = to_item(
        {
            "document": '{"a": 1}',
            "version": 3,
            "expires_at": 1_767_225_600,
            "active": False,
            "page_users": page,
            "commit_seconds": 0.125,
            "digits": "0042",  # a string of digits stays a string
            "gone": None,
        }
    )
    assert item == {
        "document": {"S": '{"a": 1}'},
        "version": {"N": "3"},
        "expires_at": {"N": "1767225600"},
        "active": {"BOOL": False},
        "page_users": {"B": page},
        "commit_seconds": {"N": "0.125"},
        "digits": {"S": "0042"},
    }


def test_plain_values_come_back_as_they_went_in_and_numbers_as_int_not_decimal():
    values = {
        "pk": "PROFILE#p1",
        "name": 'Ünïcode "quoted" #1',
        "count": 20_000,
        "zero": 0,
        "negative": -7,
        "seconds": 1.5,
        "kept": True,
        "not_kept": False,
        "page": os.urandom(64),
        "nested": {"scopes": ["read", "write"], "limits": {"users": 1_000}},
    }
    read = from_item(to_item({**values, "absent": None}))
    assert read == values
    assert type(read["count"]) is int and type(read["nested"]["limits"]["users"]) is int
    assert type(read["seconds"]) is float and type(read["page"]) is bytes
    assert not any(isinstance(v, Decimal) for v in read.values())


def test_an_n_read_back_is_an_int_however_dynamodb_writes_it():
    assert from_item({"n": {"N": "1E+2"}, "m": {"N": "5.0"}, "big": {"N": "12345678901234567890"}}) == {
        "n": 100,
        "m": 5,
        "big": 12345678901234567890,
    }
    assert all(type(v) is int for v in from_item({"n": {"N": "1E+2"}, "m": {"N": "5.0"}}).values())


def test_a_key_is_two_strings_and_from_item_can_leave_it_out():
    assert key("RUN#r1", "RUN") == {"pk": {"S": "RUN#r1"}, "sk": {"S": "RUN"}} == to_item({"pk": "RUN#r1", "sk": "RUN"})
    assert profile_key("p1") == key("PROFILE#p1", "PROFILE")
    assert name_key("Slack ÉU") == key("PROFILE_NAME#slack éu", "PROFILE_NAME")
    assert from_item({**key("RUN#r1", "RUN"), "pages": {"N": "2"}}, skip=KEY) == {"pages": 2}


def test_a_change_item_built_by_hand_is_the_item_to_item_builds_and_reads_back_alike():
    # Given a stored user's values as a commit writes them: strings and booleans, None left out
    values = {"id": "u1", "email": "a@example.com", "active": False, "tier": None, "fingerprint": "ab12"}

    # When its change item is built by the fast path
    item = _change_item("p1", values, "run-1")

    # Then it is what the serializer makes of the same values, and reads back as them
    assert item == {
        **key("USERS#p1", "u1"),
        **to_item({"of_base": "run-1", "email": "a@example.com", "active": False, "fingerprint": "ab12"}),
    }
    assert _change(item) == {k: v for k, v in values.items() if v is not None} | {"of_base": "run-1"}
    assert _change(item) == {"id": "u1", **from_item(item, skip=KEY)}


def test_importing_the_table_imports_no_boto3_converting_an_item_does():
    # Cold start: boto3's types (and s3transfer with boto3) come with the first item converted
    statement = (
        "import sys; import seatkeeper.aws.dynamodb.snapshots as s; before = 'boto3' in sys.modules; "
        "s.to_item({'a': 1}); print(before, 'boto3' in sys.modules)"
    )
    path = os.pathsep.join([str(ROOT / "layers" / "seatkeeper"), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", statement],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["False", "True"]
