"""The AWS bill of one nightly reconciliation, from the calls the local stack counts.

A nightly reconciliation of 500 applications of 2,000 users each (1,000,000 users), 1% of them
changed since the night before, is run here at 1/100 of that: 5 applications of 2,000 users on
the local stack, with the template's own poll interval and log level. Everything it does is
counted as AWS would bill it (Lambda invocations with their duration and memory, Step Functions
Standard state transitions from the executions' histories, Express executions and their duration, DynamoDB read and write units from the items
read and written, S3 requests, Secrets Manager calls, EventBridge events, CloudWatch Logs bytes),
scaled by 100 and priced at us-east-1 list prices. Goal: at most $0.10 a night. The transitions
of reconcile-all's own steps (choose the profiles, the Map, finish) are not scaled: one
reconciliation takes the 500 apps (its limit), and runs each of those steps once.

Lambda durations are measured here, where moto answers every AWS call in the same process and
on the same two cores: as measured they are an upper bound, far above what Lambda would bill
(moto walks a whole DynamoDB partition for every page of a Query). The bill therefore also
models them: each invocation's own time (its wall time less the time its AWS calls spent in
moto) plus every AWS call at a typical in-region latency (AWS_CALL_MS below, an assumption).
The goal is judged on the modelled bill; both are printed. A first reconciliation (every user
new) runs before the measured one and is not counted: the nightly run is the one that repeats.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "local"), str(ROOT / "layers" / "seatkeeper")]

import boto3  # noqa: E402
from botocore.client import BaseClient  # noqa: E402
from local_api import LocalApi  # noqa: E402

from seatkeeper_local.demo.client import wait_until  # noqa: E402
from seatkeeper_local.fakes.paging_app import paging_app  # noqa: E402
from seatkeeper_local.stack import functions as local_functions  # noqa: E402
from seatkeeper_local.stack.local_stack import LocalStack, quiet_werkzeug  # noqa: E402

APPS, USERS, CHANGED, SCALE = 5, 2_000, 0.01, 100
GOAL_USD = 0.10

# us-east-1 list prices, from the services' pricing pages (read 2026-11-28):
LAMBDA_GB_SECOND_ARM = 0.0000133334  # https://aws.amazon.com/lambda/pricing/ (Arm, first 7.5 billion GB-s a month)
LAMBDA_REQUEST = 0.20 / 1e6  # https://aws.amazon.com/lambda/pricing/
STANDARD_TRANSITION = 0.025 / 1e3  # https://aws.amazon.com/step-functions/pricing/ (Standard workflows)
EXPRESS_REQUEST = 1.00 / 1e6  # https://aws.amazon.com/step-functions/pricing/ (Express workflows)
# Express duration: $0.06 per GB-hour (first 1,000 GB-hours a month), billed per 100 ms in 64 MB
# chunks of the memory an execution uses (about 50 MB + definition + payloads: one chunk here).
EXPRESS_GB_SECOND = 0.06 / 3600
EXPRESS_BILLED_GB = 64 / 1024
DYNAMODB_WRU = 0.625 / 1e6  # https://aws.amazon.com/dynamodb/pricing/on-demand/ (since the November 2024 price cut)
DYNAMODB_RRU = 0.125 / 1e6  # https://aws.amazon.com/dynamodb/pricing/on-demand/
S3_PUT_LIST = 0.005 / 1e3  # https://aws.amazon.com/s3/pricing/ (S3 Standard: PUT, COPY, POST, LIST; DELETE is free)
S3_GET = 0.0004 / 1e3  # https://aws.amazon.com/s3/pricing/ (GET, SELECT and all other requests)
SECRETS_MANAGER_CALL = 0.05 / 1e4  # https://aws.amazon.com/secrets-manager/pricing/
EVENTBRIDGE_EVENT = 1.00 / 1e6  # https://aws.amazon.com/eventbridge/pricing/ (custom events on the default bus)
LOGS_GB = 0.50  # https://aws.amazon.com/cloudwatch/pricing/ (Logs, standard ingestion)
XRAY_TRACE = 5.00 / 1e6  # https://aws.amazon.com/xray/pricing/ (traces recorded; sampling records fewer)
# What Lambda's runtime writes to the log group per invocation: START, END and REPORT lines (with X-Ray's).
PLATFORM_LOG_BYTES = 420
# Typical latency of one call from a Lambda in the same region (an assumption, not a measurement).
AWS_CALL_MS = {"dynamodb": 10, "s3": 30}
OTHER_CALL_MS = 20


class Meter:
    """What the run used, counted as AWS bills it."""

    def __init__(self) -> None:
        self.invocations: Counter[str] = Counter()
        self.gb_seconds: defaultdict[str, float] = defaultdict(float)
        self.modelled_gb_seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.wru = 0.0
        self.rru = 0.0
        self.events = 0
        self.log_bytes = 0
        self.on = False

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]
        self.on = True


meter = Meter()
in_invocation = threading.local()  # the AWS calls of the invocation running on this thread


def item_bytes(item: dict[str, Any]) -> int:
    # DynamoDB sizes an item by its attribute names and values; the JSON form is a little larger.
    # A binary value (a gzipped document) counts its bytes.
    return len(json.dumps(item, separators=(",", ":"), default=lambda raw: "." * len(raw)))


def count_call(model: Any, params: dict[str, Any], parsed: dict[str, Any]) -> None:
    if not meter.on:
        return
    service, operation = model.service_model.service_name, model.name
    meter.calls[f"{service}:{operation}"] += 1
    if service == "dynamodb":
        consistent = params.get("ConsistentRead", False)
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            meter.wru += max(1, math.ceil(item_bytes(params.get("Item", params.get("Key", {}))) / 1024))
        elif operation == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for request in requests:
                    body = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get("Key")
                    meter.wru += max(1, math.ceil(item_bytes(body) / 1024))
        elif operation == "TransactWriteItems":
            for action in params["TransactItems"]:
                body = next(iter(action.values()))
                meter.wru += 2 * max(1, math.ceil(item_bytes(body.get("Item", body.get("Key", {}))) / 1024))
        elif operation == "GetItem":
            meter.rru += max(1, math.ceil(item_bytes(parsed.get("Item", {})) / 4096)) * (1 if consistent else 0.5)
        elif operation in ("Query", "Scan"):
            units = max(1, math.ceil(sum(item_bytes(i) for i in parsed.get("Items", [])) / 4096))
            meter.rru += units * (1 if consistent else 0.5)
        elif operation == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                meter.rru += sum(max(1, math.ceil(item_bytes(i) / 4096)) for i in items)
    elif service == "events" and operation == "PutEvents":
        meter.events += len(params["Entries"])


def install_meters() -> None:
    """Count every AWS call the functions and the state machines make, and time every invocation."""
    make_api_call = BaseClient._make_api_call
    bench_thread = threading.current_thread()

    def timed_call(client: Any, operation: str, params: Any) -> Any:
        # Here, not on a boto3 session's events: the functions make their clients from botocore's own
        # sessions, which a boto3 session never sees. The bench's own calls (on its thread) are not billed.
        started = time.perf_counter()
        parsed: Any = {}
        try:
            parsed = make_api_call(client, operation, params)
            return parsed
        finally:
            if threading.current_thread() is not bench_thread:
                count_call(client.meta.service_model.operation_model(operation), params, parsed)
            if getattr(in_invocation, "calls", None) is not None:
                in_invocation.seconds += time.perf_counter() - started
                service = client.meta.service_model.service_name
                in_invocation.calls.append(AWS_CALL_MS.get(service, OTHER_CALL_MS))

    BaseClient._make_api_call = timed_call  # type: ignore[method-assign]
    # Timed around the handler itself: the local stack queues a function's invocations as one
    # execution environment would, and the wait before one starts is not billed.
    handler_of = local_functions.LocalFunctions.handler

    def timed_handler(self: local_functions.LocalFunctions, logical_id: str) -> Any:
        handler = handler_of(self, logical_id)
        memory_gb = self.specs[logical_id].memory_mb / 1024

        def timed(event: Any, context: Any) -> Any:
            outer = getattr(in_invocation, "calls", None)
            in_invocation.calls, in_invocation.seconds = [], 0.0
            started = time.perf_counter()
            try:
                return handler(event, context)
            finally:
                wall = time.perf_counter() - started
                if meter.on:
                    meter.invocations[logical_id] += 1
                    meter.gb_seconds[logical_id] += math.ceil(wall * 1000) / 1000 * memory_gb
                    modelled = wall - in_invocation.seconds + sum(in_invocation.calls) / 1000
                    meter.modelled_gb_seconds[logical_id] += math.ceil(modelled * 1000) / 1000 * memory_gb
                    meter.log_bytes += PLATFORM_LOG_BYTES
                in_invocation.calls = outer

        return timed

    local_functions.LocalFunctions.handler = timed_handler  # type: ignore[method-assign]


class CountingStream(io.TextIOBase):
    """stdout for the functions' loggers: what they would send to CloudWatch Logs, counted."""

    def write(self, text: str) -> int:
        if meter.on:
            meter.log_bytes += len(text.encode())
        return len(text)


