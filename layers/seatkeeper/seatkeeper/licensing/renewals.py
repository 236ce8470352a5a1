"""Renewals: what renews or must be cancelled soon, with a recommended license count, and reminders.

The opt-out deadline is `renewal_date - notice_days`. A subscription that renews by itself
(`auto_renew`) and whose date has passed renews a year later, so the list never goes stale.
The reminders (`Renewal Approaching`) are put at each of `policy.renewal_reminder_days` before
the deadline, each once per renewal: a conditional write keyed by profile, renewal date and
threshold. When the first look is already past several thresholds, only the nearest is put.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from seatkeeper.core.money import Money
from seatkeeper.licensing.position import LicensePosition
from seatkeeper.notify.events import Notices
from seatkeeper.profiles.model import Profile
from seatkeeper.profiles.records import ProfileRecord

PERIODS_PER_YEAR = {"monthly": 12, "quarterly": 4, "annual": 1}


class Renewal(BaseModel):
    model_config = ConfigDict(defer_build=True)

    profile_id: str
    name: str
    renewal_date: date
    opt_out_deadline: date
    days_to_deadline: int = Field(description="Negative once the deadline has passed")
    auto_renew: bool
    owner: str | None = None
    cost_center: str | None = None
    currency: str
    licenses_purchased: int
    assigned: int | None = Field(None, description="From the latest position; none before a reconciliation")
    active: int | None = None
    stale: int | None = None
    utilisation: float | None = Field(None, description="active / licenses_purchased")
    recommended_licenses: int | None = Field(None, description="ceil((assigned - stale) x (1 + headroom))")
    annual_cost: Money
    potential_annual_savings: Money | None = Field(
        None, description="What renewing at the recommended count instead of the purchased one saves a year"
    )


class RenewalList(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[Renewal]


class ReminderStore(Protocol):
    def mark_renewal_reminder(self, profile_id: str, renewal_date: date, days: int) -> bool:
        """Note that the reminder at `days` before this renewal's deadline went out; False if it had already."""


def _a_year_later(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # February 29th
        return day.replace(year=day.year + 1, day=28)


def next_renewal_date(profile: Profile, today: date) -> date | None:
    subscription = profile.subscription
    renewal = subscription.renewal_date
    if renewal is None:
        return None
    while subscription.auto_renew and renewal < today:
        renewal = _a_year_later(renewal)
    return renewal


def recommended_licenses(profile: Profile, position: LicensePosition) -> int:
    in_use = Decimal(max(position.assigned - position.stale, 0))
    headroom = 1 + Decimal(str(profile.policy.renewal_headroom_percent)) / 100
    return math.ceil(in_use * headroom)


def renewal_of(record: ProfileRecord, position: LicensePosition | None, today: date) -> Renewal | None:
    """The profile's next renewal, or None when its subscription has no renewal date (or it lapsed)."""
    profile = record.profile
    renewal = next_renewal_date(profile, today)
    if renewal is None or renewal < today:
        return None
    subscription = profile.subscription
    deadline = renewal - timedelta(days=subscription.notice_days)
    per_year = subscription.cost_per_license * PERIODS_PER_YEAR[subscription.billing_period]
    purchased = subscription.licenses_purchased
    recommended = recommended_licenses(profile, position) if position else None
    return Renewal(
        profile_id=record.id,
        name=profile.name,
        renewal_date=renewal,
        opt_out_deadline=deadline,
        days_to_deadline=(deadline - today).days,
        auto_renew=subscription.auto_renew,
        owner=subscription.owner,
        cost_center=subscription.cost_center,
        currency=subscription.currency,
        licenses_purchased=purchased,
        assigned=position.assigned if position else None,
        active=position.active if position else None,
        stale=position.stale if position else None,
        utilisation=round(position.active / purchased, 4) if position and purchased else None,
        recommended_licenses=recommended,
        annual_cost=purchased * per_year,
        potential_annual_savings=max(purchased - recommended, 0) * per_year if recommended is not None else None,
    )


def upcoming(
    profiles: Iterable[ProfileRecord], positions: Iterable[LicensePosition], *, today: date, within_days: int
) -> RenewalList:
    """What renews, or must be cancelled, within `within_days`: by opt-out deadline, the nearest first."""
    latest = {p.profile_id: p for p in positions}
    horizon = today + timedelta(days=within_days)
    found = [renewal_of(record, latest.get(record.id), today) for record in profiles]
    return RenewalList(
        items=sorted(
            (r for r in found if r is not None and r.opt_out_deadline <= horizon),
            key=lambda r: (r.opt_out_deadline, r.name.casefold()),
        )
    )


def remind(
    record: ProfileRecord,
    position: LicensePosition | None,
    *,
    store: ReminderStore,
    notices: Notices,
    today: date,
) -> int | None:
    """Put `Renewal Approaching` for the nearest reminder threshold crossed, once per renewal; which one, if any."""
    renewal = renewal_of(record, position, today)
    if renewal is None or renewal.days_to_deadline < 0:
        return None
    crossed = sorted(d for d in set(record.profile.policy.renewal_reminder_days) if renewal.days_to_deadline <= d)
    if not crossed:
        return None
    # Every threshold crossed is marked, so that the farther ones are never put after the nearer one.
    fresh = {days: store.mark_renewal_reminder(record.id, renewal.renewal_date, days) for days in crossed}
    nearest = crossed[0]
    if not fresh[nearest]:
        return None
    notices.put(
        "Renewal Approaching",
        {
            "profile_id": record.id,
            "name": renewal.name,
            "renewal_date": renewal.renewal_date.isoformat(),
            "opt_out_deadline": renewal.opt_out_deadline.isoformat(),
            "days_left": renewal.days_to_deadline,
            "reminder_days": nearest,
            "auto_renew": renewal.auto_renew,
            "owner": renewal.owner,
            "recommended_licenses": renewal.recommended_licenses,
            "licenses_purchased": renewal.licenses_purchased,
        },
    )
    return nearest
