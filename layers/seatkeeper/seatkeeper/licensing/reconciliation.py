"""Reconciliation: sync each profile, then compute its license position; on a schedule or on demand.

The reconcile-all state machine runs these steps: `choose_profiles` (the given ones, or every
connected profile), then for each profile, at most a few at once, a sync run and
`record_position`; one profile's failure is reported and does not stop the others;
`finish` writes the result per profile.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from seatkeeper.core.errors import Conflict, InvalidInput, NotFound, SeatkeeperError
from seatkeeper.licensing.position import LicensePosition, compute_position
from seatkeeper.notify.events import NoNotices, Notices

# The trend (analytics) and the sync are imported by the steps that use them: choosing profiles or
# recording a failure does not load the overview's models or the sync's at cold start.
if TYPE_CHECKING:
    from seatkeeper.licensing.analytics import TrendPoint
    from seatkeeper.profiles.records import ProfileRecord
    from seatkeeper.sync.runs import SnapshotStore

ReconciliationStatus = Literal["running", "completed", "partially_failed", "failed"]

# The most profiles one reconciliation takes on. What bounds it: the reconciliation record, one
# DynamoDB item (400 KB) holding every profile's result with its position (about 0.7 KB each, more
# with tiers); Step Functions' 256 KB payload, which carries each profile's id and a short result
# (about 0.2 KB); the execution's 25,000 history events, about 21 for each profile whose sync
# finishes before its first poll and 9 more for every further poll (10 s apart). 500 leaves room
# in all three (tests/unit/test_scale_limits.py does the arithmetic); more is refused before any
# sync starts.
MAX_PROFILES = 500


class ReconciliationTooLarge(SeatkeeperError):
    """More profiles than one reconciliation takes on: nothing was synced; reconcile them in groups."""


class ReconciliationNotFound(NotFound):
    def __init__(self, reconciliation_id: str) -> None:
        super().__init__(f"reconciliation {reconciliation_id} not found")


class ReconciliationConflict(Conflict):
    pass


class ProfileResult(BaseModel):
    model_config = ConfigDict(defer_build=True)

    profile_id: str
    status: Literal["succeeded", "failed"]
    run_id: str | None = None
    error: str | None = None
    position: LicensePosition | None = None


class Reconciliation(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    status: ReconciliationStatus
    profile_ids: list[str] | None = Field(None, description="The profiles asked for; all connected ones when none")
    requested_by: str | None = None
    started_at: str
    finished_at: str | None = None
    results: list[ProfileResult] = Field(default_factory=list)
    error: str | None = Field(None, description="When its run died before it finished: the error's name")
    cause: str | None = Field(None, description="When its run died before it finished: why, in words")


class ReconciliationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    profile_ids: list[str] | None = Field(None, max_length=MAX_PROFILES)


class ReconciliationStore(Protocol):
    def put_reconciliation(self, reconciliation: Reconciliation) -> None: ...

    def get_reconciliation(self, reconciliation_id: str) -> Reconciliation: ...

    def replace_reconciliation(self, reconciliation: Reconciliation, *, expected_status: str) -> None:
        """Store it if the stored one still has `expected_status`; Conflict otherwise."""

    def put_position(self, position: LicensePosition) -> None: ...

    def latest_position(self, profile_id: str) -> LicensePosition | None: ...

    def standing_positions(self) -> list[LicensePosition]:
        """The latest position of every profile there is."""

    def put_trend_point(self, point: TrendPoint) -> None: ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_reconciliation(
    profile_ids: list[str] | None, *, requested_by: str | None, exists: Callable[[str], bool]
) -> Reconciliation:
    """A reconciliation to start; 422 for ids that name no profile."""
    if profile_ids is not None:
        unknown = [i for i, profile_id in enumerate(profile_ids) if not exists(profile_id)]
        if unknown:
            raise InvalidInput(
                [{"loc": ["body", "profile_ids", i], "msg": "no such profile", "type": "not_found"} for i in unknown]
            )
    return Reconciliation(
        id=f"rec_{uuid.uuid4().hex[:20]}",
        status="running",
        profile_ids=profile_ids,
        requested_by=requested_by,
        started_at=_now(),
    )


CHANGES_THAT_MATTER = ("position", "assigned", "active", "stale", "unknown", "shortfall", "unused")


def record_position(
    profile: ProfileRecord,
    snapshots: SnapshotStore,
    store: ReconciliationStore,
    *,
    run_id: str | None,
    now: datetime | None = None,
    notices: Notices | None = None,
    taken_back: int = 0,
    kept: Collection[str] = (),
) -> LicensePosition:
    """Compute the profile's position from its stored users and keep it, with its history, and
    today's trend point; announce it when it differs from the one before.

    Every change of a position comes through here (a reconciliation, a finished reclamation):
    so the trend's last point never lags behind the figures. `taken_back`: seats a reclamation
    has just taken back, added to those taken back before that are still bought.
    """

    def everyone() -> Any:
        after: str | None = None
        while True:
            users, after = snapshots.users(profile.id, after, 1000)
            yield from users
            if after is None:
                return

    previous = store.latest_position(profile.id)
    now = now or datetime.now(UTC)
    purchased = profile.profile.subscription.licenses_purchased
    carried = 0
    if previous is not None:
        # Licenses dropped from the subscription since take the taken-back seats with them first.
        carried = max(previous.taken_back - max(previous.licenses_purchased - purchased, 0), 0)
    position = compute_position(
        profile.id,
        profile.profile,
        everyone(),
        now=now,
        run_id=run_id,
        taken_back=carried + taken_back,
        kept=kept,
    )
    store.put_position(position)
    rewrite_trend_point(store, now)
    before = previous.model_dump(mode="json", include=set(CHANGES_THAT_MATTER)) if previous else None
    after = position.model_dump(mode="json", include=set(CHANGES_THAT_MATTER))
    if before != after:
        (notices or NoNotices()).put(
            "License Position Changed",
            {
                "profile_id": profile.id,
                "name": profile.profile.name,
                "previous": before,
                "current": after,
                "potential_savings": position.potential_savings.model_dump(mode="json"),
            },
        )
    _warn_when_running_low(profile, previous, position, notices or NoNotices())
    _warn_when_template_deprecated(profile, previous, now, notices or NoNotices())
    return position


def rewrite_trend_point(store: ReconciliationStore, now: datetime) -> TrendPoint:
    """Today's point of the overview's trend: every profile's latest position, summed again."""
    # Cold start: the overview's models only where its trend is written (see the top).
    from seatkeeper.licensing.analytics import trend_point

    point = trend_point(now.date(), store.standing_positions())
    store.put_trend_point(point)
    return point


