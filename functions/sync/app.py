"""The sync run's steps: FetchUsers (as many invocations as it takes) and CommitSnapshot."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles
from seatkeeper.aws.dynamodb.snapshots import DynamoDBSync
from seatkeeper.aws.events import EventBridgeNotices
from seatkeeper.aws.staging import S3Staging
from seatkeeper.aws.workflows import StepFunctions
from seatkeeper.core.settings import SyncSettings
from seatkeeper.profiles.service import ProfileService
from seatkeeper.saas.network_guard import NetworkPolicy
from seatkeeper.sync import runs as sync

if TYPE_CHECKING:
    from seatkeeper.sync import fetch

logger = Logger()
# Stop fetching with this much of the invocation left, to write the last chunk and hand on the checkpoint.
RESERVE_MILLIS = 90_000


settings = SyncSettings.from_environment()
policy = NetworkPolicy.from_entries(settings.allow_hosts.split(","))


@logger.inject_lambda_context
def fetch_users(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Fetch pages into staging until done or nearly out of time; the checkpoint to go on from."""
    # The SaaS client (requests and all) only here: CommitSnapshot, in this same module, never calls an app.
    from seatkeeper.aws.connected import saas_client_on_aws
    from seatkeeper.identity import provider as identity_provider
    from seatkeeper.sync import fetch

    profiles = ProfileService(DynamoDBProfiles(settings.table_name), policy)
    profile = profiles.get(event["profile_id"])
    client = saas_client_on_aws(profile, settings.table_name, policy)
    checkpoint = event.get("checkpoint")
    runs = DynamoDBSync(settings.table_name)
    # The IdP's side (its profile, its credential, the last sign-in mark) is needed after the app's
    # users: it is read while the first pages are fetched, not before them.
    background = ThreadPoolExecutor(1, thread_name_prefix="idp")
    sign_ins = background.submit(
        lambda: identity_provider.sign_in_source(
            profile,
            idp_profile=profiles.get,
            client_for=lambda idp: saas_client_on_aws(idp, settings.table_name, policy),
            previous_mark=(runs.snapshot(profile.id) or {}).get("sign_ins"),
        )
    )
    background.shutdown(wait=False)

    def progress(state: fetch.FetchCheckpoint) -> None:
        expected = state.users_expected if state.phase == "users" else None
        until = state.sign_ins_until
        window = {"sign_ins_until": until.isoformat(), "sign_ins_read": state.sign_ins_read} if until else {}
        runs.update_run(
            event["run_id"],
            users_fetched=state.users_fetched,
            pages=state.pages,
            requests=state.requests,
            refused=state.refused,
            quota_wait_seconds=state.quota_wait_seconds,
            **({"pace_per_second": state.pace_per_second} if state.pace_per_second is not None else {}),
            **({"users_expected": expected} if expected is not None else {}),
            **window,
            **({"warnings": state.warnings} if state.warnings else {}),
        )

    express = sync.ExpressBudget.of(event)
    if express is not None and express.out_of_time():
        # A retry that starts after the Express budget: the Standard sync fetches the next page.
        return {"checkpoint": checkpoint, "done": False, "hand_over": True}
    result = fetch.fetch_step(
        client,
        S3Staging(settings.staging_bucket),
        event["run_id"],
        fetch.FetchCheckpoint.model_validate(checkpoint) if checkpoint else None,
        out_of_time=lambda: (
            context.get_remaining_time_in_millis() < RESERVE_MILLIS or (express is not None and express.out_of_time())
        ),
        progress=progress,
        sign_ins=sign_ins.result,
        max_users=settings.max_app_users,
    )
    hand_over = express is not None and express.hands_over(
        done=result.done, users_fetched=result.checkpoint.users_fetched
    )
    logger.info(
        "fetched",
        extra={
            "run_id": event["run_id"],
            "users_fetched": result.checkpoint.users_fetched,
            "done": result.done,
            "hand_over": hand_over,
        },
    )
    return {**result.model_dump(mode="json"), "hand_over": hand_over}


@logger.inject_lambda_context
def commit_snapshot(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Make the staged users the stored snapshot, writing only what changed."""
    # Cold start: the reclamations only here, where the seats they took back are checked; FetchUsers never is.
    from seatkeeper.aws.dynamodb.reclamations import DynamoDBReclamations
    from seatkeeper.licensing import reclamation

    profile = ProfileService(DynamoDBProfiles(settings.table_name), policy).get(event["profile_id"])
    store = DynamoDBSync(settings.table_name)
    run = store.get_run(event["run_id"])
    checked: dict[str, str] = {}

    def check_seats() -> None:
        # Before the run says it succeeded: whoever waits for it reads the seats as checked.
        checked.update(
            reclamation.check_taken_back(
                profile.id,
                snapshots=store,
                store=DynamoDBReclamations(settings.table_name),
                read_at=datetime.fromisoformat(run.started_at),
                notices=EventBridgeNotices(),
            )
        )

    result = sync.commit_step(
        profile,
        S3Staging(settings.staging_bucket),
        store,
        store,
        run,
        notices=EventBridgeNotices(),
        max_users=settings.max_app_users,
        before_done=check_seats,
    )
    seats = {found: sum(v == found for v in checked.values()) for found in ("effective", "not_effective")}
    logger.info("committed", extra={"run_id": event["run_id"], **result.model_dump(), "seats_checked": seats})
    if event.get("task_token"):
        # A reconciliation waits for this run: told here, its step costs no polling.
        StepFunctions().tell(event["task_token"], {"run_id": event["run_id"], "status": "succeeded"})
    return result.model_dump()
