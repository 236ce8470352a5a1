"""Reclamation: take back the licenses of stale users, safely.

A plan lists the candidates: stale users of the last sync that are not protected (by user or
role), not reclaimed already, and not created within the inactivity window. A dry run (the
default) only plans. A real run that would reclaim more than the policy's share of assigned
users or count waits for an admin's approval. Each user's reclaim request is sent at most once,
ever: an action record is written with a condition before the request goes out, so a retried
or re-run reclamation skips every user it already acted on. A failure on one user is recorded
and the others go on. Everything is written to the audit trail.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from seatkeeper.catalog import templates
from seatkeeper.errors import Conflict, InvalidInput, NotFound, SaaSRequestFailed, SaaSUnavailable, SeatkeeperError
from seatkeeper.notices import NoNotices, Notices
from seatkeeper.position import Amount
from seatkeeper.profile import Profile, iso_duration_seconds
from seatkeeper.profiles import ProfileRecord
from seatkeeper.sync import SnapshotStore, cutoff_for, standing, tracks_activity
from seatkeeper.user_records import SaaSUser

ReclamationStatus = Literal[
    "planned", "awaiting_approval", "in_grace_period", "running", "completed", "partially_failed", "canceled"
]
Outcome = Literal["reclaimed", "failed", "canceled_activity_detected", "outcome_unknown"]


class ReclamationNotFound(NotFound):
    def __init__(self, reclamation_id: str) -> None:
        super().__init__(f"reclamation {reclamation_id} not found")


class ReclamationConflict(Conflict):
    pass


class ReclamationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    dry_run: bool = True
    user_ids: list[str] | None = Field(None, max_length=10_000)


class Candidate(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    email: str | None = None
    name: str | None = None
    role: str | None = None
    last_activity: datetime | None = None
    created_at: datetime | None = None


class AuditEntry(BaseModel):
    model_config = ConfigDict(defer_build=True)

    at: str
    action: str
    by: str | None = None
    user_id: str | None = None
    request: str | None = None
    status_code: int | None = None
    outcome: str | None = None
    detail: str | None = None


class UserOutcome(BaseModel):
    model_config = ConfigDict(defer_build=True)

    user_id: str
    outcome: Outcome
    status_code: int | None = None
    detail: str | None = None


class Reclamation(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    profile_id: str
    status: ReclamationStatus
    dry_run: bool
    candidates: list[Candidate]
    grace_seconds: int = Field(0, description="Between the notice to each candidate and the reclaim")
    needs_approval: bool = False
    approval_reason: str | None = None
    planned_by: str | None = None
    approved_by: str | None = None
    created_at: str
    finished_at: str | None = None
    outcomes: list[UserOutcome] = Field(default_factory=list)
    audit: list[AuditEntry] = Field(default_factory=list)
    seat_cost: Amount | None = Field(None, description="One license's cost per billing period when planned")
    reclaimed: int = Field(0, description="Users whose license was taken back")
    savings: Amount | None = Field(None, description="What the reclaimed licenses cost per billing period")
    error: str | None = Field(None, description="When its run died before it finished: the error's name")
    cause: str | None = Field(None, description="When its run died before it finished: why, in words")
    warnings: list[str] = Field(
        default_factory=list, description="What reclaiming costs besides the seat: data that goes with it"
    )


class ReclamationSummary(BaseModel):
    """A reclamation without its candidates, outcomes and audit trail: for lists."""

    model_config = ConfigDict(defer_build=True)

    id: str
    profile_id: str
    status: ReclamationStatus
    dry_run: bool
    candidates: int
    approval_reason: str | None = None
    created_at: str
    finished_at: str | None = None
    reclaimed: int = 0
    savings: Amount | None = None

    @classmethod
    def of(cls, reclamation: Reclamation) -> ReclamationSummary:
        return cls(
            **reclamation.model_dump(include=set(cls.model_fields) - {"candidates", "savings"}),
            candidates=len(reclamation.candidates),
            savings=reclamation.savings,
        )


class ReclamationList(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[ReclamationSummary]


class ReclamationStore(Protocol):
    def put_reclamation(self, reclamation: Reclamation) -> None: ...

    def get_reclamation(self, reclamation_id: str) -> Reclamation: ...

    def replace_reclamation(self, reclamation: Reclamation, *, expected_status: str) -> None:
        """Store it if the stored one still has `expected_status`; ReclamationConflict otherwise."""

    def reclaimed(self, profile_id: str) -> set[str]:
        """The users of the profile that a reclamation already took a license from."""

    def claim_action(self, reclamation_id: str, user_id: str) -> bool:
        """Record that the user's request is about to be sent; False if a run of this reclamation already did."""

    def finish_action(self, reclamation_id: str, profile_id: str, outcome: UserOutcome) -> None:
        """Keep the outcome; a reclaimed user is shown as such in the stored snapshot."""

    def action_outcome(self, reclamation_id: str, user_id: str) -> UserOutcome | None: ...

    def acted_on(self, reclamation_id: str) -> dict[str, UserOutcome | None]:
        """Every user whose request a run of this reclamation claimed, with its outcome once it was kept."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _stored_users(snapshots: SnapshotStore, profile_id: str) -> Iterator[SaaSUser]:
    after: str | None = None
    while True:
        users, after = snapshots.users(profile_id, after, 1000)
        yield from users
        if after is None:
            return


def why_not_a_candidate(
    user: SaaSUser, profile: Profile, *, cutoff: datetime, tracked: bool, reclaimed: set[str]
) -> str | None:
    """None when the user is a candidate; otherwise the reason, in words."""
    policy = profile.policy
    protected_users = {p.casefold() for p in policy.protected_users}
    if user.id in reclaimed:
        return "already reclaimed"
    if user.id.casefold() in protected_users or (user.email or "").casefold() in protected_users:
        return "a protected user"
    if user.role and user.role.casefold() in {r.casefold() for r in policy.protected_roles}:
        return f"has the protected role {user.role!r}"
    if user.created_at is not None and user.created_at >= cutoff:
        return "created within the inactivity window"
    place = standing(user, cutoff=cutoff, tracked=tracked)
    if place != "stale":
        return f"not stale ({place})"
    return None


def plan(
    profile: ProfileRecord,
    request: ReclamationRequest,
    *,
    snapshots: SnapshotStore,
    store: ReclamationStore,
    planned_by: str | None,
    now: datetime | None = None,
) -> Reclamation:
    """The candidates, and whether an admin must approve; 422 for user_ids that are not candidates."""
    if not request.dry_run and profile.profile.reclaim is None:
        raise InvalidInput.at(("body", "dry_run"), "the profile has no reclaim request: it can recommend, not reclaim")
    cutoff, tracked = cutoff_for(profile.profile, now), tracks_activity(profile.profile)
    reclaimed = store.reclaimed(profile.id)
    assigned, candidates, reasons = 0, [], {}
    for user in _stored_users(snapshots, profile.id):
        assigned += user.active
        reason = why_not_a_candidate(user, profile.profile, cutoff=cutoff, tracked=tracked, reclaimed=reclaimed)
        if reason is None:
            candidates.append(Candidate(**user.model_dump(include=set(Candidate.model_fields))))
        else:
            reasons[user.id] = reason
    if request.user_ids is not None:
        wanted = dict.fromkeys(request.user_ids)
        by_id = {c.id: c for c in candidates}
        errors = [
            {
                "loc": ["body", "user_ids", i],
                "type": "not_a_candidate",
                "msg": f"{user_id} is {reasons.get(user_id, 'not a user of the last sync')}",
            }
            for i, user_id in enumerate(wanted)
            if user_id not in by_id
        ]
        if errors:
            raise InvalidInput(errors)
        candidates = [by_id[user_id] for user_id in wanted]
    policy = profile.profile.policy
    share = 100 * len(candidates) / assigned if assigned else 0.0
    # Suspicious data first: an admin reviews it whatever the caps would say.
    reason = suspicious(snapshots.snapshot(profile.id))
    if reason is None and len(candidates) > policy.max_reclaim_count:
        reason = f"{len(candidates)} users is more than max_reclaim_count ({policy.max_reclaim_count})"
    elif reason is None and share > policy.max_reclaim_percent:
        reason = f"{share:.1f}% of assigned users is more than max_reclaim_percent ({policy.max_reclaim_percent:g}%)"
    needs_approval = not request.dry_run and reason is not None and bool(candidates)
    status: ReclamationStatus = "planned" if request.dry_run else "awaiting_approval" if needs_approval else "running"
    subscription = profile.profile.subscription
    reclamation = Reclamation(
        id=f"rcl_{uuid.uuid4().hex[:20]}",
        profile_id=profile.id,
        status=status,
        dry_run=request.dry_run,
        candidates=candidates,
        needs_approval=needs_approval,
        approval_reason=reason if needs_approval else None,
        grace_seconds=iso_duration_seconds(profile.profile.policy.grace_period),
        planned_by=planned_by,
        created_at=_now(),
        seat_cost=Amount(
            amount=subscription.cost_per_license, currency=subscription.currency, period=subscription.billing_period
        ),
        warnings=warnings_for(profile.profile),
        audit=[
            AuditEntry(
                at=_now(),
                action="planned",
                by=planned_by,
                detail=f"{len(candidates)} candidates; {'dry run' if request.dry_run else 'real run'}"
                + (f"; needs approval: {reason}" if needs_approval else ""),
            )
        ],
    )
    store.put_reclamation(reclamation)
    return reclamation


def warnings_for(profile: Profile) -> list[str]:
    """The template's warning when the profile reclaims with the template's own request and it loses data."""
    known = templates().get(profile.template or "")
    if known is None or known.reclaim is None or not known.reclaim.loses_data or profile.reclaim is None:
        return []
    preset = known.profile.get("reclaim") or {}
    if (profile.reclaim.method, profile.reclaim.path) != (preset.get("method"), preset.get("path")):
        return []  # the profile's own reclaim request: what it does is the profile's to say
    return [f"{known.title}: reclaiming loses the user's data. {known.reclaim.note}"]


def suspicious(snapshot: dict[str, Any] | None) -> str | None:
    """Why the last sync's activity data looks broken next to the one before, if it does (fail closed)."""
    if not snapshot or not snapshot.get("previous") or not snapshot.get("assigned"):
        return None
    before = snapshot["previous"]
    if not before.get("assigned"):
        return None
    share_now = snapshot.get("with_activity", 0) / snapshot["assigned"]
    share_before = before.get("with_activity", 0) / before["assigned"]
    if share_now < 0.5 <= share_before:
        return (
            f"activity data looks broken: {share_now:.0%} of assigned users have any activity now, "
            f"{share_before:.0%} did before; an admin should review before anything is reclaimed"
        )
    if snapshot.get("stale") == snapshot["assigned"] and before.get("stale", 0) < before["assigned"]:
        return "activity data looks broken: every assigned user is stale now, which was not so before; review first"
    return None


