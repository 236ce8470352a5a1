"""Keep links: "Do you still need it?" for each candidate of a reclamation with a grace period.

A link carries a token that is its only authentication (like OAuth's `state`): 256 bits,
an HMAC of the reclamation and user under a key kept in Secrets Manager, so that an admin's
view can show the link again while the table holds only its SHA-256 (a stolen table
yields no usable link). It is single-use and expires when the grace period ends.

`keep` protects the seat for `policy.keep_days` (or asks an admin first when
`policy.keep_requires_approval`); `release` takes the seat back at once, through the same
claimed action record the end of the grace period uses, so it is never sent twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from seatkeeper.core.errors import Conflict, Gone, NotFound, SeatkeeperError
from seatkeeper.licensing.reclamation import (
    AuditEntry,
    Candidate,
    Decision,
    Reclamation,
    ReclamationConflict,
    ReclamationStore,
    SeatTaker,
    send_once,
    with_decisions,
)
from seatkeeper.notify.events import Notices
from seatkeeper.profiles.model import Policy

TOKEN_LENGTH = 43  # 32 bytes, base64url without padding
KEEP_LINK_KEY = "seatkeeper/keep-links/key"  # the secret that holds the links' HMAC key


class KeepTicket(BaseModel):
    """What the table keeps for one keep link, under the SHA-256 of its token."""

    model_config = ConfigDict(defer_build=True)

    reclamation_id: str
    profile_id: str
    user_id: str
    deadline: datetime
    used_at: str | None = None


class KeepDecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    decision: Literal["keep", "release"]
    reason: Annotated[str, Field(max_length=500)] | None = None


class KeepAnswer(BaseModel):
    model_config = ConfigDict(defer_build=True)

    status: Literal["kept", "awaiting_approval", "released"]


class AdminDecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    user_id: str = Field(min_length=1, max_length=500)
    decision: Literal["keep", "reclaim"]


class ExclusionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    user_id: str = Field(min_length=1, max_length=500)
    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")


class KeepStore(ReclamationStore, Protocol):
    def put_keep_ticket(self, digest: str, ticket: KeepTicket) -> None: ...

    def keep_ticket(self, digest: str) -> KeepTicket | None: ...

    def use_keep_ticket(self, digest: str, ticket: KeepTicket, decision: Decision, now: datetime) -> bool:
        """Mark the ticket used and keep the decision, in one step; False if used already or past its deadline."""

    def settle_decision(self, reclamation_id: str, decision: Decision) -> bool:
        """Replace a decision that awaits an admin; False if it no longer does."""

    def keep_seat(self, profile_id: str, user_id: str, until: datetime) -> None: ...


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class KeepLinks:
    """Makes each candidate's link from the key; the same key and ids give the same link again."""

    def __init__(self, key: bytes, base_url: str) -> None:
        self.key, self.base_url = key, base_url.rstrip("/")

    def token(self, reclamation_id: str, user_id: str) -> str:
        mac = hmac.new(self.key, f"keep\0{reclamation_id}\0{user_id}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def url(self, reclamation_id: str, user_id: str) -> str:
        return f"{self.base_url}/keep/{self.token(reclamation_id, user_id)}"

    def issuer(self, store: KeepStore) -> Callable[[Reclamation, Candidate, datetime], str]:
        """For `reclamation.announce`: store each candidate's ticket and give its link."""

        def issue(record: Reclamation, candidate: Candidate, deadline: datetime) -> str:
            ticket = KeepTicket(
                reclamation_id=record.id, profile_id=record.profile_id, user_id=candidate.id, deadline=deadline
            )
            store.put_keep_ticket(digest(self.token(record.id, candidate.id)), ticket)
            return self.url(record.id, candidate.id)

        return issue

    def shown_to_admin(self, record: Reclamation) -> Reclamation:
        """The reclamation with the links of candidates who have not answered, while they can still answer."""
        if record.status != "in_grace_period":
            return record
        answered = {d.user_id for d in record.decisions}
        return record.model_copy(
            update={
                "candidates": [
                    c if c.id in answered else c.model_copy(update={"keep_url": self.url(record.id, c.id)})
                    for c in record.candidates
                ]
            }
        )


class KeepLinkNotFound(NotFound):
    def __init__(self) -> None:
        # The same words for a forged, mistyped or deleted link: nothing about which it is.
        super().__init__("this link is not valid")


def open_ticket(token: str, *, store: KeepStore, now: datetime) -> tuple[KeepTicket, Reclamation, Candidate]:
    """The ticket, its reclamation and candidate; 404 for an unknown token, 410 for one that can no longer be used."""
    ticket = store.keep_ticket(digest(token)) if len(token) == TOKEN_LENGTH else None
    if ticket is None:
        raise KeepLinkNotFound()
    if ticket.used_at is not None:
        raise Gone("this link was used already")
    if now >= ticket.deadline:
        raise Gone("the grace period of this link is over")
    record = store.get_reclamation(ticket.reclamation_id)
    # "running" too: the notices go out a moment before the reclamation says it is in its grace period.
    if record.status not in ("running", "in_grace_period"):
        raise Gone("this reclamation is no longer waiting for answers")
    candidate = next((c for c in record.candidates if c.id == ticket.user_id), None)
    if candidate is None:
        raise KeepLinkNotFound()
    return ticket, record, candidate


def decide(
    token: str,
    request: KeepDecisionRequest,
    *,
    store: KeepStore,
    policy_of: Callable[[str], Policy],
    seats: Callable[[str], SeatTaker],
    notices: Notices,
    now: datetime,
) -> KeepAnswer:
    """The user's answer to their keep link: keep (or ask an admin to), or release the seat at once."""
    ticket, record, candidate = open_ticket(token, store=store, now=now)
    policy = policy_of(record.profile_id)
    if request.decision == "release":
        status: Literal["awaiting_approval", "kept_by_user", "released_by_user"] = "released_by_user"
    else:
        status = "awaiting_approval" if policy.keep_requires_approval else "kept_by_user"
    decision = Decision(user_id=candidate.id, status=status, reason=request.reason, at=_stamp(now))
    if not store.use_keep_ticket(digest(token), ticket, decision, now):
        raise Gone("this link was used already, or its grace period is over")
    detail = {
        "reclamation_id": record.id,
        "profile_id": record.profile_id,
        "user_id": candidate.id,
        "reason": request.reason,
    }
    if status == "kept_by_user":
        until = now + timedelta(days=policy.keep_days)
        store.keep_seat(record.profile_id, candidate.id, until)
        notices.put("Seat Kept", {**detail, "decided_by": None, "kept_until": _stamp(until)})
        return KeepAnswer(status="kept")
    if status == "awaiting_approval":
        notices.put("Seat Keep Requested", detail)
        return KeepAnswer(status="awaiting_approval")
    try:
        taker = seats(record.profile_id)
    except SeatkeeperError as exc:
        # The decision is kept: the end of the grace period sends it with the others.
        notices.put("Seat Released", {**detail, "outcome": "at the end of the grace period", "detail": str(exc)[:300]})
        return KeepAnswer(status="released")
    outcome, _ = send_once(record, candidate, store=store, seats=taker, done_as="released_by_user")
    notices.put("Seat Released", {**detail, "outcome": outcome.outcome})
    return KeepAnswer(status="released")


def decide_as_admin(
    reclamation_id: str,
    request: AdminDecisionRequest,
    *,
    store: KeepStore,
    policy: Policy,
    by: str | None,
    notices: Notices,
    now: datetime,
) -> Reclamation:
    """An admin's decision on a keep request that waits for one: keep the seat, or reclaim it with the others."""
    record = store.get_reclamation(reclamation_id)
    if record.status != "in_grace_period":
        raise Conflict(f"reclamation {reclamation_id} is {record.status}: keep requests wait only in its grace period")
    decisions = store.decisions(reclamation_id)
    asked = decisions.get(request.user_id)
    if asked is None or asked.status != "awaiting_approval":
        raise Conflict(f"no keep request of {request.user_id} awaits a decision in reclamation {reclamation_id}")
    decided = Decision(
        user_id=request.user_id,
        status="kept_by_admin" if request.decision == "keep" else "reclaim_by_admin",
        reason=asked.reason,
        at=_stamp(now),
        by=by,
        requested_at=asked.at,
    )
    if not store.settle_decision(reclamation_id, decided):
        raise Conflict(f"the keep request of {request.user_id} was decided meanwhile")
    detail = {
        "reclamation_id": record.id,
        "profile_id": record.profile_id,
        "user_id": request.user_id,
        "reason": asked.reason,
        "decided_by": by,
    }
    if request.decision == "keep":
        until = now + timedelta(days=policy.keep_days)
        store.keep_seat(record.profile_id, request.user_id, until)
        notices.put("Seat Kept", {**detail, "kept_until": _stamp(until)})
    else:
        notices.put("Seat Keep Denied", detail)
    return with_decisions(record, {**decisions, request.user_id: decided})


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def exclude(
    reclamation_id: str, request: ExclusionRequest, *, store: KeepStore, policy: Policy, by: str | None, now: datetime
) -> Reclamation:
    """An admin takes one user out of a plan before approving it; the seat is kept for `policy.keep_days`,
    as a seat its user kept is, so that the next plan does not propose it again."""
    record = store.get_reclamation(reclamation_id)
    if record.status != "awaiting_approval":
        raise ReclamationConflict(
            f"reclamation {reclamation_id} is {record.status}: users are excluded only before it is approved"
        )
    if not any(c.id == request.user_id for c in record.candidates):
        raise NotFound(f"{request.user_id} is not a candidate of reclamation {reclamation_id}")
    until = now + timedelta(days=policy.keep_days)
    narrowed = record.model_copy(
        update={
            "candidates": [c for c in record.candidates if c.id != request.user_id],
            "audit": [
                *record.audit,
                AuditEntry(
                    at=_stamp(now),
                    action="excluded",
                    by=by,
                    user_id=request.user_id,
                    detail=f"{request.reason} (kept until {_stamp(until)})",
                ),
            ],
        }
    )
    # As read: two exclusions at once, or an approval meanwhile, never lose one another's change.
    store.replace_reclamation(narrowed, expected_status="awaiting_approval", expected_revision=len(record.audit))
    store.keep_seat(record.profile_id, request.user_id, until)
    return narrowed
