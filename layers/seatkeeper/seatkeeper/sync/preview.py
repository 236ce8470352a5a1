"""A profile tried against its app before anyone relies on it: the first pages read exactly as a sync
reads them (saas.paging over the guarded SaaSClient, the same field counts and paging notes as
sync.fetch), the activity endpoint's answers read as the sync reads them too (sync.fetch's per-user
and bulk readers, runs' merge), with the requests made, how each mapped field fared, and the removal
request rendered for the first user but not sent. The credential is the caller's, used for these
requests only."""

from __future__ import annotations

from contextlib import closing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from seatkeeper.core.errors import SeatkeeperError
from seatkeeper.profiles.model import ActivityEndpoint, Profile
from seatkeeper.saas.http import Exchange, SaaSClient
from seatkeeper.saas.paging import PagingLoops, fetch_users
from seatkeeper.saas.records import FieldTally, SaaSUser
from seatkeeper.sync.fetch import activity_rows, more_list_tally, unmatched_fields, with_per_user_activity
from seatkeeper.sync.runs import SyncWarning, with_bulk_activity

DEFAULT_PAGES = 3
MOST_PAGES = 10
# A per-user activity endpoint costs a request per user: a preview asks it for the first users only.
MOST_ACTIVITY_USERS = 20


class FieldMatch(BaseModel):
    model_config = ConfigDict(defer_build=True)

    path: str = Field(description="The profile's JMESPath for the field")
    matched: int = Field(description="Records in which the path found a value")
    of: int = Field(description="Records read")
    keys_seen: list[str] | None = Field(None, description="When none matched: the keys the records had")
    suggestion: str | None = Field(None, description="When none matched: the key most like the path")


class PreviewRequest(BaseModel):
    model_config = ConfigDict(defer_build=True)

    method: str
    url: str = Field(description="Without the credential")
    status: int | None = Field(None, description="The app's answer, none when there was no answer")
    elapsed_ms: int
    next_page: str | None = Field(None, description="The next-page token or URL this answer gave, if it gave one")
    problem: str | None = None


class RemovalPreview(BaseModel):
    model_config = ConfigDict(defer_build=True)

    action: Literal["reclaim", "downgrade"]
    method: str
    url: str
    body: Any = None
    user_id: str
    kind: str | None = Field(
        None, description="The more list (users.also) whose removal this is; none: the users list's"
    )


class Preview(BaseModel):
    """What a sync would read, page by page, and what a reclamation would send: nothing stored, nothing sent."""

    model_config = ConfigDict(defer_build=True)

    users: list[SaaSUser]
    fields: dict[str, FieldMatch] = Field(description="Per mapped field, by its place in the profile")
    requests: list[PreviewRequest]
    paging: Literal["ended", "looped", "cut"] | None = Field(
        None, description="The app said no more pages, pointed back at one read already, or max_pages was reached"
    )
    removal: RemovalPreview | None = Field(None, description="The first user's removal request, not sent")
    more_removals: list[RemovalPreview] = Field(
        default_factory=list, description="The first user's removal request of each more list (users.also), not sent"
    )
    warnings: list[SyncWarning] = Field(default_factory=list, description="What a sync would warn of")
    error: str | None = Field(None, description="Why the app's answers could not be read, naming what to fix")


def _token(cursor: Any) -> str | None:
    for name in ("cursor", "url", "offset", "page"):
        value = getattr(cursor, name, None)
        if value is not None and not cursor.done:
            return str(value)
    return None


