"""Create connection & credential (POST), its status (GET) and disconnect (DELETE)."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from routes.access import caller, readers, writers
from routes.answers import responses
from routes.profiles import ProfileId
from routes.profiles import service as profiles
from routes.settings import settings
from seatkeeper.connections import ConnectionAttempt, ConnectionService, ConnectionView, CredentialInput
from seatkeeper.notices import EventBridgeNotices
from seatkeeper.store import DynamoDBConnections
from seatkeeper.vault import SecretsManagerVault
from seatkeeper.workflows import StepFunctions

logger = Logger(child=True)
router = Router()


@cache
def service() -> ConnectionService:
    return ConnectionService(
        DynamoDBConnections(settings().table_name),
        SecretsManagerVault(settings().data_key_arn),
        StepFunctions(settings().connection_state_machine_arn),
        EventBridgeNotices(),
    )


def public_url() -> str:
    """Where this API is reached from outside, for the OAuth redirect URI."""
    if configured := settings().public_api_url:
        return configured.rstrip("/")
    event = router.current_event
    scheme = event.headers.get("x-forwarded-proto", "https")
    return f"{scheme}://{event.request_context.domain_name}"


@router.post(
    "/profiles/<profile_id>/connection",
    summary="Create connection & credential",
    tags=["connections"],
    middlewares=[writers],
    responses=responses((202, ConnectionAttempt), 404, 409, 413, 422),
)
def connect(profile_id: ProfileId, credential: Annotated[CredentialInput, Body()]) -> Response[ConnectionAttempt]:
    attempt = service().connect(
        profiles().get(profile_id),
        credential,
        requested_by=caller(router),
        redirect_uri=f"{public_url()}/oauth/callback",
        grant_timeout_seconds=settings().grant_timeout_seconds,
    )
    logger.info("connection started", extra={"profile_id": profile_id, "attempt_id": attempt.attempt_id})
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
    view = service().view(profile_id)
    return view if writers.allows(router) else view.without_grant_link()


@router.delete(
    "/profiles/<profile_id>/connection",
    summary="Disconnect: delete every record and secret",
    tags=["connections"],
    middlewares=[writers],
    responses=responses((204, None), 404, 422),
)
def disconnect(profile_id: ProfileId) -> Response[None]:
    service().disconnect(profile_id)
    logger.info("disconnected", extra={"profile_id": profile_id})
    return Response(204)
