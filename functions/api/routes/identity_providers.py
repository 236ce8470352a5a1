"""Discovery of the apps behind an identity provider, and an SSO-backed profile for one of them in one call."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from routes.access import caller, readers, writers
from routes.answers import responses
from routes.services import ProfileId
from routes.services import connection_service as connections
from routes.services import profile_service as profiles
from routes.settings import network_policy, settings
from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles
from seatkeeper.core.errors import ConnectionConflict
from seatkeeper.identity import provider as identity_provider
from seatkeeper.profiles.links import identity_provider_of, tracked_by
from seatkeeper.profiles.records import ProfileView

logger = Logger(child=True)
router = Router()
AppId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,99}$", description="The app's id in the IdP")]


@router.get(
    "/idp/<profile_id>/apps",
    summary="The apps behind an identity provider, their assignments and sign-ins",
    tags=["identity providers"],
    middlewares=[readers],
    responses=responses((200, identity_provider.IdpAppList), 404, 409, 422, 502),
)
def list_apps(profile_id: ProfileId) -> identity_provider.IdpAppList:
    # The SaaS client (requests and urllib3) only on this route: the API's other routes never call an app.
    from seatkeeper.aws.connected import saas_client_on_aws
    from seatkeeper.saas.http import RetryPolicy

    idp = profiles().get(profile_id)
    kind = identity_provider_of(idp, loc=("path", "profile_id"))
    if not connections().repository.connection_records(idp.id)[0].connected:
        raise ConnectionConflict(f"the identity provider {idp.id} is not connected; connect it first")
    # A person is waiting: a short retry budget, as for a connection test.
    client = saas_client_on_aws(
        idp, settings().table_name, network_policy(), retries=RetryPolicy(max_attempts=3, budget_seconds=10)
    )
    tracked = tracked_by(DynamoDBProfiles(settings().table_name).every(), idp.id)
    return identity_provider.IdpAppList(items=identity_provider.discover(kind, client, tracked=tracked))


@router.post(
    "/idp/<profile_id>/apps/<app_id>/profile",
    summary="Create an SSO-backed profile for an app behind the identity provider",
    tags=["identity providers"],
    middlewares=[writers],
    responses=responses((201, ProfileView), 404, 409, 413, 422),
)
def create_profile(
    profile_id: ProfileId, app_id: AppId, body: Annotated[identity_provider.ProfileFromIdp, Body()]
) -> Response[ProfileView]:
    idp = profiles().get(profile_id)
    kind = identity_provider_of(idp, loc=("path", "profile_id"))
    own = identity_provider.app_profile_fields(idp, kind, app_id, body)
    record = profiles().create(own, created_by=caller(router))
    logger.info("profile created from the identity provider", extra={"profile_id": record.id, "idp": idp.id})
    return Response(
        201, content_types.APPLICATION_JSON, ProfileView.of(record), headers={"Location": f"/profiles/{record.id}"}
    )
