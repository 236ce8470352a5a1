"""The most applications one reconciliation takes on, run at that size on the local stack.

500 connected profiles (reconciliation.MAX_PROFILES), each a small app, reconciled in one run of
reconcile-all on moto's Step Functions engine, as the nightly schedule starts it. Printed, against
the limits they must stay within: the execution's history events (Standard: 25,000), the largest
input or output of any of its states (256 KB), the reconciliation record (a DynamoDB item: 400 KB);
and that one profile more is refused before any sync starts, the reconciliation failing with a
reason that names the limit.

The apps are small (the point is the number of them) and answer at once; the Express syncs'
hand-over does not happen here (tests/integration/test_express_sync.py shows it).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "local"), str(ROOT / "layers" / "seatkeeper")]

import boto3  # noqa: E402
from local_api import LocalApi  # noqa: E402

from seatkeeper.licensing.reconciliation import MAX_PROFILES  # noqa: E402
from seatkeeper_local.demo.client import wait_until  # noqa: E402
from seatkeeper_local.fakes.paging_app import paging_app  # noqa: E402
from seatkeeper_local.stack.local_stack import LocalStack, quiet_werkzeug  # noqa: E402

USERS = 10
HISTORY_LIMIT = 25_000
PAYLOAD_LIMIT = 256 * 1024
ITEM_LIMIT = 400 * 1024


def connect_profiles(api: LocalApi, app: Any, count: int) -> list[str]:
    ids = [api.connect(app, f"app {number:03d}", licenses=USERS) for number in range(count)]
    for profile_id in ids:
        api.wait_connected(profile_id)
    return ids


def reconcile_all(name: str) -> dict[str, Any]:
    """Start reconcile-all as the schedule does (every connected profile) and wait for its end."""
    stepfunctions = boto3.client("stepfunctions")
    machine = os.environ["RECONCILE_STATE_MACHINE_ARN"]
    arn = stepfunctions.start_execution(stateMachineArn=machine, name=name, input="{}")["executionArn"]
    return wait_until(
        lambda: stepfunctions.describe_execution(executionArn=arn),
        lambda execution: execution["status"] != "RUNNING",
        timeout=3600,
        pause=2,
    )


def history(execution_arn: str) -> list[dict[str, Any]]:
    pages = boto3.client("stepfunctions").get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    return [event for page in pages for event in page["events"]]


def largest_payload(events: list[dict[str, Any]]) -> tuple[int, str]:
    largest, where = 0, ""
    for event in events:
        for key, details in event.items():
            if not key.endswith("EventDetails") or not isinstance(details, dict):
                continue
            for field in ("input", "output"):
                size = len(str(details.get(field) or "").encode())
                if size > largest:
                    largest, where = size, f"{event['type']} {details.get('name', '')}".strip()
    return largest, where


def record_bytes(table: str, reconciliation_id: str) -> int:
    item = boto3.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": f"RECONCILIATION#{reconciliation_id}"}, "sk": {"S": "RECONCILIATION"}}
    )["Item"]
    # As DynamoDB sizes an item: each attribute's name and its value's bytes (strings in UTF-8).
    values = {name: next(iter(value.values())) for name, value in item.items()}
    return sum(len(name) + len(v if isinstance(v, bytes) else v.encode()) for name, v in values.items())


def verdict(value: float, limit: float) -> str:
    return f"{value / limit:.0%} of the limit: {'ok' if value <= limit else 'OVER'}"


def main() -> int:
    quiet_werkzeug()
    with (
        paging_app(USERS) as app,
        LocalStack(ROOT / "template.yaml", port=0, aws_port=0, log_level="WARNING") as stack,
    ):
        api = LocalApi(stack, timeout=120)
        started = time.monotonic()
        connect_profiles(api, app, MAX_PROFILES)
        connected_in = time.monotonic() - started

        started = time.monotonic()
        execution = reconcile_all(f"largest-{time.time_ns()}")
        reconciled_in = time.monotonic() - started
        events = history(execution["executionArn"])
        payload, where = largest_payload(events)
        output = json.loads(execution.get("output") or "{}")
        record = api.call("GET", f"/reconciliations/{output.get('reconciliation_id')}", 200)
        statuses = [r["status"] for r in record["results"]]
        item = record_bytes(stack.template.physical_name("Table"), record["id"])

        # One profile more: refused before any sync starts, the reconciliation failing with a reason.
        connect_profiles(api, app, 1)
        runs_before = len(
            boto3.client("stepfunctions").list_executions(stateMachineArn=os.environ["SYNC_EXPRESS_STATE_MACHINE_ARN"])[
                "executions"
            ]
        )
        refused = reconcile_all(f"too-many-{time.time_ns()}")
        runs_after = len(
            boto3.client("stepfunctions").list_executions(stateMachineArn=os.environ["SYNC_EXPRESS_STATE_MACHINE_ARN"])[
                "executions"
            ]
        )
        too_many = api.call(
            "POST", "/reconciliations", 422, json={"profile_ids": [f"prf_{n:020d}" for n in range(MAX_PROFILES + 1)]}
        )

    print(
        f"\nThe largest reconciliation: {MAX_PROFILES} apps of {USERS} users on the local stack "
        f"(machine load {' '.join(f'{x:.1f}' for x in os.getloadavg())})"
    )
    print(
        f"   {MAX_PROFILES} profiles connected in {connected_in:.0f} s; reconcile-all {execution['status']} "
        f"in {reconciled_in:.0f} s, {statuses.count('succeeded')} of {len(statuses)} profiles succeeded "
        f"(reconciliation {record['status']})"
    )
    print(
        f"   history events        {len(events):>9,}   limit {HISTORY_LIMIT:>9,}   "
        f"{verdict(len(events), HISTORY_LIMIT)} ({len(events) / MAX_PROFILES:.1f} a profile)"
    )
    print(
        f"   largest state payload {payload:>9,} B limit {PAYLOAD_LIMIT:>9,} B {verdict(payload, PAYLOAD_LIMIT)} ({where})"
    )
    print(f"   reconciliation record {item:>9,} B limit {ITEM_LIMIT:>9,} B {verdict(item, ITEM_LIMIT)}")
    cause = (
        json.loads(refused.get("cause") or "{}")
        if (refused.get("cause") or "").startswith("{")
        else refused.get("cause")
    )
    print(
        f"   {MAX_PROFILES + 1} profiles: reconcile-all {refused['status']} ({refused.get('error')}: {cause}); "
        f"syncs started {runs_after - runs_before}; POST /reconciliations with {MAX_PROFILES + 1} ids: 422 "
        f"({too_many['detail'][0]['loc'] if 'detail' in too_many else too_many})"
    )
    fits = (
        execution["status"] == "SUCCEEDED"
        and statuses.count("succeeded") == MAX_PROFILES
        and len(events) <= HISTORY_LIMIT
        and payload <= PAYLOAD_LIMIT
        and item <= ITEM_LIMIT
        and runs_after == runs_before
    )
    return 0 if fits else 1


if __name__ == "__main__":
    sys.exit(main())
