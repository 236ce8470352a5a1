"""The SaaS overview dashboard's figures, from every profile's latest license position.

Money is shown as a rate per month and per year, per currency: an annual subscription and a
monthly one are added up only once both are converted. Money in different currencies is never
added up. What reclamations saved is an amount: the bills of this calendar year that no longer carry
their seats, whenever the reclamation finished. A seat taken back is paid until its app's billing
period ends: its saving starts with the app's next bill after the reclamation finished
(`licensing.billing`), unknown for an app with no renewal date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from seatkeeper.core.errors import TemplateNotFound
from seatkeeper.core.money import Amount, Money, Rate, rates
from seatkeeper.licensing.billing import bills_between
from seatkeeper.licensing.position import ActivityBuckets, LicensePosition
from seatkeeper.licensing.reclamation import Saving
from seatkeeper.profiles.catalog import template
from seatkeeper.profiles.model import Profile
from seatkeeper.profiles.records import ProfileRecord
from seatkeeper.sync.runs import tracks_activity

# A protocol that any vendor's app may speak: a profile made from it is named for its vendor itself.
GENERIC_TEMPLATES = frozenset({"scim2"})


class Total(BaseModel):
    """An amount of money, not a rate."""

    model_config = ConfigDict(defer_build=True)

    amount: Money
    currency: str


class TopSaving(BaseModel):
    model_config = ConfigDict(defer_build=True)

    profile_id: str
    name: str
    potential_savings: Rate
    stale: int


class Application(BaseModel):
    """One profile on the overview: its latest position, if it was ever reconciled, and its money."""

    model_config = ConfigDict(defer_build=True)

    profile_id: str
    name: str
    vendor: str = Field(description="The template's title; the profile's name for custom and SCIM profiles")
    cost_center: str | None = None
    cost_per_license: Rate = Field(description="The subscription's price of one license")
    latest: LicensePosition | None
    spend: Rate | None = Field(description="Licenses purchased x cost per license, at the latest position")
    utilisation: float | None = Field(
        description="Active users / licenses purchased, in percent; none when the app reports no activity (unknown)"
    )


class TrendPoint(BaseModel):
    """The sum of every profile's position as it stood at the end of one day."""

    model_config = ConfigDict(defer_build=True)

    date: date
    stale: int
    unused: int = Field(description="The seats behind potential savings (reclaimable)")
    potential_savings: list[Rate]

    @field_validator("potential_savings", mode="before")
    @classmethod
    def _per_period(cls, value: Any) -> Any:
        # Points stored before money was kept as rates hold amounts per billing period.
        if isinstance(value, list):
            return [Rate.of(Amount.model_validate(v)) if isinstance(v, dict) and "period" in v else v for v in value]
        return value


class Savings(BaseModel):
    model_config = ConfigDict(defer_build=True)

    year: int
    seats: int = Field(description="Licenses taken back by reclamations completed this year")
    earlier_seats: int = Field(
        0,
        description="Licenses taken back in earlier years that this year's bills up to today no longer carry (each"
        " from its first bill without them)",
    )


class CommittedSaving(BaseModel):
    """What this year's reclamations save from one date on, in one currency."""

    model_config = ConfigDict(defer_build=True)

    starts_on: date | None = Field(
        description="The first bill without their seats: each app's next bill after its reclamation finished; null"
        " when the app's billing dates are unknown (its subscription has no renewal date)"
    )
    currency: str
    per_month: Money
    per_year: Money
    seats: int
    applications: list[str] = Field(description="The applications' names, in the order their reclamations finished")


class SpendGroup(BaseModel):
    model_config = ConfigDict(defer_build=True)

    name: str | None = Field(description="The cost center or vendor; null: applications without a cost center")
    applications: int
    spend: list[Rate]


