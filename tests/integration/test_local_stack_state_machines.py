"""The local stack runs a template's state machines on moto's engine, Lambda tasks in-process.

Uses a small fixture app (tests/fixtures/saga_app), in its own process so that its moto
does not mix with the session's stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = r"""
import json, os, time, boto3
from pathlib import Path
from seatkeeper_local.stack.local_stack import LocalStack
stack = LocalStack(Path("tests/fixtures/saga_app/template.yaml"), port=0, aws_port=0).start_aws()
sfn = boto3.client("stepfunctions")
machine = sfn.list_state_machines()["stateMachines"][0]
run = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="run-1", input=json.dumps({"key": "k-1"}))
for _ in range(200):
    described = sfn.describe_execution(executionArn=run["executionArn"])
    if described["status"] != "RUNNING":
        break
    time.sleep(0.1)
history = sfn.get_execution_history(executionArn=run["executionArn"])["events"]
table = stack.template.physical_name("Table")
print(json.dumps({
    "pid": os.getpid(),
    "status": described["status"],
    "error": described.get("error"),
    "events": [e["type"] for e in history],
    "step": next(json.loads(e["taskSucceededEventDetails"]["output"]) for e in history if e["type"] == "TaskSucceeded"),
    "caught": [json.loads(e["taskFailedEventDetails"].get("cause") or "{}")
               for e in history if e["type"] == "TaskFailed"],
    "items_left": boto3.client("dynamodb").scan(TableName=table)["Count"],
}))
stack.stop()
"""


def test_a_state_machine_runs_our_handlers_with_retry_catch_and_compensation(root):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PYTHONPATH": f"{root}/local:{root}/layers/seatkeeper"},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # Given the fixture's flow, when it runs, then our own handler ran in this process with the template's environment,
    assert result["step"]["Payload"]["ran_in_pid"] == result["pid"]
    assert result["step"]["Payload"]["table"] == "seatkeeper-local-Table"
    assert result["step"]["Payload"]["function"] == "StepFunction"
    # the named Python error was retried once and then caught,
    assert result["events"].count("TaskFailed") == 2
    assert all(c.get("errorType") == "FlakyError" for c in result["caught"])
    # the compensation undid the direct DynamoDB write, and the run failed with a name a person understands.
    assert result["items_left"] == 0
    assert (result["status"], result["error"]) == ("FAILED", "FlakyAppFailed")
