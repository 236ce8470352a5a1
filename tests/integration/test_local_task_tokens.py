"""The local stack answers task tokens as Step Functions does while other executions start, and a
stop ends a wait for one as Step Functions does.

moto 5.2.5 lists a new execution before its worker exists; SendTaskSuccess/Failure/Heartbeat read
every execution's worker, and failed with a 500 while reconcile-all started syncs side by side
(a sync's commit telling the reconciliation at that moment failed). seatkeeper_local.stack.aws passes
such executions over: one without a worker holds no token.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from seatkeeper_local.demo.client import wait_until
from seatkeeper_local.stack.template import ACCOUNT, REGION


@pytest.mark.parametrize(
    "answer",
    [
        lambda sfn: sfn.send_task_success(taskToken="no-such-token", output="{}"),
        lambda sfn: sfn.send_task_failure(taskToken="no-such-token", error="E", cause="c"),
        lambda sfn: sfn.send_task_heartbeat(taskToken="no-such-token"),
    ],
    ids=["success", "failure", "heartbeat"],
)
@pytest.mark.parametrize(
    "worker",
    [None, SimpleNamespace(env=None)],
    ids=["before-its-worker", "before-its-worker-thread-runs"],
)
def test_a_task_token_is_answered_while_an_execution_is_starting(stack, answer, worker):
    # Given an execution that moto lists already but has not given a worker yet (or whose worker's
    # thread has not made its environment yet),
    machine = next(iter(stepfunctions_parser_backends[ACCOUNT][REGION].state_machines))
    starting = SimpleNamespace(status=ExecutionStatus.RUNNING, exec_worker=worker)
    machine.executions.append(starting)
    try:
        # when a task token is answered, the answer is the one Step Functions gives (no such token),
        with pytest.raises(ClientError) as raised:
            answer(boto3.client("stepfunctions"))
    finally:
        machine.executions.remove(starting)
    # not a 500 from the execution that is still starting.
    assert raised.value.response["Error"]["Code"] == "InvalidToken"


def test_an_execution_stopped_while_it_waits_for_a_task_token_ends_aborted(stack):
    # Given an execution waiting for a task token (the wait a reconciliation's or a reclamation's sync
    # step makes)
    sfn = boto3.client("stepfunctions")
    waits = {
        "Type": "Task",
        "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken",
        "Parameters": {"Entries": [{"Source": "test", "DetailType": "wait", "Detail": {"token.$": "$$.Task.Token"}}]},
        "TimeoutSeconds": 60,
        "End": True,
    }
    machine = sfn.create_state_machine(
        name=f"waits-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": waits}}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/test",
    )["stateMachineArn"]
    run = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    waiting = wait_until(
        lambda: [e["type"] for e in sfn.get_execution_history(executionArn=run)["events"]],
        lambda events: "TaskSubmitted" in events,
        timeout=10,
    )
    assert "TaskSubmitted" in waiting, waiting

    # When it is stopped
    sfn.stop_execution(executionArn=run, cause="stopped by a test")

    # Then it ends ABORTED, as in Step Functions, not FAILED by the wait that the stop interrupted
    ended = wait_until(lambda: sfn.describe_execution(executionArn=run), lambda d: d["status"] != "RUNNING", timeout=10)
    assert ended["status"] == "ABORTED"
    assert sfn.get_execution_history(executionArn=run)["events"][-1]["type"] == "ExecutionAborted"
