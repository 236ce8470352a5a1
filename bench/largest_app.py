"""The largest single app one sync supports (seatkeeper.sync.runs.MAX_APP_USERS), measured at that size.

What bounds it: CommitSnapshot is one Lambda invocation (15 minutes at most, 1,769 MB). A first
sync, or one whose changes outgrow the base, writes the users as a base: gzipped pages of a
thousand under one partition key, which DynamoDB serves at 1,000 write units (1 MB) a second until
it splits the partition for heat, which it does not promise to do in time. The commit that writes
a new base also deletes the old base's changes, a tenth of the users at most, at 1,000 a second.
It holds the base's entries in memory to sort them. FetchUsers is not the bound (it hands a
checkpoint on to its next invocation before its 15 minutes run out), nor is Step Functions (a few
events per invocation against 25,000; the payloads carry a checkpoint, never users).

1. A first sync of that many users through the local stack (API, Step Functions on moto,
   FetchUsers, staging in S3, CommitSnapshot into DynamoDB, all on moto): the time of each
   phase, the FetchUsers invocations, the execution's history events and largest payload.
2. What Lambda pays that moto does not show: a base's entries, gzipped pages and botocore encoding
   and signing them (no network), per user, measured here.
3. The functions' own peak memory at that size, in a fresh process without moto (bench/sync.py's
   measurement: fetch and commit over a stored snapshot of as many users, all changed: a new base).
4. The projection for CommitSnapshot's worst invocation: a new base's pages at 1 MB a second and the
   deletion of the most changes a base gathers at 1,000 a second, plus our work and botocore's for
   every user as if none of it overlapped the writes, against 900 s.

LARGEST_APP_USERS sets a smaller size for a quick look; the default is the limit itself.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "local"), str(ROOT / "layers" / "seatkeeper")]

import boto3  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402
from local_api import LocalApi  # noqa: E402

from seatkeeper.aws.clients import aws_client  # noqa: E402
from seatkeeper.aws.dynamodb.snapshots import DynamoDBSync  # noqa: E402
from seatkeeper.core.settings import SyncSettings  # noqa: E402
from seatkeeper.saas.records import SaaSUser  # noqa: E402
from seatkeeper.sync.runs import MAX_APP_USERS, REBASE_AT_LEAST, fingerprint, snapshot_entry  # noqa: E402
from seatkeeper_local.fakes.paging_app import paging_app  # noqa: E402
from seatkeeper_local.stack.local_stack import LocalStack, quiet_werkzeug  # noqa: E402

SIZE = int(os.environ.get("LARGEST_APP_USERS", str(MAX_APP_USERS)))
PAGE = 1_000
WRITES_PER_SECOND = 1_000  # DynamoDB's ceiling for one partition, in write units (1 KB of an item each)
LAMBDA_SECONDS = 900
HISTORY_EVENTS, PAYLOAD_BYTES = 25_000, 256 * 1024


def first_sync(stack: LocalStack, app: Any) -> dict[str, Any]:
    api = LocalApi(stack)
    profile_id = api.connected_profile(app, "largest", licenses=SIZE, page_size=PAGE)
    seconds, run = api.synced(profile_id, timeout=3600, pause=1)
    run_id = run["run_id"]
    assert run["status"] == "succeeded" and run["items_written"] == SIZE, run
    table = stack.template.physical_name("Table")
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "RUN"}})
    events = []
    for page in (
        boto3.client("stepfunctions")
        .get_paginator("get_execution_history")
        .paginate(
            executionArn=stack.template.arn("SyncUsersStateMachine").replace(":stateMachine:", ":execution:")
            + f":{run_id}"
        )
    ):
        events += page["events"]
    payloads = [
        len(details.get("input") or details.get("output") or "")
        for event in events
        for key, details in event.items()
        if key.endswith("EventDetails") and isinstance(details, dict)
    ]
    pages = [
        item
        for page in boto3.client("dynamodb")
        .get_paginator("query")
        .paginate(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"USER_PAGES#{profile_id}"}},
        )
        for item in page["Items"]
    ]
    return {
        "pages": len(pages),
        # A write unit is a KB of an item: a page's key and its gzipped users.
        "write_units": sum(-(-(len(p["sk"]["S"]) + len(p["page_users"]["B"]) + 40) // 1024) for p in pages),
        "seconds": seconds,
        "commit": float(item["Item"]["commit_seconds"]["N"]),
        "fetch_invocations": sum(
            e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == "FetchUsers" for e in events
        ),
        "events": len(events),
        "largest_payload": max(payloads, default=0),
    }


def client_seconds_per_user() -> float:
    """A user's entry, its share of a gzipped page, and botocore encoding and signing the pages, without sending them."""
    client = aws_client("dynamodb", validated=False)
    answer = AWSResponse("https://dynamodb", 200, {}, None)
    answer._content = b'{"UnprocessedItems": {}}'  # a canned answer in place of the network
    client.meta.events.register("before-send.dynamodb.BatchWriteItem", lambda **_: answer)
    now = datetime.now(UTC)
    users = [
        SaaSUser(
            id=f"u{i:07d}",
            email=f"user{i}@example.com",
            name=f"User {i}",
            last_activity=now - timedelta(days=i % 200),
            created_at=now - timedelta(days=400),
            role="member",
        )
        for i in range(20_000)
    ]
    started = time.perf_counter()
    DynamoDBSync("table", client).put_base(
        "prf", "run", sorted((u.id, snapshot_entry(u, fingerprint(u))) for u in users)
    )
    client.meta.events.unregister("before-send.dynamodb.BatchWriteItem")
    return (time.perf_counter() - started) / len(users)


