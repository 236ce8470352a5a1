"""A sync run's fetch step: the app's users (saas.paging) in chunks staged for the commit, then their
activity, then the identity provider's sign-ins and people, each resumable from its checkpoint, so a
sync longer than one Lambda invocation continues where it was."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from seatkeeper.core.errors import SaaSRequestFailed, UnreadableResponse
from seatkeeper.identity import provider as identity_provider
from seatkeeper.profiles.model import ActivityEndpoint, MoreSeatHolders, UsersEndpoint
from seatkeeper.saas.http import SaaSClient
from seatkeeper.saas.paging import ListEndpoint, PageCursor, PageFetcher, fetch_users
from seatkeeper.saas.records import FieldTally, SaaSUser, UnreadableRecord, parse_timestamp, search
from seatkeeper.saas.templating import fill_path
from seatkeeper.sync.runs import CHUNK_USERS, MAX_APP_USERS, StagedRow, Staging, refuse_beyond, staged_row

PROGRESS_EVERY = 1.0  # seconds: how old a running sync's progress may be between two chunks


class FetchCheckpoint(BaseModel):
    """What FetchUsers hands to its next invocation."""

    model_config = ConfigDict(defer_build=True)

    phase: Literal["users", "activity", "sign_ins", "people"] = "users"
    cursor: PageCursor | None = None
    # In the users phase, the list the cursor is of: 0 the users list, n its n-th more list (users.also).
    listing: int = 0
    chunk: int = 0
    users_fetched: int = 0
    pages: int = 0
    # How many users the app says it has, from the newest page: the resume cursor moves only when a chunk
    # is staged (5,000 users), and a running sync's progress says "of N" from its first page.
    users_expected: int | None = None
    # What the app's quota cost so far, over every invocation: requests made, refused, time held back.
    requests: int = 0
    refused: int = 0
    quota_wait_seconds: float = 0.0
    pace_per_second: float | None = None
    # The sign-in log's window, fixed when its reading starts, so that a resumed reading keeps it.
    sign_ins_since: datetime | None = None
    sign_ins_until: datetime | None = None
    sign_ins_read: int = 0
    # How well the profile's paths fit the app's records, and what the fetch found wrong (SPEC:
    # "no data" is not "never signed in"): the commit puts them on the run and the snapshot.
    tally: FieldTally | None = None
    activity_tally: FieldTally | None = None  # the activity endpoint's fields, counted as the users' are
    # Each more list's (users.also) records against the fields it is read with, by the list's place there.
    more_tallies: dict[int, FieldTally] = {}
    warnings: list[dict[str, Any]] = []


class FetchResult(BaseModel):
    model_config = ConfigDict(defer_build=True)

    checkpoint: FetchCheckpoint
    done: bool


def _activity_of(endpoint: ActivityEndpoint, record: Any) -> datetime | None:
    try:
        return parse_timestamp(search(endpoint.fields.last_activity, record))
    except UnreadableRecord as exc:
        raise UnreadableResponse(f"activity: {exc}") from None


def with_per_user_activity(
    client: SaaSClient, endpoint: ActivityEndpoint, users: list[SaaSUser], *, tally: FieldTally | None = None
) -> list[SaaSUser]:
    """The users with their last activity from the per-user activity endpoint, each answer counted into `tally`."""

    def one(user: SaaSUser) -> tuple[SaaSUser, Any]:
        path = fill_path(endpoint.path, user.model_dump(mode="json"))
        body = client.json(client.send("GET", client.url(path), params=endpoint.params))
        seen = _activity_of(endpoint, body)
        latest = max(filter(None, [user.last_activity, seen]), default=None)
        return user.model_copy(update={"last_activity": latest}), body

    with ThreadPoolExecutor(endpoint.max_concurrency, thread_name_prefix="activity") as pool:
        answered = list(pool.map(one, users))
    if tally is not None:
        tally.count([body for _, body in answered])  # here, not in the threads: one tally, counted once
    return [user for user, _ in answered]


def activity_rows(
    client: SaaSClient, activity: ActivityEndpoint, start: PageCursor | None, *, tally: FieldTally | None = None
) -> Generator[tuple[list[dict[str, Any]], PageCursor]]:
    """The bulk activity endpoint's pages as rows of user id and last activity, each page counted into `tally`."""
    fetcher = PageFetcher(client, ListEndpoint.of(activity), activity.max_concurrency)
    for records, cursor in fetcher.pages(start):
        if tally is not None:
            tally.count(records)
        rows = []
        for record in records:
            user_id = search(activity.fields.user_id, record)
            if user_id is not None:
                seen = _activity_of(activity, record)
                rows.append({"id": str(user_id), "last_activity": seen.isoformat() if seen else None})
        yield rows, cursor