def approve(reclamation_id: str, *, store: ReclamationStore, approved_by: str | None) -> Reclamation:
    current = store.get_reclamation(reclamation_id)
    if current.status != "awaiting_approval":
        raise ReclamationConflict(f"reclamation {reclamation_id} is {current.status}, not awaiting approval")
    approved = current.model_copy(
        update={
            "status": "running",
            "approved_by": approved_by,
            "audit": [*current.audit, AuditEntry(at=_now(), action="approved", by=approved_by)],
        }
    )
    store.replace_reclamation(approved, expected_status="awaiting_approval")
    return approved


class SeatTaker(Protocol):
    def take_back(self, candidate: Candidate) -> tuple[int, str]:
        """Send the profile's reclaim request for one user; (status code, request line)."""


def still_stale(profile: ProfileRecord, snapshots: SnapshotStore, now: datetime | None = None) -> set[str]:
    """The users of the current snapshot who are stale: a candidate not among them came back."""
    cutoff, tracked = cutoff_for(profile.profile, now), tracks_activity(profile.profile)
    return {
        u.id for u in _stored_users(snapshots, profile.id) if standing(u, cutoff=cutoff, tracked=tracked) == "stale"
    }


def execute(
    reclamation: Reclamation,
    *,
    store: ReclamationStore,
    seats: SeatTaker,
    stale_now: set[str],
    notices: Notices | None = None,
    before_finish: Callable[[], None] = lambda: None,
) -> Reclamation:
    """Send each candidate's reclaim request at most once, record every outcome, finish the reclamation.

    `stale_now` is who is stale in the current snapshot (after the grace period's sync, if any):
    a candidate whose activity came back is not reclaimed. `before_finish` runs once every outcome
    is recorded and before the reclamation says it is finished (the position is brought up to
    date there, so that whoever sees "completed" reads the position that follows from it).
    """
    if reclamation.status != "running":
        raise ReclamationConflict(f"reclamation {reclamation.id} is {reclamation.status}, not running")
    outcomes, audit = [], list(reclamation.audit)
    for candidate in reclamation.candidates:
        if candidate.id not in stale_now:
            canceled = UserOutcome(
                user_id=candidate.id,
                outcome="canceled_activity_detected",
                detail="active again since the plan; nothing was sent",
            )
            outcomes.append(canceled)
            audit.append(AuditEntry(at=_now(), action="canceled", user_id=candidate.id, outcome=canceled.outcome))
            continue
        if not store.claim_action(reclamation.id, candidate.id):
            earlier = store.action_outcome(reclamation.id, candidate.id)
            # A request that may have gone out is never sent again; an earlier run's outcome stands.
            outcomes.append(
                earlier
                or UserOutcome(
                    user_id=candidate.id,
                    outcome="outcome_unknown",
                    detail="a request may have been sent before; check the app",
                )
            )
            continue
        request_line = None
        try:
            status_code, request_line = seats.take_back(candidate)
            outcome = UserOutcome(user_id=candidate.id, outcome="reclaimed", status_code=status_code)
        except (SaaSRequestFailed, SaaSUnavailable, SeatkeeperError) as exc:
            outcome = UserOutcome(user_id=candidate.id, outcome="failed", detail=str(exc)[:300])
        store.finish_action(reclamation.id, reclamation.profile_id, outcome)
        outcomes.append(outcome)
        audit.append(
            AuditEntry(
                at=_now(),
                action="reclaim",
                user_id=candidate.id,
                request=request_line,
                status_code=outcome.status_code,
                outcome=outcome.outcome,
                detail=outcome.detail,
            )
        )
    failed = any(o.outcome in ("failed", "outcome_unknown") for o in outcomes)
    reclaimed = sum(o.outcome == "reclaimed" for o in outcomes)
    cost = reclamation.seat_cost
    done = reclamation.model_copy(
        update={
            "status": "partially_failed" if failed else "completed",
            "reclaimed": reclaimed,
            "savings": cost.model_copy(update={"amount": cost.amount * reclaimed}) if cost else None,
            "outcomes": outcomes,
            "finished_at": _now(),
            "audit": [
                *audit,
                AuditEntry(at=_now(), action="finished", detail="partially failed" if failed else "completed"),
            ],
        }
    )
    before_finish()
    store.replace_reclamation(done, expected_status="running")
    (notices or NoNotices()).put(
        "Reclamation Finished",
        {
            "reclamation_id": done.id,
            "profile_id": done.profile_id,
            "status": done.status,
            "reclaimed": [o.user_id for o in outcomes if o.outcome == "reclaimed"],
            "canceled": [o.user_id for o in outcomes if o.outcome == "canceled_activity_detected"],
            "failed": [o.user_id for o in outcomes if o.outcome in ("failed", "outcome_unknown")],
        },
    )
    return done


