"""The reclaim-licenses state machine's step: send each candidate's reclaim request, at most once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seatkeeper.aws.dynamodb.connections import DynamoDBConnections
from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles
from seatkeeper.aws.dynamodb.reclamations import DynamoDBReclamations
from seatkeeper.aws.dynamodb.reconciliations import DynamoDBReconciliations
from seatkeeper.aws.dynamodb.snapshots import DynamoDBSync
from seatkeeper.aws.events import EventBridgeNotices
from seatkeeper.connections.service import refuse_needs_reconnect
from seatkeeper.core.errors import ConnectionConflict
from seatkeeper.core.settings import ReclaimSettings
from seatkeeper.licensing import reclamation
from seatkeeper.profiles.service import ProfileService
from seatkeeper.saas.network_guard import NetworkPolicy

logger = Logger()


settings = ReclaimSettings.from_environment()
policy = NetworkPolicy.from_entries(settings.allow_hosts.split(","))


@logger.inject_lambda_context
def reclaim_seats(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The SaaS client (requests and urllib3) and the position only here: the other steps in this
    # module never call an app nor count seats.
    from seatkeeper.aws.connected import saas_client_on_aws
    from seatkeeper.licensing.reconciliation import record_position

    store = DynamoDBReclamations(settings.table_name)
    record = store.get_reclamation(event["reclamation_id"])
    profile = ProfileService(DynamoDBProfiles(settings.table_name), policy).get(record.profile_id)
    # A grant refused since the grace period ended: fail before any request (RecordReclamationFailure).
    refuse_needs_reconnect(profile, DynamoDBConnections(settings.table_name), "reclaiming")
    client = saas_client_on_aws(profile, settings.table_name, policy)
    stale_now = reclamation.still_stale(profile, DynamoDBSync(settings.table_name))
    # The reclaimed users hold no license now: the position (and the trend) say so before the
    # reclamation says it is finished, not at the next reconciliation; their seats count as saved
    # from now on, no longer as potential savings.
    done = reclamation.execute(
        record,
        store=store,
        seats=client,
        stale_now=stale_now,
        notices=EventBridgeNotices(),
        before_finish=lambda finished: record_position(
            profile,
            DynamoDBSync(settings.table_name),
            DynamoDBReconciliations(settings.table_name),
            run_id=None,
            notices=EventBridgeNotices(),
            taken_back=finished.reclaimed,
            kept=store.kept(profile.id),
        ),
    )
    logger.info("reclamation finished", extra={"reclamation_id": done.id, "status": done.status})
    return {"reclamation_id": done.id, "status": done.status}


@logger.inject_lambda_context
def announce_seats(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Put a 'Seat Will Be Reclaimed' event with a keep link per candidate and start the grace period;
    with `reminder` (1, 2, ...), put it again to each candidate who has not answered. Then what to wait for."""
    # Keep links and their key only here: the other steps never issue one.
    from seatkeeper.aws.dynamodb.keep_requests import DynamoDBKeepRequests
    from seatkeeper.aws.vault import SecretsManagerVault
    from seatkeeper.licensing.keep import KEEP_LINK_KEY, KeepLinks

    store = DynamoDBKeepRequests(settings.table_name)
    record = store.get_reclamation(event["reclamation_id"])
    links = KeepLinks(SecretsManagerVault(settings.data_key_arn).key(KEEP_LINK_KEY), event["keep_base_url"])
    offsets = DynamoDBProfiles(settings.table_name).get(record.profile_id).profile.policy.keep_reminders
    reminder = int(event.get("reminder") or 0)
    if reminder:
        reclamation.remind(
            record,
            store=store,
            notices=EventBridgeNotices(),
            reminder=reminder,
            keep_url=lambda r, c: links.url(r.id, c.id),
        )
        waiting = record
    else:
        waiting = reclamation.announce(record, store=store, notices=EventBridgeNotices(), keep_link=links.issuer(store))
    timer = reclamation.grace_timer(waiting, offsets, reminded=reminder, now=datetime.now(UTC))
    return {"reclamation_id": waiting.id, "status": waiting.status, **timer}


@logger.inject_lambda_context
def end_grace_period(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """After the wait and a fresh sync: reclaim, or cancel when the sync failed (fail closed)."""
    store = DynamoDBReclamations(settings.table_name)
    record = store.get_reclamation(event["reclamation_id"])
    if record.status == "canceled":
        # An admin canceled it as the wait ended (the cancel stops the execution too): nothing to do.
        return {"reclamation_id": record.id, "status": "canceled"}
    profile = DynamoDBProfiles(settings.table_name).get(record.profile_id)
    try:
        refuse_needs_reconnect(profile, DynamoDBConnections(settings.table_name), "reclaiming")
    except ConnectionConflict as exc:
        # Fail closed: a connection that cannot see current activity takes no seat back.
        reclamation.cancel(
            record, store=store, reason=f"{exc}; nothing was reclaimed", expected_status="in_grace_period"
        )
        return {"reclamation_id": record.id, "status": "canceled"}
    if event.get("sync_status") != "succeeded":
        reason = f"the sync after the grace period did not succeed ({event.get('sync_error') or 'no details'}); "
        reclamation.cancel(
            record, store=store, reason=reason + "nothing was reclaimed", expected_status="in_grace_period"
        )
        return {"reclamation_id": record.id, "status": "canceled"}
    # The delivery records only here: the other steps never ask who was reached.
    from seatkeeper.aws.dynamodb.notifications import DynamoDBDeliveries
    from seatkeeper.notify.delivery import reached

    prompts = DynamoDBDeliveries(settings.table_name).of(record.id, "keep_prompt")
    policy = profile.profile.policy
    running = reclamation.end_grace_period(
        record, store=store, reached=reached(prompts), unreached_users=policy.unreached_users
    )
    return {"reclamation_id": running.id, "status": running.status, "unreached": len(running.unreached)}


@logger.inject_lambda_context
def record_failure(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The run died: finish the reclamation from its action records, and say why."""
    # The sync's module only here: it reads the Catch's error; the other steps need no sync code.
    from seatkeeper.sync.runs import caught_error

    error, cause = caught_error(event["error"])
    done = reclamation.record_failure(
        event["reclamation_id"],
        store=DynamoDBReclamations(settings.table_name),
        error=error,
        cause=cause,
        notices=EventBridgeNotices(),
    )
    logger.warning("reclamation failed", extra={"reclamation_id": done.id, "status": done.status})
    return {"reclamation_id": done.id, "status": done.status}
