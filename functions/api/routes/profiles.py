"""Integration profiles: create, list, read, change (JSON merge patch) and delete."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from routes.access import caller, readers, writers
from routes.answers import ERROR_RESPONSES, responses
from routes.services import ProfileId, profile_service
from seatkeeper.profiles.records import ProfilePage, ProfileView

logger = Logger(child=True)
router = Router()


def _section(*models: str) -> Any:
    """A section typed in the document by the profile's own models (ProfileView holds them all), while a
    body may give it in part: the template's section fills in the rest (RFC 7396), and the whole profile
    is checked when it is built (422 with the field paths)."""
    return WithJsonSchema(
        {
            "anyOf": [*({"$ref": f"#/components/schemas/{model}"} for model in models), {"type": "null"}],
            "description": f"As in ProfileView; given in part, over the template's {'/'.join(models)}",
        }
    )


AUTH_MODELS = (
    "ApiKeyAuth",
    "BasicAuth",
    "BearerAuth",
    "OAuth2AuthorizationCodeAuth",
    "OAuth2ClientCredentialsAuth",
    "OAuth2JwtBearerAuth",
)
Section = dict[str, Any] | None


class ProfileFields(BaseModel):
    """A profile's own fields. `template` fills in what is left out; each section is typed as in the
    ProfileView schema, and GET /profiles/schema is the JSON Schema of a whole profile."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str | None = Field(None, examples=["Acme HR"])
    template: str | None = Field(None, examples=["scim2"])
    base_url: str | None = Field(None, examples=["https://acme.example.com/scim/v2"])
    headers: dict[str, Any] | None = None
    auth: Annotated[Section, _section(*AUTH_MODELS)] = Field(None, examples=[{"type": "bearer"}])
    users: Annotated[Section, _section("UsersEndpoint")] = None
    activity: Annotated[Section, _section("ActivityEndpoint", "SsoActivity")] = None
    reclaim: Annotated[Section, _section("ReclaimRequest")] = None
    downgrade: Annotated[Section, _section("ReclaimRequest")] = None
    subscription: Annotated[Section, _section("Subscription")] = Field(
        None, examples=[{"licenses_purchased": 100, "cost_per_license": 12.5}]
    )
    policy: Annotated[Section, _section("Policy")] = None
    notifications: dict[str, Any] | None = Field(
        None, examples=[{"approvers": ["it-lead@acme.example.com"], "finance_contact": "ap@acme.example.com"}]
    )


@router.post(
    "/profiles",
    summary="Create a profile",
    tags=["profiles"],
    middlewares=[writers],
    responses=responses((201, ProfileView), 409, 413, 422),
)
def create_profile(fields: Annotated[ProfileFields, Body()]) -> Response[ProfileView]:
    record = profile_service().create(fields.model_dump(exclude_none=True), created_by=caller(router))
    logger.info("profile created", extra={"profile_id": record.id})
    return Response(
        201, content_types.APPLICATION_JSON, ProfileView.of(record), headers={"Location": f"/profiles/{record.id}"}
    )


@router.get(
    "/profiles",
    summary="List profiles",
    tags=["profiles"],
    middlewares=[readers],
    responses=responses((200, ProfilePage), 422),
)
def list_profiles(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> ProfilePage:
    records, next_cursor = profile_service().page(limit=limit, cursor=cursor)
    return ProfilePage(items=[ProfileView.of(r) for r in records], next_cursor=next_cursor)


@router.get(
    "/profiles/<profile_id>",
    summary="Read a profile",
    tags=["profiles"],
    middlewares=[readers],
    responses=responses((200, ProfileView), 404, 422),
)
def get_profile(profile_id: ProfileId) -> ProfileView:
    return ProfileView.of(profile_service().get(profile_id))


@router.patch(
    "/profiles/<profile_id>",
    summary="Change a profile (JSON merge patch of its own fields)",
    tags=["profiles"],
    middlewares=[writers],
    responses=responses((200, ProfileView), 404, 409, 413, 422),
)
def patch_profile(profile_id: ProfileId, fields: Annotated[ProfileFields, Body()]) -> ProfileView:
    record = profile_service().patch(profile_id, fields.model_dump(exclude_unset=True))
    logger.info("profile changed", extra={"profile_id": record.id, "version": record.version})
    return ProfileView.of(record)


@router.delete(
    "/profiles/<profile_id>",
    summary="Delete a profile and everything that belongs to it",
    tags=["profiles"],
    middlewares=[writers],
    responses=responses((204, None), 404, 422)
    | {
        409: {
            **ERROR_RESPONSES[409],
            "description": "An identity-provider profile that other profiles read sign-ins or users from: "
            "the message names them (delete them or change their activity first)",
        }
    },
)
def delete_profile(profile_id: ProfileId) -> Response[None]:
    profile_service().delete(profile_id)
    logger.info("profile deleted", extra={"profile_id": profile_id})
    return Response(204)