_PLACEHOLDER = re.compile(r"\{([^{}\s]*)\}")  # braces around no whitespace


def fill_in(template: Any, candidate: Candidate) -> Any:
    """The reclaim request's JSON body with {id}, {email}, ... of the candidate filled in, as text.

    Paths are filled by `saas_http.fill_path`, which makes each value one path segment. Braces
    around text without whitespace are a placeholder, and one that names no user field fails that
    user; braces with whitespace stay as they are, as a GraphQL query's "{ id }" do.
    """
    fields = {k: "" if v is None else str(v) for k, v in candidate.model_dump(mode="json").items()}

    def field(match: re.Match[str]) -> str:
        if match.group(1) not in fields:
            raise SaaSRequestFailed(f"the reclaim body's {match.group(0)!r} names no user field")
        return fields[match.group(1)]

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return _PLACEHOLDER.sub(field, value)
        if isinstance(value, list):
            return [fill(item) for item in value]
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        return value

    return fill(template)


def announce(reclamation: Reclamation, *, store: ReclamationStore, notices: Notices) -> Reclamation:
    """Tell each candidate's seat is about to be reclaimed, and start the grace period."""
    if reclamation.status != "running":
        raise ReclamationConflict(f"reclamation {reclamation.id} is {reclamation.status}, not running")
    until = datetime.now(UTC).timestamp() + reclamation.grace_seconds
    reclaim_at = datetime.fromtimestamp(until, UTC).isoformat(timespec="seconds")
    for candidate in reclamation.candidates:
        notices.put(
            "Seat Will Be Reclaimed",
            {
                "reclamation_id": reclamation.id,
                "profile_id": reclamation.profile_id,
                "user_id": candidate.id,
                "email": candidate.email,
                "reclaim_at": reclaim_at,
            },
        )
    waiting = reclamation.model_copy(
        update={
            "status": "in_grace_period",
            "audit": [
                *reclamation.audit,
                AuditEntry(
                    at=_now(),
                    action="announced",
                    detail=f"{len(reclamation.candidates)} notices; reclaim at {reclaim_at}",
                ),
            ],
        }
    )
    store.replace_reclamation(waiting, expected_status="running")
    return waiting


