"""Reclamations: plan one (dry run or real), read it with its audit trail, approve, reject or cancel it (admins)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from routes.access import approvers, caller, readers, writers
from routes.answers import csv_download, csv_responses, responses
from routes.services import ProfileId, connection_service, public_url
from routes.services import keep_requests as store
from routes.services import profile_service as profiles
from routes.settings import settings
from seatkeeper.aws.dynamodb.snapshots import DynamoDBSync
from seatkeeper.aws.events import EventBridgeNotices
from seatkeeper.aws.vault import SecretsManagerVault
from seatkeeper.aws.workflows import StepFunctions
from seatkeeper.connections.service import refuse_needs_reconnect
from seatkeeper.licensing import keep, reclamation

logger = Logger(child=True)
router = Router()
ReclamationId = Annotated[str, Path(pattern=r"^rcl_[0-9a-f]{20}$", description="Reclamation id")]


def run(record: reclamation.Reclamation) -> None:
    StepFunctions(settings().reclaim_state_machine_arn).start(
        record.id,
        {
            "reclamation_id": record.id,
            "profile_id": record.profile_id,
            "grace_seconds": record.grace_seconds,
            # Where keep links point: this API, as its caller reaches it (or PUBLIC_API_URL).
            "keep_base_url": public_url(router.current_event),
        },
    )


@router.post(
    "/profiles/<profile_id>/reclamations",
    summary="Plan a reclamation (a dry run unless dry_run is false)",
    tags=["reclamations"],
    middlewares=[writers],
    responses=responses((201, reclamation.Reclamation), 404, 409, 413, 422),
)
def plan(
    profile_id: ProfileId, request: Annotated[reclamation.ReclamationRequest, Body()]
) -> Response[reclamation.Reclamation]:
    profile = profiles().get(profile_id)
    refuse_needs_reconnect(profile, connection_service().repository, "reclaiming")
    record = reclamation.plan(
        profile,
        request,
        snapshots=DynamoDBSync(settings().table_name),
        store=store(),
        planned_by=caller(router),
    )
    if record.status == "running":
        run(record)
    notice = "Reclamation Awaiting Approval" if record.status == "awaiting_approval" else "Reclamation Planned"
    EventBridgeNotices().put(
        notice,
        {
            "reclamation_id": record.id,
            "profile_id": profile_id,
            "status": record.status,
            "candidates": len(record.candidates),
            "reason": record.approval_reason,
        },
    )
    logger.info("reclamation planned", extra={"reclamation_id": record.id, "status": record.status})
    return Response(201, content_types.APPLICATION_JSON, record, headers={"Location": f"/reclamations/{record.id}"})


@router.get(
    "/reclamations/<reclamation_id>",
    summary="A reclamation, its outcomes and its audit trail",
    tags=["reclamations"],
    middlewares=[readers],
    responses=responses((200, reclamation.Reclamation), 404, 422),
)
def get(reclamation_id: ReclamationId) -> reclamation.Reclamation:
    record = store().get_reclamation(reclamation_id)
    if record.reclaim_at is None or record.finished_at is not None:
        return record
    seen = reclamation.with_decisions(record, store().decisions(reclamation_id))
    if not approvers.allows(router):
        return seen
    # Admins alone see the links, to pass one on by hand; the table has only their hashes.
    return keep.KeepLinks(
        SecretsManagerVault(settings().data_key_arn).key(keep.KEEP_LINK_KEY), public_url(router.current_event)
    ).shown_to_admin(seen)


@router.post(
    "/reclamations/<reclamation_id>/decisions",
    summary="Decide a keep request that waits for an admin: keep the seat, or reclaim it (admin)",
    tags=["reclamations"],
    middlewares=[approvers],
    responses=responses((200, reclamation.Reclamation), 404, 409, 413, 422),
)
def decide(
    reclamation_id: ReclamationId, request: Annotated[keep.AdminDecisionRequest, Body()]
) -> reclamation.Reclamation:
    record = store().get_reclamation(reclamation_id)
    decided = keep.decide_as_admin(
        reclamation_id,
        request,
        store=store(),
        policy=profiles().get(record.profile_id).profile.policy,
        by=caller(router),
        notices=EventBridgeNotices(),
        now=datetime.now(UTC),
    )
    logger.info("keep request decided", extra={"reclamation_id": reclamation_id, "decision": request.decision})
    return decided


@router.post(
    "/reclamations/<reclamation_id>/approve",
    summary="Approve a reclamation that waits for it (admin)",
    tags=["reclamations"],
    middlewares=[approvers],
    responses=responses((200, reclamation.Reclamation), 404, 409, 422),
)
def approve(reclamation_id: ReclamationId) -> reclamation.Reclamation:
    record = reclamation.approve(
        reclamation_id,
        store=store(),
        approved_by=caller(router),
        profile_of=profiles().get,
        snapshots=DynamoDBSync(settings().table_name),
    )
    run(record)
    EventBridgeNotices().put(
        "Reclamation Approved",
        {"reclamation_id": record.id, "profile_id": record.profile_id, "approved_by": record.approved_by},
    )
    logger.info("reclamation approved", extra={"reclamation_id": record.id})
    return record


@router.get(
    "/reclamations/<reclamation_id>/candidates.csv",
    summary="A reclamation's candidates as CSV: why each, what it saves, the keep answer and the outcome",
    tags=["reclamations"],
    middlewares=[readers],
    responses=csv_responses(404, 422),
)
def candidates_csv(reclamation_id: ReclamationId) -> Response[str]:
    # The CSV writer only for the downloads: no other request needs it at cold start.
    from seatkeeper.licensing import export

    record = store().get_reclamation(reclamation_id)
    if record.reclaim_at is not None and record.finished_at is None:
        record = reclamation.with_decisions(record, store().decisions(reclamation_id))
    return csv_download(export.candidates_csv(record), f"{reclamation_id}-candidates.csv")


@router.post(
    "/reclamations/<reclamation_id>/exclusions",
    summary="Take one user out of a plan awaiting approval; their seat is kept for policy.keep_days (admin)",
    tags=["reclamations"],
    middlewares=[approvers],
    responses=responses((200, reclamation.Reclamation), 404, 409, 413, 422),
)
def exclude(
    reclamation_id: ReclamationId, request: Annotated[keep.ExclusionRequest, Body()]
) -> reclamation.Reclamation:
    record = store().get_reclamation(reclamation_id)
    narrowed = keep.exclude(
        reclamation_id,
        request,
        store=store(),
        policy=profiles().get(record.profile_id).profile.policy,
        by=caller(router),
        now=datetime.now(UTC),
    )
    logger.info("user excluded from a reclamation", extra={"reclamation_id": reclamation_id})
    return narrowed


@router.post(
    "/reclamations/<reclamation_id>/reject",
    summary="Reject a reclamation that waits for approval: nothing is reclaimed (admin)",
    tags=["reclamations"],
    middlewares=[approvers],
    responses=responses((200, reclamation.Reclamation), 404, 409, 413, 422),
)
def reject(
    reclamation_id: ReclamationId, request: Annotated[reclamation.AdminReason, Body()]
) -> reclamation.Reclamation:
    record = reclamation.reject(reclamation_id, store=store(), by=caller(router), reason=request.reason)
    EventBridgeNotices().put(
        "Reclamation Rejected",
        {
            "reclamation_id": record.id,
            "profile_id": record.profile_id,
            "rejected_by": caller(router),
            "reason": request.reason,
        },
    )
    logger.info("reclamation rejected", extra={"reclamation_id": record.id})
    return record


@router.post(
    "/reclamations/<reclamation_id>/cancel",
    summary="Cancel a reclamation in its grace period: keep links withdrawn, no seat taken back (admin)",
    tags=["reclamations"],
    middlewares=[approvers],
    responses=responses((200, reclamation.Reclamation), 404, 409, 413, 422),
)
def cancel(
    reclamation_id: ReclamationId, request: Annotated[reclamation.AdminReason, Body()]
) -> reclamation.Reclamation:
    record = reclamation.cancel_grace_period(reclamation_id, store=store(), by=caller(router), reason=request.reason)
    # The record first, then the execution: should the stop fail, the step after the wait reads "canceled".
    machine = StepFunctions(settings().reclaim_state_machine_arn)
    machine.stop(machine.execution_arn(record.id), f"canceled by an admin: {request.reason}"[:256])
    EventBridgeNotices().put(
        "Reclamation Canceled",
        {
            "reclamation_id": record.id,
            "profile_id": record.profile_id,
            "canceled_by": caller(router),
            "reason": request.reason,
            "released": [o.user_id for o in record.outcomes if o.outcome == "released_by_user"],
        },
    )
    logger.info("reclamation canceled", extra={"reclamation_id": record.id})
    return record


@router.get(
    "/profiles/<profile_id>/reclamations",
    summary="The profile's reclamations, newest first",
    tags=["reclamations"],
    middlewares=[readers],
    responses=responses((200, reclamation.ReclamationList), 404, 422),
)
def of_profile(profile_id: ProfileId, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> reclamation.ReclamationList:
    record = profiles().get(profile_id)
    return reclamation.ReclamationList(
        items=reclamation.with_saving_dates(store().reclamations(profile_id, limit), record.profile)
    )


@router.get(
    "/reclamations",
    summary="Reclamations in a status across all profiles (those awaiting an admin's approval)",
    tags=["reclamations"],
    middlewares=[readers],
    responses=responses((200, reclamation.ReclamationList), 422),
)
def in_status(status: Annotated[Literal["awaiting_approval"], Query()]) -> reclamation.ReclamationList:
    return reclamation.ReclamationList(items=store().awaiting_approval())