class Overview(BaseModel):
    model_config = ConfigDict(defer_build=True)

    applications: int
    reconciled_applications: int
    licenses_purchased: int
    assigned: int
    active: int
    stale: int
    unknown: int
    unassigned: int = Field(description="Licenses bought but assigned to nobody: sum of max(purchased - assigned, 0)")
    stale_percent_of_assigned: float = Field(description="stale / assigned, in percent")
    positions: dict[str, int]
    spend: list[Rate] = Field(description="sum of licenses purchased x cost per license, per currency")
    potential_savings: list[Rate] = Field(description="What the reclaimable seats cost, per currency")
    true_up_cost: list[Rate] = Field(description="sum of shortfall x cost per license of under-licensed applications")
    reclaimable: int = Field(
        description="Seats nobody needs: unassigned or assigned to stale users, less the seats already taken back"
    )
    taken_back: int = Field(description="Unassigned seats that reclamations took back and that are still bought")
    orphaned: int = Field(
        description="Licensed leavers: the identity provider shows them deactivated or suspended (counted in stale"
        " too); the first seats to reclaim"
    )
    unmatched: int = Field(description="Licensed accounts that no identity-provider person matches (never stale)")
    top_savings: list[TopSaving]
    actual_savings: Savings
    actual_savings_ytd: list[Total] = Field(
        description="The money not paid this year because of seats taken back, whenever their reclamation finished:"
        " each one's saving per billing period x its app's bills this year up to today from the first without its"
        " seats (the app's next bill after the reclamation); a saving whose start is unknown, or of an application"
        " deleted since, counts nothing"
    )
    saved_run_rate: list[Rate] = Field(
        description="What reclamations completed this year, and earlier ones whose first bill without their seats"
        " falls this year or later, save per month and year"
    )
    committed_savings: list[CommittedSaving] = Field(
        description="saved_run_rate by the day each saving starts, the soonest first, an unknown start last"
    )
    spend_by_cost_center: list[SpendGroup]
    spend_by_vendor: list[SpendGroup]
    activity: ActivityBuckets
    trend: list[TrendPoint] = Field(
        description="Oldest first: each day's positions summed over profiles; the last point is today's, the figures"
        " above"
    )
    per_application: list[Application] = Field(description="Every profile, reconciled ones by potential savings first")


def reclaimable(position: LicensePosition) -> int:
    """The seats behind potential_savings: unassigned or stale, less those already taken back and the stale seats
    the vendor already stops billing (unbilled)."""
    billed_stale = position.stale - position.unbilled
    return max(position.licenses_purchased - (position.assigned - billed_stale) - position.taken_back, 0)


def vendor(profile: Profile) -> str:
    if profile.template and profile.template not in GENERIC_TEMPLATES:
        try:
            return template(profile.template).title
        except TemplateNotFound:
            pass
    return profile.name


def percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def trend_point(day: date, positions: Iterable[LicensePosition]) -> TrendPoint:
    """The day's point: the sum of the positions standing at its end, one per profile."""
    standing = list(positions)
    return TrendPoint(
        date=day,
        stale=sum(p.stale for p in standing),
        unused=sum(reclaimable(p) for p in standing),
        potential_savings=rates(p.potential_savings for p in standing),
    )


def trend(history: Mapping[str, list[LicensePosition]], *, days: int = 90) -> list[TrendPoint]:
    """Each day's point from position histories, over the last `days` days with any position (for backfills)."""
    dated = [sorted(positions, key=lambda p: p.reconciled_at) for positions in history.values() if positions]
    if not dated:
        return []
    last = max(d[-1].reconciled_at.date() for d in dated)
    day = max(min(d[0].reconciled_at.date() for d in dated), last - timedelta(days=days - 1))
    # One pointer per profile walks its history as the days go by: the position standing is the last one before.
    next_index = [0] * len(dated)
    standing: list[LicensePosition | None] = [None] * len(dated)
    points = []
    while day <= last:
        for k, entries in enumerate(dated):
            while next_index[k] < len(entries) and entries[next_index[k]].reconciled_at.date() <= day:
                standing[k] = entries[next_index[k]]
                next_index[k] += 1
        points.append(trend_point(day, (p for p in standing if p is not None)))
        day += timedelta(days=1)
    return points


