"""The reconcile-all state machine's steps: choose the profiles, start each one's sync run and
follow it, record its position, and write the reconciliation's result."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seatkeeper import analytics, reconciliation, sync
from seatkeeper.network_guard import NetworkPolicy
from seatkeeper.notices import EventBridgeNotices
from seatkeeper.profiles import ProfileService
from seatkeeper.settings import ReconcileSettings
from seatkeeper.store import DynamoDBConnections, DynamoDBProfiles, DynamoDBReconciliations, DynamoDBSync
from seatkeeper.sync import run_error
from seatkeeper.workflows import StepFunctions

logger = Logger()


settings = ReconcileSettings.from_environment()


@cache
def profiles() -> ProfileService:
    # Reading profiles makes no outbound call: an empty allow list is as good as any here.
    return ProfileService(DynamoDBProfiles(settings.table_name), NetworkPolicy())


def connected(profile_id: str) -> bool:
    records, _ = DynamoDBConnections(settings.table_name).connection_records(profile_id)
    return records.connected


@logger.inject_lambda_context
def choose_profiles(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The reconciliation's record and its profiles: the ones asked for, or every connected one."""
    store = DynamoDBReconciliations(settings.table_name)
    if event.get("reconciliation_id"):
        record = store.get_reconciliation(event["reconciliation_id"])
    else:  # started by the schedule
        record = reconciliation.new_reconciliation(None, requested_by="schedule", exists=lambda _: True)
    if record.profile_ids is not None:
        chosen = record.profile_ids
    else:
        chosen = [p.id for p in DynamoDBProfiles(settings.table_name).every() if connected(p.id)]
    if not event.get("reconciliation_id"):
        # Written last: a scheduled run that dies before this leaves no record behind to stay running.
        store.put_reconciliation(record)
    logger.info("reconciling", extra={"reconciliation_id": record.id, "profiles": len(chosen)})
    return {"reconciliation_id": record.id, "profiles": [{"profile_id": p} for p in chosen]}


@logger.inject_lambda_context
def start_sync_run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Open the profile's sync run and start its state machine, as POST /profiles/{id}/sync does."""
    profile = profiles().get(event["profile_id"])
    runs = sync.SyncService(DynamoDBSync(settings.table_name), StepFunctions(settings.sync_state_machine_arn))
    run = runs.start(profile, connected=connected(profile.id), requested_by="reconciliation")
    return {"run_id": run.run_id}


@logger.inject_lambda_context
def check_sync_run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """How the run stands; a run whose execution was stopped or timed out is failed, not waited for."""
    executions = StepFunctions(settings.sync_state_machine_arn)
    run = sync.settled_run(event["run_id"], DynamoDBSync(settings.table_name), executions.status)
    return {"run_id": run.run_id, "status": run.status, "error": run.error}


@logger.inject_lambda_context
def record_position(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Compute and keep the profile's license position from the users its sync stored."""
    profile = profiles().get(event["profile_id"])
    position = reconciliation.record_position(
        profile,
        DynamoDBSync(settings.table_name),
        DynamoDBReconciliations(settings.table_name),
        run_id=event.get("run_id"),
        notices=EventBridgeNotices(),
    )
    return {
        "profile_id": profile.id,
        "status": "succeeded",
        "run_id": event.get("run_id"),
        "position": position.model_dump(mode="json"),
    }


@logger.inject_lambda_context
def finish_reconciliation(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    store = DynamoDBReconciliations(settings.table_name)
    record = store.get_reconciliation(event["reconciliation_id"])
    done = reconciliation.finish(record, event["results"])
    store.put_reconciliation(done)
    # Today's point of the overview's trend: every profile's latest position, not only this run's.
    every = [p.id for p in DynamoDBProfiles(settings.table_name).every()]
    store.put_trend_point(analytics.trend_point(datetime.now(UTC).date(), store.latest_positions(every)))
    EventBridgeNotices().put(
        "Reconciliation Finished",
        {
            "reconciliation_id": done.id,
            "status": done.status,
            "profiles": {r.profile_id: r.status for r in done.results},
        },
    )
    logger.info("reconciled", extra={"reconciliation_id": done.id, "status": done.status})
    return {"reconciliation_id": done.id, "status": done.status}


@logger.inject_lambda_context
def record_failure(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The run died: mark the reconciliation failed, with why and the profiles' results it had."""
    failure = event["error"]
    done = reconciliation.record_failure(
        event["reconciliation_id"],
        store=DynamoDBReconciliations(settings.table_name),
        error=failure.get("Error") or "Unknown",
        cause=(run_error(failure.get("Cause")) or "no details were given")[:500],
        results=event.get("results"),
        notices=EventBridgeNotices(),
    )
    logger.warning("reconciliation failed", extra={"reconciliation_id": done.id, "status": done.status})
    return {"reconciliation_id": done.id, "status": done.status}
