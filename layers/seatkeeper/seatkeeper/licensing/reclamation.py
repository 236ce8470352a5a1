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
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from seatkeeper.core.errors import Conflict, InvalidInput, NotFound, SaaSRequestFailed, SaaSUnavailable, SeatkeeperError
from seatkeeper.core.money import Amount, Money
from seatkeeper.licensing.billing import next_billing_date
from seatkeeper.licensing.position import still_billed, vendor_bills_until
from seatkeeper.notify.events import NoNotices, Notices
from seatkeeper.profiles.model import Profile, iso_duration_seconds
from seatkeeper.profiles.records import ProfileRecord
from seatkeeper.saas.records import SaaSUser

# The users' standing (the sync's module) only where candidates are chosen or checked again: the
# steps that announce, wait or record a failure never import the sync at cold start.
if TYPE_CHECKING:
    from seatkeeper.profiles.catalog import ConfigurationTemplate, ReclaimFacts
    from seatkeeper.sync.runs import SnapshotStore, TakenBack

ReclamationStatus = Literal[
    "planned",
    "awaiting_approval",
    "in_grace_period",
    "running",
    "completed",
    "partially_failed",
    "canceled",
    "rejected",
]
Outcome = Literal[
    "reclaimed",
    "failed",
    "canceled_activity_detected",
    "outcome_unknown",
    # keep requests (SPEC "Seat lifecycle")
    "kept_by_user",
    "kept_by_admin",
    "released_by_user",
    "canceled_keep_request_undecided",
    # notifications (SPEC "Notifications"): the keep prompt reached no channel, and the policy waits for an admin
    "canceled_user_not_reached",
    # downgrade (SPEC "Tiers and downgrade")
    "downgraded",
    # the app accepted the request, and the next sync still found the seat held (never sent again by itself)
    "not_effective",
]
StaleAction = Literal["reclaim", "downgrade"]
DecisionStatus = Literal["awaiting_approval", "kept_by_user", "kept_by_admin", "released_by_user", "reclaim_by_admin"]
# Outcomes that took the seat back (or moved it down a tier): counted, and saved.
TOOK_BACK = ("reclaimed", "released_by_user", "downgraded")


class ReclamationNotFound(NotFound):
    def __init__(self, reclamation_id: str) -> None:
        super().__init__(f"reclamation {reclamation_id} not found")


class ReclamationConflict(Conflict):
    pass


class ReclamationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    dry_run: bool = True
    user_ids: list[str] | None = Field(None, max_length=10_000)


class AdminReason(BaseModel):
    """Why an admin rejects or cancels a reclamation: kept on its audit trail and in the event."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")


class Candidate(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    email: str | None = None
    name: str | None = None
    role: str | None = None
    last_activity: datetime | None = None
    created_at: datetime | None = None
    keep_url: str | None = Field(None, description="The user's keep link during the grace period (admins only)")
    tier: str | None = None
    saves: Money | None = Field(None, description="What acting on this seat saves per billing period")
    activity_source: Literal["app", "idp"] | None = Field(
        None, description="Where last_activity comes from: the app's own record, or a sign-in the IdP's log shows"
    )
    why: str | None = Field(None, description="Why the user is a candidate, in words")
    # For a reclaim request that removes the seat's assignment in the identity provider.
    assignment_id: str | None = None
    assignment_resource_id: str | None = None
    kind: str | None = Field(
        None, description="The more list of seat holders that lists the user (users.also): its removal is sent"
    )


class Decision(BaseModel):
    """A candidate's answer to the keep link, and an admin's decision on it when the policy asks for one."""

    model_config = ConfigDict(defer_build=True)

    user_id: str
    status: DecisionStatus
    reason: str | None = None
    at: str
    by: str | None = Field(None, description="The admin who decided; none for the user's own answer")
    requested_at: str | None = Field(None, description="When the user asked to keep it, if an admin decided")


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
    tier: str | None = Field(None, description="The tier the seat moved to, for a downgrade")


class Reclamation(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    profile_id: str
    status: ReclamationStatus
    dry_run: bool
    action: StaleAction = Field("reclaim", description="Reclaim each seat, or move it to the downgrade_to tier")
    downgrade_to: str | None = None
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
    downgraded: int = Field(0, description="Users whose license moved to the downgrade_to tier")
    savings: Amount | None = Field(None, description="What the reclaimed licenses cost per billing period")
    error: str | None = Field(None, description="When its run died before it finished: the error's name")
    cause: str | None = Field(None, description="When its run died before it finished: why, in words")
    reclaim_at: str | None = Field(None, description="When the grace period ends; keep links expire then")
    decisions: list[Decision] = Field(default_factory=list, description="Answers to keep links, by user")
    unreached: list[str] = Field(
        default_factory=list, description="Candidates whose keep prompt reached no channel, left for an admin"
    )
    # Usage from the identity provider: stale seats given through a group, which no per-user request frees.
    needs_group_change: list[GroupChange] = Field(default_factory=list)
    warnings: list[str] = Field(
        default_factory=list, description="What reclaiming costs besides the seat: data that goes with it"
    )
    data_loss: str | None = Field(
        None,
        description="The warning (one of warnings) when reclaiming takes the users' data with their seats:"
        " approving the plan asks to confirm it",
    )


class ReclamationSummary(BaseModel):
    """A reclamation without its candidates, outcomes and audit trail: for lists."""

    model_config = ConfigDict(defer_build=True)

    id: str
    profile_id: str
    status: ReclamationStatus
    dry_run: bool
    action: StaleAction = "reclaim"
    candidates: int
    approval_reason: str | None = None
    created_at: str
    finished_at: str | None = None
    reclaimed: int = 0
    downgraded: int = 0
    savings: Amount | None = None
    saving_starts_on: date | None = Field(
        None,
        description="A finished one's first bill without its seats: the app's next bill after it finished; null"
        " before then, without a saving, or when the app's subscription has no renewal date (unknown)",
    )

    @classmethod
    def of(cls, reclamation: Reclamation) -> ReclamationSummary:
        return cls(
            **reclamation.model_dump(include=set(cls.model_fields) - {"candidates", "savings"}),
            candidates=len(reclamation.candidates),
            savings=reclamation.savings,
        )


def with_saving_dates(summaries: list[ReclamationSummary], profile: Profile) -> list[ReclamationSummary]:
    """Each finished one's saving dated by the profile's bills as they stand (read, never stored)."""
    renewal_date = profile.subscription.renewal_date

    def dated(summary: ReclamationSummary) -> ReclamationSummary:
        if not (summary.finished_at and summary.savings and summary.savings.amount):
            return summary
        finished = datetime.fromisoformat(summary.finished_at).date()
        starts = next_billing_date(renewal_date, summary.savings.period, after=finished)
        return summary.model_copy(update={"saving_starts_on": starts})

    return [dated(s) for s in summaries]


class Saving(BaseModel):
    """What one completed reclamation saves: its seats' cost per billing period, from when it finished."""

    model_config = ConfigDict(defer_build=True)

    reclamation_id: str
    profile_id: str
    finished_at: datetime
    seats: int
    per_period: Amount

    @classmethod
    def of(cls, reclamation: Reclamation) -> Saving | None:
        if not reclamation.savings or not reclamation.savings.amount or not reclamation.finished_at:
            return None
        return cls(
            reclamation_id=reclamation.id,
            profile_id=reclamation.profile_id,
            finished_at=datetime.fromisoformat(reclamation.finished_at),
            seats=reclamation.reclaimed + reclamation.downgraded,
            per_period=reclamation.savings,
        )

    def starts_on(self, renewal_date: date | None) -> date | None:
        """The first bill without its seats: its app's next one after the day it finished; None when unknown."""
        return next_billing_date(renewal_date, self.per_period.period, after=self.finished_at.date())