def savings_years(profiles: Iterable[ProfileRecord], today: date) -> range:
    """The years whose savings can fall on this year's bills: from the year the oldest application was added.

    A seat taken back stays off its app's bills for as long as the app is subscribed (seatkeeper cannot tell
    a seat bought again from growth), so no year is too old; but none can be older than its application.
    """
    return range(min((p.created_at.year for p in profiles), default=today.year), today.year + 1)


def begins_this_year(saving: Saving, renewal_date: date | None, today: date) -> bool:
    """A saving that begins this year: finished this year, or earlier with its first bill this year or later."""
    starts = saving.starts_on(renewal_date)
    return saving.finished_at.year == today.year or (starts is not None and starts.year >= today.year)


def saved_so_far(
    savings: Iterable[Saving], today: date, renewal_dates: Mapping[str, date | None]
) -> tuple[list[Total], list[Rate]]:
    """The money not paid this year because of seats taken back, up to today; and what this year's save.

    Money saved is money no longer paid: each bill of this year up to today, from the first without a
    reclamation's seats, is its saving per billing period smaller, whenever the reclamation finished. A
    saving of an app not in `renewal_dates` (by profile: deleted since) or without a renewal date starts
    on a day nobody knows, and counts nothing. The rate is that of the savings `begins_this_year`.
    """
    so_far: dict[str, Decimal] = defaultdict(Decimal)
    savings = list(savings)
    for saving in savings:
        renewal_date = renewal_dates.get(saving.profile_id)
        starts = saving.starts_on(renewal_date)
        if renewal_date is None or starts is None or starts > today:
            continue
        bills = bills_between(renewal_date, saving.per_period.period, max(starts, date(today.year, 1, 1)), today)
        so_far[saving.per_period.currency] += saving.per_period.amount * bills
    totals = [Total(amount=v.quantize(Decimal("0.01")), currency=c) for c, v in sorted(so_far.items())]
    this_year = [s for s in savings if begins_this_year(s, renewal_dates.get(s.profile_id), today)]
    return totals, rates(s.per_period for s in this_year)


def committed_savings(
    savings: Iterable[Saving], renewal_dates: Mapping[str, date | None], names: Mapping[str, str]
) -> list[CommittedSaving]:
    """The savings by the day they start and their currency: the soonest first, an unknown start last."""
    groups: dict[tuple[date | None, str], list[Saving]] = defaultdict(list)
    for saving in sorted(savings, key=lambda s: s.finished_at):
        starts = saving.starts_on(renewal_dates.get(saving.profile_id))
        groups[starts, saving.per_period.currency].append(saving)
    committed = []
    for (starts, currency), members in groups.items():
        (rate,) = rates(s.per_period for s in members)
        committed.append(
            CommittedSaving(
                starts_on=starts,
                currency=currency,
                per_month=rate.per_month,
                per_year=rate.per_year,
                seats=sum(s.seats for s in members),
                applications=list(dict.fromkeys(names.get(s.profile_id, s.profile_id) for s in members)),
            )
        )
    return sorted(committed, key=lambda c: (c.starts_on is None, c.starts_on or date.max, c.currency))


def _groups(applications: list[Application], key: Callable[[Application], str | None]) -> list[SpendGroup]:
    """Spend added up per group, the largest first (by its first currency, per month)."""
    members: dict[str | None, list[Application]] = defaultdict(list)
    for application in applications:
        members[key(application)].append(application)
    groups = [
        SpendGroup(name=name, applications=len(apps), spend=rates(a.spend for a in apps if a.spend))
        for name, apps in members.items()
    ]
    return sorted(groups, key=lambda g: (-(g.spend[0].per_month if g.spend else 0), (g.name or "\uffff").casefold()))


