"""The SaaS overview dashboard's figures, from every profile's latest license position."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from seatkeeper.position import ActivityBuckets, Amount, LicensePosition
from seatkeeper.profiles import ProfileRecord


class TopSaving(BaseModel):
    model_config = ConfigDict(defer_build=True)

    profile_id: str
    name: str
    potential_savings: Amount
    stale: int


class Application(BaseModel):
    """One profile on the overview: its latest position, if it was ever reconciled."""

    model_config = ConfigDict(defer_build=True)

    profile_id: str
    name: str
    latest: LicensePosition | None


class TrendPoint(BaseModel):
    """The sum of every profile's position as it stood at the end of one day."""

    model_config = ConfigDict(defer_build=True)

    date: date
    stale: int
    unused: int
    potential_savings: list[Amount]


class Savings(BaseModel):
    model_config = ConfigDict(defer_build=True)

    year: int
    seats: int = Field(description="Licenses taken back by completed reclamations this year")
    amounts: list[Amount] = Field(description="What those licenses cost per billing period, per currency")


class Overview(BaseModel):
    model_config = ConfigDict(defer_build=True)

    applications: int
    reconciled_applications: int
    licenses_purchased: int
    assigned: int
    active: int
    stale: int
    unknown: int
    positions: dict[str, int]
    spend: list[Amount]
    potential_savings: list[Amount]
    true_up_cost: list[Amount]
    top_savings: list[TopSaving]
    reclaimable: int = Field(description="Seats nobody needs: never assigned, or assigned to stale users")
    unused_percent: float = Field(description="reclaimable as a share of licenses purchased, in percent")
    actual_savings: Savings
    activity: ActivityBuckets
    trend: list[TrendPoint] = Field(description="Oldest first: each day's last reconciliation, summed over profiles")
    per_application: list[Application] = Field(description="Every profile, reconciled ones by potential savings first")


def _totals(amounts: list[Amount]) -> list[Amount]:
    """Sums per currency and billing period: money in different currencies is never added up."""
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for amount in amounts:
        sums[amount.currency, amount.period] += amount.amount
    return [Amount(amount=v, currency=c, period=p) for (c, p), v in sorted(sums.items())]


def reclaimable(position: LicensePosition) -> int:
    """The seats behind potential_savings (SPEC: never assigned, plus assigned to stale users)."""
    return max(position.licenses_purchased - (position.assigned - position.stale), 0)


def trend_point(day: date, positions: Iterable[LicensePosition]) -> TrendPoint:
    """The day's point: the sum of the positions standing at its end, one per profile."""
    standing = list(positions)
    return TrendPoint(
        date=day,
        stale=sum(p.stale for p in standing),
        unused=sum(reclaimable(p) for p in standing),
        potential_savings=_totals([p.potential_savings for p in standing]),
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


def overview(
    profiles: list[ProfileRecord],
    positions: list[LicensePosition],
    *,
    points: list[TrendPoint],
    savings: Savings,
    top: int = 5,
) -> Overview:
    names = {p.id: p.profile.name for p in profiles}
    latest = [p for p in positions if p.profile_id in names]
    reconciled = {p.profile_id for p in latest}
    counts = {"compliant": 0, "over_licensed": 0, "under_licensed": 0}
    for position in latest:
        counts[position.position] += 1
    ranked = sorted(latest, key=lambda p: p.potential_savings.amount, reverse=True)
    purchased = sum(p.licenses_purchased for p in latest)
    spare = sum(reclaimable(p) for p in latest)
    return Overview(
        applications=len(profiles),
        reconciled_applications=len(latest),
        licenses_purchased=purchased,
        assigned=sum(p.assigned for p in latest),
        active=sum(p.active for p in latest),
        stale=sum(p.stale for p in latest),
        unknown=sum(p.unknown for p in latest),
        positions=counts,
        spend=_totals([p.spend for p in latest]),
        potential_savings=_totals([p.potential_savings for p in latest]),
        true_up_cost=_totals([p.true_up_cost for p in latest if p.true_up_cost.amount]),
        top_savings=[
            TopSaving(
                profile_id=p.profile_id, name=names[p.profile_id], potential_savings=p.potential_savings, stale=p.stale
            )
            for p in ranked[:top]
            if p.potential_savings.amount > 0
        ],
        reclaimable=spare,
        unused_percent=round(100 * spare / purchased, 1) if purchased else 0.0,
        actual_savings=savings,
        activity=sum((p.activity for p in latest), ActivityBuckets()),
        trend=points,
        per_application=[Application(profile_id=p.profile_id, name=names[p.profile_id], latest=p) for p in ranked]
        + sorted(
            (Application(profile_id=i, name=n, latest=None) for i, n in names.items() if i not in reconciled),
            key=lambda a: a.name.casefold(),
        ),
    )