class NightlyStack(LocalStack):
    def parameters(self) -> dict[str, str]:
        # The template's own log level (it decides log bytes) and poll interval (reclaim-licenses' only).
        return {**super().parameters(), "SyncPollSeconds": "10", "LogLevel": "INFO"}


class Workflows:
    """What the state machines did since the night began: Standard transitions (those of the
    reconciliation's own steps, once a night whatever the number of apps, and all the others), and
    Express executions with their billed duration."""

    def __init__(self) -> None:
        self.per_app = 0
        self.per_night = 0
        self.per_machine = Counter[str]()
        self.express_requests = 0
        self.express_seconds = 0.0


def transitions(since: float) -> Workflows:
    stepfunctions = boto3.client("stepfunctions")
    counted = Workflows()
    for machine in stepfunctions.list_state_machines()["stateMachines"]:
        described = stepfunctions.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
        definition = json.loads(described["definition"])
        # Outside its Map iteration, reconcile-all runs each state once for all its apps (up to 500).
        once = set(definition["States"]) if machine["name"].startswith("ReconcileAll") else set()
        for execution in stepfunctions.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            if execution["startDate"].timestamp() < since:
                continue
            if described.get("type") == "EXPRESS":
                # Billed per run and per 100 ms of it, not per transition. As measured here (moto
                # answering every call on two shared cores): an upper bound of what AWS would bill.
                ended = stepfunctions.describe_execution(executionArn=execution["executionArn"])
                counted.express_requests += 1
                counted.express_seconds += math.ceil((ended["stopDate"] - ended["startDate"]).total_seconds() * 10) / 10
                counted.per_machine[machine["name"]] += 1
                continue
            pages = stepfunctions.get_paginator("get_execution_history").paginate(
                executionArn=execution["executionArn"]
            )
            entered = [
                e["stateEnteredEventDetails"]["name"]
                for page in pages
                for e in page["events"]
                if e["type"].endswith("StateEntered")
            ]
            counted.per_night += sum(name in once for name in entered)
            counted.per_app += sum(name not in once for name in entered)
            counted.per_machine[machine["name"]] += len(entered)
    return counted


