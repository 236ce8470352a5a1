"""Reconciliation: sync each profile, then compute its license position; on a schedule or on demand.

The reconcile-all state machine runs these steps: `choose_profiles` (the given ones, or every
connected profile), then for each profile, at most a few at once, a sync run and
`record_position`; one profile's failure is reported and does not stop the others;
`finish` writes the result per profile.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from seatkeeper.errors import Conflict, InvalidInput, NotFound
from seatkeeper.notices import NoNotices, Notices
from seatkeeper.position import LicensePosition, compute_position
from seatkeeper.profiles import ProfileRecord
from seatkeeper.sync import SnapshotStore, run_error

ReconciliationStatus = Literal["running", "completed", "partially_failed", "failed"]


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

    profile_ids: list[str] | None = Field(None, max_length=1000)


class ReconciliationStore(Protocol):
    def put_reconciliation(self, reconciliation: Reconciliation) -> None: ...

    def get_reconciliation(self, reconciliation_id: str) -> Reconciliation: ...

    def replace_reconciliation(self, reconciliation: Reconciliation, *, expected_status: str) -> None:
        """Store it if the stored one still has `expected_status`; Conflict otherwise."""

    def put_position(self, position: LicensePosition) -> None: ...

    def latest_position(self, profile_id: str) -> LicensePosition | None: ...


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
) -> LicensePosition:
    """Compute the profile's position from its stored users and keep it, with its history;
    announce it when it differs from the one before."""

    def everyone() -> Any:
        after: str | None = None
        while True:
            users, after = snapshots.users(profile.id, after, 1000)
            yield from users
            if after is None:
                return

    previous = store.latest_position(profile.id)
    position = compute_position(profile.id, profile.profile, everyone(), now=now or datetime.now(UTC), run_id=run_id)
    store.put_position(position)
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
    return position


def readable_failure(name: str | None, cause: str | None) -> str:
    """One line for a failed profile: a nested sync's cause is its whole execution, a Lambda's its payload."""
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


def finish(reconciliation: Reconciliation, results: list[dict[str, Any]]) -> Reconciliation:
    outcomes = [
        ProfileResult.model_validate(
            {**r, "error": readable_failure(r.get("error_name"), r.get("cause"))} if r.get("status") == "failed" else r
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
