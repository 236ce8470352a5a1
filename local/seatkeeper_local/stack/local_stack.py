"""Starts and stops the whole local stack: moto with the template's resources, the functions, the HTTP API."""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from werkzeug.serving import BaseWSGIServer, make_server

from seatkeeper_local.ports import free_port
from seatkeeper_local.stack.aws import create_resources, dispatch_lambda_to, start_moto, use_local_aws
from seatkeeper_local.stack.console import LogFormat
from seatkeeper_local.stack.functions import LocalFunctions
from seatkeeper_local.stack.gateway import Gateway
from seatkeeper_local.stack.rules import create_event_rules, deliver_rules_to
from seatkeeper_local.stack.schedules import LocalScheduler, Schedule
from seatkeeper_local.stack.template import FunctionSpec, Template

LOOPBACK = "127.0.0.0/8,::1,localhost"
# The local sender of seatkeeper's e-mails: verified in moto's SES at start, so keep prompts go out with no set-up.
LOCAL_SENDER = "seatkeeper@seatkeeper.localhost"
LOCAL_ADMINS = "admin@seatkeeper.localhost"
# One file per running stack, named after its process: two stacks never overwrite or delete each other's.
STATE_FOLDER = Path(".seatkeeper")


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
        log_format: LogFormat = "console",
    ) -> None:
        self.template_path = template_path or find_template()
        self.host = host
        self.port = port or free_port(host)
        self.aws_port = aws_port or free_port(host)
        self.jwt_secret = jwt_secret or os.environ.get("SEATKEEPER_LOCAL_JWT_SECRET") or secrets.token_urlsafe(32)
        self.log_level = log_level
        self.log_format: LogFormat = log_format
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
            "NotificationsFrom": LOCAL_SENDER,
            "NotificationAdmins": LOCAL_ADMINS,
            "DashboardUrl": f"{self.url}/dashboard",
        }
        if self.log_level:
            parameters["LogLevel"] = self.log_level
        return parameters

    def start_aws(self) -> LocalStack:
        """moto with the template's resources and in-process functions, without the HTTP API."""
        self.template = Template(self.template_path, self.parameters())
        self._moto = start_moto(self.host, self.aws_port)
        use_local_aws(self.aws_endpoint)
        self.functions = LocalFunctions(without_cognito(self.template.functions()), log_format=self.log_format)
        dispatch_lambda_to(self.functions)
        create_resources(self.template)
        boto3.client("sesv2").create_email_identity(EmailIdentity=self.template.parameters["NotificationsFrom"])
        create_event_rules(self.template.event_rules("seatkeeper"))
        deliver_rules_to(self.functions)
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
        # A short poll: stopping waits for the next one (moto's server polls every 0.5 s, which is its own).
        serve = {"poll_interval": 0.1}
        threading.Thread(target=self._http.serve_forever, kwargs=serve, name="seatkeeper-gateway", daemon=True).start()
        self._write_state()
        return self

    @property
    def state_file(self) -> Path:
        return state_file(self.template_path, os.getpid(), self.port)

    def _write_state(self) -> None:
        # `seatkeeper token` in another shell signs with the running stack's secret.
        path = self.state_file
        path.parent.mkdir(exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        state = {
            "url": self.url,
            "port": self.port,
            "aws_endpoint": self.aws_endpoint,
            "jwt_secret": self.jwt_secret,
            "pid": os.getpid(),
            "started": time.time(),
        }
        path.write_text(json.dumps(state))

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self.state_file.unlink(missing_ok=True)
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


def state_file(template_path: Path, pid: int, port: int) -> Path:
    return template_path.parent / STATE_FOLDER / f"local-{pid}-{port}.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def running_stacks(template_path: Path | None = None) -> list[dict[str, Any]]:
    """What each running `seatkeeper local` wrote down about itself (url, port, jwt_secret, ...), newest first.

    A file left behind by a process that is gone (killed, crashed) is removed on the way.
    """
    folder = (template_path or find_template()).parent / STATE_FOLDER
    found: list[dict[str, Any]] = []
    for path in folder.glob("local-*.json"):
        try:
            state = json.loads(path.read_text())
            pid = int(state["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _alive(pid):
            found.append(state)
        else:
            path.unlink(missing_ok=True)
    return sorted(found, key=lambda state: float(state.get("started", 0)), reverse=True)


def running_stack(template_path: Path | None = None, port: int | None = None) -> dict[str, Any] | None:
    """The running local stack on `port`; without a port, the one started last (saying so when there are several)."""
    stacks = running_stacks(template_path)
    if port is not None:
        return next((state for state in stacks if state.get("port") == port), None)
    if len(stacks) > 1:
        others = ", ".join(str(state.get("port")) for state in stacks[1:])
        print(
            f"{len(stacks)} local stacks are running: using the newest, on port {stacks[0].get('port')}"
            f" (the others: {others}; choose one with --port)",
            file=sys.stderr,
        )
    return stacks[0] if stacks else None


def running_stack_secret(template_path: Path | None = None, port: int | None = None) -> str | None:
    if port is None and (secret := os.environ.get("SEATKEEPER_LOCAL_JWT_SECRET")):
        return secret
    found = running_stack(template_path, port) or {}
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
