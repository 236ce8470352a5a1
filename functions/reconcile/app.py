"""The reconcile-all state machine's steps: choose the profiles, start each one's sync run and
follow it, record its position, and write the reconciliation's result."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seatkeeper import analytics, reconciliation, sync
from seatkeeper.identity_provider import connection_owner
from seatkeeper.network_guard import NetworkPolicy
from seatkeeper.notices import EventBridgeNotices
from seatkeeper.profiles import ProfileService
from seatkeeper.store import DynamoDBConnections, DynamoDBProfiles, DynamoDBReconciliations, DynamoDBSync
from seatkeeper.workflows import StepFunctions

logger = Logger()


@cache
def table() -> str:
    return os.environ["TABLE_NAME"]


@cache
def profiles() -> ProfileService:
    return ProfileService(DynamoDBProfiles(table()), NetworkPolicy.from_environment())


def connected(profile_id: str) -> bool:
    records, _ = DynamoDBConnections(table()).connection_records(profile_id)
    return records.connected


@logger.inject_lambda_context
def choose_profiles(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The reconciliation's record and its profiles: the ones asked for, or every connected one."""
    store = DynamoDBReconciliations(table())
    if event.get("reconciliation_id"):
        record = store.get_reconciliation(event["reconciliation_id"])
    else:  # started by the schedule
        record = reconciliation.new_reconciliation(None, requested_by="schedule", exists=lambda _: True)
        store.put_reconciliation(record)
    if record.profile_ids is not None:
        chosen = record.profile_ids
    else:
        # An identity provider holds no licenses: it has no position of its own.
        chosen = [
            p.id
            for p in DynamoDBProfiles(table()).every()
            if p.profile.identity_provider is None and connected(connection_owner(p))
        ]
    logger.info("reconciling", extra={"reconciliation_id": record.id, "profiles": len(chosen)})
    return {"reconciliation_id": record.id, "profiles": [{"profile_id": p} for p in chosen]}


@logger.inject_lambda_context
def start_sync_run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Open the profile's sync run and start its state machine, as POST /profiles/{id}/sync does."""
    profile = profiles().get(event["profile_id"])
    runs = sync.SyncService(DynamoDBSync(table()), StepFunctions(os.environ["SYNC_STATE_MACHINE_ARN"]))
    run = runs.start(profile, connected=connected(connection_owner(profile)), requested_by="reconciliation")
    return {"run_id": run.run_id}


@logger.inject_lambda_context
def check_sync_run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = DynamoDBSync(table()).get_run(event["run_id"])
    return {"run_id": run.run_id, "status": run.status, "error": run.error}


@logger.inject_lambda_context
def record_position(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Compute and keep the profile's license position from the users its sync stored."""
    profile = profiles().get(event["profile_id"])
    position = reconciliation.record_position(
        profile,
        DynamoDBSync(table()),
        DynamoDBReconciliations(table()),
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
    store = DynamoDBReconciliations(table())
    record = store.get_reconciliation(event["reconciliation_id"])
    done = reconciliation.finish(record, event["results"])
    store.put_reconciliation(done)
    # Today's point of the overview's trend: every profile's latest position, not only this run's.
    every = [p.id for p in DynamoDBProfiles(table()).every()]
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
