"""Sync runs: fetch every user of a connected app and replace the stored snapshot as a whole.

A run fetches page after page into staging (FetchUsers, as many invocations as it takes,
each resuming from the last one's checkpoint: seatkeeper.sync.fetch.fetch_step), then
commits (CommitSnapshot, here): it compares
the staged users with the stored ones by fingerprint and writes only what changed, deleting
the users the app no longer lists. A run that fails before the commit changed nothing that
is stored.

The stored fingerprints come from one object that the last commit wrote after its users
(S3Staging.fingerprints), not from reading every stored user back, so that a commit costs
what changed rather than what exists. The snapshot record names the run whose object the
table matches (`fingerprints_of`); anything about to change stored users outside a commit
removes that name first, and the next commit then reads the table instead.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from seatkeeper.core.cursors import decode_cursor, encode_cursor
from seatkeeper.core.errors import Conflict, InvalidInput, SeatkeeperError
from seatkeeper.identity import provider as identity_provider
from seatkeeper.notify.events import NoNotices, Notices
from seatkeeper.profiles.links import sso_activity
from seatkeeper.profiles.model import ActivityEndpoint, Policy, Profile
from seatkeeper.profiles.records import ProfileRecord
from seatkeeper.saas.records import SaaSUser, parse_timestamp

Standing = Literal["active", "stale", "unknown", "inactive"]
# A user's status in one word: the standing, unless a reclamation took the seat back. "reclaimed": the
# app holds no seat and seatkeeper took it; "inactive": the app holds none, and not by seatkeeper's hand;
# "not_effective": the app accepted a reclaim and still holds the seat (TakenBack says when).
UserStatus = Literal["active", "stale", "unknown", "inactive", "reclaimed", "not_effective"]
RunStatus = Literal["running", "succeeded", "failed"]
CHUNK_USERS = 5_000
# The most users one sync commits. CommitSnapshot is one Lambda invocation (at most 15 minutes and
# 1,769 MB), and a first sync, or one whose changes outgrow the base, sorts a new base of every user
# in its memory (about 700 bytes a user at its peak) and writes it under one partition key at
# DynamoDB's 1,000 write units a second; the commit that names it deletes the old base's changes, a
# tenth of the users at most, at 1,000 a second. At 500,000 users that is projected at 85-92 s of the
# 900 and 323-356 MB (bench/largest_app.py); memory, which grows with the app, keeps the wider margin
# here. SyncSettings can lower it.
MAX_APP_USERS = 500_000


class SyncConflict(Conflict):
    pass


class AppTooLarge(SeatkeeperError):
    """The app lists more users than one sync commits: refused before a single stored user changes."""


def refuse_beyond(users: int, max_users: int, *, all_listed: bool) -> None:
    """AppTooLarge once an app has listed more users than one sync commits: FetchUsers stops at the
    page that goes over (`all_listed` False: how many more it has is not known), the commit before
    it reads or writes anything."""
    if users > max_users:
        listed = f"{users:,}" if all_listed else f"more than {max_users:,}"
        raise AppTooLarge(
            f"the app lists {listed} users; one sync commits at most {max_users:,} "
            f"(CommitSnapshot sorts every user of a new base in its memory, within its 15 minutes); "
            f"the stored snapshot is unchanged"
        )


def tracks_activity(profile: Profile) -> bool:
    return profile.users.fields.last_activity is not None or profile.activity is not None


def standing(user: SaaSUser, *, cutoff: datetime, tracked: bool, policy: Policy) -> Standing:
    """Where a user stands against the policy's inactivity window (SPEC: license position).

    Not holding a license: inactive. Activity since the cutoff: active. Last activity before
    it, or never active and created before it: stale. No activity data at all: unknown. An
    account that policy.excluded_users keeps out (a service or break-glass account) is never
    stale: the position, the users list and the plans all see it so.
    """
    place = _standing_by_activity(user, cutoff=cutoff, tracked=tracked)
    if place == "stale" and identity_provider.excluded(user, policy):
        return "unknown"
    return place


def _standing_by_activity(user: SaaSUser, *, cutoff: datetime, tracked: bool) -> Standing:
    if not user.active:
        return "inactive"
    # A leaver still holding a license is stale whatever the activity; an account no person matches never is.
    if user.orphaned:
        return "stale"
    if user.unmatched:
        return "unknown"
    if user.last_activity is not None:
        return "active" if user.last_activity >= cutoff else "stale"
    if tracked and user.created_at is not None:
        return "stale" if user.created_at < cutoff else "unknown"
    return "unknown"


def cutoff_for(profile: Profile, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=profile.policy.inactivity_days)


def fingerprint(user: SaaSUser) -> str:
    """What a stored user is compared by: equal fingerprints, nothing to write."""
    return _shown_and_marked(user)[1]


def staged_row(user: SaaSUser) -> str:
    """A user as FetchUsers stages it: its JSON line, with the fingerprint the commit compares it by.

    One serialisation gives both: the commit reads the mark back instead of dumping every user again,
    and the staged line is pydantic's JSON rather than a dict dumped by json.
    """
    shown, mark = _shown_and_marked(user)
    return f'{shown[:-1]},"{STAGED_MARK}":"{mark}"}}'


STAGED_MARK = "fingerprint"  # the staged row's key for the fingerprint it was staged with
_NO_KIND = {"kind"}
_KINDLESS_END = ',"kind":null}'  # kind is the user's last field: without it, the JSON ends before it


def _shown_and_marked(user: SaaSUser) -> tuple[str, str]:
    shown = user.model_dump_json()
    # Without a kind, as before there were kinds: the users stored then are not all written again.
    if user.kind is None:
        kindless = shown[: -len(_KINDLESS_END)] + "}" if shown.endswith(_KINDLESS_END) else None
        kindless = kindless or user.model_dump_json(exclude=_NO_KIND)
    else:
        kindless = shown
    return shown, hashlib.blake2b(kindless.encode(), digest_size=12).hexdigest()


# --- records ------------------------------------------------------------------------------


class SyncWarning(BaseModel):
    """Something the sync found that looks like a mistake in the profile, which would otherwise pass
    silently: a mapped field no record had, a paging pointer missing from a full page, activity that fell away."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    kind: Literal["field_unmatched", "paging_ended_early", "activity_dropped"]
    field: str = Field(description="The profile field to check, e.g. users.fields.last_activity")
    path: str | None = Field(None, description="The JMESPath the profile has there")
    message: str
    matched: int | None = None
    of: int | None = None
    keys_seen: list[str] = Field(default_factory=list, description="The keys the app's answers had")
    suggestion: str | None = Field(None, description="The key most like the path, if any")
    blocks_inactivity: bool = Field(False, description="Reclamations by inactivity are refused while it stands")


