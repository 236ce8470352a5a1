"""The reconcile-all state machine's steps: choose the profiles, start each one's sync run (which
says when it ends), record its position, and write the reconciliation's result. check_sync_run
serves reclaim-licenses, which follows its re-sync by polling."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seatkeeper.aws.dynamodb.connections import DynamoDBConnections
from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles
from seatkeeper.aws.dynamodb.reclamations import DynamoDBReclamations
from seatkeeper.aws.dynamodb.reconciliations import DynamoDBReconciliations
from seatkeeper.aws.dynamodb.snapshots import DynamoDBSync
from seatkeeper.aws.events import EventBridgeNotices
from seatkeeper.aws.workflows import StepFunctions
from seatkeeper.connections.service import refuse_needs_reconnect
from seatkeeper.core.settings import ReconcileSettings
from seatkeeper.profiles.links import connection_owner
from seatkeeper.profiles.service import ProfileService
from seatkeeper.saas.network_guard import NetworkPolicy
from seatkeeper.sync import runs as sync
from seatkeeper.sync.runs import caught_error

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
    # The reconciliation's module in the four steps that write its record: starting and checking a
    # sync run need none of it at cold start.
    from seatkeeper.licensing import reconciliation

    store = DynamoDBReconciliations(settings.table_name)
    if event.get("reconciliation_id"):
        record = store.get_reconciliation(event["reconciliation_id"])
    else:  # started by the schedule
        record = reconciliation.new_reconciliation(None, requested_by="schedule", exists=lambda _: True)
    if record.profile_ids is not None:
        chosen = record.profile_ids
    else:
        # An identity provider holds no licenses: it has no position of its own.
        chosen = [
            p.id
            for p in DynamoDBProfiles(settings.table_name).every()
            if p.profile.identity_provider is None and connected(connection_owner(p))
        ]
    if len(chosen) > reconciliation.MAX_PROFILES:
        raise reconciliation.ReconciliationTooLarge(
            f"{len(chosen)} profiles to reconcile; one reconciliation takes at most {reconciliation.MAX_PROFILES}"
        )
    if not event.get("reconciliation_id"):
        # Written last: a scheduled run that dies before this leaves no record behind to stay running.
        store.put_reconciliation(record)
    logger.info("reconciling", extra={"reconciliation_id": record.id, "profiles": len(chosen)})
    return {"reconciliation_id": record.id, "profiles": [{"profile_id": p} for p in chosen]}


@logger.inject_lambda_context
def start_sync_run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Open the profile's sync run and start its state machine, as POST /profiles/{id}/sync does; the
    sync tells the waiting step (`task_token`) how it ended.

    Reconcile-all asks for the Express sync (`express_fetch_seconds`): it costs a few cents a thousand
    runs where the Standard sync costs its transitions, and hands a run it cannot finish within its
    five minutes over to the Standard one. Reclaim-licenses' re-sync stays Standard: its poll reads
    the execution's status, which an Express execution does not give."""
    profile = profiles().get(event["profile_id"])
    # Named as such in the reconciliation's results: a refused grant, not "not connected".
    refuse_needs_reconnect(profile, DynamoDBConnections(settings.table_name), "syncing")
    express = None
    machine = settings.sync_state_machine_arn
    if "express_fetch_seconds" in event:
        express = sync.ExpressRun(hand_over_to=machine, fetch_seconds=event["express_fetch_seconds"])
        machine = settings.sync_express_state_machine_arn
    run = sync.SyncService(DynamoDBSync(settings.table_name), StepFunctions(machine)).start(
        profile,
        connected=connected(connection_owner(profile)),
        requested_by="reconciliation",
        task_token=event.get("task_token"),
        express=express,
    )
    return {"run_id": run.run_id}


@logger.inject_lambda_context
def check_sync_run(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """How the run stands; a run whose execution was stopped or timed out is failed, not waited for."""
    executions = StepFunctions(settings.sync_state_machine_arn)
    run = sync.settled_run(event["run_id"], DynamoDBSync(settings.table_name), executions.status)
    return {"run_id": run.run_id, "status": run.status, "error": run.error}


@logger.inject_lambda_context
def record_position(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Compute and keep the profile's license position from the users its sync stored; remind of its renewal."""
    # The reconciliation's module as in choose_profiles; renewals only here: no other step reminds of one.
    from seatkeeper.licensing import reconciliation, renewals

    profile = profiles().get(event["profile_id"])
    position = reconciliation.record_position(
        profile,
        DynamoDBSync(settings.table_name),
        DynamoDBReconciliations(settings.table_name),
        run_id=event.get("run_id"),
        notices=EventBridgeNotices(),
        kept=DynamoDBReclamations(settings.table_name).kept(profile.id),
    )
    renewals.remind(
        profile,
        position,
        store=DynamoDBReconciliations(settings.table_name),
        notices=EventBridgeNotices(),
        today=datetime.now(UTC).date(),
    )
    return {
        "profile_id": profile.id,
        "status": "succeeded",
        "run_id": event.get("run_id"),
        "position": position.model_dump(mode="json"),
    }


@logger.inject_lambda_context
def finish_reconciliation(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Cold start: the reconciliation's module only in the steps that write it.
    from seatkeeper.licensing import reconciliation

    store = DynamoDBReconciliations(settings.table_name)
    record = store.get_reconciliation(event["reconciliation_id"])
    # Each succeeded profile's result takes its position from the store: positions do not travel
    # through the state machine, whose 256 KB would not hold a few hundred of them.
    done = reconciliation.finish(record, event["results"], store.standing_positions())
    store.put_reconciliation(done)
    # Each position rewrote today's point already; profiles reconciled side by side may have read
    # each other's positions before they were written: once more, after all of them.
    reconciliation.rewrite_trend_point(store, datetime.now(UTC))
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
    # Cold start: the reconciliation's module only in the steps that write it.
    from seatkeeper.licensing import reconciliation

    error, cause = caught_error(event["error"])
    done = reconciliation.record_failure(
        event["reconciliation_id"],
        store=DynamoDBReconciliations(settings.table_name),
        error=error,
        cause=cause,
        results=event.get("results"),
        notices=EventBridgeNotices(),
    )
    logger.warning("reconciliation failed", extra={"reconciliation_id": done.id, "status": done.status})
    return {"reconciliation_id": done.id, "status": done.status}
