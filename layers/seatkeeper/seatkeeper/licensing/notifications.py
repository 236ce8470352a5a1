"""Who is told what: seatkeeper's own events turned into messages to people (SPEC "Notifications").

| event                          | message            | to                                             |
|--------------------------------|--------------------|------------------------------------------------|
| Seat Will Be Reclaimed         | keep_prompt        | the seat's user (their e-mail in the snapshot) |
| Reclamation Awaiting Approval  | approval_request   | the profile's approvers, else the admins       |
| Seat Keep Requested            | approval_request   | the profile's approvers, else the admins       |
| Reclamation Not Effective      | reclaim_not_effective | the profile's approvers, else the admins    |
| Renewal Approaching            | renewal_reminder   | the subscription's owner and finance contact   |
| Licenses Running Low           | low_seats          | the subscription's owner                       |
| Connection Needs Reconnect     | reconnect_needed   | the subscription's owner and the admins        |
| (a weekly schedule)            | digest             | the admins in settings                         |

Each message is keyed by what makes it distinct (notify.delivery says why): a keep prompt by its
reclamation, user and reminder; a renewal reminder by its renewal date and reminder day. Other
events ask nobody anything and give no message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from seatkeeper.licensing.reclamation import Reclamation, ReclamationSummary, Saving
from seatkeeper.notify import messages
from seatkeeper.notify.channels import Message, Recipient
from seatkeeper.notify.delivery import Outgoing
from seatkeeper.profiles.records import ProfileRecord

# Cold start: the renewals' models only where the weekly digest is made, not for every event.
if TYPE_CHECKING:
    from seatkeeper.licensing.renewals import RenewalList

NOTIFYING = (
    "Seat Will Be Reclaimed",
    "Reclamation Awaiting Approval",
    "Seat Keep Requested",
    "Reclamation Not Effective",
    "Renewal Approaching",
    "Licenses Running Low",
    "Connection Needs Reconnect",
)


@dataclass(frozen=True)
class Audience:
    """What settings say about people: the admins (told when a profile names no approver) and the channels."""

    admins: tuple[str, ...] = ()
    channels: tuple[str, ...] = ("email",)


def channels_for(profile: ProfileRecord | None, audience: Audience) -> list[str]:
    chosen = profile.profile.notifications.channels if profile is not None else None
    return list(chosen or audience.channels)


def _people(addresses: list[str | None]) -> list[Recipient]:
    seen = dict.fromkeys(a.strip() for a in addresses if a and a.strip())
    return [Recipient(email=a) for a in seen]


def outgoing(
    detail_type: str,
    detail: dict[str, Any],
    *,
    profile: ProfileRecord | None,
    reclamation: Callable[[str], Reclamation],
    audience: Audience,
    brand: messages.Brand,
    event_id: str,
) -> list[Outgoing]:
    """The messages one event asks for; [] for an event that tells nobody anything."""
    app = profile.profile.name if profile is not None else str(detail.get("name") or detail.get("profile_id"))
    profile_id = str(detail.get("profile_id"))
    if detail_type == "Seat Will Be Reclaimed":
        return [_keep_prompt(detail, app, reclamation(detail["reclamation_id"]), brand)]
    if detail_type in ("Reclamation Awaiting Approval", "Seat Keep Requested"):
        approvers = profile.profile.notifications.approvers if profile is not None else []
        people = _people(list(approvers or audience.admins))
        if detail_type == "Reclamation Awaiting Approval":
            about, occasion = detail["reclamation_id"], "reclamation"
            message = messages.approval_request(
                brand,
                app=app,
                what="a reclamation awaits approval",
                count=detail.get("candidates") if isinstance(detail.get("candidates"), int) else None,
            )
        else:
            about, occasion = detail["reclamation_id"], f"keep#{detail.get('user_id')}"
            message = messages.approval_request(brand, app=app, what="a user asks to keep their license")
        delivered = _to_each(people, message, about=about, occasion=occasion, missing="no approver or admin is set")
        return [replace(out, profile_id=profile_id) for out in delivered]
    if detail_type == "Reclamation Not Effective":
        approvers = profile.profile.notifications.approvers if profile is not None else []
        user = str(detail.get("email") or detail["user_id"])
        message = messages.reclaim_not_effective(brand, app=app, user=user, reclaimed_on=detail["reclaimed_at"][:10])
        delivered = _to_each(
            _people(list(approvers or audience.admins)),
            message,
            about=detail["reclamation_id"],
            occasion=f"not_effective#{detail['user_id']}",
            missing="no approver or admin is set",
        )
        return [replace(out, profile_id=profile_id) for out in delivered]
    if detail_type == "Renewal Approaching":
        subscription = profile.profile.subscription if profile is not None else None
        finance = profile.profile.notifications.finance_contact if profile is not None else None
        people = _people([detail.get("owner") or (subscription.owner if subscription else None), finance])
        message = messages.renewal_reminder(
            brand,
            app=app,
            renewal_date=detail["renewal_date"],
            opt_out_deadline=detail["opt_out_deadline"],
            days_left=int(detail["days_left"]),
            recommended=detail.get("recommended_licenses"),
        )
        occasion = f"{detail['renewal_date']}#{detail['reminder_days']}"
        return _to_each(people, message, about=profile_id, occasion=occasion, missing="the app has no owner")
    if detail_type == "Licenses Running Low":
        owner = profile.profile.subscription.owner if profile is not None else None
        message = messages.low_seats(
            brand, app=app, free=detail["free"], purchased=detail["licenses_purchased"], threshold=detail["threshold"]
        )
        # Put once until the seats recover (the reconciliation's rule): the event itself is the occasion.
        return _to_each(_people([owner]), message, about=profile_id, occasion=event_id, missing="the app has no owner")
    if detail_type == "Connection Needs Reconnect":
        owner = profile.profile.subscription.owner if profile is not None else None
        # Once per refused grant: its connection attempt is what a reconnect replaces.
        occasion = f"reconnect#{detail.get('attempt_id')}"
        return _to_each(
            _people([owner, *audience.admins]),
            messages.reconnect_needed(brand, app=app),
            about=profile_id,
            occasion=occasion,
            missing="the app has no owner and no admin is set",
        )
    return []


def _to_each(people: list[Recipient], message: Message, *, about: str, occasion: str, missing: str) -> list[Outgoing]:
    """The message to each person; to nobody, recorded as skipped with why, when there is nobody to tell."""
    profile_id = about if message.kind in ("renewal_reminder", "low_seats", "reconnect_needed") else None
    if not people:
        return [Outgoing(message.kind, about, occasion, profile_id, message, None, missing=missing)]
    return [Outgoing(message.kind, about, occasion, profile_id, message, person) for person in people]


def _keep_prompt(detail: dict[str, Any], app: str, record: Reclamation, brand: messages.Brand) -> Outgoing:
    candidate = next((c for c in record.candidates if c.id == detail["user_id"]), None)
    keep_url = detail.get("keep_url")
    reminder = int(detail.get("reminder") or 0)
    message = messages.keep_prompt(
        brand,
        app=app,
        user_name=candidate.name if candidate else None,
        last_used=candidate.last_activity.isoformat() if candidate and candidate.last_activity else None,
        reclaim_at=detail["reclaim_at"],
        keep_url=keep_url,
        token=keep_url.rsplit("/", 1)[1] if keep_url else None,
        reminder=reminder,
        downgrade_to=detail.get("downgrade_to") if detail.get("action") == "downgrade" else None,
    )
    email = detail.get("email") or (candidate.email if candidate else None)
    return Outgoing(
        "keep_prompt",
        record.id,
        f"{detail['user_id']}#{reminder}",
        record.profile_id,
        message,
        Recipient(email=email, name=candidate.name if candidate else None) if email else None,
        user_id=detail["user_id"],
        missing="the user has no e-mail address in the app or the identity provider",
    )


_EACH = {"monthly": "a month", "quarterly": "a quarter", "annual": "a year"}


def _saving_from(saving: Saving, renewal_date: date | None) -> str:
    """ "30.00 USD a month from 2027-01-25": per the app's billing period, from its first bill without the seats."""
    starts = saving.starts_on(renewal_date)
    since = starts.isoformat() if starts else "an unknown date (the app has no renewal date)"
    return f"{saving.per_period.amount:.2f} {saving.per_period.currency} {_EACH[saving.per_period.period]} from {since}"