class ReclamationList(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[ReclamationSummary]


class ReclamationStore(Protocol):
    def put_reclamation(self, reclamation: Reclamation) -> None: ...

    def get_reclamation(self, reclamation_id: str) -> Reclamation: ...

    def replace_reclamation(
        self, reclamation: Reclamation, *, expected_status: str, expected_revision: int | None = None
    ) -> None:
        """Store it if the stored one still has `expected_status` (and, if given, as many audit entries as
        `expected_revision`: nobody changed it since it was read); ReclamationConflict otherwise."""

    def taken_back(self, profile_id: str, *, marked_users: bool = True) -> dict[str, TakenBack]:
        """The seats of the profile that reclamations took back, by user id, with what the syncs since found;
        `marked_users`: also those only the stored users say (marked by the code before, until the next sync)."""

    def check_taken_back(self, profile_id: str, marks: list[TakenBack]) -> list[str]:
        """Keep what a sync found about the seats; the user ids whose mark a newer reclaim replaced meanwhile."""

    def claim_action(self, reclamation_id: str, user_id: str) -> bool:
        """Record that the user's request is about to be sent; False if a run of this reclamation already did."""

    def finish_action(self, reclamation_id: str, profile_id: str, outcome: UserOutcome) -> None:
        """Keep the outcome; a reclaimed user is shown as such in the stored snapshot."""

    def action_outcome(self, reclamation_id: str, user_id: str) -> UserOutcome | None: ...

    def acted_on(self, reclamation_id: str) -> dict[str, UserOutcome | None]:
        """Every user whose request a run of this reclamation claimed, with its outcome once it was kept."""

    def decisions(self, reclamation_id: str) -> dict[str, Decision]:
        """The candidates' answers to their keep links, by user id."""

    def kept(self, profile_id: str) -> dict[str, str]:
        """Users of the profile whose seat is kept, with the time the protection ends."""


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
    user: SaaSUser,
    profile: Profile,
    *,
    cutoff: datetime,
    tracked: bool,
    reclaimed: set[str],
    kept: dict[str, str] | None = None,
    not_effective: dict[str, TakenBack] | None = None,
) -> str | None:
    """None when the user is a candidate; otherwise the reason, in words."""
    policy = profile.policy
    protected_users = {p.casefold() for p in policy.protected_users}
    if user.id in reclaimed:
        return "already reclaimed"
    if not_effective and user.id in not_effective:
        on = not_effective[user.id].at.date().isoformat()
        return f"not effective: the app still holds it after a reclaim on {on}"
    if kept and user.id in kept:
        return f"kept by the user until {kept[user.id]}"
    target = policy.downgrade_to if policy.stale_action == "downgrade" else None
    if target is not None and (user.tier or "").casefold() == target.casefold():
        return f"already on the tier {target!r}"
    if user.id.casefold() in protected_users or (user.email or "").casefold() in protected_users:
        return "a protected user"
    if user.role and user.role.casefold() in {r.casefold() for r in policy.protected_roles}:
        return f"has the protected role {user.role!r}"
    if (idp_reason := why_the_idp_keeps(user, profile)) is not None:
        return idp_reason
    if user.orphaned and user.active:
        return None  # a leaver still holding a license: the first thing to reclaim, whatever the activity
    if user.created_at is not None and user.created_at >= cutoff:
        return "created within the inactivity window"
    # Cold start: the users' standing only where candidates are chosen (see the top).
    from seatkeeper.sync.runs import standing

    place = standing(user, cutoff=cutoff, tracked=tracked, policy=policy)
    if place != "stale":
        return f"not stale ({place})"
    return None


def why_a_candidate(user: SaaSUser, *, inactivity_days: int) -> str:
    """What makes a candidate stale, in the words an admin decides on."""
    if user.orphaned:
        return "a leaver: the identity provider no longer has this person, and the seat is still assigned"
    if user.last_activity is not None:
        return f"no activity since {user.last_activity.date().isoformat()} (the window is {inactivity_days} days)"
    created = f", created {user.created_at.date().isoformat()}" if user.created_at else ""
    return f"never active{created} (the window is {inactivity_days} days)"