def activity_dropped(figures: dict[str, int], before: dict[str, Any] | None, profile: Profile) -> SyncWarning | None:
    """Far fewer users with activity than the last sync had: the activity's source broke, not the users' habits."""
    if not before or not before.get("assigned") or not figures.get("assigned"):
        return None
    share_before = before.get("with_activity", 0) / before["assigned"]
    share_now = figures.get("with_activity", 0) / figures["assigned"]
    if share_before < 0.5 or share_now >= share_before / 2:
        return None
    field = "users.fields.last_activity" if profile.activity is None else "activity"
    return SyncWarning(
        kind="activity_dropped",
        field=field,
        path=profile.users.fields.last_activity if profile.activity is None else None,
        matched=figures.get("with_activity", 0),
        of=figures["assigned"],
        blocks_inactivity=True,
        message=f"{field}: {share_now:.0%} of assigned users have activity now, {share_before:.0%} did in the last "
        "sync; removals by inactivity are refused until a sync finds activity again",
    )


class SyncRun(BaseModel):
    model_config = ConfigDict(defer_build=True)

    run_id: str
    profile_id: str
    status: RunStatus
    users_fetched: int = 0
    users_expected: int | None = Field(None, description="When the app says how many there are")
    pages: int = 0
    error: str | None = None
    started_at: str
    finished_at: str | None = None
    items_written: int | None = Field(None, description="Users written by the commit: only those that changed")
    items_deleted: int | None = Field(None, description="Users the app no longer lists")
    requested_by: str | None = None
    sign_ins_read: int | None = Field(None, description="Sign-in events read from the identity provider's log")
    sign_ins_until: str | None = Field(None, description="The end of the sign-in log window this run read")
    warnings: list[SyncWarning] = Field(
        default_factory=list, description="What looks wrong with the profile's paths; the sync still succeeded"
    )
    requests: int | None = Field(None, description="Requests made to the app so far, refused ones included")
    refused: int | None = Field(None, description="Requests the app refused for its quota (429, or 403 saying so)")
    quota_wait_seconds: float | None = Field(None, description="Time the fetch held requests back for the quota")
    pace_per_second: float | None = Field(None, description="The pace the fetch holds: requests a second")


class CommitResult(BaseModel):
    model_config = ConfigDict(defer_build=True)

    users: int
    written: int
    deleted: int


class TakenBack(BaseModel):
    """A seat a reclamation took back (or moved down a tier), kept beside the snapshot, which a sync rewrites.

    `checked` says what the first snapshot read after it found: `sent` until a sync that started after
    the request reads the app, then `effective` (the app holds no seat, or the seat on the new tier) or
    `not_effective` (the app still holds it: an admin's attention, never sent again by itself).
    """

    model_config = ConfigDict(defer_build=True)

    user_id: str
    reclamation_id: str | None = None
    at: datetime = Field(description="When the request was answered")
    tier: str | None = Field(None, description="For a downgrade: the tier the seat was moved to")
    checked: Literal["sent", "effective", "not_effective"] = "sent"
    checked_at: datetime | None = Field(None, description="When the snapshot that checked it was read")

    def effective_in(self, user: SaaSUser | None) -> bool:
        """Whether the app's own record of the user shows what the request asked for."""
        if user is None or not user.active:
            return True
        return self.tier is not None and (user.tier or "").casefold() == self.tier.casefold()


def user_status(user: SaaSUser, place: Standing, taken: TakenBack | None) -> UserStatus:
    """One word for the user: see UserStatus."""
    if taken is None:
        return place
    if user.active:
        return "not_effective" if taken.checked == "not_effective" else place
    return "inactive" if taken.tier is not None else "reclaimed"


