"""The domain's services as the routes use them, each made once per container, and what several routes share.

Route modules import this module, `access`, `answers` and `settings`, never each other: a request
imports the one route module that serves it (routes.module_for), and only what that module uses.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from routes.settings import network_policy, settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    from seatkeeper.aws.dynamodb.keep_requests import DynamoDBKeepRequests
    from seatkeeper.connections.service import ConnectionService
    from seatkeeper.profiles.service import ProfileService

ProfileId = Annotated[str, Path(pattern=r"^prf_[0-9a-f]{20}$", description="Profile id")]


# The services' modules are imported where a service is first made: a route module that needs only
# one of them does not load the other's models and store at cold start.
@cache
def profile_service() -> ProfileService:
    # Cold start: see above.
    from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles
    from seatkeeper.profiles.service import ProfileService

    return ProfileService(
        DynamoDBProfiles(settings().table_name),
        network_policy(),
        forget_connection=lambda profile_id: connection_service().disconnect(profile_id, missing_ok=True),
        holds_credential=lambda profile_id: connection_service().holds_credential(profile_id),
    )


@cache
def connection_service() -> ConnectionService:
    # Cold start: see above.
    from seatkeeper.aws.dynamodb.connections import DynamoDBConnections
    from seatkeeper.aws.events import EventBridgeNotices
    from seatkeeper.aws.vault import SecretsManagerVault
    from seatkeeper.aws.workflows import StepFunctions
    from seatkeeper.connections.service import ConnectionService

    return ConnectionService(
        DynamoDBConnections(settings().table_name),
        SecretsManagerVault(settings().data_key_arn),
        StepFunctions(settings().connection_state_machine_arn),
        EventBridgeNotices(),
    )


@cache
def keep_requests() -> DynamoDBKeepRequests:
    """The reclamations with their keep links: the keep link's, Slack's and the reclamations' routes share it."""
    # Cold start: see above.
    from seatkeeper.aws.dynamodb.keep_requests import DynamoDBKeepRequests

    return DynamoDBKeepRequests(settings().table_name)


def public_url(event: APIGatewayProxyEventV2) -> str:
    """Where this API is reached from outside (the OAuth redirect URI, keep links), as `event` came in."""
    if configured := settings().public_api_url:
        return configured.rstrip("/")
    scheme = event.headers.get("x-forwarded-proto", "https")
    return f"{scheme}://{event.request_context.domain_name}"
