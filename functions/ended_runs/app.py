"""Finishes the record of a reclaim-licenses, reconcile-all or sync-users execution that ended without doing so.

A Catch covers what a step raises; it cannot cover an execution that is stopped, times out, or
fails with an error no Catch takes (States.Runtime). For each of those Step Functions puts an
"Execution Status Change" event on EventBridge, which brings it here. A record that its execution
finished already is left as it is. A sync run's reconciliation, which waits to be told how the run
ended (its task token), is told here too, so that it never waits for a sync that is gone.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seatkeeper.aws.dynamodb.reclamations import DynamoDBReclamations
from seatkeeper.aws.dynamodb.reconciliations import DynamoDBReconciliations
from seatkeeper.aws.dynamodb.snapshots import DynamoDBSync
from seatkeeper.aws.events import EventBridgeNotices
from seatkeeper.aws.workflows import StepFunctions
from seatkeeper.core.settings import EndedRunSettings
from seatkeeper.sync import runs as sync
from seatkeeper.sync.runs import run_error

logger = Logger()
ERROR_OF = {"ABORTED": "ExecutionAborted", "TIMED_OUT": "ExecutionTimedOut", "FAILED": "ExecutionFailed"}


settings = EndedRunSettings.from_environment()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = event["detail"]
    given = json.loads(detail.get("input") or "{}")
    error = detail.get("error") or ERROR_OF.get(detail["status"], "ExecutionFailed")
    cause = (run_error(detail.get("cause")) or f"the execution {detail['name']} ended {detail['status']}")[:500]
    # Cold start: each kind of run imports its own domain module: one event is about one of them.
    if detail["stateMachineArn"] == settings.reclaim_state_machine_arn:
        from seatkeeper.licensing import reclamation

        reclaim = reclamation.record_failure(
            given["reclamation_id"],
            store=DynamoDBReclamations(settings.table_name),
            error=error,
            cause=cause,
            notices=EventBridgeNotices(),
        )
        logger.info("ended run recorded", extra={"reclamation_id": reclaim.id, "status": reclaim.status})
        return {"id": reclaim.id, "status": reclaim.status}
    if detail["stateMachineArn"] == settings.sync_state_machine_arn:
        return sync_ended(given, detail["status"])
    if not given.get("reconciliation_id"):
        # A scheduled reconciliation's record is named inside the run, not in its input.
        logger.warning("a scheduled reconciliation ended unfinished", extra={"execution": detail["name"]})
        return {"status": "unknown"}
    # Cold start: only the module of the run that ended.
    from seatkeeper.licensing import reconciliation

    reconcile = reconciliation.record_failure(
        given["reconciliation_id"],
        store=DynamoDBReconciliations(settings.table_name),
        error=error,
        cause=cause,
        results=None,
        notices=EventBridgeNotices(),
    )
    logger.info("ended run recorded", extra={"reconciliation_id": reconcile.id, "status": reconcile.status})
    return {"id": reconcile.id, "status": reconcile.status}


def sync_ended(given: dict[str, Any], status: str) -> dict[str, Any]:
    """The run failed, saying how its execution ended (unless it recorded its own end), and the
    reconciliation waiting for it told so."""
    run = sync.settled_run(given["run_id"], DynamoDBSync(settings.table_name), lambda _: status)
    if given.get("task_token"):
        if run.status == "succeeded":  # committed, but the execution died before it said so
            StepFunctions().tell(given["task_token"], {"run_id": run.run_id, "status": run.status})
        else:
            report = {"run_id": run.run_id, "cause": run.error or f"the sync ended {status}"}
            StepFunctions().fail(given["task_token"], "SyncFailed", json.dumps(report))
    logger.info("ended run recorded", extra={"run_id": run.run_id, "status": run.status})
    return {"id": run.run_id, "status": run.status}