def activity_source(user: SaaSUser) -> Literal["app", "idp"] | None:
    """The IdP when its sign-in is the latest activity known (the sync takes the later of the two)."""
    if user.last_activity is None:
        return None
    return "idp" if user.last_sign_in is not None and user.last_sign_in >= user.last_activity else "app"


# --- usage from the identity provider ---------------------------------------------------------


def why_the_idp_keeps(user: SaaSUser, profile: Profile) -> str | None:
    """Why the identity provider's view keeps the user out of a plan: an excluded account, a group's seat."""
    # Cold start: the IdP's module only where candidates are chosen.
    from seatkeeper.identity.provider import excluded

    if excluded(user, profile.policy):
        return "an excluded user (policy.excluded_users)"
    if user.assigned_via_group is not None:
        return f"assigned through the group {user.assigned_via_group!r}: change the group to free the seat"
    return None


class GroupChange(BaseModel):
    """A stale seat that only a change to its group can free."""

    model_config = ConfigDict(defer_build=True)

    user_id: str
    email: str | None = None
    group: str


def refuse_stale_data(profile: ProfileRecord, snapshots: SnapshotStore, now: datetime | None = None) -> None:
    """409 unless the last successful sync is at most policy.max_snapshot_age old.

    A sync that keeps failing leaves the last snapshot in place: its "inactive" users are yesterday's,
    and may have signed in since. Nothing is taken back on data older than the policy allows.
    """
    limit = profile.profile.policy.max_snapshot_age
    snapshot = snapshots.snapshot(profile.id)
    if not snapshot or not snapshot.get("synced_at"):
        raise ReclamationConflict(f"profile {profile.id} has no successful sync yet: sync it before reclaiming")
    synced_at = datetime.fromisoformat(snapshot["synced_at"])
    age = (now or datetime.now(UTC)) - synced_at
    if age.total_seconds() > iso_duration_seconds(limit):
        raise ReclamationConflict(
            f"the last successful sync of profile {profile.id} was at {snapshot['synced_at']}, "
            f"{age.days} days {age.seconds // 3600} hours ago, older than policy.max_snapshot_age ({limit}): "
            "sync it again (or see why its syncs fail) before reclaiming"
        )


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
    policy = profile.profile.policy
    action = policy.stale_action
    acts = profile.profile.reclaim if action == "reclaim" else profile.profile.downgrade
    if not request.dry_run and acts is None:
        raise InvalidInput.at(
            ("body", "dry_run"), f"the profile has no {action} request: it can recommend, not {action}"
        )
    if not request.dry_run:
        refuse_stale_data(profile, snapshots, now)
    last_sync = snapshots.snapshot(profile.id)
    refuse_without_activity(last_sync)
    subscription = profile.profile.subscription
    target_cost = subscription.cost_of(policy.downgrade_to) if action == "downgrade" else Decimal(0)
    # Cold start: the users' standing only where candidates are chosen (see the top).
    from seatkeeper.sync.runs import cutoff_for, standing, tracks_activity

    cutoff, tracked = cutoff_for(profile.profile, now), tracks_activity(profile.profile)
    billed_until = vendor_bills_until(profile.profile, now)  # a vendor that credits idle seats itself (Slack)
    (reclaimed, held), kept = _taken_back(store.taken_back(profile.id)), store.kept(profile.id)
    named = set(request.user_ids or ())
    assigned, candidates, reasons, again = 0, [], {}, []
    group_changes: list[GroupChange] = []
    for user in _stored_users(snapshots, profile.id):
        assigned += user.active
        reason = why_not_a_candidate(
            user,
            profile.profile,
            cutoff=cutoff,
            tracked=tracked,
            reclaimed=reclaimed,
            kept=kept,
            not_effective={k: v for k, v in held.items() if k not in named},
        )
        if reason is None:
            saves, why = _unless_unbilled(
                user,
                max(subscription.cost_of(user.tier) - target_cost, Decimal(0)),
                why_a_candidate(user, inactivity_days=policy.inactivity_days),
                billed_until,
            )
            if user.id in held:
                again.append(user.id)
                why = f"named again: the reclaim on {held[user.id].at.date().isoformat()} did not take effect; {why}"
            candidates.append(
                Candidate(
                    **user.model_dump(include=set(Candidate.model_fields)),
                    saves=saves,
                    activity_source=activity_source(user),
                    why=why,
                )
            )
        else:
            reasons[user.id] = reason
            if user.assigned_via_group and standing(user, cutoff=cutoff, tracked=tracked, policy=policy) == "stale":
                group_changes.append(GroupChange(user_id=user.id, email=user.email, group=user.assigned_via_group))
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
    share = 100 * len(candidates) / assigned if assigned else 0.0
    # Suspicious data first: an admin reviews it whatever the caps would say; so is a removal call
    # or seat rule that no vendor source confirms.
    reason = suspicious(last_sync) or unverified_reason(profile.profile)
    if reason is None and again:
        reason = (
            f"{len(again)} of the seats named were reclaimed before and the app still holds them: "
            "an admin decides to send the request again"
        )
    if reason is None and len(candidates) > policy.max_reclaim_count:
        reason = f"{len(candidates)} users is more than max_reclaim_count ({policy.max_reclaim_count})"
    elif reason is None and share > policy.max_reclaim_percent:
        reason = f"{share:.1f}% of assigned users is more than max_reclaim_percent ({policy.max_reclaim_percent:g}%)"
    needs_approval = not request.dry_run and reason is not None and bool(candidates)
    status: ReclamationStatus = "planned" if request.dry_run else "awaiting_approval" if needs_approval else "running"
    reclamation = Reclamation(
        id=f"rcl_{uuid.uuid4().hex[:20]}",
        profile_id=profile.id,
        status=status,
        dry_run=request.dry_run,
        action=action,
        downgrade_to=policy.downgrade_to if action == "downgrade" else None,
        candidates=candidates,
        needs_approval=needs_approval,
        approval_reason=reason if needs_approval else None,
        grace_seconds=iso_duration_seconds(profile.profile.policy.grace_period),
        planned_by=planned_by,
        created_at=_now(),
        needs_group_change=group_changes,
        seat_cost=Amount(
            amount=subscription.cost_per_license, currency=subscription.currency, period=subscription.billing_period
        ),
        warnings=[*warnings_for(profile.profile), *unbilled_warning(billed_until, candidates)],
        data_loss=data_loss_warning(profile.profile),
        audit=[
            AuditEntry(
                at=_now(),
                action="planned",
                by=planned_by,
                detail=f"{len(candidates)} candidates to {action}; {'dry run' if request.dry_run else 'real run'}"
                + (f"; needs approval: {reason}" if needs_approval else ""),
            )
        ],
    )
    store.put_reclamation(reclamation)
    return reclamation