def weekly_digest(
    today: date,
    *,
    savings: list[Saving],
    waiting: list[ReclamationSummary],
    renewing: RenewalList,
    names: dict[str, str],
    renewal_dates: Mapping[str, date | None],
    audience: Audience,
    brand: messages.Brand,
) -> list[Outgoing]:
    """The week's digest to each admin in settings, once per ISO week.

    Each reclamation's saving is said with the day it starts (its app's next bill after it finished, by
    `renewal_dates` per profile), as the overview's committed savings are: a seat is paid until then.
    """
    year, number, _ = today.isocalendar()
    week = f"{year}-W{number:02d}"
    since = datetime.combine(today - timedelta(days=7), datetime.min.time(), UTC)
    message = messages.digest(
        brand,
        week=week,
        reclaimed=[
            (names.get(s.profile_id, s.profile_id), s.seats, _saving_from(s, renewal_dates.get(s.profile_id)))
            for s in savings
            if s.finished_at >= since
        ],
        waiting=[(names.get(w.profile_id, w.profile_id), w.candidates) for w in waiting],
        renewing=[(r.name, r.opt_out_deadline.isoformat()) for r in renewing.items],
    )
    return _to_each(_people(list(audience.admins)), message, about="DIGEST", occasion=week, missing="no admin is set")
