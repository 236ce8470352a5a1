"""The local stack's AWS: moto, serving every service on one port, with template.yaml's resources.

Lambda invocations (from Step Functions tasks or boto3) are answered by the in-process
handlers instead of moto's canned reply, so state machines execute our own code.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import threading
import zipfile
from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
import moto.dynamodb.models
import requests
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import bytesize
from moto.server import ThreadedMotoServer

from seatkeeper.aws.clients import aws_client
from seatkeeper_local.stack.functions import FunctionError, LocalFunctions
from seatkeeper_local.stack.template import LOCAL_ROLE, REGION, Template

log = logging.getLogger("seatkeeper_local.aws")
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
_dispatch: LocalFunctions | None = None


def _invoke_in_process(  # noqa: PLR0917 - moto's signature
    self: LambdaSimpleBackend, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> bytes:
    if _dispatch is None:
        raise RuntimeError("no local functions registered")
    functions = _dispatch
    event = json.loads(body) if body else {}
    if headers.get("X-Amz-Invocation-Type") == "Event":

        def run() -> None:
            try:
                functions.invoke(function_name, event)
            except FunctionError as exc:
                log.error("async invocation of %s failed: %s", function_name, exc)

        threading.Thread(target=run, name=f"lambda-{function_name}", daemon=True).start()
        return b""
    try:
        return json.dumps(functions.invoke(function_name, event)).encode()
    except FunctionError as exc:
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(exc.payload()).encode()


def dispatch_lambda_to(functions: LocalFunctions) -> None:
    """Make moto's Lambda Invoke call our handlers in this process."""
    global _dispatch  # noqa: PLW0603 - moto's backend is process-global too
    _dispatch = functions
    LambdaSimpleBackend.invoke = _invoke_in_process  # type: ignore[method-assign]
    keep_task_failure_causes()
    aws_sdk_parameters_by_api_names()
    sfn_task_parameters_by_api_names()
    tokens_answered_while_executions_start()
    stopping_ends_callback_waits()
    stopped_executions_stay_aborted()
    model_data_without_docker()


def _no_docker_client(self: Any) -> Any:
    raise AttributeError("the local stack runs functions in-process, without Docker")


def model_data_without_docker() -> None:
    """moto's `GET /moto-api/data.json` (where `seatkeeper outbox` reads SES's sent mail) reads every
    attribute of every model and skips the ones that raise AttributeError or do not serialize; a Lambda
    function's `docker_client` raises DockerException without Docker, which ended the whole answer."""
    from moto.utilities.docker_utilities import DockerModel

    DockerModel.docker_client = property(_no_docker_client)  # type: ignore[assignment,method-assign]


def _send_task_failure_with_cause(self: Any) -> Any:
    # moto 5.2's handler drops `cause`; AWS passes it on to the task's Catch as $.error.Cause.
    from moto.core.responses import EmptyResult

    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


def keep_task_failure_causes() -> None:
    # Start-up time: moto's Step Functions modules load when the stack patches them, not on import.
    from moto.stepfunctions.responses import StepFunctionResponse

    StepFunctionResponse.send_task_failure = _send_task_failure_with_cause  # type: ignore[method-assign]


def _aws_sdk_parameters_as_the_api_names_them(self: Any, parameters: dict[str, Any], *_: Any, **__: Any) -> None:
    # AWS maps an aws-sdk task's parameters (PascalCase: "TaskToken") onto the API's own member names
    # ("taskToken" for Step Functions). moto 5.2.5 passes them on as written, which works only for the
    # services whose members are PascalCase already (Secrets Manager, CloudWatch), not for sfn.
    from botocore.session import get_session
    from moto.stepfunctions.parser.utils import camel_to_snake_case

    model = get_session().get_service_model(self._get_boto_service_name())
    action = self._get_boto_service_action()
    operation = next((o for o in model.operation_names if camel_to_snake_case(o) == action), None)
    if operation is not None:
        self._to_boto_request(parameters, model.operation_model(operation).input_shape)


def aws_sdk_parameters_by_api_names() -> None:
    # Start-up time: as above.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    StateTaskServiceAwsSdk._normalise_parameters = _aws_sdk_parameters_as_the_api_names_them  # type: ignore[method-assign]


