"""The one module that talks to Step Functions: starting sagas and resuming the ones that wait."""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from seatkeeper.aws.clients import aws_client

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient


class StepFunctions:
    def __init__(self, state_machine_arn: str | None = None, client: SFNClient | None = None) -> None:
        # None when only resuming or stopping executions (task tokens, ARNs): never a default machine.
        self.state_machine_arn = state_machine_arn
        self._client = client

    @cached_property
    def client(self) -> SFNClient:
        return self._client or aws_client("stepfunctions")

    def _machine(self) -> str:
        if not self.state_machine_arn:
            raise ValueError("no state machine: this client was made to resume or stop executions only")
        return self.state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> str:
        return self.client.start_execution(stateMachineArn=self._machine(), name=name, input=json.dumps(payload))[
            "executionArn"
        ]

    def execution_arn(self, name: str) -> str:
        return self._machine().replace(":stateMachine:", ":execution:", 1) + f":{name}"

    def status(self, name: str) -> str | None:
        """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED: how the execution called `name` stands; None if none is."""
        try:
            return self.client.describe_execution(executionArn=self.execution_arn(name))["status"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ExecutionDoesNotExist":
                return None
            raise

    def stop(self, execution_arn: str, reason: str) -> None:
        try:
            self.client.stop_execution(executionArn=execution_arn, cause=reason)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("ExecutionDoesNotExist", "ExecutionNotRunning"):
                raise

    def succeed(self, task_token: str, output: dict[str, Any]) -> None:
        self.client.send_task_success(taskToken=task_token, output=json.dumps(output))

    def tell(self, task_token: str, output: dict[str, Any]) -> None:
        """Succeed the waiting task unless it waits no more (timed out, its execution stopped)."""
        try:
            self.succeed(task_token, output)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
                raise

    def fail(self, task_token: str, error: str, cause: str) -> None:
        try:
            self.client.send_task_failure(taskToken=task_token, error=error, cause=cause[:32000])
        except ClientError as exc:
            # The saga already stopped waiting (timed out or disconnected): nothing left to fail.
            if exc.response["Error"]["Code"] not in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
                raise