LAST_ACTIVITY_FIELDS = ("users.fields.last_activity", "activity.fields.last_activity")


def more_list_tally(listing: MoreSeatHolders, at: int, users: UsersEndpoint) -> FieldTally:
    """A more list's tally: its records counted against the fields it is read with (its own, else the
    users list's), named by its own place in the profile, since that is where a fix for this list goes."""
    return FieldTally.of_fields(listing.fields or users.fields, prefix=f"users.also[{at}].fields")


def _tally_of(state: FetchCheckpoint, users: UsersEndpoint) -> FieldTally:
    """The tally of the list being read: a more list's records are not the users list's, they have their own."""
    if not state.listing:
        state.tally = state.tally or FieldTally.of_fields(users.fields)
        return state.tally
    at = state.listing - 1
    return state.more_tallies.setdefault(at, more_list_tally(users.also[at], at, users))


def _is_last_activity(field: str) -> bool:
    return field in LAST_ACTIVITY_FIELDS or (field.startswith("users.also[") and field.endswith(".last_activity"))


def unmatched_fields(tally: FieldTally | None, *, activity_elsewhere: bool = False) -> list[dict[str, Any]]:
    """A warning for each mapped field no record had; the last activity's (the users' or the activity endpoint's)
    blocks removals by inactivity, unless the activity comes from elsewhere too."""
    warnings = []
    for found in tally.unmatched() if tally else []:
        hint = f"; did you mean {found['suggestion']!r}?" if found["suggestion"] else ""
        blocks = _is_last_activity(found["field"]) and not activity_elsewhere
        warnings.append(
            {
                "kind": "field_unmatched",
                **found,
                "blocks_inactivity": blocks,
                "message": f"{found['field']}: 0 of {found['of']} records matched {found['path']!r}{hint} "
                f"(records have {', '.join(found['keys_seen'])})"
                + ("; removals by inactivity are refused until a sync finds activity" if blocks else ""),
            }
        )
    return warnings


def _warn_of_unmatched_fields(
    state: FetchCheckpoint, *, activity_elsewhere: bool, progress: Callable[[FetchCheckpoint], None]
) -> None:
    unmatched = unmatched_fields(state.tally, activity_elsewhere=activity_elsewhere)
    for at in sorted(state.more_tallies):
        unmatched += unmatched_fields(state.more_tallies[at], activity_elsewhere=activity_elsewhere)
    if unmatched:
        state.warnings += unmatched
        progress(state)


def _warn_of_unmatched_activity(state: FetchCheckpoint, *, progress: Callable[[FetchCheckpoint], None]) -> None:
    """The activity endpoint's fields that no answer had; its last activity blocks removals by inactivity unless
    the users' own records gave some."""
    users_gave = bool(state.tally and state.tally.matched.get("users.fields.last_activity"))
    if unmatched := unmatched_fields(state.activity_tally, activity_elsewhere=users_gave):
        state.warnings += unmatched
        progress(state)


