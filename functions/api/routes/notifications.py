"""GET /notifications: every message seatkeeper sent or could not send, one delivery record each (admins)."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from routes.access import admins
from routes.answers import responses
from routes.settings import settings
from seatkeeper.aws.dynamodb.notifications import DynamoDBDeliveries
from seatkeeper.core.cursors import decode_cursor, encode_cursor
from seatkeeper.notify.delivery import Delivery

router = Router()


class DeliveryPage(BaseModel):
    items: list[Delivery]
    next_cursor: str | None = None


@cache
def deliveries() -> DynamoDBDeliveries:
    return DynamoDBDeliveries(settings().table_name)


@router.get(
    "/notifications",
    summary="Deliveries of messages to people, newest first: keep prompts, approval requests, reminders",
    tags=["notifications"],
    middlewares=[admins],
    responses=responses((200, DeliveryPage), 422),
)
def list_notifications(
    profile_id: Annotated[str | None, Query(max_length=100)] = None,
    kind: Annotated[
        Literal[
            "keep_prompt",
            "approval_request",
            "reclaim_not_effective",
            "renewal_reminder",
            "low_seats",
            "reconnect_needed",
            "digest",
        ]
        | None,
        Query(),
    ] = None,
    status: Annotated[Literal["pending", "sent", "failed", "skipped"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> DeliveryPage:
    found, after = deliveries().listed(
        profile_id=profile_id, kind=kind, status=status, limit=limit, after=decode_cursor(cursor)
    )
    return DeliveryPage(items=found, next_cursor=encode_cursor(after))