def preview(client: SaaSClient, *, max_pages: int = DEFAULT_PAGES) -> Preview:
    """Up to `max_pages` pages of the profile's users, one request at a time so each answer is shown in order."""
    profile = client.profile
    exchanges: list[PreviewRequest] = []

    def told(exchange: Exchange) -> None:
        exchanges.append(PreviewRequest(**exchange.__dict__))

    client.on_exchange = told
    tally, notes = FieldTally.of_fields(profile.users.fields), list[dict[str, Any]]()
    # One page at a time: each answer shown in order, and no page fetched past max_pages.
    client.profile = profile.model_copy(update={"users": profile.users.model_copy(update={"max_concurrency": 1})})
    activity = profile.activity if isinstance(profile.activity, ActivityEndpoint) else None
    activity_tally = FieldTally.of_fields(activity.fields, prefix="activity.fields") if activity else None
    users: list[SaaSUser] = []
    more_tallies: list[FieldTally] = []  # each more list's records against the fields it is read with
    paging: Literal["ended", "looped", "cut"] | None = None
    error, reading = None, "users"
    try:
        with closing(fetch_users(client, tally=tally, notes=notes, most_pages=max_pages)) as pages:
            for page, cursor in pages:
                read = page
                if activity is not None and activity.mode == "per_user":
                    # Per page, as the sync's FetchUsers does, for the first users only.
                    room, reading = max(0, MOST_ACTIVITY_USERS - len(users)), "activity"
                    read = with_per_user_activity(client, activity, page[:room], tally=activity_tally) + page[room:]
                    reading = "users"
                users += read
                if exchanges:
                    exchanges[-1].next_page = _token(cursor)
                if cursor.done:
                    paging = "ended"
                    break
                if cursor.pages_done >= max_pages:
                    paging = "cut"
                    break
        if activity is not None and activity.mode == "bulk" and users:
            reading = "activity"
            users = _with_bulk_activity(client, activity, users, activity_tally, max_pages)
        for at in range(len(profile.users.also)):
            reading = f"users.also[{at}]"
            users += _first_page_of(client, at, {user.id for user in users}, notes, more_tallies)
        reading = "users"
    except PagingLoops as exc:
        error = str(exc)
        paging = "looped" if reading == "users" else paging
    except SeatkeeperError as exc:
        error = f"{exc} ({_where(profile, reading)})"
    finally:
        client.on_exchange, client.profile = None, profile
    if error is not None and activity is not None and reading == "activity":
        said = error.split(" (users.path ")[0]
        error = f"{said} (activity.path {activity.path!r}, activity.records_path {activity.records_path!r})"
    warnings = [
        SyncWarning.model_validate(w)
        for w in notes
        + unmatched_fields(tally, activity_elsewhere=activity is not None)
        + [w for more in more_tallies for w in unmatched_fields(more, activity_elsewhere=activity is not None)]
        + unmatched_fields(activity_tally, activity_elsewhere=bool(tally.matched.get("users.fields.last_activity")))
    ]
    fields = {
        field: FieldMatch(
            path=path,
            matched=counted.matched[field],
            of=counted.of,
            **next(
                (
                    {"keys_seen": u["keys_seen"], "suggestion": u["suggestion"]}
                    for u in counted.unmatched()
                    if u["field"] == field
                ),
                {},
            ),
        )
        for counted in (tally, activity_tally, *more_tallies)
        if counted is not None
        for field, path in counted.paths.items()
    }
    return Preview(
        users=users,
        fields=fields,
        requests=exchanges,
        paging=paging,
        removal=_removal(client, users[0]) if users else None,
        more_removals=[
            found
            for listing in profile.users.also
            if (first := next((u for u in users if u.kind == listing.kind), None))
            and (found := _removal(client, first)) is not None
        ],
        warnings=warnings,
        error=error,
    )


def _with_bulk_activity(
    client: SaaSClient, activity: ActivityEndpoint, users: list[SaaSUser], tally: FieldTally | None, max_pages: int
) -> list[SaaSUser]:
    """The users with the bulk activity endpoint's first pages folded in, as the sync's commit folds them."""
    rows: list[dict[str, Any]] = []
    with closing(activity_rows(client, activity, None, tally=tally)) as pages:
        for read, cursor in pages:
            rows += read
            if cursor.done or cursor.pages_done >= max_pages:
                break
    merge = with_bulk_activity(rows)
    return [merge(user) for user in users]


def _where(profile: Profile, reading: str) -> str:
    """The list an error came from, by its place in the profile."""
    if reading.startswith("users.also["):
        listing = profile.users.also[int(reading[len("users.also[") : -1])]
        return f"{reading}.path {listing.path!r}, {reading}.records_path {listing.records_path!r}"
    return f"users.path {profile.users.path!r}, users.records_path {profile.users.records_path!r}"


def _first_page_of(
    client: SaaSClient, at: int, seen: set[str], notes: list[dict[str, Any]], tallies: list[FieldTally]
) -> list[SaaSUser]:
    """The more list users.also[at]'s first page, as the sync reads it after the users list: a user listed
    already counts once; its records counted into a tally of its own, added to `tallies`, as the sync counts them."""
    listing = client.profile.users.also[at]
    tallies.append(tally := more_list_tally(listing, at, client.profile.users))
    with closing(fetch_users(client, tally=tally, notes=notes, most_pages=1, listing=listing)) as pages:
        page, _ = next(pages, ([], None))
    return [user for user in page if user.id not in seen]


def _removal(client: SaaSClient, user: SaaSUser) -> RemovalPreview | None:
    profile = client.profile
    action: Literal["reclaim", "downgrade"] = "downgrade" if profile.policy.stale_action == "downgrade" else "reclaim"
    try:
        # The request a reclamation would send for this user: its more list's own removal, where it has one.
        request = profile.downgrade if action == "downgrade" else client.reclaim_request(user.kind)
    except SeatkeeperError as exc:
        return RemovalPreview(action=action, method="—", url=f"({exc})", user_id=user.id, kind=user.kind)
    if request is None:
        return None
    tier = profile.policy.downgrade_to if action == "downgrade" else None
    shown = {"action": action, "method": request.method, "user_id": user.id, "kind": user.kind}
    try:
        path, body = client.rendered(request, user, tier=tier)
    except SeatkeeperError as exc:
        return RemovalPreview(**shown, url=f"({exc})")
    return RemovalPreview(**shown, url=client.url(path), body=body)
