"""Sync runs (POST and GET /profiles/{id}/sync, GET /runs/{id}) and the users they stored (GET /profiles/{id}/users)."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from routes.access import caller, readers, writers
from routes.answers import csv_download, csv_responses, responses
from routes.services import ProfileId
from routes.services import connection_service as connections
from routes.services import profile_service as profiles
from routes.settings import settings
from seatkeeper.aws.dynamodb.reclamations import DynamoDBReclamations
from seatkeeper.aws.dynamodb.snapshots import DynamoDBSync
from seatkeeper.aws.workflows import StepFunctions
from seatkeeper.connections.service import refuse_needs_reconnect
from seatkeeper.profiles.links import connection_owner
from seatkeeper.sync import runs as sync

logger = Logger(child=True)
router = Router()
RunId = Annotated[str, Path(pattern=r"^run_[0-9a-f]{20}$", description="Sync run id")]


@cache
def store() -> DynamoDBSync:
    return DynamoDBSync(settings().table_name)


@cache
def reclamations() -> DynamoDBReclamations:
    return DynamoDBReclamations(settings().table_name)


# One word per status (sync.UserStatus): a seat seatkeeper took back reads "reclaimed", not "inactive".
# The seats come from their TAKEN_BACK items only (marked_users=False): a page reads what it needs, never
# every change to the snapshot, so a seat the code before marked on its stored user reads inactive until
# the next sync, as it did.
StatusFilter = Annotated[
    Literal["active", "inactive", "stale", "unknown", "reclaimed", "not_effective"] | None,
    Query(description="Only the users of this status; not_effective: the app still holds a seat a reclaim took back"),
]


@cache
def service() -> sync.SyncService:
    return sync.SyncService(store(), StepFunctions(settings().sync_state_machine_arn))


@router.post(
    "/profiles/<profile_id>/sync",
    summary="Fetch the app's users and activity",
    tags=["sync"],
    middlewares=[writers],
    responses=responses((202, sync.SyncRun), 404, 409, 422),
)
def start_sync(profile_id: ProfileId) -> Response[sync.SyncRun]:
    profile = profiles().get(profile_id)
    refuse_needs_reconnect(profile, connections().repository, "syncing")
    records, _ = connections().repository.connection_records(connection_owner(profile))
    run = service().start(profile, connected=records.connected, requested_by=caller(router))
    logger.info("sync started", extra={"profile_id": profile_id, "run_id": run.run_id})
    return Response(202, content_types.APPLICATION_JSON, run, headers={"Location": f"/runs/{run.run_id}"})


@router.get(
    "/runs/<run_id>",
    summary="A sync run's status",
    tags=["sync"],
    middlewares=[readers],
    responses=responses((200, sync.SyncRun), 404, 422),
)
def get_run(run_id: RunId) -> sync.SyncRun:
    return store().get_run(run_id)


@router.get(
    "/profiles/<profile_id>/sync",
    summary="The profile's running sync, or its last one: pages and users so far, requests, refused, quota wait, pace",
    tags=["sync"],
    middlewares=[readers],
    responses=responses((200, sync.SyncRun), 404, 422),
)
def latest_sync(profile_id: ProfileId) -> sync.SyncRun:
    profiles().get(profile_id)
    found = store().latest_run(profile_id)
    if found is None:
        raise NotFoundError(f"profile {profile_id} has not been synced yet")
    return found


@router.get(
    "/profiles/<profile_id>/snapshot",
    summary="The last successful sync: when, which run, how many users",
    tags=["sync"],
    middlewares=[readers],
    responses=responses((200, sync.SnapshotView), 404, 422),
)
def snapshot(profile_id: ProfileId) -> sync.SnapshotView:
    profiles().get(profile_id)
    found = store().snapshot(profile_id)
    if found is None:
        raise NotFoundError(f"profile {profile_id} has not been synced yet")
    return sync.SnapshotView.model_validate(found)


@router.get(
    "/profiles/<profile_id>/users",
    summary="The users of the last successful sync",
    tags=["sync"],
    middlewares=[readers],
    responses=responses((200, sync.UserPage), 404, 422),
)
def list_users(
    profile_id: ProfileId,
    *,
    status: StatusFilter = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    sort: Annotated[
        sync.UserOrder | None,
        Query(
            description="Order by this field; users without it come last. Default: name, numbers in it by value"
            f" ('User 2' before 'User 10'); by id for an app of more than {sync.SORT_MAX_USERS} users,"
            " which other orders refuse (they read the whole snapshot)"
        ),
    ] = None,
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
) -> sync.UserPage:
    return sync.list_users(
        profiles().get(profile_id),
        store(),
        status=status,
        limit=limit,
        cursor=cursor,
        sort=sort,
        descending=order == "desc",
        taken_back=reclamations().taken_back(profile_id, marked_users=False),
    )


@router.get(
    "/profiles/<profile_id>/users.csv",
    summary="The users of the last successful sync as CSV, every one of them (or those of one status)",
    tags=["sync"],
    middlewares=[readers],
    responses=csv_responses(404, 422),
)
def users_csv(profile_id: ProfileId, status: StatusFilter = None) -> Response[str]:
    # The CSV writer only for the downloads: no other request needs it at cold start.
    from seatkeeper.licensing import export

    profile = profiles().get(profile_id)
    if store().snapshot(profile_id) is None:
        raise NotFoundError(f"profile {profile_id} has not been synced yet")
    taken_back = reclamations().taken_back(profile_id, marked_users=False)
    users = export.users_csv(profile, store(), status=status, taken_back=taken_back)
    return csv_download(users, f"{profile_id}-users.csv")