def main() -> int:
    quiet_werkzeug()
    real_stdout = sys.stdout
    install_meters()
    apps = [paging_app(USERS) for _ in range(APPS)]
    running = [app.__enter__() for app in apps]
    sys.stdout = CountingStream()  # the functions' loggers bind to it when their modules load
    try:
        with NightlyStack(ROOT / "template.yaml", port=0, aws_port=0, log_level="INFO") as stack:
            bill, figures = run_nights(stack, running)
    finally:
        sys.stdout = real_stdout
        for app in apps:
            app.__exit__(None, None, None)
    print(figures)
    print(bill[0])
    return 0 if bill[1] <= GOAL_USD else 1


def run_nights(stack: LocalStack, apps: list[Any]) -> tuple[tuple[str, float], str]:
    api = LocalApi(stack)
    for number, app in enumerate(apps):
        api.connected_profile(app, f"nightly {number}", licenses=USERS)
    stepfunctions = boto3.client("stepfunctions")
    machine = stack.template.arn("ReconcileAllStateMachine")  # type: ignore[union-attr]

    def night(name: str) -> float:
        arn = stepfunctions.start_execution(stateMachineArn=machine, name=name, input="{}")["executionArn"]
        started = time.monotonic()
        ended = wait_until(
            lambda: stepfunctions.describe_execution(executionArn=arn)["status"],
            lambda status: status != "RUNNING",
            timeout=900,
            pause=0.5,
        )
        assert ended == "SUCCEEDED", ended
        return time.monotonic() - started

    night(f"first-{time.time_ns()}")  # every user new: not the nightly case
    for app in apps:
        for i in range(0, USERS, int(1 / CHANGED)):
            app.users[i] = {**app.users[i], "name": f"Renamed {i} {time.time_ns()}"}
    since = time.time() - 1
    meter.reset()
    seconds = night(f"nightly-{time.time_ns()}")
    meter.on = False
    return price(transitions(since), seconds)


