"""Starts and stops the whole local stack: moto with the template's resources, the functions, the HTTP API."""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
from pathlib import Path
from typing import Any

import boto3
from werkzeug.serving import BaseWSGIServer, make_server

from seatkeeper_local.aws import create_resources, dispatch_lambda_to, start_moto, use_local_aws
from seatkeeper_local.functions import LocalFunctions
from seatkeeper_local.gateway import Gateway
from seatkeeper_local.schedules import LocalScheduler, Schedule
from seatkeeper_local.template import FunctionSpec, Template

LOOPBACK = "127.0.0.0/8,::1,localhost"
STATE_FILE = Path(".seatkeeper") / "local.json"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def find_template(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "template.yaml").is_file():
            return folder / "template.yaml"
    raise FileNotFoundError("no template.yaml here or above; run seatkeeper from the project folder")


class LocalStack:
    def __init__(
        self,
        template_path: Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        aws_port: int = 4566,
        jwt_secret: str | None = None,
        log_level: str | None = None,
    ) -> None:
        self.template_path = template_path or find_template()
        self.host = host
        self.port = port or free_port(host)
        self.aws_port = aws_port or free_port(host)
        self.jwt_secret = jwt_secret or os.environ.get("SEATKEEPER_LOCAL_JWT_SECRET") or secrets.token_urlsafe(32)
        self.log_level = log_level
        self._moto: Any = None
        self._http: BaseWSGIServer | None = None
        self.functions: LocalFunctions | None = None
        self.template: Template | None = None
        self.scheduler: LocalScheduler | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def aws_endpoint(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    def parameters(self) -> dict[str, str]:
        allowed = ",".join(filter(None, [LOOPBACK, os.environ.get("SEATKEEPER_ALLOW_HOSTS", "")]))
        # Retries really sleep on moto's engine: keep the first interval at its minimum locally.
        parameters = {
            "AllowHosts": allowed,
            "RetryIntervalSeconds": "1",
            "SaaSRetryAttempts": "3",
            "SaaSRetryBudgetSeconds": "5",
            "SyncPollSeconds": "1",
        }
        if self.log_level:
            parameters["LogLevel"] = self.log_level
        return parameters

    def start_aws(self) -> LocalStack:
        """moto with the template's resources and in-process functions, without the HTTP API."""
        self.template = Template(self.template_path, self.parameters())
        self._moto = start_moto(self.host, self.aws_port)
        use_local_aws(self.aws_endpoint)
        self.functions = LocalFunctions(without_cognito(self.template.functions()))
        dispatch_lambda_to(self.functions)
        create_resources(self.template)
        self.scheduler = LocalScheduler(
            [
                Schedule(
                    f"{machine.logical_id}-{number}",
                    machine.arn,
                    s["ScheduleExpression"],
                    s.get("ScheduleExpressionTimezone", "UTC"),
                    s.get("Input", "{}"),
                    retry_attempts=int(s.get("RetryPolicy", {}).get("MaximumRetryAttempts", 185)),
                    dead_letter_arn=s.get("DeadLetterConfig", {}).get("Arn"),
                )
                for machine in self.template.state_machines().values()
                for number, s in enumerate(machine.schedules)
            ],
            start=lambda arn, name, payload: boto3.client("stepfunctions").start_execution(
                stateMachineArn=arn, name=name, input=payload
            ),
            dead_letter=send_dead_letter,
        )
        threading.Thread(target=self.scheduler.run, name="seatkeeper-scheduler", daemon=True).start()
        return self

    def start(self) -> LocalStack:
        self.start_aws()
        assert self.template is not None and self.functions is not None
        gateway = Gateway(self.template.http_routes(), self.functions, self.jwt_secret)
        self._http = make_server(self.host, self.port, gateway, threaded=True)
        threading.Thread(target=self._http.serve_forever, name="seatkeeper-gateway", daemon=True).start()
        self._write_state()
        return self

    def _write_state(self) -> None:
        # `seatkeeper token` in another shell signs with the running stack's secret.
        path = self.template_path.parent / STATE_FILE
        path.parent.mkdir(exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(
            json.dumps(
                {"url": self.url, "aws_endpoint": self.aws_endpoint, "jwt_secret": self.jwt_secret, "pid": os.getpid()}
            )
        )

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            state = self.template_path.parent / STATE_FILE
            if state.exists() and json.loads(state.read_text()).get("pid") == os.getpid():
                state.unlink()
        if self._moto is not None:
            self._moto.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def send_dead_letter(schedule: Schedule, failure: Exception) -> None:
    """The schedule's input, with why it could not be delivered, as EventBridge Scheduler's dead-letter event."""
    assert schedule.dead_letter_arn is not None
    sqs = boto3.client("sqs")
    queue = sqs.get_queue_url(QueueName=schedule.dead_letter_arn.rsplit(":", 1)[1])["QueueUrl"]
    code = getattr(failure, "response", {}).get("Error", {}).get("Code") or type(failure).__name__
    attributes = {
        "ERROR_CODE": code,
        "ERROR_MESSAGE": str(failure)[:256],
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
        "RETRY_ATTEMPTS": str(schedule.retry_attempts),
        "TARGET_ARN": schedule.target_arn,
    }
    sqs.send_message(
        QueueUrl=queue,
        MessageBody=schedule.payload,
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )


# There is no Cognito here: the local stack signs its own JWTs, and the dashboard signs in with
# the link `seatkeeper local` prints instead of a hosted UI.
COGNITO_ONLY = ("DASHBOARD_SIGN_IN_URL", "DASHBOARD_CLIENT_ID")


def without_cognito(specs: dict[str, FunctionSpec]) -> dict[str, FunctionSpec]:
    for spec in specs.values():
        for name in COGNITO_ONLY:
            spec.environment.pop(name, None)
    return specs


def running_stack(template_path: Path | None = None) -> dict[str, Any] | None:
    """What `seatkeeper local` wrote down about itself (url, jwt_secret, ...), if it is running."""
    try:
        state = (template_path or find_template()).parent / STATE_FILE
        found: dict[str, Any] = json.loads(state.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return found


def running_stack_secret(template_path: Path | None = None) -> str | None:
    if secret := os.environ.get("SEATKEEPER_LOCAL_JWT_SECRET"):
        return secret
    found = running_stack(template_path) or {}
    return str(found["jwt_secret"]) if "jwt_secret" in found else None


def dashboard_link(url: str, token: str) -> str:
    """The dashboard, signed in: the token rides in the fragment, which browsers never send to a server."""
    return f"{url}/dashboard#token={token}"


def quiet_werkzeug() -> None:
    """Keep the request lines of moto's server and the AWS SDK's chatter out of the way.

    moto's Step Functions engine logs every Fail state as an error, also the ones a saga
    ends in on purpose; executions and the API say what failed.
    """
    for name in ("werkzeug", "botocore", "boto3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
