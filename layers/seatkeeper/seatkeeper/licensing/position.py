"""The license position of one profile: what was bought against who holds a seat and who uses it.

Pure arithmetic over the users of the last successful sync (SPEC: "License position"):
assigned users hold a license; of them, active ones were active within the policy's
inactivity window, stale ones were not (never-active users count from their creation),
and unknown ones have no activity data at all. A stale seat the vendor already stops billing by
itself (Slack's Fair Billing Policy) is unbilled: reclaiming it saves nothing, and every figure of
money to save leaves it out (`still_billed`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from seatkeeper.core.money import Amount

# Only computing a position needs the profile, the users and their standing: a function that only
# reads positions (a reconciliation's record holds them) does not import the sync's modules at cold start.
if TYPE_CHECKING:
    from seatkeeper.profiles.catalog import ConfigurationTemplate
    from seatkeeper.profiles.model import Profile
    from seatkeeper.saas.records import SaaSUser

PositionName = Literal["compliant", "over_licensed", "under_licensed"]


class ActivityBuckets(BaseModel):
    """Licensed users by the age of their last activity, in days; `never`: tracked but never active."""

    model_config = ConfigDict(defer_build=True)

    d0_30: int = 0
    d30_60: int = 0
    d60_90: int = 0
    d90_120: int = 0
    d120_plus: int = 0
    never: int = Field(0, description="Never signed in: the app reports activity, and this user has none")
    no_data: int = Field(0, description="No activity data: users of apps that report no activity at all")

    def __add__(self, other: ActivityBuckets) -> ActivityBuckets:
        return ActivityBuckets(**{k: getattr(self, k) + getattr(other, k) for k in type(self).model_fields})


def bucket_starts(now: datetime) -> tuple[float, float, float, float]:
    """The timestamps 30, 60, 90 and 120 days before `now`, the buckets' lower ends."""
    stamp, day = now.timestamp(), 86_400
    return stamp - 30 * day, stamp - 60 * day, stamp - 90 * day, stamp - 120 * day


def activity_bucket(last_activity: datetime | None, *, starts: tuple[float, float, float, float], tracked: bool) -> str:
    """The ActivityBuckets field a licensed user is counted in, by whole days since the last activity.

    One timestamp() per user, then float comparisons: comparing aware datetimes of another
    time zone object asks both for their offsets (a new timedelta each) every time.
    """
    if last_activity is None:
        return "never" if tracked else "no_data"
    stamp = last_activity.timestamp()
    d30, d60, d90, d120 = starts
    if stamp > d30:
        return "d0_30"
    if stamp > d60:
        return "d30_60"
    if stamp > d90:
        return "d60_90"
    return "d90_120" if stamp > d120 else "d120_plus"


def vendor_bills_until(profile: Profile, now: datetime | None = None) -> tuple[datetime, ConfigurationTemplate] | None:
    """The last activity before which the profile's vendor bills no seat (its template's unbilled_after_idle_days),
    with that template; None when the vendor bills a seat however idle it is."""
    # The templates only where money to save is counted: billing dates alone never load them.
    from seatkeeper.profiles.catalog import templates

    known = templates().get(profile.template or "")
    days = known.reclaim.unbilled_after_idle_days if known is not None and known.reclaim is not None else None
    if known is None or days is None:
        return None
    return (now or datetime.now(UTC)) - timedelta(days=days), known


def still_billed(last_activity: datetime | None, unbilled_before: datetime | None) -> bool:
    """Whether the vendor still bills a seat last used then: a seat with no known activity is counted as billed.

    Without activity nobody knows whether the member acted in the app (a sign-in log only shows sign-ins):
    its seat is counted at its price, as before the vendor's rule was known, rather than as saved already.
    """
    return unbilled_before is None or last_activity is None or last_activity >= unbilled_before


# --- seat lifecycle (SPEC "Tiers and downgrade"): the position per tier ---
class TierPosition(BaseModel):
    model_config = ConfigDict(defer_build=True)

    name: str
    assigned: int = 0
    active: int = 0
    stale: int = 0
    licenses_purchased: int | None = None
    cost: Amount = Field(description="One license of the tier, per billing period")


def tier_positions(profile: Profile, places: dict[str, dict[str, int]]) -> list[TierPosition]:
    """The subscription's tiers with their users counted; `places` is tier name (casefolded) -> standing -> users."""
    subscription = profile.subscription
    tiers = []
    for tier in subscription.tiers:
        counts = places.get(tier.name.casefold(), {})
        tiers.append(
            TierPosition(
                name=tier.name,
                assigned=counts.get("active", 0) + counts.get("stale", 0) + counts.get("unknown", 0),
                active=counts.get("active", 0),
                stale=counts.get("stale", 0),
                licenses_purchased=tier.licenses_purchased,
                cost=Amount(
                    amount=tier.cost_per_license, currency=subscription.currency, period=subscription.billing_period
                ),
            )
        )
    return tiers