def _taken_back(marks: dict[str, TakenBack]) -> tuple[set[str], dict[str, TakenBack]]:
    """The seats taken back that no sync checked yet (never taken again), and those the app still holds.

    A held seat is taken again only when a plan names it (an admin's approval then sends it once more);
    one the app let go is a new seat should it come back.
    """
    sent = {user_id for user_id, mark in marks.items() if mark.checked == "sent"}
    return sent, {user_id: mark for user_id, mark in marks.items() if mark.checked == "not_effective"}


def warnings_for(profile: Profile) -> list[str]:
    """What reclaiming with the profile's request costs besides the seat, in the template's words: the
    data that goes with it, and a bill that does not drop by itself."""
    facts = _reclaim_facts(profile)
    if facts is None:
        return []
    title, reclaim = facts
    return [
        *([_loses_data(title, reclaim)] if reclaim.loses_data else []),
        # The savings a plan shows are what the vendor stops billing: here, only once someone lowers the seats.
        *(
            [
                f"{title}: the bill does not drop by itself: the savings shown wait for the paid seats to be"
                f" lowered. {reclaim.note}"
            ]
            if not reclaim.bill_drops
            else []
        ),
    ]


def data_loss_warning(profile: Profile) -> str | None:
    """The one of warnings_for that says reclaiming takes the user's data with the seat (approving asks)."""
    facts = _reclaim_facts(profile)
    return _loses_data(*facts) if facts and facts[1].loses_data else None


def _loses_data(title: str, reclaim: ReclaimFacts) -> str:
    return f"{title}: reclaiming loses the user's data. {reclaim.note}"


def _reclaim_facts(profile: Profile) -> tuple[str, ReclaimFacts] | None:
    """The title of the template that says what the profile's reclaim does, and its facts; None when the
    profile's own request speaks for itself.

    A profile made from an identity provider's app reclaims with the IdP's unassign: its IdP template's
    app_reclaim says what that does.
    """
    # The templates and the IdP's requests only when planning: the reclaim steps never load them.
    from seatkeeper.identity.provider import template_of_unassign
    from seatkeeper.profiles.catalog import templates

    idp = templates().get(template_of_unassign(profile) or "")
    if idp is not None and idp.app_reclaim is not None:
        return idp.title, idp.app_reclaim
    known = templates().get(profile.template or "")
    if known is None or known.reclaim is None or profile.reclaim is None:
        return None
    preset = known.profile.get("reclaim") or {}
    if (profile.reclaim.method, profile.reclaim.path) != (preset.get("method"), preset.get("path")):
        return None  # the profile's own reclaim request: what it does is the profile's to say
    return known.title, known.reclaim


def _unbilled_words(known: ConfigurationTemplate) -> str:
    days = known.reclaim.unbilled_after_idle_days if known.reclaim else None
    return f"{known.title} no longer bills a member idle over {days} days"


def _unless_unbilled(
    user: SaaSUser, saves: Decimal, why: str, billed_until: tuple[datetime, ConfigurationTemplate] | None
) -> tuple[Decimal, str]:
    """What taking the seat back saves, and why it is a candidate: nothing when the vendor credits it already."""
    if billed_until is None or still_billed(user.last_activity, billed_until[0]):
        return saves, why
    # Taking back a seat the vendor no longer bills frees it, and saves nothing.
    return Decimal(0), f"{why}; {_unbilled_words(billed_until[1])}: it saves nothing"


def unbilled_warning(
    billed_until: tuple[datetime, ConfigurationTemplate] | None, candidates: list[Candidate]
) -> list[str]:
    """The vendor's billing policy in its own words when some candidates already cost nothing."""
    if billed_until is None:
        return []
    idle = sum(not still_billed(c.last_activity, billed_until[0]) for c in candidates)
    known = billed_until[1]
    if not idle or known.reclaim is None:
        return []
    return [
        f"{known.title}: {idle} of the {len(candidates)} candidates save nothing: {_unbilled_words(known)}, and the"
        f' savings shown leave them out. {known.title} says: "{known.reclaim.billing_says}"'
        " Candidates with no known activity are counted at their price."
    ]


# The facts whose doubt makes a real run wait for an admin: what the request does, and to whom.
UNVERIFIED_FOR_A_REAL_RUN = ("reclaim", "seat", "loses_data")


def unverified_reason(profile: Profile) -> str | None:
    """Why a real run waits for approval when the profile relies on a template fact no vendor confirms.

    A profile made from an identity provider's app relies on its IdP template's reclaim: the IdP's unassign.
    """
    # The templates and the IdP's requests only when planning: the reclaim steps never load them.
    from seatkeeper.identity.provider import template_of_unassign
    from seatkeeper.profiles.catalog import templates

    facts: tuple[str, ...] = UNVERIFIED_FOR_A_REAL_RUN
    known = templates().get(profile.template or "")
    # An IdP's app profile reclaims with the IdP's own unassign: template_of_unassign has matched it already.
    from_idp = known is None
    if known is None:
        known, facts = templates().get(template_of_unassign(profile) or ""), ("reclaim",)
    if known is None:
        return None
    doubts = [
        f"{fact} ({known.unverified[fact]})"
        for fact in facts
        if fact in known.unverified and (from_idp or _takes_from_template(profile, known.profile, fact))
    ]
    return f"the {known.name} template's {'; '.join(doubts)} is unverified" if doubts else None


