"""GET /renewals: what renews, or must be cancelled, soon; with a recommended license count."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from routes.access import readers
from routes.answers import responses
from routes.services import profile_service as profiles
from routes.settings import settings
from seatkeeper.aws.dynamodb.reconciliations import DynamoDBReconciliations
from seatkeeper.licensing import renewals

router = Router()


@cache
def positions() -> DynamoDBReconciliations:
    return DynamoDBReconciliations(settings().table_name)


@router.get(
    "/renewals",
    summary="Subscriptions whose opt-out deadline falls within the next days, the nearest first",
    tags=["positions"],
    middlewares=[readers],
    responses=responses((200, renewals.RenewalList), 422),
)
def upcoming(within_days: Annotated[int, Query(ge=0, le=3660)] = 120) -> renewals.RenewalList:
    every, after = [], None
    while True:
        page, after = profiles().page(limit=100, cursor=after)
        every += page
        if after is None:
            break
    return renewals.upcoming(
        every,
        positions().latest_positions([p.id for p in every]),
        today=datetime.now(UTC).date(),
        within_days=within_days,
    )