def own_peak_memory() -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sync.py"), "--child", str(SIZE)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> int:
    quiet_werkzeug()
    limit = SyncSettings.__dataclass_fields__["max_app_users"].default
    assert limit == MAX_APP_USERS, (limit, MAX_APP_USERS)
    print(f"\nthe largest app: {SIZE:,} users (the limit: {MAX_APP_USERS:,}), {PAGE:,} a page, offset pagination")
    print(f"   machine load (1, 5, 15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    with paging_app(SIZE) as app, LocalStack(ROOT / "template.yaml", port=0, aws_port=0, log_level="WARNING") as stack:
        sync = first_sync(stack, app)
    local_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("1. a first sync through the local stack")
    print(
        f"   {sync['seconds']:.0f} s in all: fetch and hand-over {sync['seconds'] - sync['commit']:.0f} s "
        f"({sync['fetch_invocations']} FetchUsers invocation(s)), commit {sync['commit']:.0f} s "
        f"({sync['commit'] * 1000 / SIZE:.2f} ms a user, moto's share included)"
    )
    print(
        f"   the base: {sync['pages']} pages, {sync['write_units']:,} write units "
        f"({sync['write_units'] / SIZE:.3f} a user, where an item a user took at least 1)"
    )
    print(
        f"   Step Functions: {sync['events']} history events (limit {HISTORY_EVENTS:,}), largest payload "
        f"{sync['largest_payload']:,} bytes (limit {PAYLOAD_BYTES:,})"
    )
    print(f"   this process's peak memory, moto and the app's {SIZE:,} users included: {local_peak:,.0f} MB")

    per_user = client_seconds_per_user()
    print(f"2. a base's entries and pages, botocore encoding and signing them: {per_user * 1000:.3f} ms a user")

    own = own_peak_memory()
    print(
        f"3. the functions' own work at {own['users']:,} users, without moto: fetch {own['fetch_s']:.0f} s, "
        f"commit {own['commit_s']:.0f} s; peak memory {own['peak_mb'] - own['baseline_mb']:,.0f} MB above the "
        f"process before the run (CommitSnapshot has 1,769 MB, FetchUsers 1,024 MB)"
    )

    most_changes = max(REBASE_AT_LEAST, SIZE // 10)  # what a base gathers before a commit writes a new one
    writes = (sync["write_units"] + most_changes) / WRITES_PER_SECOND
    work = own["commit_s"] + SIZE * per_user
    projected = writes + work
    ok = projected <= LAMBDA_SECONDS and sync["events"] <= HISTORY_EVENTS and sync["largest_payload"] <= PAYLOAD_BYTES
    ok &= own["peak_mb"] - own["baseline_mb"] < 1024
    print(
        f"4. CommitSnapshot in Lambda, projected at its worst (a new base, {most_changes:,} changes of the old one "
        f"to delete): {writes:.0f} s of writes at {WRITES_PER_SECOND:,} units a second + {work:.0f} s of our work "
        f"and botocore's = {projected:.0f} s of its {LAMBDA_SECONDS} s ({'ok' if projected <= LAMBDA_SECONDS else 'OVER'}); "
        f"an app above {MAX_APP_USERS:,} users fails its sync naming the limit, its snapshot before untouched "
        f"(tests/integration/test_sync_limits.py)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