def sfn_task_parameters_by_api_names() -> None:
    """The optimized Step Functions integration (`arn:aws:states:::states:startExecution`) takes its
    parameters as AWS documents them, PascalCase ("StateMachineArn"); moto 5.2.5 hands them to
    botocore as written, which knows only the API's own "stateMachineArn" (KeyError). Named as the
    API names them after moto has made the Input a string, as AWS does."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    as_moto_does = StateTaskServiceSfn._normalise_parameters

    def by_api_names(self: Any, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        as_moto_does(self, parameters, *args, **kwargs)
        _aws_sdk_parameters_as_the_api_names_them(self, parameters)

    def as_the_integration_answers(self: Any, response: Any, *args: Any, **kwargs: Any) -> None:
        # {"ExecutionArn": ..., "StartDate": ...}: moto keeps botocore's {"executionArn", "startDate":
        # datetime}, which no execution history or output can hold (describe_execution then fails).
        if isinstance(response, dict):
            for key in list(response):
                value = response.pop(key)
                response[key[:1].upper() + key[1:]] = value.isoformat() if isinstance(value, datetime) else value

    StateTaskServiceSfn._normalise_parameters = by_api_names  # type: ignore[method-assign]
    StateTaskServiceSfn._normalise_response = as_the_integration_answers  # type: ignore[method-assign]


def tokens_answered_while_executions_start() -> None:
    """SendTaskSuccess/Failure/Heartbeat look for the token among the executions, reading each one's
    worker's environment. moto 5.2.5 lists an execution before its worker exists, and a worker
    before its thread has made its environment (StartExecution in another thread): the answer then
    fails with a 500 (AttributeError) while syncs start side by side. An execution not running yet
    holds no token: it is passed over, as it cannot be in AWS."""
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    every_execution = StepFunctionsParserBackend._get_executions

    def started_executions(self: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return [e for e in every_execution(self, *args, **kwargs) if getattr(e.exec_worker, "env", None) is not None]

    StepFunctionsParserBackend._get_executions = started_executions  # type: ignore[method-assign]


def stopping_ends_callback_waits() -> None:
    """StopExecution ends an execution at once in AWS, even while a step waits for its task token.
    moto 5.2.5 only marks it stopped, and a step waiting for a token (TimeoutSeconds away) keeps it
    running: stopping also interrupts every wait of that execution."""
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    stop = ExecutionWorker.stop

    def stop_and_interrupt(self: Any, *args: Any, **kwargs: Any) -> None:
        stop(self, *args, **kwargs)
        for endpoint in list(self.env.callback_pool_manager._pool.values()):
            endpoint.interrupt_all()

    ExecutionWorker.stop = stop_and_interrupt  # type: ignore[method-assign]


def stopped_executions_stay_aborted() -> None:
    """A stopped execution is ABORTED for good in AWS. In moto 5.2.5 a step that fails after the stop
    (the wait for a task token that stopping interrupts, a task that returns late) sets its error
    over the stop, and the execution reads FAILED: seatkeeper's reclamation then said a stopped
    re-sync had failed. A stopped program keeps its stop."""
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    def unless_stopped(change: Callable[..., None]) -> Callable[..., None]:
        def keep_the_stop(self: Any, *args: Any, **kwargs: Any) -> None:
            with self._state_mutex:  # an RLock: `change` takes it again
                if not isinstance(self._program_state, ProgramStopped):
                    change(self, *args, **kwargs)

        return keep_the_stop

    Environment.set_error = unless_stopped(Environment.set_error)  # type: ignore[method-assign]
    Environment.set_timed_out = unless_stopped(Environment.set_timed_out)  # type: ignore[method-assign]


_moto_transact_write_items = DynamoDBBackend.transact_write_items
_ONE_TRANSACTION_AT_A_TIME = threading.Lock()


class _TablesNotCopied:
    """moto's `copy` module, except that a whole table is never deep-copied (see transactions_item_by_item)."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _items_before(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[tuple[str, Any, Any]]:
    before = []
    for transact_item in transact_items:
        try:
            _, op = next(iter(transact_item.items()))
            table = backend.get_table(op["TableName"])
            key = op.get("Key") or {
                name: op["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name is not None
            }
            current = backend.get_item(op["TableName"], key)
        except Exception:  # noqa: S112 - moto refuses this operation itself, before it changes anything
            continue
        before.append((op["TableName"], key, current.to_json()["Attributes"] if current else None))
    return before


def _transact_write_items_item_by_item(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    # moto backs a transaction up by deep-copying every table it touches: O(all items) per transaction
    # on our single table, gigabytes over a test session, and "dictionary changed size during iteration"
    # when a parallel Map iteration writes meanwhile (its rollback would also undo that write). Back up
    # only the items the transaction touches, and run one transaction at a time, as DynamoDB isolates them.
    with _ONE_TRANSACTION_AT_A_TIME:
        before = _items_before(backend, transact_items)
        try:
            _moto_transact_write_items(backend, transact_items)
        except Exception:
            for table_name, key, attributes in reversed(before):
                if attributes is None:
                    backend.delete_item(table_name, key)
                else:
                    backend.put_item(table_name, attributes)
            raise


def transactions_item_by_item() -> None:
    moto.dynamodb.models.copy = _TablesNotCopied  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = _transact_write_items_item_by_item  # type: ignore[method-assign]


_moto_item_init = Item.__init__
ITEM_SIZE_LIMIT = 405_000  # moto's own: "the actual limit is between 409 and 410KB"


def _item_sized_once(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    # moto's LimitedSizeDict sums the size of every attribute already set each time it sets one:
    # O(attributes squared) per item, a third of the time a batch of users took to write locally.
    # The same running total, kept instead of recomputed: the same error at the same attribute.
    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = LimitedSizeDict()
    size = 0
    for key, value in attrs.items():
        attribute = DynamoType(value)
        size += bytesize(key) + attribute.size()
        if size > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(self.attrs, key, attribute)


def items_sized_once() -> None:
    Item.__init__ = _item_sized_once  # type: ignore[method-assign]


def _all_items_of_a_copy(self: Table) -> list[Item]:
    # moto walks the live dicts in Python, so a write from another thread meanwhile (a commit's batches
    # while the nightly reconciliation queries) fails the Query with "dictionary changed size during
    # iteration". list() of a dict's values is one C call under the GIL: the same items, as they stand.
    items: list[Item] = []
    for hash_set in list(self.items.values()):
        if self.range_key_attr:
            items.extend(list(hash_set.values()))
        else:
            items.append(hash_set)  # type: ignore[arg-type]
    return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _index_items_of_a_copy(self: Table, index_name: str) -> list[Item]:
    wanted = {i["AttributeName"] for i in self.get_index(index_name).schema}
    items: list[Item] = []
    for hash_set in list(self.items.values()):
        for item in list(hash_set.values()) if self.range_key_attr else [hash_set]:
            if wanted.issubset(set(item.attrs)):  # type: ignore[union-attr]
                items.append(item)  # type: ignore[arg-type]
    return items


def reads_while_others_write() -> None:
    Table.all_items = _all_items_of_a_copy  # type: ignore[method-assign]
    Table.has_idx_items = _index_items_of_a_copy  # type: ignore[method-assign]


def use_local_aws(endpoint: str) -> None:
    """Point boto3 (handlers and tools) and moto's Step Functions engine at the local endpoint."""
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "MOTO_PORT": endpoint.rsplit(":", 1)[1],
        }
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    # The handlers' shared clients were made for the endpoint before this one, if any.
    aws_client.cache_clear()


def start_moto(host: str, port: int) -> ThreadedMotoServer:
    transactions_item_by_item()
    items_sized_once()
    reads_while_others_write()
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    endpoint = f"http://{host}:{server._port}"
    requests.post(f"{endpoint}/moto-api/config", json=MOTO_CONFIG, timeout=10).raise_for_status()
    return server


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README", "The local stack runs this function's handler in-process from its CodeUri.")
    return buffer.getvalue()


def create_resources(template: Template) -> None:
    """Tables, buckets, queues, functions, state machines and schedules of the template, in moto."""
    s3 = boto3.client("s3")
    for bucket in template.buckets():
        s3.create_bucket(Bucket=bucket)
    sqs = boto3.client("sqs")
    for queue in template.queues():
        sqs.create_queue(QueueName=queue)
    dynamodb = boto3.client("dynamodb")
    for table in template.tables().values():
        dynamodb.create_table(**table["create"])
        if table["ttl"]:
            dynamodb.update_time_to_live(TableName=table["create"]["TableName"], TimeToLiveSpecification=table["ttl"])
    boto3.client("iam").create_role(
        RoleName=LOCAL_ROLE.rsplit("/", 1)[1],
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {
                            "Service": ["lambda.amazonaws.com", "states.amazonaws.com", "scheduler.amazonaws.com"]
                        },
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    lambda_client = boto3.client("lambda")
    code = _placeholder_zip()
    for spec in template.functions().values():
        lambda_client.create_function(
            FunctionName=spec.logical_id,
            Runtime="python3.13",
            Role=LOCAL_ROLE,
            Handler=spec.handler,
            Code={"ZipFile": code},
            Timeout=spec.timeout,
            Environment={"Variables": spec.environment},
        )
    stepfunctions, scheduler = boto3.client("stepfunctions"), boto3.client("scheduler")
    for machine in template.state_machines().values():
        stepfunctions.create_state_machine(
            name=machine.logical_id, definition=json.dumps(machine.definition), roleArn=LOCAL_ROLE, type=machine.type
        )
        # moto keeps the schedules for inspection; seatkeeper_local.stack.schedules fires them.
        for number, schedule in enumerate(machine.schedules):
            scheduler.create_schedule(
                Name=f"{machine.logical_id}-{number}",
                ScheduleExpression=schedule["ScheduleExpression"],
                ScheduleExpressionTimezone=schedule.get("ScheduleExpressionTimezone", "UTC"),
                FlexibleTimeWindow={"Mode": "OFF"},
                Target={
                    "Arn": machine.arn,
                    "RoleArn": LOCAL_ROLE,
                    "Input": schedule.get("Input", "{}"),
                    **{k: schedule[k] for k in ("RetryPolicy", "DeadLetterConfig") if k in schedule},
                },
            )