def sign_in_pages(
    source: identity_provider.SignInSource, state: FetchCheckpoint
) -> Iterator[tuple[list[dict[str, Any]], PageCursor]]:
    """The IdP log's pages in the checkpoint's window, each folded to one row per person."""
    if state.sign_ins_since is None or state.sign_ins_until is None:  # a checkpoint not of our making
        raise ValueError("the checkpoint reads sign-ins without the window they were opened with")
    query = identity_provider.sign_in_query(
        source.kind, since=state.sign_ins_since, until=state.sign_ins_until, app_id=source.app_id
    )
    endpoint = ListEndpoint(query.method, query.path, query.params, query.pagination, query.records_path)
    for records, cursor in PageFetcher(source.client, endpoint, 1).pages(state.cursor):
        state.sign_ins_read += len(records)
        yield identity_provider.sign_in_rows(source.kind, records), cursor


def _open_sign_in_window(state: FetchCheckpoint, source: identity_provider.SignInSource) -> None:
    state.phase, state.cursor, state.chunk = "sign_ins", None, 0
    # Whole milliseconds: what the IdPs' filters take, so that the next window starts exactly here.
    now = datetime.now(UTC)
    state.sign_ins_since, state.sign_ins_until = source.since, now.replace(microsecond=now.microsecond // 1000 * 1000)


def people_pages(
    source: identity_provider.SignInSource, state: FetchCheckpoint, staged_users: Callable[[], Iterable[dict[str, Any]]]
) -> Iterator[tuple[list[dict[str, Any]], PageCursor]]:
    """The IdP's people (leavers included), each as the login an app account is matched by, and whether they left.

    In Entra, only the people the app names, a few a request: its assignments' people by id, or its own
    accounts' people by address. A 200-seat app in a tenant of 100,000 costs 200 people's reads, not the tenant's.
    """
    if source.people_by_assignment:
        ids = identity_provider.assigned_person_ids(staged_users())
        yield from _in_batches(
            state, ids, lambda batch: _read_people(source, identity_provider.assigned_people_query(batch))
        )
        return
    if source.people_by_address:
        addresses = identity_provider.account_addresses(staged_users(), source.matching)
        yield from _in_batches(state, addresses, lambda batch: _people_of_addresses(source, batch))
        return
    query = identity_provider.people_query(source.kind)
    endpoint = ListEndpoint(query.method, query.path, query.params, query.pagination, query.records_path)
    for records, cursor in PageFetcher(source.client, endpoint, 1).pages(state.cursor):
        yield identity_provider.people_rows(source.kind, records), cursor


def _read_people(source: identity_provider.SignInSource, query: identity_provider.LogQuery) -> list[dict[str, Any]]:
    endpoint = ListEndpoint(query.method, query.path, query.params, query.pagination, query.records_path)
    return [
        row
        for records, _ in PageFetcher(source.client, endpoint, 1).pages()
        for row in identity_provider.people_rows(source.kind, records)
    ]


def _people_of_addresses(source: identity_provider.SignInSource, addresses: list[str]) -> list[dict[str, Any]]:
    # By mail first; the addresses no mail answered, by userPrincipalName (by Graph's convention the same
    # address, but not always). Compared case-insensitively: Graph documents no case rule for either filter.
    rows = _read_people(source, identity_provider.people_by_address_query("mail", addresses))
    answered = {str(row["login"]).casefold() for row in rows}
    if rest := [a for a in addresses if a.casefold() not in answered]:
        rows += _read_people(source, identity_provider.people_by_address_query("userPrincipalName", rest))
    return rows


def _in_batches(
    state: FetchCheckpoint, keys: list[str], read: Callable[[list[str]], list[dict[str, Any]]]
) -> Iterator[tuple[list[dict[str, Any]], PageCursor]]:
    # The cursor's offset is how many of the sorted keys are read: a resumed reading goes on from there.
    step = identity_provider.ENTRA_IDS_PER_REQUEST
    start = (state.cursor.offset or 0) if state.cursor else 0
    if start >= len(keys):
        yield [], PageCursor(offset=start, done=True)
        return
    for at in range(start, len(keys), step):
        rows = read(keys[at : at + step])
        done = min(at + step, len(keys))
        yield rows, PageCursor(offset=done, done=done >= len(keys))


def _from_the_identity_provider(
    state: FetchCheckpoint,
    source: identity_provider.SignInSource | None,
    stage: Callable[[Iterator[tuple[list[dict[str, Any]], PageCursor]]], bool],
    staged_users: Callable[[], Iterable[dict[str, Any]]],
) -> FetchResult:
    """The sign-in and people phases: the IdP's log, then (for an app's own accounts) its people."""
    if source is None:
        raise SaaSRequestFailed("the profile's sign-ins cannot be read: it has no identity provider")
    if state.phase == "sign_ins":
        if not stage(sign_in_pages(source, state)):
            return FetchResult(checkpoint=state, done=False)
        if not source.read_people:
            return FetchResult(checkpoint=state, done=True)
        state.phase, state.cursor, state.chunk = "people", None, 0
    return FetchResult(checkpoint=state, done=stage(people_pages(source, state, staged_users)))


def fetch_step(
    client: SaaSClient,
    staging: Staging,
    run_id: str,
    checkpoint: FetchCheckpoint | None,
    *,
    out_of_time: Callable[[], bool],
    progress: Callable[[FetchCheckpoint], None] = lambda _: None,
    sign_ins: identity_provider.SignInSource | Callable[[], identity_provider.SignInSource | None] | None = None,
    max_users: int = MAX_APP_USERS,
) -> FetchResult:
    """Fetch pages into staging until done or out of time; where to go on from. An app that lists
    more than `max_users` users is refused at the page that goes over (AppTooLarge).

    `sign_ins` may be a function that gives the source when first needed: the caller sets the IdP's
    side up (its profile, its credential) while the app's first pages are fetched. The run's requests,
    refusals and quota wait count the IdP's requests too (they take turns from its client's pacer);
    its pace is the app's."""
    state = checkpoint or FetchCheckpoint()
    before = (state.requests, state.refused, state.quota_wait_seconds)
    source: list[identity_provider.SignInSource | None] = []

    def sign_in_source() -> identity_provider.SignInSource | None:
        if not source:
            source.append(sign_ins() if callable(sign_ins) else sign_ins)
        return source[0]

    def tally() -> None:
        pace = client.pacer.pace()
        idp = source[0].client.pacer.pace() if source and source[0] and source[0].client is not client else None
        state.requests = before[0] + pace.requests + (idp.requests if idp else 0)
        state.refused = before[1] + pace.refused + (idp.refused if idp else 0)
        state.quota_wait_seconds = round(
            before[2] + pace.quota_wait_seconds + (idp.quota_wait_seconds if idp else 0), 3
        )
        state.pace_per_second = pace.per_second

    def reporting(checkpoint: FetchCheckpoint) -> None:
        tally()
        progress(checkpoint)

    result = _fetch(
        client,
        staging,
        run_id,
        state,
        progress=_Progress(reporting),
        sign_ins=sign_in_source,
        max_users=max_users,
        out_of_time=out_of_time,
    )
    reporting(state)  # the requests after the last page staged (the sign-ins') count too
    return result


class _Progress:
    """The run's progress, told at each chunk staged and, between chunks, every PROGRESS_EVERY seconds:
    a slow app's chunk takes a while, and the run says how far it got meanwhile (the cursor to resume
    from stays the last chunk's, as the checkpoint handed on does)."""

    def __init__(self, progress: Callable[[FetchCheckpoint], None]) -> None:
        self.progress, self.told = progress, time.monotonic()

    def __call__(self, state: FetchCheckpoint) -> None:
        self.progress(state)
        self.told = time.monotonic()

    def now_and_then(self, state: FetchCheckpoint) -> None:
        if time.monotonic() - self.told >= PROGRESS_EVERY:
            self(state)


def _count_users(state: FetchCheckpoint, fetched: int, cursor: PageCursor, *, of_the_users_list: bool) -> None:
    state.users_fetched += fetched
    if cursor.total is not None and of_the_users_list:  # "of N": the users list's N
        state.users_expected = cursor.total


def _every_list(
    state: FetchCheckpoint, more_lists: int, staged: Callable[[], bool], progress: Callable[[FetchCheckpoint], None]
) -> bool:
    """The users list, then its more lists (users.also), each from its start, their chunks after its chunks;
    True when the last is staged. A resumed sync goes on in the list it was in, from its last chunk staged."""
    if state.listing > more_lists:  # the profile was patched during the sync
        raise ValueError("the profile no longer has the list of users being read: start the sync again")
    if not staged():
        return False
    while state.listing < more_lists:
        state.listing, state.cursor = state.listing + 1, None
        progress(state)
        if not staged():
            return False
    return True


def _fetch(
    client: SaaSClient,
    staging: Staging,
    run_id: str,
    state: FetchCheckpoint,
    *,
    progress: _Progress,
    sign_ins: Callable[[], identity_provider.SignInSource | None],
    max_users: int,
    out_of_time: Callable[[], bool],
) -> FetchResult:
    profile = client.profile
    buffer: list[StagedRow] = []

    def flush(cursor: PageCursor | None) -> None:
        nonlocal buffer
        if buffer:
            staging.put_chunk(run_id, state.phase, state.chunk, buffer)
            state.chunk += 1
            buffer = []
        state.cursor = cursor
        progress(state)

    def stage(pages: Iterator[tuple[Sequence[StagedRow], PageCursor]]) -> bool:
        """Stage the pages' rows in chunks; True when the last page is staged, False when out of time."""
        nonlocal buffer
        for rows, cursor in pages:
            buffer += rows
            state.pages += 1
            late = out_of_time()
            if len(buffer) >= CHUNK_USERS or cursor.done or late:
                flush(cursor)
            else:
                progress.now_and_then(state)
            if cursor.done:
                return True
            if late:
                return False
        return True

    def activity_tally() -> FieldTally | None:
        if isinstance(profile.activity, ActivityEndpoint):
            state.activity_tally = state.activity_tally or FieldTally.of_fields(
                profile.activity.fields, prefix="activity.fields"
            )
        return state.activity_tally

    def user_rows() -> Iterator[tuple[list[StagedRow], PageCursor]]:
        listing = profile.users.also[state.listing - 1] if state.listing else None
        pages = fetch_users(
            client, state.cursor, tally=_tally_of(state, profile.users), notes=state.warnings, listing=listing
        )
        for fetched, cursor in pages:
            users = (
                with_per_user_activity(client, profile.activity, fetched, tally=activity_tally())
                if isinstance(profile.activity, ActivityEndpoint) and profile.activity.mode == "per_user"
                else fetched
            )
            _count_users(state, len(users), cursor, of_the_users_list=listing is None)
            refuse_beyond(state.users_fetched, max_users, all_listed=cursor.done)
            yield [staged_row(u) for u in users], cursor

    if state.phase == "users":
        if not _every_list(state, len(profile.users.also), lambda: stage(user_rows()), progress):
            return FetchResult(checkpoint=state, done=False)
        _warn_of_unmatched_fields(state, activity_elsewhere=profile.activity is not None, progress=progress)
        if isinstance(profile.activity, ActivityEndpoint) and profile.activity.mode == "per_user":
            _warn_of_unmatched_activity(state, progress=progress)
        if isinstance(profile.activity, ActivityEndpoint) and profile.activity.mode == "bulk":
            state.phase, state.cursor, state.chunk = "activity", None, 0
        elif (source := sign_ins()) is not None:
            _open_sign_in_window(state, source)
            progress(state)
        else:
            return FetchResult(checkpoint=state, done=True)
    if state.phase in ("sign_ins", "people"):
        # The app's staged users are read back only where they name the people to read (Entra).
        return _from_the_identity_provider(state, sign_ins(), stage, lambda: staging.rows(run_id, "users"))
    if not isinstance(profile.activity, ActivityEndpoint):  # the profile was patched during the sync
        raise ValueError("the profile no longer has an activity endpoint to read: start the sync again")
    done = stage(activity_rows(client, profile.activity, state.cursor, tally=activity_tally()))
    if done:
        _warn_of_unmatched_activity(state, progress=progress)
    return FetchResult(checkpoint=state, done=done)