def _same_path(own: str, template: str | None) -> bool:
    """The template's path with its `<placeholders>` filled in (an organization's id, say) is still its path."""
    if template is None:
        return False
    pattern = "[^/]+".join(re.escape(part) for part in re.split(r"<[^<>/]+>", template))
    return re.fullmatch(pattern, own) is not None


def _takes_from_template(profile: Profile, template: dict[str, Any], fact: str) -> bool:
    """Whether the profile still does what the template's fact speaks of: a profile that removes users with a
    request of its own, or lists them from an endpoint of its own, says for itself what its request does and
    who holds a seat, and the template's doubt is not about it."""
    if fact in ("reclaim", "loses_data"):
        own, theirs = profile.reclaim, template.get("reclaim") or {}
        return own is not None and own.method == theirs.get("method") and _same_path(own.path, theirs.get("path"))
    if fact == "seat":
        users = template.get("users") or {}
        return (profile.users.path, profile.users.fields.active) == (
            users.get("path"),
            (users.get("fields") or {}).get("active"),
        )
    return True


def refuse_without_activity(snapshot: dict[str, Any] | None) -> None:
    """409 while the last sync warned that its activity data is missing: no data is not "never signed in"."""
    for warning in (snapshot or {}).get("warnings", []):
        if warning.get("blocks_inactivity"):
            raise ReclamationConflict(
                f"the last sync found no usable activity at {warning['field']}"
                + (f" ({warning['path']!r})" if warning.get("path") else "")
                + f": {warning['message']}. Fix the profile and sync again before planning removals by inactivity"
            )


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


def approve(
    reclamation_id: str,
    *,
    store: ReclamationStore,
    approved_by: str | None,
    profile_of: Callable[[str], ProfileRecord],
    snapshots: SnapshotStore,
    now: datetime | None = None,
) -> Reclamation:
    current = store.get_reclamation(reclamation_id)
    if current.status != "awaiting_approval":
        raise ReclamationConflict(f"reclamation {reclamation_id} is {current.status}, not awaiting approval")
    # An approval given days after the plan starts it on the data of then: the same bound as a plan's.
    refuse_stale_data(profile_of(current.profile_id), snapshots, now)
    approved = current.model_copy(
        update={
            "status": "running",
            "approved_by": approved_by,
            "audit": [*current.audit, AuditEntry(at=_now(), action="approved", by=approved_by)],
        }
    )
    # The revision too: a user excluded meanwhile is never approved back into the plan.
    store.replace_reclamation(approved, expected_status="awaiting_approval", expected_revision=len(current.audit))
    return approved


def reject(reclamation_id: str, *, store: ReclamationStore, by: str | None, reason: str) -> Reclamation:
    """An admin says no to a plan that waits for approval: nothing is sent, and it leaves the approval queue."""
    current = store.get_reclamation(reclamation_id)
    if current.status != "awaiting_approval":
        raise ReclamationConflict(f"reclamation {reclamation_id} is {current.status}, not awaiting approval")
    rejected = current.model_copy(
        update={
            "status": "rejected",
            "finished_at": _now(),
            "audit": [*current.audit, AuditEntry(at=_now(), action="rejected", by=by, detail=reason)],
        }
    )
    store.replace_reclamation(rejected, expected_status="awaiting_approval", expected_revision=len(current.audit))
    return rejected


def cancel_grace_period(reclamation_id: str, *, store: ReclamationStore, by: str | None, reason: str) -> Reclamation:
    """An admin stops a reclamation during its grace period: no further seat is taken back.

    The keep links stop working with the status (`keep.open_ticket`). A seat its user released
    already went back at once: its outcome stays, and is counted, as the record of what was done.
    """
    current = store.get_reclamation(reclamation_id)
    if current.status != "in_grace_period":
        raise ReclamationConflict(f"reclamation {reclamation_id} is {current.status}, not in its grace period")
    acted_on = store.acted_on(reclamation_id)
    outcomes = [
        acted_on[c.id]
        or UserOutcome(user_id=c.id, outcome="outcome_unknown", detail="a release may have been sent; check the app")
        for c in current.candidates
        if c.id in acted_on
    ]
    canceled = current.model_copy(
        update={
            "status": "canceled",
            **_took_back(current, outcomes),
            "outcomes": outcomes,
            "decisions": list(store.decisions(reclamation_id).values()),
            "finished_at": _now(),
            "audit": [*current.audit, AuditEntry(at=_now(), action="canceled", by=by, detail=reason)],
        }
    )
    store.replace_reclamation(canceled, expected_status="in_grace_period")
    return canceled


class SeatTaker(Protocol):
    def take_back(self, candidate: Candidate) -> tuple[int, str]:
        """Send the profile's reclaim request for one user; (status code, request line)."""

    def move_to_tier(self, candidate: Candidate, tier: str) -> tuple[int, str]:
        """Send the profile's downgrade request for one user; (status code, request line)."""


def still_stale(profile: ProfileRecord, snapshots: SnapshotStore, now: datetime | None = None) -> set[str]:
    """The users of the current snapshot who are stale: a candidate not among them came back."""
    # Cold start: the users' standing only where candidates are chosen (see the top).
    from seatkeeper.sync.runs import cutoff_for, standing, tracks_activity

    cutoff, tracked = cutoff_for(profile.profile, now), tracks_activity(profile.profile)
    policy = profile.profile.policy
    return {
        u.id
        for u in _stored_users(snapshots, profile.id)
        if standing(u, cutoff=cutoff, tracked=tracked, policy=policy) == "stale"
    }


