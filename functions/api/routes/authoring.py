"""Writing a profile: draft it from the vendor's API description, try it against its app before connecting (the
preview), and its JSON Schema."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, ConfigDict, Field

from routes.access import readers, writers
from routes.answers import responses
from routes.services import ProfileId, connection_service, profile_service
from routes.settings import network_policy, settings
from seatkeeper.connections.service import CredentialInput
from seatkeeper.core.errors import ConnectionConflict, InvalidInput
from seatkeeper.profiles.drafting import Draft
from seatkeeper.sync.preview import DEFAULT_PAGES, MOST_PAGES, Preview

logger = Logger(child=True)
router = Router()

MaxPages = Field(DEFAULT_PAGES, ge=1, le=MOST_PAGES, description="Pages to read at most")


class PreviewInput(BaseModel):
    """A profile (as POST /profiles takes it) and a credential for this one preview: never stored or logged."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    profile: dict[str, Any] = Field(examples=[{"template": "scim2", "base_url": "https://acme.example.com/scim/v2"}])
    credential: CredentialInput = Field(default_factory=CredentialInput)
    max_pages: int = MaxPages


class StoredPreviewInput(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    max_pages: int = MaxPages


def _under(place: str, error: InvalidInput) -> InvalidInput:
    """The service's field paths (body.base_url) as they are in this body (body.profile.base_url)."""
    errors = [
        {**e, "loc": ["body", place, *e["loc"][1:]] if e["loc"][:1] == ["body"] else e["loc"]} for e in error.errors
    ]
    return InvalidInput(errors)


@router.post(
    "/profiles/preview",
    summary="Preview a profile: its first pages read as a sync reads them, nothing stored",
    tags=["profiles"],
    middlewares=[writers],
    responses=responses((200, Preview), 413, 422),
)
def preview_profile(given: Annotated[PreviewInput, Body()]) -> Preview:
    # Cold start: the templates, the SaaS client (requests) and the preview only on a preview.
    from seatkeeper.connections.client import preview_client
    from seatkeeper.profiles.catalog import build_profile
    from seatkeeper.profiles.service import check_urls
    from seatkeeper.saas.http import GuardedTokenEndpoint
    from seatkeeper.sync.preview import preview

    profile = build_profile(given.profile, loc_prefix=("body", "profile"))
    try:
        check_urls(profile, network_policy())
    except InvalidInput as exc:
        raise _under("profile", exc) from None
    try:
        values = given.credential.values_for(profile.auth, preview=True)
    except InvalidInput as exc:
        raise _under("credential", exc) from None
    client = preview_client(profile, values, endpoint=GuardedTokenEndpoint(network_policy()), policy=network_policy())
    found = preview(client, max_pages=given.max_pages)
    logger.info("profile previewed", extra={"users": len(found.users), "paging": found.paging, "error": found.error})
    return found


@router.post(
    "/profiles/<profile_id>/preview",
    summary="Preview a connected profile with its stored credential, nothing stored",
    tags=["profiles"],
    middlewares=[writers],
    responses=responses((200, Preview), 404, 409, 422),
)
def preview_connected(profile_id: ProfileId, given: Annotated[StoredPreviewInput | None, Body()] = None) -> Preview:
    # Cold start: the SaaS client (requests) and the preview only on a preview.
    from seatkeeper.aws.connected import saas_client_on_aws
    from seatkeeper.sync.preview import preview

    record = profile_service().get(profile_id)
    if not connection_service().holds_credential(profile_id):
        raise ConnectionConflict(
            f"profile {profile_id} is not connected: connect it, or preview it with a credential"
            " at POST /profiles/preview"
        )
    client = saas_client_on_aws(record, settings().table_name, network_policy())
    found = preview(client, max_pages=(given or StoredPreviewInput()).max_pages)
    logger.info(
        "profile previewed", extra={"profile_id": profile_id, "users": len(found.users), "paging": found.paging}
    )
    return found


@router.get(
    "/profiles/schema",
    summary="The JSON Schema of a profile (docs/profile.schema.json)",
    tags=["profiles"],
    middlewares=[readers],
    responses=responses((200, None)),
)
def profile_schema() -> dict[str, Any]:
    # Cold start: the schema is made on the first request that asks for it.
    from seatkeeper.profiles.model import profile_json_schema

    return profile_json_schema()


@router.post(
    "/profiles/draft",
    summary="Draft a profile from the vendor's OpenAPI 3 or Swagger 2 document (JSON or YAML, at most 5 MB)",
    tags=["profiles"],
    middlewares=[writers],
    responses=responses((200, Draft), 413, 422),
)
def draft_from_document() -> Draft:
    # Cold start: the drafting (and YAML) only on a draft.
    from seatkeeper.profiles.drafting import draft_profile, parse_document

    draft = draft_profile(parse_document(router.current_event.decoded_body or ""))
    logger.info("profile drafted", extra={"operations": draft.operations, "notes": len(draft.draft_notes)})
    return draft
