"""The SaaS overview dashboard's figures, from every profile's latest license position."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from seatkeeper.position import Amount, LicensePosition
from seatkeeper.profiles import ProfileRecord


class TopSaving(BaseModel):
    model_config = ConfigDict(defer_build=True)

    profile_id: str
    name: str
    potential_savings: Amount
    stale: int


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


def _totals(amounts: list[Amount]) -> list[Amount]:
    """Sums per currency and billing period: money in different currencies is never added up."""
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for amount in amounts:
        sums[amount.currency, amount.period] += amount.amount
    return [Amount(amount=v, currency=c, period=p) for (c, p), v in sorted(sums.items())]


def overview(profiles: list[ProfileRecord], positions: list[LicensePosition], *, top: int = 5) -> Overview:
    names = {p.id: p.profile.name for p in profiles}
    latest = [p for p in positions if p.profile_id in names]
    counts = {"compliant": 0, "over_licensed": 0, "under_licensed": 0}
    for position in latest:
        counts[position.position] += 1
    ranked = sorted(latest, key=lambda p: p.potential_savings.amount, reverse=True)
    return Overview(
        applications=len(profiles),
        reconciled_applications=len(latest),
        licenses_purchased=sum(p.licenses_purchased for p in latest),
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
    )