def send_once(
    reclamation: Reclamation, candidate: Candidate, *, store: ReclamationStore, seats: SeatTaker, done_as: Outcome
) -> tuple[UserOutcome, AuditEntry | None]:
    """Send the candidate's request unless a run (or the user's release) of this reclamation claimed it already.

    The claim is written with a condition before the request goes out: a request that may
    have gone out is never sent again, and an earlier outcome stands.
    """
    if not store.claim_action(reclamation.id, candidate.id):
        earlier = store.action_outcome(reclamation.id, candidate.id)
        return earlier or UserOutcome(
            user_id=candidate.id, outcome="outcome_unknown", detail="a request may have been sent before; check the app"
        ), None
    request_line, tier = None, reclamation.downgrade_to if reclamation.action == "downgrade" else None
    try:
        if tier is not None:
            status_code, request_line = seats.move_to_tier(candidate, tier)
        else:
            status_code, request_line = seats.take_back(candidate)
        outcome = UserOutcome(user_id=candidate.id, outcome=done_as, status_code=status_code, tier=tier)
    except (SaaSRequestFailed, SaaSUnavailable, SeatkeeperError) as exc:
        outcome = UserOutcome(user_id=candidate.id, outcome="failed", detail=str(exc)[:300])
    store.finish_action(reclamation.id, reclamation.profile_id, outcome)
    return outcome, AuditEntry(
        at=_now(),
        action=reclamation.action,
        user_id=candidate.id,
        request=request_line,
        status_code=outcome.status_code,
        outcome=outcome.outcome,
        detail=outcome.detail,
    )


def _decided(candidate: Candidate, decision: Decision | None) -> UserOutcome | None:
    """The outcome a keep decision gives without any request; None when the seat is to be taken back."""
    if decision is None or decision.status in ("released_by_user", "reclaim_by_admin"):
        return None
    if decision.status == "awaiting_approval":
        # Nobody takes a license its user asked to keep before an admin said no.
        return UserOutcome(
            user_id=candidate.id,
            outcome="canceled_keep_request_undecided",
            detail="the user asked to keep the seat and no admin decided before the grace period ended",
        )
    return UserOutcome(user_id=candidate.id, outcome=decision.status, detail=decision.reason)


def _took_back(reclamation: Reclamation, outcomes: list[UserOutcome]) -> dict[str, Any]:
    """How many seats the outcomes took back (reclaimed or downgraded) and what they save per period."""
    took_back = {o.user_id for o in outcomes if o.outcome in TOOK_BACK}
    cost = reclamation.seat_cost
    # Each seat saves its own tier's cost, or the difference to the tier it moved to.
    saved = sum(
        (c.saves if c.saves is not None else cost.amount if cost else Decimal(0))
        for c in reclamation.candidates
        if c.id in took_back
    )
    downgrading = reclamation.action == "downgrade"
    return {
        "reclaimed": 0 if downgrading else len(took_back),
        "downgraded": len(took_back) if downgrading else 0,
        "savings": cost.model_copy(update={"amount": Decimal(saved)}) if cost else None,
    }


def execute(
    reclamation: Reclamation,
    *,
    store: ReclamationStore,
    seats: SeatTaker,
    stale_now: set[str],
    notices: Notices | None = None,
    before_finish: Callable[[Reclamation], None] = lambda _finished: None,
) -> Reclamation:
    """Send each candidate's reclaim request at most once, record every outcome, finish the reclamation.

    `stale_now` is who is stale in the current snapshot (after the grace period's sync, if any):
    a candidate whose activity came back is not reclaimed, nor one who kept the seat. `before_finish`
    runs once every outcome is recorded and before the reclamation says it is finished (the position
    is brought up to date there, so that whoever sees "completed" reads the position that follows from it).
    """
    if reclamation.status != "running":
        raise ReclamationConflict(f"reclamation {reclamation.id} is {reclamation.status}, not running")
    decisions = store.decisions(reclamation.id) if reclamation.reclaim_at else {}
    outcomes, audit = [], with_decisions(reclamation, decisions).audit
    for candidate in reclamation.candidates:
        decision = decisions.get(candidate.id)
        if (settled := _decided(candidate, decision)) is not None:
            outcomes.append(settled)
            continue
        if decision is None and candidate.id in reclamation.unreached:
            # Nobody takes a license from someone who was never asked: an admin decides (policy.unreached_users).
            outcomes.append(
                UserOutcome(
                    user_id=candidate.id,
                    outcome="canceled_user_not_reached",
                    detail="user not reached: the keep prompt reached no channel; nothing was sent",
                )
            )
            continue
        # A released seat went back at once (or is claimed): its outcome stands, whatever the app says now.
        released = decision is not None and decision.status == "released_by_user"
        if not released and candidate.id not in stale_now:
            canceled = UserOutcome(
                user_id=candidate.id,
                outcome="canceled_activity_detected",
                detail="active again since the plan; nothing was sent",
            )
            outcomes.append(canceled)
            audit.append(AuditEntry(at=_now(), action="canceled", user_id=candidate.id, outcome=canceled.outcome))
            continue
        acted: Outcome = (
            "released_by_user" if released else "downgraded" if reclamation.action == "downgrade" else "reclaimed"
        )
        outcome, entry = send_once(reclamation, candidate, store=store, seats=seats, done_as=acted)
        outcomes.append(outcome)
        if entry is not None:
            audit.append(entry)
    failed = any(o.outcome in ("failed", "outcome_unknown") for o in outcomes)
    done = reclamation.model_copy(
        update={
            "status": "partially_failed" if failed else "completed",
            **_took_back(reclamation, outcomes),
            "outcomes": outcomes,
            "decisions": list(decisions.values()),
            "finished_at": _now(),
            "audit": [
                *audit,
                AuditEntry(at=_now(), action="finished", detail="partially failed" if failed else "completed"),
            ],
        }
    )
    before_finish(done)
    store.replace_reclamation(done, expected_status="running")
    (notices or NoNotices()).put(
        "Reclamation Finished",
        {
            "reclamation_id": done.id,
            "profile_id": done.profile_id,
            "status": done.status,
            "action": done.action,
            "reclaimed": [o.user_id for o in outcomes if o.outcome in TOOK_BACK],
            "kept": [o.user_id for o in outcomes if o.outcome in ("kept_by_user", "kept_by_admin")],
            "canceled": [o.user_id for o in outcomes if o.outcome.startswith("canceled")],
            "failed": [o.user_id for o in outcomes if o.outcome in ("failed", "outcome_unknown")],
        },
    )
    return done