class UserView(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    email: str | None
    name: str | None
    active: bool
    last_activity: datetime | None
    created_at: datetime | None
    role: str | None
    stale: bool
    status: UserStatus = Field(
        description="active, stale or unknown (holding a seat, by activity); inactive (the app holds no seat); "
        "reclaimed (seatkeeper took the seat back); not_effective (the app accepted a reclaim and still holds it)"
    )
    reclaimed_at: datetime | None = Field(
        None, description="When a reclamation took the seat back (reclaimed, not_effective, or moved down a tier)"
    )
    reclamation_id: str | None = Field(None, description="The reclamation that took it back")
    # Usage from the identity provider.
    assigned_via_group: str | None = None
    orphaned: bool = False
    unmatched: bool = False
    last_sign_in: datetime | None = None
    kind: str | None = Field(None, description="The more list of seat holders that lists the user (users.also)")


class SnapshotView(BaseModel):
    """The last successful sync of a profile: the users the positions and reclamations work from."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    run_id: str
    synced_at: datetime
    users: int
    tracks_activity: bool = True
    warnings: list[SyncWarning] = Field(default_factory=list, description="What this sync found wrong with the profile")


UserOrder = Literal["id", "name", "email", "last_activity"]


class UserPage(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[UserView]
    next_cursor: str | None = None
    sort: UserOrder = Field("id", description="The order the list is in (by name unless asked otherwise)")
    order: Literal["asc", "desc"] = "asc"


# --- ports --------------------------------------------------------------------------------


# A staged row: a dict, or its JSON already (a user with its fingerprint, seatkeeper.sync.runs.staged_row).
# Rows read back are dicts either way.
StagedRow = dict[str, Any] | str


class Staging(Protocol):
    def put_chunk(self, run_id: str, kind: str, number: int, rows: Sequence[StagedRow]) -> None: ...

    def rows(self, run_id: str, kind: str) -> Iterator[dict[str, Any]]: ...

    def lines(self, run_id: str, kind: str) -> Iterator[bytes]:
        """The same rows as their JSON lines, for a reader that parses them itself (the commit's users)."""

    def discard(self, run_id: str) -> None: ...

    def put_fingerprints(self, profile_id: str, run_id: str, marks: dict[str, str]) -> None: ...

    def fingerprints(self, profile_id: str, run_id: str) -> dict[str, str] | None:
        """What `put_fingerprints` kept for that run; None when it is not there (any more)."""

    def forget_fingerprints(self, profile_id: str, run_id: str) -> None: ...


class SnapshotStore(Protocol):
    def fingerprints(self, profile_id: str) -> dict[str, str]:
        """Every stored user's fingerprint, read from the users themselves."""

    def forget_fingerprints(self, profile_id: str) -> None:
        """Say on the snapshot record that no fingerprint object matches the stored users any more."""

    def put_users(self, profile_id: str, entries: list[tuple[str, str]], base: str | None) -> None:
        """Write users that changed, as (user id, `snapshot_entry`), as changes of `base` (the record's)."""

    def delete_users(self, profile_id: str, user_ids: list[str], base: str | None) -> None:
        """Users the app no longer lists, as changes of `base`."""

    def put_base(self, profile_id: str, base: str, entries: Iterable[tuple[str, str]]) -> int:
        """Write a whole snapshot's users as a new base, from (user id, `snapshot_entry`) in id order.
        No reader sees it before the snapshot record names it."""

    def drop_other_bases(self, profile_id: str, base: str) -> int:
        """Delete what belongs to other bases than `base`, once the record names it."""

    def users(self, profile_id: str, after: str | None, limit: int) -> tuple[list[SaaSUser], str | None]: ...

    def user(self, profile_id: str, user_id: str) -> SaaSUser | None:
        """One stored user; None when the snapshot has none of that id."""

    def snapshot(self, profile_id: str) -> dict[str, Any] | None:
        """The last committed snapshot's figures, with the ones before it under 'previous'."""

    def last_sign_ins(self, profile_id: str) -> dict[str, str]:
        """Each stored user's latest sign-in seen in the IdP's log, by user id."""


class RunStore(Protocol):
    def lock_sync(self, profile_id: str, run_id: str) -> bool: ...

    def unlock_sync(self, profile_id: str, run_id: str) -> None: ...

    def put_run(self, run: SyncRun) -> None: ...

    def get_run(self, run_id: str) -> SyncRun: ...

    def update_run(self, run_id: str, **changes: Any) -> None: ...

    def put_snapshot(self, profile_id: str, snapshot: dict[str, Any], *, changed_outside: int | None = None) -> None:
        """Keep the snapshot record. It names its fingerprint object (`fingerprints_of`) only if no one
        changed stored users outside a commit since the record read before this commit said `changed_outside`."""


class Executions(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> str: ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- the steps ----------------------------------------------------------------------------


class SyncService:
    def __init__(self, runs: RunStore, executions: Executions) -> None:
        self.runs = runs
        self.executions = executions

    def open_run(self, profile: ProfileRecord, *, connected: bool, requested_by: str | None) -> SyncRun:
        """A new run of the profile, holding its sync lock; SyncConflict when it cannot have one."""
        if not connected:
            raise SyncConflict(f"profile {profile.id} is not connected; create its connection first")
        run = SyncRun(
            run_id=f"run_{uuid.uuid4().hex[:20]}",
            profile_id=profile.id,
            status="running",
            started_at=_now(),
            requested_by=requested_by,
        )
        if not self.runs.lock_sync(profile.id, run.run_id):
            raise SyncConflict(f"a sync of profile {profile.id} is running")
        try:
            self.runs.put_run(run)
        except Exception:
            self.runs.unlock_sync(profile.id, run.run_id)
            raise
        return run

    def start(
        self,
        profile: ProfileRecord,
        *,
        connected: bool,
        requested_by: str | None,
        task_token: str | None = None,
        express: ExpressRun | None = None,
    ) -> SyncRun:
        """Open a run and start the sync state machine for it; `task_token`: the reconciliation step
        that waits for this run, told by the sync itself when it ends (no polling); `express`: the
        executions are the Express sync's, which hands what it cannot finish over (ExpressRun)."""
        run = self.open_run(profile, connected=connected, requested_by=requested_by)
        try:
            self.executions.start(run.run_id, sync_input(run, task_token, express))
        except Exception:
            self.runs.unlock_sync(profile.id, run.run_id)
            raise
        return run


ENDED_UNFINISHED = ("FAILED", "TIMED_OUT", "ABORTED")


def settled_run(run_id: str, runs: RunStore, execution_status: Callable[[str], str | None]) -> SyncRun:
    """The run as it stands; one whose execution ended without recording how (it was stopped or
    timed out) is failed now, and its profile's sync lock released, so that no one waits for it."""
    run = runs.get_run(run_id)
    if run.status != "running":
        return run
    ended = execution_status(run_id)
    if ended not in ENDED_UNFINISHED:
        return run
    # Read again: the execution's own failure path may have recorded the real cause meanwhile.
    run = runs.get_run(run_id)
    if run.status != "running":
        return run
    failed = run.model_copy(
        update={
            "status": "failed",
            "error": f"the sync's execution ended {ended} before it recorded a result",
            "finished_at": _now(),
        }
    )
    runs.update_run(run_id, status=failed.status, error=failed.error, finished_at=failed.finished_at)
    runs.unlock_sync(run.profile_id, run_id)
    return failed


def sync_input(run: SyncRun, task_token: str | None = None, express: ExpressRun | None = None) -> dict[str, Any]:
    """What the sync state machine starts from; `task_token` (None when no one waits) is sent the
    run's outcome when it ends."""
    return {
        "run_id": run.run_id,
        "profile_id": run.profile_id,
        "fetch": {"checkpoint": None, "done": False, "hand_over": False},
        "task_token": task_token,
        "express": express.as_input() if express else None,
        "fetch_timeout_seconds": express.fetch_timeout_seconds if express else STANDARD_FETCH_TIMEOUT_SECONDS,
    }


# An Express execution lasts five minutes at most, and one that runs out ends without a word to
# the reconciliation that waits for it. So it fetches for a minute and a half, then hands the run
# over to the Standard sync, which goes on from the checkpoint for as long as it takes; a page still
# in flight then gets as long again before its FetchUsers step times out (an app that hangs fails
# the run, which says so, rather than the execution); and it commits only as many users as a commit
# writes in well under a minute even when every one is new.
EXPRESS_FETCH_SECONDS = 90
EXPRESS_COMMIT_USERS = 50_000
# The Standard sync's FetchUsers step: never before the function's own 15 minutes (the hand-over
# in statemachines/sync_users.asl.json writes the same number).
STANDARD_FETCH_TIMEOUT_SECONDS = 3600


@dataclass(frozen=True)
class ExpressRun:
    """A run in the Express sync: the Standard sync it hands over to, and how long it may fetch."""

    hand_over_to: str
    fetch_seconds: int = EXPRESS_FETCH_SECONDS

    @property
    def fetch_timeout_seconds(self) -> int:
        return 2 * self.fetch_seconds

    def as_input(self) -> dict[str, Any]:
        return asdict(self)


class ExpressBudget:
    """FetchUsers' view of its Express execution: the time it started, and what it may still do."""

    def __init__(self, run: ExpressRun, execution_started_at: datetime) -> None:
        self.deadline = execution_started_at + timedelta(seconds=run.fetch_seconds)

    @classmethod
    def of(cls, step: dict[str, Any]) -> ExpressBudget | None:
        """The budget of a FetchUsers step's input; None in the Standard sync, which has no limit."""
        if not step.get("express"):
            return None
        started = datetime.fromisoformat(step["execution_started_at"])  # ISO 8601 with a Z, as $$.Execution.StartTime
        return cls(ExpressRun(**step["express"]), started)

    def out_of_time(self) -> bool:
        return datetime.now(UTC) >= self.deadline

    def hands_over(self, *, done: bool, users_fetched: int) -> bool:
        """Whether the rest of the run goes to the Standard sync: more to fetch, or a commit too large
        (or started too late) to end within the Express execution's five minutes."""
        return not done or users_fetched > EXPRESS_COMMIT_USERS or self.out_of_time()


def _batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


WRITE_BATCH = 2_000  # users handed to the store at once; it writes them 25 a request, several requests at once
REBASE_AT_LEAST = 1_000  # changes a base may gather before a commit writes a new one, however small the app


def rebases(users: int, changes: int) -> bool:
    """Whether a snapshot's changes have outgrown its base: more than a tenth of its users (and REBASE_AT_LEAST).

    Every reader reads the changes beside the base, so they are kept few; a new base costs a page
    write per thousand users and the deletion of the old base's changes.
    """
    return changes > max(REBASE_AT_LEAST, users // 10)


def snapshot_entry(user: SaaSUser, mark: str) -> str:
    """A user of a base, as stored in its page: the user's JSON without its defaults, with its fingerprint."""
    entry = {**user.model_dump(mode="json", exclude_defaults=True), "fingerprint": mark}
    return _COMPACT_JSON(entry)


# json.dumps(entry, separators=(",", ":")) builds an encoder at every call (it keeps one only for its defaults):
# most of a first sync's entries in py-spy. The same encoder, with the same options, made once.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":")).encode


def stored_fingerprints(
    profile_id: str, record: dict[str, Any] | None, staging: Staging, snapshots: SnapshotStore
) -> tuple[dict[str, str], str]:
    """The stored users' fingerprints, and where they came from: "object" or "table".

    The object is trusted only when the snapshot record names the run that wrote it and counts as
    many users; a commit cut short, or a change to users outside a commit, removed that name first.
    """
    run_id = (record or {}).get("fingerprints_of")
    if run_id:
        marks = staging.fingerprints(profile_id, run_id)
        if marks is not None and len(marks) == (record or {}).get("users"):
            return marks, "object"
    return snapshots.fingerprints(profile_id), "table"


def _with_bulk_activity(profile: ProfileRecord, staging: Staging, run: SyncRun) -> Callable[[SaaSUser], SaaSUser]:
    """Each user's last activity from the bulk activity endpoint, when the profile has one: the later of the two."""
    endpoint = profile.profile.activity
    if not isinstance(endpoint, ActivityEndpoint) or endpoint.mode != "bulk":
        return lambda user: user
    return with_bulk_activity(staging.rows(run.run_id, "activity"))


def with_bulk_activity(rows: Iterable[dict[str, Any]]) -> Callable[[SaaSUser], SaaSUser]:
    """Each user with the bulk activity rows' last activity for its id folded in: the later of the two."""
    activity = {row["id"]: row["last_activity"] for row in rows}

    def with_activity(user: SaaSUser) -> SaaSUser:
        if not activity.get(user.id):
            return user
        latest = max(filter(None, [user.last_activity, parse_timestamp(activity[user.id])]), default=None)
        return user.model_copy(update={"last_activity": latest})

    return with_activity


def _seen_by_idp(
    profile: ProfileRecord, staging: Staging, snapshots: SnapshotStore, run: SyncRun
) -> Callable[[SaaSUser], SaaSUser]:
    """What the identity provider adds to each user: the latest sign-in and, matched to its people, leavers."""
    sso = sso_activity(profile.profile)
    if sso is None:
        return lambda user: user
    match = profile.profile.users.match
    sign_ins = identity_provider.SignIns.fold(staging.rows(run.run_id, "sign_ins"), match)
    earlier = snapshots.last_sign_ins(profile.id)
    people_rows = staging.rows(run.run_id, "people")
    if sso.users_from_idp:  # the IdP's own assignments: its people are found by id (none staged for Okta's)
        by_id = identity_provider.people_by_id(people_rows)

        def seen(user: SaaSUser) -> SaaSUser:
            user = identity_provider.with_person(user, by_id)
            return identity_provider.with_sign_ins(user, sign_ins, earlier.get(user.id), by_id=True)

        return seen
    # The sign-ins were folded by the IdP's id too: each person's counts under every address they are read with.
    people = identity_provider.fold_people(people_rows, match, sign_ins)

    def seen_in_app(user: SaaSUser) -> SaaSUser:
        user = identity_provider.with_sign_ins(user, sign_ins, earlier.get(user.id), by_id=False)
        return identity_provider.with_people(user, people, match)

    return seen_in_app


def staged_users(
    lines: Iterable[bytes], listed: Container[str], adding: Callable[[SaaSUser], SaaSUser]
) -> Iterator[tuple[SaaSUser, str]]:
    """The staged users with what `adding` adds (activity, the IdP's), each with its fingerprint, but those in
    `listed`. A user that `adding` leaves as it was has the mark it was staged with (`staged_row`): the same
    bytes as its fingerprint, without dumping every user again.

    Each line is parsed and validated in one go by pydantic's core (the mark, an extra field, is ignored
    there): 90 ms for 20,000 users where json.loads, then validating the dict, took 141 ms.
    """
    for line in lines:
        user = SaaSUser.model_validate_json(line)
        if user.id in listed:
            continue  # an app that shifts its pages during a sync can list a user twice
        seen = adding(user)
        staged_mark = _staged_mark(line) if seen is user else None
        yield seen, staged_mark or fingerprint(seen)


_MARK_AT_END = f',"{STAGED_MARK}":"'.encode()
_MARK_LENGTH = 24  # hex digits of a 12-byte blake2b


def _staged_mark(line: bytes) -> str | None:
    """The mark `staged_row` ended the line with; None in a row staged before rows had marks. A value of the
    user's cannot end the line so: pydantic escapes the quotes of a text."""
    end = line.rstrip()
    if not end.endswith(b'"}') or end[-2 - _MARK_LENGTH - len(_MARK_AT_END) : -2 - _MARK_LENGTH] != _MARK_AT_END:
        return None
    return end[-2 - _MARK_LENGTH : -2].decode()


def _first_of_each(entries: list[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """Entries sorted by id, each user's first only."""
    last = None
    for user_id, entry in entries:
        if user_id != last:
            yield user_id, entry
        last = user_id


class _Comparison:
    """The staged users against the stored ones: what a commit writes."""

    def __init__(self, stored: dict[str, str], changes_before: int, *, rebase: bool) -> None:
        self.stored, self.changes_before = stored, changes_before
        self.marks: dict[str, str] = {}  # every user of the new snapshot, with its fingerprint
        self.figures = dict.fromkeys(("assigned", "with_activity", "stale"), 0)
        self.written = 0  # users that changed (a first sync: all)
        self.changed: list[tuple[str, str]] = []  # those users' ids and entries, until they outgrow the base
        self.gone: list[str] = []  # stored users the app no longer lists
        # Every user as a base's entry, when a new base is known from the start
        self.entries: list[tuple[str, str]] | None = [] if rebase else None
        self.rebase = rebase  # a new base rather than changes to the old one

    def compare(self, staged: Iterable[tuple[SaaSUser, str]], profile: Profile) -> None:
        cutoff, tracked, policy = cutoff_for(profile), tracks_activity(profile), profile.policy
        figures, stored = self.figures, self.stored
        for user, mark in staged:
            if user.active:
                figures["assigned"] += 1
                figures["with_activity"] += user.last_activity is not None
                figures["stale"] += standing(user, cutoff=cutoff, tracked=tracked, policy=policy) == "stale"
            self.marks[user.id] = mark
            if self.entries is not None:
                self.entries.append((user.id, snapshot_entry(user, mark)))
            if stored.get(user.id) != mark:
                self.written += 1
                if not self.rebase:  # none kept once they outgrow the base: the base is written anew
                    self.changed.append((user.id, snapshot_entry(user, mark)))
                    self.rebase = rebases(len(stored), self.changes_before + len(self.changed))
        self.gone = [user_id for user_id in stored if user_id not in self.marks]
        self.rebase = self.rebase or rebases(len(self.marks), self.changes_before + self.written + len(self.gone))
        if self.rebase:
            self.changed = []  # a new base has every user: the changes kept so far would only hold memory


def commit_step(
    profile: ProfileRecord,
    staging: Staging,
    snapshots: SnapshotStore,
    runs: RunStore,
    run: SyncRun,
    *,
    notices: Notices | None = None,
    max_users: int = MAX_APP_USERS,
    before_done: Callable[[], object] = lambda: None,
) -> CommitResult:
    """Make the staged users the stored snapshot, writing only what changed.

    `before_done` runs once the users are stored and before the run says it succeeded (a retried commit
    runs it again): whatever reads the run as succeeded finds its work done (the seats reclamations took
    back, checked against these users).

    A first sync, one whose changes would outgrow the base (`rebases`), or the first commit of users
    stored before there were bases, writes a new base that the record names last, then drops the
    old one; any other writes its changes to the base.
    A commit that dies part-way is retried whole, so the order matters: the record stops naming a
    fingerprint object before the first change is written, the new object is written after the last
    one, and the record names it last. No object ever claims what the table does not hold.
    An app of more than `max_users` users is refused before anything is read or written (AppTooLarge):
    the snapshot before stays whole, rather than end half-written when the invocation runs out of time.
    """
    if run.status == "succeeded":  # committed already: its invocation died after saying so
        return CommitResult(users=run.users_fetched, written=run.items_written or 0, deleted=run.items_deleted or 0)
    # Every staged row: an app that lists a user twice counts it twice. FetchUsers refuses such an
    # app already; here again, should the limit have been lowered since.
    refuse_beyond(run.users_fetched, max_users, all_listed=True)
    started = time.monotonic()
    record = snapshots.snapshot(profile.id)
    stored, source = stored_fingerprints(profile.id, record, staging, snapshots)
    with_activity = _with_bulk_activity(profile, staging, run)
    sso = sso_activity(profile.profile)
    seen_by_idp = _seen_by_idp(profile, staging, snapshots, run)
    base = (record or {}).get("base")
    changes_before = int((record or {}).get("changes", 0))

    def staged(listed: Container[str]) -> Iterator[tuple[SaaSUser, str]]:
        """The staged users, each with its fingerprint, but those in `listed` (the ones read so far)."""
        return staged_users(staging.lines(run.run_id, "users"), listed, lambda user: seen_by_idp(with_activity(user)))

    # A first sync writes a base, and so does the first commit of users stored before there were bases.
    found = _Comparison(stored, changes_before, rebase=not stored or base is None)
    found.compare(staged(found.marks), profile.profile)
    new_base = run.run_id if found.rebase else base
    if found.rebase:
        entries = found.entries
        if entries is None:  # the changes outgrew the base: read the staged users again for a new one
            entries = [(user.id, snapshot_entry(user, mark)) for user, mark in staged(())]
        # In place and stable: of a user the app listed twice, the first listing comes first and is kept.
        entries.sort(key=itemgetter(0))
        snapshots.put_base(profile.id, run.run_id, _first_of_each(entries))
    elif found.changed or found.gone:
        if (record or {}).get("fingerprints_of"):  # stored users change: the record stops naming the object first
            snapshots.forget_fingerprints(profile.id)
        for batch in _batched(found.changed, WRITE_BATCH):
            snapshots.put_users(profile.id, batch, base)
        for batch in _batched(found.gone, WRITE_BATCH):
            snapshots.delete_users(profile.id, batch, base)
    marks, written, gone = found.marks, found.written, found.gone
    warnings = list(run.warnings)
    # A retried commit finds its own snapshot named already: the one before it is the last sync's.
    last_sync = (record or {}).get("previous") if (record or {}).get("run_id") == run.run_id else record
    if not any(w.blocks_inactivity for w in warnings) and (
        dropped := activity_dropped(found.figures, last_sync, profile.profile)
    ):
        warnings.append(dropped)
    shown = [w.model_dump(mode="json", exclude_none=True) for w in warnings]
    staging.put_fingerprints(profile.id, run.run_id, marks)
    runs.put_snapshot(
        profile.id,
        {
            "run_id": run.run_id,
            "synced_at": _now(),
            "users": len(marks),
            "tracks_activity": tracks_activity(profile.profile),
            "fingerprints_of": run.run_id,
            **({"base": new_base} if new_base else {}),
            "changes": 0 if new_base == run.run_id else changes_before + written + len(gone),
            **found.figures,
            "warnings": shown,
            # The high-water mark of the sign-in log: the next sync reads on from here.
            **(
                {"sign_ins": {"idp_profile_id": sso.idp_profile_id, "app_id": sso.app_id, "until": run.sign_ins_until}}
                if sso is not None and run.sign_ins_until
                else {}
            ),
        },
        changed_outside=(record or {}).get("changed_outside"),
    )
    if new_base == run.run_id:  # this run's base (a retried commit finds it named already): the old one goes
        snapshots.drop_other_bases(profile.id, run.run_id)
    if (superseded := (record or {}).get("fingerprints_of")) and superseded != run.run_id:
        staging.forget_fingerprints(profile.id, superseded)
    result = CommitResult(users=len(marks), written=written, deleted=len(gone))
    before_done()
    runs.update_run(
        run.run_id,
        status="succeeded",
        finished_at=_now(),
        items_written=written,
        items_deleted=len(gone),
        warnings=shown,
        fingerprints_from=source,
        commit_seconds=round(time.monotonic() - started, 3),
    )
    runs.unlock_sync(profile.id, run.run_id)
    staging.discard(run.run_id)
    (notices or NoNotices()).put(
        "Sync Succeeded",
        {
            "profile_id": profile.id,
            "run_id": run.run_id,
            **result.model_dump(),
            "requests": run.requests or 0,
            "refused": run.refused or 0,
            "quota_wait_seconds": run.quota_wait_seconds or 0.0,
            "warnings": len(warnings),
        },
    )
    return result


# --- reading the snapshot -----------------------------------------------------------------

SCAN_PER_CALL = 5_000  # stored users one listing call looks at, whatever the filter keeps
SORT_MAX_USERS = 50_000  # sorting by anything but id reads the whole snapshot: a bound on that


def _numbers_as_numbers(text: str) -> tuple[Any, ...]:
    """A key that puts "User 2" before "User 10": runs of digits compare by value, the rest case-blind.

    A run compares by its length without leading zeros, then its digits: any length, no int() of it.
    """
    parts = re.split(r"(\d+)", text.casefold())
    return tuple((len(p.lstrip("0")), p.lstrip("0")) if i % 2 else p for i, p in enumerate(parts))


def _sort_key(sort: UserOrder) -> Callable[[UserView], Any]:
    if sort == "last_activity":
        return lambda user: user.last_activity
    if sort == "id":
        return lambda user: user.id  # as the table orders ids, so that desc is asc reversed
    return lambda user: _numbers_as_numbers(str(getattr(user, sort)))


def _view(user: SaaSUser, place: Standing, taken: TakenBack | None) -> UserView:
    return UserView(
        **user.model_dump(),
        stale=place == "stale",
        status=user_status(user, place, taken),
        reclaimed_at=taken.at if taken else None,
        reclamation_id=taken.reclamation_id if taken else None,
    )


def list_users(
    profile: ProfileRecord,
    snapshots: SnapshotStore,
    *,
    status: UserStatus | None,
    limit: int,
    cursor: str | None,
    sort: UserOrder | None = None,
    descending: bool = False,
    now: datetime | None = None,
    taken_back: Mapping[str, TakenBack] | None = None,
) -> UserPage:
    """A page of the snapshot's users, by name unless `sort` says otherwise; `taken_back`: the seats
    reclamations took back, which give those users their status.

    By id (ascending) it reads only what the page needs; by another field it reads the whole
    snapshot, so an app of more than SORT_MAX_USERS users is listed by id unless asked otherwise.
    """
    if sort is None:
        counted = (snapshots.snapshot(profile.id) or {}).get("users", 0)
        sort = "name" if counted <= SORT_MAX_USERS else "id"
    if sort != "id" or descending:
        return _sorted_users(
            profile,
            snapshots,
            status=status,
            limit=limit,
            cursor=cursor,
            sort=sort,
            descending=descending,
            now=now,
            taken_back=taken_back,
        )
    items: list[UserView] = []
    position = decode_cursor(cursor)
    if position is not None and "after" not in position:
        raise InvalidInput.at(("query", "cursor"), "this cursor belongs to another order of the list", "cursor_invalid")
    after, looked = (position or {}).get("after"), 0
    while len(items) < limit and looked < SCAN_PER_CALL:
        users, after = snapshots.users(profile.id, after, min(limit - len(items), 1000) if status is None else 1000)
        for user, view in _views(profile, users, status=status, now=now, taken_back=taken_back):
            looked += 1
            if view is not None:
                items.append(view)
                if len(items) == limit:
                    after = user.id
                    break
        if after is None:
            break
    return UserPage(items=items, next_cursor=encode_cursor({"after": after}) if after else None)


def _views(
    profile: ProfileRecord,
    users: Iterable[SaaSUser],
    *,
    status: UserStatus | None,
    now: datetime | None,
    taken_back: Mapping[str, TakenBack] | None,
) -> Iterator[tuple[SaaSUser, UserView | None]]:
    """Each user with its view, or None where it is not of `status`."""
    cutoff, tracked = cutoff_for(profile.profile, now), tracks_activity(profile.profile)
    for user in users:
        place = standing(user, cutoff=cutoff, tracked=tracked, policy=profile.profile.policy)
        view = _view(user, place, (taken_back or {}).get(user.id))
        yield user, view if status is None or view.status == status else None


def users_with_standing(
    profile: ProfileRecord,
    snapshots: SnapshotStore,
    *,
    status: UserStatus | None,
    now: datetime | None,
    taken_back: Mapping[str, TakenBack] | None = None,
) -> Iterator[UserView]:
    """Every user of the last successful sync as listed (or those of one status), in the store's order."""
    after: str | None = None
    while True:
        users, after = snapshots.users(profile.id, after, 1000)
        for _user, view in _views(profile, users, status=status, now=now, taken_back=taken_back):
            if view is not None:
                yield view
        if after is None:
            return


def _sorted_users(
    profile: ProfileRecord,
    snapshots: SnapshotStore,
    *,
    status: UserStatus | None,
    limit: int,
    cursor: str | None,
    sort: UserOrder,
    descending: bool,
    now: datetime | None,
    taken_back: Mapping[str, TakenBack] | None,
) -> UserPage:
    order = f"{sort}:{'desc' if descending else 'asc'}"
    position = decode_cursor(cursor) or {"order": order, "offset": "0"}
    if position.get("order") != order or not position.get("offset", "").isdigit():
        raise InvalidInput.at(("query", "cursor"), "this cursor belongs to another order of the list", "cursor_invalid")
    counted = (snapshots.snapshot(profile.id) or {}).get("users", 0)
    if counted > SORT_MAX_USERS:
        raise InvalidInput.at(
            ("query", "sort"), f"sorting is offered for apps of up to {SORT_MAX_USERS} users; this one has {counted}"
        )
    chosen = list(users_with_standing(profile, snapshots, status=status, now=now, taken_back=taken_back))
    # Users without the field go last whichever way the list is ordered; ties keep the id order.
    known = [c for c in chosen if getattr(c, sort) is not None]
    by = _sort_key(sort)
    known.sort(key=by, reverse=descending)
    ordered = known + [c for c in chosen if getattr(c, sort) is None]
    start = int(position["offset"])
    page = ordered[start : start + limit]
    following = start + limit
    return UserPage(
        items=page,
        next_cursor=encode_cursor({"order": order, "offset": str(following)}) if following < len(ordered) else None,
        sort=sort,
        order="desc" if descending else "asc",
    )


def caught_error(caught: dict[str, Any]) -> tuple[str, str]:
    """A Catch's `$.error` ({"Error", "Cause"}) as its error name and a cause people read, of 500 characters at most."""
    return caught.get("Error") or "Unknown", (run_error(caught.get("Cause")) or "no details were given")[:500]


def run_error(cause: str | None) -> str | None:
    """A failed task's cause as people read it (a Lambda task's cause is its error payload as JSON)."""
    if cause and cause.startswith("{"):
        try:
            payload = json.loads(cause)
        except ValueError:
            return cause
        return str(payload.get("errorMessage") or cause)
    return cause