class LicensePosition(BaseModel):
    model_config = ConfigDict(defer_build=True)

    profile_id: str
    licenses_purchased: int
    assigned: int
    active: int
    stale: int
    unknown: int
    position: PositionName
    unused: int
    shortfall: int
    taken_back: int = Field(
        0,
        description="Unassigned seats that reclamations took back and that are still bought: "
        "their cost counts as saved, not as potential savings",
    )
    unbilled: int = Field(
        0,
        description="Stale seats the vendor already stops billing by itself (Slack: idle over 28 days, its Fair"
        " Billing Policy): reclaiming them saves nothing, and potential_savings leaves them out",
    )
    potential_savings: Amount
    true_up_cost: Amount
    spend: Amount
    reconciled_at: datetime
    run_id: str | None = None
    # Positions stored before the dashboard existed have no buckets: they read as all zero.
    activity: ActivityBuckets = Field(default_factory=ActivityBuckets)
    # seat lifecycle: empty for a subscription without tiers
    tiers: list[TierPosition] = Field(default_factory=list)
    # Usage from the identity provider (SPEC): seats seen through the IdP, counted apart.
    orphaned: int = Field(0, description="Licensed leavers: the IdP shows them deactivated or suspended (also stale)")
    unmatched: int = Field(0, description="Licensed accounts that no IdP person matches (never stale)")
    excluded: int = Field(0, description="Licensed accounts that policy.excluded_users keeps out (never stale)")
    assigned_via_group: int = Field(0, description="Licensed seats given through a group")


class PositionHistory(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[LicensePosition]


def compute_position(
    profile_id: str,
    profile: Profile,
    users: Iterable[SaaSUser],
    *,
    now: datetime,
    run_id: str | None = None,
    taken_back: int = 0,
    kept: Collection[str] = (),
) -> LicensePosition:
    """The position; `kept`: users who kept their seat through a keep link, active for as long as it protects them."""
    # Cold start: only computing a position needs the users' standing (see the top).
    from seatkeeper.sync.runs import cutoff_for, standing, tracks_activity

    cutoff, tracked = cutoff_for(profile, now), tracks_activity(profile)
    counts = {"active": 0, "stale": 0, "unknown": 0, "inactive": 0}
    activity: dict[str, int] = dict.fromkeys(ActivityBuckets.model_fields, 0)
    starts = bucket_starts(now)
    by_tier: dict[str, dict[str, int]] = {}  # seat lifecycle: tier -> standing -> users
    seen_by_idp = dict.fromkeys(("orphaned", "unmatched", "excluded", "assigned_via_group"), 0)
    # What acting on each stale seat saves: its own tier's price, less the price of the tier a
    # downgrade moves it to (a seat already there saves nothing more: never counted again).
    subscription, policy = profile.subscription, profile.policy
    floor = subscription.cost_of(policy.downgrade_to) if policy.stale_action == "downgrade" else Decimal(0)
    stale_savings, unbilled = Decimal(0), 0
    billed_until = vendor_bills_until(profile, now)
    unbilled_before = billed_until[0] if billed_until else None
    for user in users:
        place = standing(user, cutoff=cutoff, tracked=tracked, policy=profile.policy)
        if place == "stale" and user.id in kept:  # seat lifecycle: keeping a seat restarts its clock
            place = "active"
        if place != "inactive":
            _count_idp_view(user, profile, seen_by_idp)
        counts[place] += 1
        if place == "stale" and not still_billed(user.last_activity, unbilled_before):
            unbilled += 1  # the vendor credits it already: acting on it saves nothing
        elif place == "stale":
            stale_savings += max(subscription.cost_of(user.tier) - floor, Decimal(0))
        if user.tier is not None:
            in_tier = by_tier.setdefault(user.tier.casefold(), {})
            in_tier[place] = in_tier.get(place, 0) + 1
        if place != "inactive":
            activity[activity_bucket(user.last_activity, starts=starts, tracked=tracked)] += 1
    assigned = counts["active"] + counts["stale"] + counts["unknown"]
    purchased, cost = subscription.licenses_purchased, subscription.cost_per_license

    def amount(value: Decimal) -> Amount:
        return Amount(amount=value, currency=subscription.currency, period=subscription.billing_period)

    if assigned > purchased:
        name: PositionName = "under_licensed"
    elif assigned < purchased:
        name = "over_licensed"
    else:
        name = "compliant"
    shortfall = max(assigned - purchased, 0)
    unused = max(purchased - assigned, 0)
    # A seat taken back is unassigned until someone gets it or the subscription drops it.
    taken_back = min(max(taken_back, 0), unused)
    return LicensePosition(
        profile_id=profile_id,
        licenses_purchased=purchased,
        assigned=assigned,
        active=counts["active"],
        stale=counts["stale"],
        unknown=counts["unknown"],
        position=name,
        unused=unused,
        shortfall=shortfall,
        taken_back=taken_back,
        unbilled=unbilled,
        # Seats that nobody needs: those unassigned, less the seats reclamations already took back
        # (counted as saved: never twice), plus what acting on each stale seat the vendor still bills saves.
        # Under-licensed, the first `shortfall` stale seats only make up the shortfall: they save nothing.
        potential_savings=amount(
            (unused - taken_back) * cost
            + (stale_savings * max(counts["stale"] - shortfall, 0) / counts["stale"] if counts["stale"] else 0)
        ),
        true_up_cost=amount(shortfall * cost),
        spend=amount(purchased * cost),
        reconciled_at=now,
        run_id=run_id,
        activity=ActivityBuckets(**activity),
        tiers=tier_positions(profile, by_tier),
        **seen_by_idp,
    )


def _count_idp_view(user: SaaSUser, profile: Profile, seen: dict[str, int]) -> None:
    """Count a licensed user's IdP figures (an excluded user is never stale: `standing` says so)."""
    # Cold start: the IdP's module only where its figures are counted.
    from seatkeeper.identity.provider import excluded

    seen["orphaned"] += user.orphaned
    seen["unmatched"] += user.unmatched
    seen["assigned_via_group"] += user.assigned_via_group is not None
    seen["excluded"] += excluded(user, profile.policy)