DECISION_ACTIONS: dict[str, str] = {
    "awaiting_approval": "keep requested",
    "kept_by_user": "kept",
    "kept_by_admin": "keep approved",
    "released_by_user": "released",
    "reclaim_by_admin": "keep denied",
}


def with_decisions(reclamation: Reclamation, decisions: dict[str, Decision]) -> Reclamation:
    """The reclamation as its readers see it during the grace period: its candidates' decisions and their audit."""
    if reclamation.finished_at is not None or not decisions:
        return reclamation.model_copy(update={"audit": list(reclamation.audit)})
    entries = [
        AuditEntry(at=d.at, action=DECISION_ACTIONS[d.status], by=d.by, user_id=d.user_id, detail=d.reason)
        for d in decisions.values()
    ] + [
        AuditEntry(at=d.requested_at, action="keep requested", user_id=d.user_id, detail=d.reason)
        for d in decisions.values()
        if d.requested_at
    ]
    return reclamation.model_copy(
        update={
            "decisions": list(decisions.values()),
            "audit": sorted([*reclamation.audit, *entries], key=lambda e: e.at),
        }
    )


def announce(
    reclamation: Reclamation,
    *,
    store: ReclamationStore,
    notices: Notices,
    keep_link: Callable[[Reclamation, Candidate, datetime], str] | None = None,
) -> Reclamation:
    """Tell each candidate's seat is about to be reclaimed, with their keep link, and start the grace period."""
    if reclamation.status != "running":
        raise ReclamationConflict(f"reclamation {reclamation.id} is {reclamation.status}, not running")
    until = datetime.fromtimestamp(int(datetime.now(UTC).timestamp()) + reclamation.grace_seconds, UTC)
    reclaim_at = until.isoformat(timespec="seconds")
    for candidate in reclamation.candidates:
        notices.put(
            "Seat Will Be Reclaimed",
            {
                "reclamation_id": reclamation.id,
                "profile_id": reclamation.profile_id,
                "user_id": candidate.id,
                "email": candidate.email,
                "reclaim_at": reclaim_at,
                "keep_url": keep_link(reclamation, candidate, until) if keep_link else None,
                "action": reclamation.action,
                "downgrade_to": reclamation.downgrade_to,
            },
        )
    waiting = reclamation.model_copy(
        update={
            "status": "in_grace_period",
            "reclaim_at": reclaim_at,
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


def keep_prompt_times(offsets: list[str], grace_seconds: int) -> list[int]:
    """When the reminders go out, in seconds after the announcement (policy.keep_reminders).

    An offset with a minus is before the end of the grace period ("-P2D"), one without it after its
    start ("P0D" is the announcement itself). Times outside the grace period are dropped, and each
    time is one reminder however many offsets name it.
    """
    times = set()
    for offset in offsets:
        seconds = iso_duration_seconds(offset.removeprefix("-"))
        at = grace_seconds - seconds if offset.startswith("-") else seconds
        if 0 < at < grace_seconds:
            times.add(at)
    return sorted(times)


def grace_timer(reclamation: Reclamation, offsets: list[str], *, reminded: int, now: datetime) -> dict[str, int]:
    """What the reclaim machine waits for next: the reminder after the `reminded`-th, or the end of the grace period.

    `reminder` is the next reminder's number (1, 2, ...), 0 when the next thing is the end. The wait is
    counted from now to the reminder's time, so a slow step does not push the end of the grace period.
    """
    if reclamation.reclaim_at is None:
        raise ReclamationConflict(f"reclamation {reclamation.id} has no grace period")
    end = datetime.fromisoformat(reclamation.reclaim_at)
    start = end.timestamp() - reclamation.grace_seconds
    times = keep_prompt_times(offsets, reclamation.grace_seconds)
    if reminded < len(times):
        return {"wait_seconds": max(0, int(start + times[reminded] - now.timestamp())), "reminder": reminded + 1}
    return {"wait_seconds": max(0, int(end.timestamp() - now.timestamp())), "reminder": 0}


def remind(
    reclamation: Reclamation,
    *,
    store: ReclamationStore,
    notices: Notices,
    reminder: int,
    keep_url: Callable[[Reclamation, Candidate], str] | None = None,
) -> list[str]:
    """Tell each candidate who has not answered again, with the same keep link; who was reminded."""
    if reclamation.status != "in_grace_period":
        raise ReclamationConflict(f"reclamation {reclamation.id} is {reclamation.status}, not in its grace period")
    answered = set(store.decisions(reclamation.id))
    reminded = [c for c in reclamation.candidates if c.id not in answered]
    for candidate in reminded:
        notices.put(
            "Seat Will Be Reclaimed",
            {
                "reclamation_id": reclamation.id,
                "profile_id": reclamation.profile_id,
                "user_id": candidate.id,
                "email": candidate.email,
                "reclaim_at": reclamation.reclaim_at,
                "keep_url": keep_url(reclamation, candidate) if keep_url else None,
                "action": reclamation.action,
                "downgrade_to": reclamation.downgrade_to,
                "reminder": reminder,
            },
        )
    return [c.id for c in reminded]


def end_grace_period(
    reclamation: Reclamation,
    *,
    store: ReclamationStore,
    reached: set[str] | None = None,
    unreached_users: Literal["wait_for_admin", "reclaim"] = "wait_for_admin",
) -> Reclamation:
    """The grace period is over; `reached` are the candidates a keep prompt reached (None: not asked).

    A candidate no prompt reached is recorded as "user not reached"; by policy, left for an admin.
    A reclamation an admin canceled meanwhile stays canceled as it is (the cancel also stops the
    execution; this is for the moment between the end of the wait and that stop).
    """
    if reclamation.status == "canceled":
        return reclamation
    decided = set(store.decisions(reclamation.id)) if reached is not None else set()
    unreached = [c.id for c in reclamation.candidates if reached is not None and c.id not in reached | decided]
    then = "left for an admin" if unreached_users == "wait_for_admin" else "reclaimed by policy"
    running = reclamation.model_copy(
        update={
            "status": "running",
            "unreached": unreached if unreached_users == "wait_for_admin" else [],
            "audit": [
                *reclamation.audit,
                *(AuditEntry(at=_now(), action="user not reached", user_id=user, detail=then) for user in unreached),
                AuditEntry(at=_now(), action="grace period over"),
            ],
        }
    )
    try:
        store.replace_reclamation(running, expected_status="in_grace_period")
    except ReclamationConflict:
        now = store.get_reclamation(reclamation.id)
        if now.status == "canceled":
            return now
        raise
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
    why = f"{error}: {cause}"
    failed = current.model_copy(
        update={
            "status": "partially_failed" if outcomes else "canceled",
            "error": error,
            "cause": cause,
            **_took_back(current, outcomes),
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


# --- did the app carry it out? ----------------------------------------------------------------


# Seats to check up to which each stored user is read alone; beyond it, the snapshot is read once instead.
CHECK_ONE_BY_ONE = 50


def check_taken_back(
    profile_id: str,
    *,
    snapshots: SnapshotStore,
    store: ReclamationStore,
    read_at: datetime,
    notices: Notices | None = None,
) -> dict[str, str]:
    """After a sync's commit: each seat taken back before the sync started reading (`read_at`), checked
    against the users it stored. Returns what each checked seat was found to be, by user id.

    Checked here, at the commit, and not at the reconciliation: every snapshot passes through a commit
    (a manual sync, the schedule's, a grace period's), and the marks must be right before anything reads
    the users again. A seat the app still holds is `not_effective`: its reclamation's outcome says so (and
    no longer counts it as saved), `Reclamation Not Effective` asks an admin to look, and no plan takes it
    again unless it names it. A seat of a reclamation still running waits for the next sync: its outcome
    is not written yet. Each reclamation is read and corrected once, however many of its seats are checked.
    """
    # Not the stored users' own marks: the commit just rewrote them, and a commit never reads every change.
    marks = [
        mark
        for mark in store.taken_back(profile_id, marked_users=False).values()
        if mark.checked != "effective" and mark.reclamation_id is not None and mark.at < read_at
    ]
    records = {rid: store.get_reclamation(rid) for rid in {m.reclamation_id for m in marks if m.reclamation_id}}
    marks = [m for m in marks if m.reclamation_id and records[m.reclamation_id].finished_at is not None]
    if not marks:
        return {}
    users = _users_of(snapshots, profile_id, {m.user_id for m in marks})
    effective = [m for m in marks if m.effective_in(users.get(m.user_id))]
    # The app let these go (at once, or since an admin saw them still held): nothing more to do.
    checked = [m.model_copy(update={"checked": "effective", "checked_at": read_at}) for m in effective]
    replaced = set(store.check_taken_back(profile_id, checked))
    found = {m.user_id: "effective" for m in effective if m.user_id not in replaced}
    held: dict[str, list[TakenBack]] = {}
    for mark in marks:
        # Held, and not told before: a seat found held by an earlier sync waits for an admin.
        if mark.user_id not in found and mark.user_id not in replaced and mark.checked == "sent":
            held.setdefault(str(mark.reclamation_id), []).append(mark)
    for reclamation_id, still in held.items():
        record = records[reclamation_id]
        try:
            _not_effective(record, still, store=store, read_at=read_at)
        except ReclamationConflict:
            continue  # the record changed since it was read: the marks stay sent, and the next commit checks them
        emails = {c.id: c.email for c in record.candidates}
        for mark in still:
            (notices or NoNotices()).put(
                "Reclamation Not Effective",
                {
                    "reclamation_id": record.id,
                    "profile_id": profile_id,
                    "user_id": mark.user_id,
                    "email": emails.get(mark.user_id),
                    "action": record.action,
                    "reclaimed_at": mark.at.isoformat(timespec="seconds"),
                    "checked_at": read_at.isoformat(timespec="seconds"),
                },
            )
            found[mark.user_id] = "not_effective"
        # Last: a check that dies before this is done again by the next commit (its outcome once).
        told = [m.model_copy(update={"checked": "not_effective", "checked_at": read_at}) for m in still]
        store.check_taken_back(profile_id, told)
    return found


def _users_of(snapshots: SnapshotStore, profile_id: str, user_ids: set[str]) -> dict[str, SaaSUser]:
    """The stored users of those ids (one read each when they are few, the snapshot once when they are many)."""
    if len(user_ids) <= CHECK_ONE_BY_ONE:
        return {u.id: u for u in (snapshots.user(profile_id, i) for i in sorted(user_ids)) if u is not None}
    return {u.id: u for u in _stored_users(snapshots, profile_id) if u.id in user_ids}


def _not_effective(record: Reclamation, marks: list[TakenBack], *, store: ReclamationStore, read_at: datetime) -> None:
    """The users' outcomes in their reclamation become not_effective, and their seats are no longer counted as saved."""
    held = {m.user_id: m for m in marks}
    before = {o.user_id: o for o in record.outcomes if o.user_id in held and o.outcome in TOOK_BACK}
    if not before:
        return

    def detail(user_id: str) -> str:
        return (
            f"the app answered {before[user_id].status_code} on {held[user_id].at.date().isoformat()}, and the sync "
            f"read at {read_at.isoformat(timespec='seconds')} still found the seat held; nothing is sent again "
            "until an admin acts"
        )

    outcomes = [
        o.model_copy(update={"outcome": "not_effective", "detail": detail(o.user_id)}) if o.user_id in before else o
        for o in record.outcomes
    ]
    corrected = record.model_copy(
        update={
            **_took_back(record, outcomes),
            "outcomes": outcomes,
            "audit": [
                *record.audit,
                *(
                    AuditEntry(at=_now(), action="not effective", user_id=u, outcome="not_effective", detail=detail(u))
                    for u in before
                ),
            ],
        }
    )
    store.replace_reclamation(corrected, expected_status=record.status, expected_revision=len(record.audit))
