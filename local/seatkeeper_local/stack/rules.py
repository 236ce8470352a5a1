"""EventBridge rules whose target is one of our functions, delivered as AWS delivers them.

moto's EventBridge sends to SQS queues, log groups and buses, not to Lambda functions. Here a
rule's Lambda target is invoked in-process and asynchronously, as EventBridge does; a function
that fails is tried again as Lambda tries asynchronous invocations (EventInvokeConfig's
MaximumRetryAttempts, with a backoff of seconds instead of minutes), and after the last try
the event goes to the function's on-failure destination in the record Lambda writes there
(AWS Lambda Developer Guide, "Capturing records of Lambda asynchronous invocations").
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import boto3
from moto.events.models import Rule

from seatkeeper_local.stack.functions import FunctionError, LocalFunctions
from seatkeeper_local.stack.template import EventRuleSpec

log = logging.getLogger("seatkeeper_local.rules")
_routes: dict[str, EventRuleSpec] = {}
_state: dict[str, Any] = {"functions": None, "backoff": 1.0}


def create_event_rules(rules: list[EventRuleSpec]) -> None:
    events = boto3.client("events")
    for rule in rules:
        events.put_rule(Name=rule.name, EventPattern=json.dumps(rule.pattern))
        events.put_targets(Rule=rule.name, Targets=[{"Id": rule.function, "Arn": rule.function_arn}])
        _routes[rule.function_arn] = rule


def deliver_rules_to(functions: LocalFunctions, *, backoff_seconds: float = 1.0) -> None:
    _state.update(functions=functions, backoff=backoff_seconds)
    if getattr(Rule.send_to_targets, "_seatkeeper", False):
        return
    as_moto_does = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        ours = [_routes[t["Arn"]] for t in self.targets if t["Arn"] in _routes]
        if len(ours) < len(self.targets):
            # moto refuses a target it does not know (a function): it sees only the others, on a copy.
            theirs = copy.copy(self)
            theirs.targets = [t for t in self.targets if t["Arn"] not in _routes]
            as_moto_does(theirs, original_event, transform_input)
        if not ours or not self.event_pattern.matches_event(original_event):
            return
        for route in ours:
            if route is not None:
                event = json.loads(json.dumps(original_event, default=str))
                threading.Thread(target=_invoke, args=(route, event), name=f"rule-{route.name}", daemon=True).start()

    send_to_targets._seatkeeper = True  # type: ignore[attr-defined]
    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def _invoke(route: EventRuleSpec, event: dict[str, Any]) -> None:
    functions: LocalFunctions = _state["functions"]
    tries = 1 + route.retry_attempts
    for attempt in range(1, tries + 1):
        try:
            functions.invoke(route.function, event)
            return
        except FunctionError as exc:
            log.warning("%s failed (try %d of %d): %s", route.function, attempt, tries, exc)
            failure = exc
        if attempt < tries:
            time.sleep(_state["backoff"] * attempt)
    if route.on_failure:
        _send_failure_record(route, event, failure, tries)


def _send_failure_record(route: EventRuleSpec, event: dict[str, Any], failure: FunctionError, tries: int) -> None:
    sqs = boto3.client("sqs")
    queue = sqs.get_queue_url(QueueName=route.on_failure.rsplit(":", 1)[1])["QueueUrl"]  # type: ignore[union-attr]
    record = {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "requestContext": {
            "requestId": str(event.get("id")),
            "functionArn": f"{route.function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": tries,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": failure.payload(),
    }
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(record))