def overview(
    profiles: list[ProfileRecord],
    positions: list[LicensePosition],
    *,
    points: list[TrendPoint],
    savings: list[Saving],
    today: date,
    top: int = 5,
) -> Overview:
    """The overview; its trend ends with today's point, summed from the very positions the figures come from."""
    by_id = {p.id: p.profile for p in profiles}
    latest = {p.profile_id: p for p in positions if p.profile_id in by_id}
    counts = {"compliant": 0, "over_licensed": 0, "under_licensed": 0}
    for position in latest.values():
        counts[position.position] += 1

    def application(profile_id: str, profile: Profile) -> Application:
        position, subscription = latest.get(profile_id), profile.subscription
        return Application(
            profile_id=profile_id,
            name=profile.name,
            vendor=vendor(profile),
            cost_center=subscription.cost_center,
            cost_per_license=Rate.of(
                Amount(
                    amount=subscription.cost_per_license,
                    currency=subscription.currency,
                    period=subscription.billing_period,
                )
            ),
            latest=position,
            spend=Rate.of(position.spend) if position else None,
            # Unknown, not 0 %, for an app that reports no activity: nobody can be counted active there.
            utilisation=percent(position.active, position.licenses_purchased)
            if position and position.licenses_purchased and tracks_activity(profile)
            else None,
        )

    every = [application(i, p) for i, p in by_id.items()]
    reconciled = sorted(
        (a for a in every if a.latest),
        key=lambda a: Rate.of(a.latest.potential_savings).per_month if a.latest else 0,
        reverse=True,
    )
    standing = list(latest.values())
    assigned, stale = sum(p.assigned for p in standing), sum(p.stale for p in standing)
    renewal_dates = {record.id: record.profile.subscription.renewal_date for record in profiles}
    savings = [s for s in savings if s.profile_id in renewal_dates]
    ytd, run_rate = saved_so_far(savings, today, renewal_dates)
    this_year = [s for s in savings if begins_this_year(s, renewal_dates[s.profile_id], today)]
    # Earlier ones still off this year's bills: begun by today (a December one's January bill, or years ago).
    earlier = [
        s
        for s in savings
        if s.finished_at.year < today.year and (start := s.starts_on(renewal_dates[s.profile_id])) and start <= today
    ]
    history = [p for p in points if p.date < today] + ([trend_point(today, standing)] if standing else [])
    return Overview(
        applications=len(profiles),
        reconciled_applications=len(standing),
        licenses_purchased=sum(p.licenses_purchased for p in standing),
        assigned=assigned,
        active=sum(p.active for p in standing),
        stale=stale,
        unknown=sum(p.unknown for p in standing),
        unassigned=sum(p.unused for p in standing),
        stale_percent_of_assigned=percent(stale, assigned),
        positions=counts,
        spend=rates(p.spend for p in standing),
        potential_savings=rates(p.potential_savings for p in standing),
        true_up_cost=rates(p.true_up_cost for p in standing if p.true_up_cost.amount),
        reclaimable=sum(reclaimable(p) for p in standing),
        taken_back=sum(p.taken_back for p in standing),
        orphaned=sum(p.orphaned for p in standing),
        unmatched=sum(p.unmatched for p in standing),
        top_savings=[
            TopSaving(
                profile_id=a.profile_id,
                name=a.name,
                potential_savings=Rate.of(a.latest.potential_savings),
                stale=a.latest.stale,
            )
            for a in reconciled[:top]
            if a.latest and a.latest.potential_savings.amount > 0
        ],
        actual_savings=Savings(
            year=today.year,
            seats=sum(s.seats for s in savings if s.finished_at.year == today.year),
            earlier_seats=sum(s.seats for s in earlier),
        ),
        actual_savings_ytd=ytd,
        saved_run_rate=run_rate,
        committed_savings=committed_savings(this_year, renewal_dates, {i: p.name for i, p in by_id.items()}),
        spend_by_cost_center=_groups([a for a in every if a.spend], lambda a: a.cost_center),
        spend_by_vendor=_groups([a for a in every if a.spend], lambda a: a.vendor),
        activity=sum((p.activity for p in standing), ActivityBuckets()),
        trend=history,
        per_application=reconciled + sorted((a for a in every if not a.latest), key=lambda a: a.name.casefold()),
    )
