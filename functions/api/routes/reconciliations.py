"""Reconciliations (POST, GET), license positions (latest and history) and the overview's figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from routes.access import caller, readers, writers
from routes.answers import csv_download, csv_responses, responses
from routes.services import ProfileId
from routes.services import profile_service as profiles
from routes.settings import settings
from seatkeeper.aws.dynamodb.reclamations import DynamoDBReclamations
from seatkeeper.aws.dynamodb.reconciliations import DynamoDBReconciliations
from seatkeeper.aws.workflows import StepFunctions
from seatkeeper.core.errors import ProfileNotFound
from seatkeeper.licensing import analytics, reconciliation
from seatkeeper.licensing.position import LicensePosition, PositionHistory

logger = Logger(child=True)
router = Router()
TREND_DAYS = 90
ReconciliationId = Annotated[str, Path(pattern=r"^rec_[0-9a-f]{20}$", description="Reconciliation id")]


@cache
def store() -> DynamoDBReconciliations:
    return DynamoDBReconciliations(settings().table_name)


@cache
def reclamations() -> DynamoDBReclamations:
    return DynamoDBReclamations(settings().table_name)


def _exists(profile_id: str) -> bool:
    try:
        profiles().get(profile_id)
    except ProfileNotFound:
        return False
    return True


@router.post(
    "/reconciliations",
    summary="Reconcile all connected profiles, or the ones given",
    tags=["positions"],
    middlewares=[writers],
    responses=responses((202, reconciliation.Reconciliation), 413, 422),
)
def start(
    request: Annotated[
        reconciliation.ReconciliationRequest | None, Body(description="Without a body: all profiles")
    ] = None,
) -> Response[reconciliation.Reconciliation]:
    profile_ids = request.profile_ids if request else None
    record = reconciliation.new_reconciliation(profile_ids, requested_by=caller(router), exists=_exists)
    store().put_reconciliation(record)
    StepFunctions(settings().reconcile_state_machine_arn).start(record.id, {"reconciliation_id": record.id})
    logger.info("reconciliation started", extra={"reconciliation_id": record.id})
    return Response(202, content_types.APPLICATION_JSON, record, headers={"Location": f"/reconciliations/{record.id}"})


@router.get(
    "/reconciliations/<reconciliation_id>",
    summary="A reconciliation and its result per profile",
    tags=["positions"],
    middlewares=[readers],
    responses=responses((200, reconciliation.Reconciliation), 404, 422),
)
def get(reconciliation_id: ReconciliationId) -> reconciliation.Reconciliation:
    return store().get_reconciliation(reconciliation_id)


@router.get(
    "/profiles/<profile_id>/position",
    summary="The latest license position",
    tags=["positions"],
    middlewares=[readers],
    responses=responses((200, LicensePosition), 404, 422),
)
def position(profile_id: ProfileId) -> LicensePosition:
    profiles().get(profile_id)
    latest = store().latest_position(profile_id)
    if latest is None:
        raise NotFoundError(f"profile {profile_id} has not been reconciled yet")
    return latest


@router.get(
    "/profiles/<profile_id>/positions",
    summary="License positions over time, newest first",
    tags=["positions"],
    middlewares=[readers],
    responses=responses((200, PositionHistory), 404, 422),
)
def positions(profile_id: ProfileId, limit: Annotated[int, Query(ge=1, le=366)] = 90) -> PositionHistory:
    profiles().get(profile_id)
    return PositionHistory(items=store().positions(profile_id, limit))


def figures() -> analytics.Overview:
    every, after = [], None
    while True:
        page, after = profiles().page(limit=100, cursor=after)
        # An identity provider is not an application: it holds no licenses.
        every += [p for p in page if p.profile.identity_provider is None]
        if after is None:
            break
    today = datetime.now(UTC).date()
    return analytics.overview(
        every,
        store().latest_positions([p.id for p in every]),
        points=store().trend_points(since=today - timedelta(days=TREND_DAYS - 1)),
        # One query a year since the oldest application was added: a seat taken back years ago is still unpaid.
        savings=[s for year in analytics.savings_years(every, today) for s in reclamations().savings(year)],
        today=today,
    )


@router.get(
    "/analytics/overview",
    summary="The SaaS overview dashboard's figures",
    tags=["positions"],
    middlewares=[readers],
    responses=responses((200, analytics.Overview)),
)
def overview() -> analytics.Overview:
    return figures()


@router.get(
    "/analytics/overview.csv",
    summary="The overview's applications as CSV: one row per application with its position and money",
    tags=["positions"],
    middlewares=[readers],
    responses=csv_responses(),
)
def overview_csv() -> Response[str]:
    # The CSV writer only for the downloads: no other request needs it at cold start.
    from seatkeeper.licensing import export

    return csv_download(export.overview_csv(figures()), "seatkeeper-overview.csv")