def _warn_when_running_low(
    profile: ProfileRecord, previous: LicensePosition | None, position: LicensePosition, notices: Notices
) -> None:
    """`Licenses Running Low` when free licenses drop under policy.low_seat_threshold (once, not every day)."""
    threshold = profile.profile.policy.low_seat_threshold
    if threshold is None:
        return

    def low(p: LicensePosition | None) -> bool:
        return p is not None and p.licenses_purchased - p.assigned < threshold

    if low(position) and not low(previous):
        notices.put(
            "Licenses Running Low",
            {
                "profile_id": profile.id,
                "name": profile.profile.name,
                "licenses_purchased": position.licenses_purchased,
                "assigned": position.assigned,
                "free": position.licenses_purchased - position.assigned,
                "threshold": threshold,
            },
        )


def _warn_when_template_deprecated(
    profile: ProfileRecord, previous: LicensePosition | None, now: datetime, notices: Notices
) -> None:
    """`Template Deprecated` once, 90 days before the vendor stops the template's reclaim request."""
    if not profile.profile.template:
        return
    # Cold start: the catalog only for a profile made from a template.
    from seatkeeper.profiles.catalog import deprecation, templates

    template = templates().get(profile.profile.template)
    notice = template and deprecation(template, now=now, since=previous.reconciled_at if previous else None)
    if notice:
        notices.put("Template Deprecated", {"profile_id": profile.id, "name": profile.profile.name, **notice})


def readable_failure(name: str | None, cause: str | None) -> str:
    """One line for a failed profile: a nested sync's cause is its whole execution, a Lambda's its payload."""
    # Cold start: the sync's module only where a failure is read (see the top).
    from seatkeeper.sync.runs import run_error

    text = cause or ""
    if text.startswith("{"):
        try:
            payload = json.loads(text)
        except ValueError:
            payload = {}
        text = payload.get("cause") or payload.get("Cause") or payload.get("errorMessage") or text
        if isinstance(text, str) and text.startswith("{"):
            text = run_error(text) or text
    return f"{name}: {str(text)[:500]}" if name else str(text)[:500]


def finish(
    reconciliation: Reconciliation, results: list[dict[str, Any]], positions: Iterable[LicensePosition] = ()
) -> Reconciliation:
    """The reconciliation with its profiles' results; each succeeded one with the position its run gave.

    The positions come from the store, not through the state machine: a few hundred of them would
    outgrow Step Functions' 256 KB payload (see MAX_PROFILES).
    """
    by_run = {p.run_id: p for p in positions if p.run_id}
    outcomes = [
        ProfileResult.model_validate(
            {**r, "error": readable_failure(r.get("error_name"), r.get("cause"))}
            if r.get("status") == "failed"
            else {**r, "position": r.get("position") or by_run.get(r.get("run_id") or "")}
        )
        for r in results
    ]
    failed = sum(r.status == "failed" for r in outcomes)
    status: ReconciliationStatus = (
        "completed" if not failed else "failed" if failed == len(outcomes) else "partially_failed"
    )
    return reconciliation.model_copy(update={"status": status, "results": outcomes, "finished_at": _now()})


def record_failure(
    reconciliation_id: str,
    *,
    store: ReconciliationStore,
    error: str,
    cause: str,
    results: list[dict[str, Any]] | None,
    notices: Notices,
) -> Reconciliation:
    """Mark a reconciliation whose run died `failed`, with the profiles' results if the run had them.

    A reconciliation that is no longer running is left as it is.
    """
    current = store.get_reconciliation(reconciliation_id)
    if current.status != "running":
        return current
    failed = finish(current, results or []).model_copy(update={"status": "failed", "error": error, "cause": cause})
    store.replace_reconciliation(failed, expected_status="running")
    notices.put(
        "Reconciliation Finished",
        {
            "reconciliation_id": failed.id,
            "status": failed.status,
            "error": error,
            "profiles": {r.profile_id: r.status for r in failed.results},
        },
    )
    return failed