def price(workflows: Workflows, seconds: float) -> tuple[tuple[str, float], str]:
    s3_put_list = sum(n for k, n in meter.calls.items() if k in ("s3:PutObject", "s3:ListObjectsV2"))
    s3_get = sum(n for k, n in meter.calls.items() if k in ("s3:GetObject", "s3:HeadObject"))
    secrets = sum(n for k, n in meter.calls.items() if k.startswith("secretsmanager:"))
    invocations = sum(meter.invocations.values())
    gb_seconds = sum(meter.gb_seconds.values())
    modelled = sum(meter.modelled_gb_seconds.values())
    lines = [
        ("Lambda requests", invocations, LAMBDA_REQUEST),
        ("Lambda GB-seconds (arm64), modelled", modelled, LAMBDA_GB_SECOND_ARM),
        # Scaled below like the rest; the reconciliation's own steps run once a night, not once per 5 apps.
        (
            "Step Functions Standard transitions",
            workflows.per_app + workflows.per_night / SCALE,
            STANDARD_TRANSITION,
        ),
        ("Step Functions Express requests", workflows.express_requests, EXPRESS_REQUEST),
        (
            "Step Functions Express GB-s (64 MB, as measured)",
            workflows.express_seconds * EXPRESS_BILLED_GB,
            EXPRESS_GB_SECOND,
        ),
        ("DynamoDB write request units", meter.wru, DYNAMODB_WRU),
        ("DynamoDB read request units", meter.rru, DYNAMODB_RRU),
        ("S3 PUT/LIST requests", s3_put_list, S3_PUT_LIST),
        ("S3 GET requests", s3_get, S3_GET),
        ("Secrets Manager API calls", secrets, SECRETS_MANAGER_CALL),
        ("EventBridge events", meter.events, EVENTBRIDGE_EVENT),
        ("CloudWatch Logs GB ingested", meter.log_bytes / 1e9, LOGS_GB),
        ("X-Ray traces (upper bound: one per invocation)", invocations, XRAY_TRACE),
    ]
    out = [
        f"\nAWS bill of one nightly reconciliation: {APPS * SCALE} apps x {USERS:,} users "
        f"({APPS * SCALE * USERS:,} users), {CHANGED:.0%} changed; us-east-1 list prices",
        f"   measured: {APPS} apps on the local stack in {seconds:.0f} s, scaled by {SCALE}; "
        f"machine load {' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        f"   {'':<50}{'per night':>14}{'USD':>10}",
    ]
    total = 0.0
    for label, quantity, unit in lines:
        cost = quantity * SCALE * unit
        total += cost
        out.append(f"   {label:<50}{quantity * SCALE:>14,.1f}{cost:>10.4f}")
    verdict = "ok" if total <= GOAL_USD else "OVER"
    out.append(f"   {'total':<50}{'':>14}{total:>10.4f}   goal <= ${GOAL_USD:.2f}: {verdict}")
    out.append(f"   about ${total * 30:.2f} a month")
    measured = total + (gb_seconds - modelled) * SCALE * LAMBDA_GB_SECOND_ARM
    out.append(
        f"   with Lambda durations as measured on moto ({gb_seconds * SCALE:,.0f} GB-s, an upper bound): "
        f"${measured:.4f}"
    )
    figures = [
        "   counted per night at 1/100: "
        + ", ".join(
            f"{name} x{n} ({meter.modelled_gb_seconds[name]:.2f} GB-s modelled, {meter.gb_seconds[name]:.1f} measured)"
            for name, n in meter.invocations.most_common()
        ),
        "   Standard transitions (Express: executions) by state machine: "
        + ", ".join(f"{k} {v}" for k, v in workflows.per_machine.most_common())
        + f" ({workflows.per_night} of them once a night, {workflows.per_app / APPS:.1f} per app); "
        + f"Express executions {workflows.express_requests}, {workflows.express_seconds:.1f} s billed",
        "   AWS calls: " + ", ".join(f"{k} {v}" for k, v in sorted(meter.calls.items()) if not k.startswith("lambda:")),
    ]
    return ("\n".join(out), total), "\n".join(figures)


if __name__ == "__main__":
    sys.exit(main())