def end_grace_period(reclamation: Reclamation, *, store: ReclamationStore) -> Reclamation:
    running = reclamation.model_copy(
        update={"status": "running", "audit": [*reclamation.audit, AuditEntry(at=_now(), action="grace period over")]}
    )
    store.replace_reclamation(running, expected_status="in_grace_period")
    return running


def cancel(reclamation: Reclamation, *, store: ReclamationStore, reason: str, expected_status: str) -> Reclamation:
    """Fail closed: reclaim nothing, and say why."""
    canceled = reclamation.model_copy(
        update={
            "status": "canceled",
            "finished_at": _now(),
            "audit": [*reclamation.audit, AuditEntry(at=_now(), action="canceled", detail=reason)],
        }
    )
    store.replace_reclamation(canceled, expected_status=expected_status)
    return canceled


UNFINISHED: tuple[ReclamationStatus, ...] = ("running", "in_grace_period")


def record_failure(
    reclamation_id: str, *, store: ReclamationStore, error: str, cause: str, notices: Notices
) -> Reclamation:
    """Finish a reclamation whose run died, from what its action records say was done.

    Each user acted on keeps the outcome written for them; a user whose request was claimed but
    whose outcome was never kept may have been reclaimed (`outcome_unknown`). Nothing acted on:
    `canceled`; anything: `partially_failed`. A reclamation that is not running is left as it is.
    """
    current = store.get_reclamation(reclamation_id)
    if current.status not in UNFINISHED:
        return current
    acted_on = store.acted_on(reclamation_id)
    outcomes = [
        acted_on[c.id]
        or UserOutcome(
            user_id=c.id,
            outcome="outcome_unknown",
            detail="the run stopped after its request may have been sent; check the app",
        )
        for c in current.candidates
        if c.id in acted_on
    ]
    reclaimed = sum(o.outcome == "reclaimed" for o in outcomes)
    cost = current.seat_cost
    why = f"{error}: {cause}"
    failed = current.model_copy(
        update={
            "status": "partially_failed" if outcomes else "canceled",
            "error": error,
            "cause": cause,
            "reclaimed": reclaimed,
            "savings": cost.model_copy(update={"amount": cost.amount * reclaimed}) if cost else None,
            "outcomes": outcomes,
            "finished_at": _now(),
            "audit": [
                *current.audit,
                AuditEntry(
                    at=_now(),
                    action="failed",
                    detail=why if outcomes else f"{why}; nothing was reclaimed",
                ),
            ],
        }
    )
    store.replace_reclamation(failed, expected_status=current.status)
    notices.put(
        "Reclamation Finished",
        {
            "reclamation_id": failed.id,
            "profile_id": failed.profile_id,
            "status": failed.status,
            "error": error,
            "reclaimed": [o.user_id for o in outcomes if o.outcome == "reclaimed"],
            "canceled": [o.user_id for o in outcomes if o.outcome == "canceled_activity_detected"],
            "failed": [o.user_id for o in outcomes if o.outcome in ("failed", "outcome_unknown")],
        },
    )
    return failed
