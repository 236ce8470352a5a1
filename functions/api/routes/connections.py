"""Create connection & credential (POST), its status (GET), reconnect a refused grant (POST .../reconnect) and
disconnect (DELETE)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from routes.access import caller, readers, writers
from routes.answers import responses
from routes.services import ProfileId, connection_service, public_url
from routes.services import profile_service as profiles
from routes.settings import settings
from seatkeeper.connections.service import ConnectionAttempt, ConnectionView, CredentialInput

logger = Logger(child=True)
router = Router()


@router.post(
    "/profiles/<profile_id>/connection",
    summary="Create connection & credential",
    tags=["connections"],
    middlewares=[writers],
    responses=responses((202, ConnectionAttempt), 404, 409, 413, 422),
)
def connect(profile_id: ProfileId, credential: Annotated[CredentialInput, Body()]) -> Response[ConnectionAttempt]:
    attempt = connection_service().connect(
        profiles().get(profile_id),
        credential,
        requested_by=caller(router),
        redirect_uri=f"{public_url(router.current_event)}/oauth/callback",
        grant_timeout_seconds=settings().grant_timeout_seconds,
    )
    logger.info("connection started", extra={"profile_id": profile_id, "attempt_id": attempt.attempt_id})
    return Response(
        202, content_types.APPLICATION_JSON, attempt, headers={"Location": f"/profiles/{profile_id}/connection"}
    )


@router.post(
    "/profiles/<profile_id>/connection/reconnect",
    summary="Grant access again to a needs_reconnect connection (its stored OAuth client, a new authorization)",
    tags=["connections"],
    middlewares=[writers],
    responses=responses((202, ConnectionAttempt), 404, 409, 422),
)
def reconnect(profile_id: ProfileId) -> Response[ConnectionAttempt]:
    attempt = connection_service().reconnect(
        profiles().get(profile_id),
        requested_by=caller(router),
        redirect_uri=f"{public_url(router.current_event)}/oauth/callback",
        grant_timeout_seconds=settings().grant_timeout_seconds,
    )
    logger.info("reconnect started", extra={"profile_id": profile_id, "attempt_id": attempt.attempt_id})
    return Response(
        202, content_types.APPLICATION_JSON, attempt, headers={"Location": f"/profiles/{profile_id}/connection"}
    )


@router.get(
    "/profiles/<profile_id>/connection",
    summary="The connection's status and records",
    tags=["connections"],
    middlewares=[readers],
    responses=responses((200, ConnectionView), 404, 422),
)
def connection(profile_id: ProfileId) -> ConnectionView:
    view = connection_service().view(profile_id)
    return view if writers.allows(router) else view.without_grant_link()


@router.delete(
    "/profiles/<profile_id>/connection",
    summary="Disconnect: delete every record and secret",
    tags=["connections"],
    middlewares=[writers],
    responses=responses((204, None), 404, 422),
)
def disconnect(profile_id: ProfileId) -> Response[None]:
    connection_service().disconnect(profile_id)
    logger.info("disconnected", extra={"profile_id": profile_id})
    return Response(204)
