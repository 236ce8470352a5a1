"""The license position, exactly as SPEC.md defines it, on the edge cases that matter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from seatkeeper.licensing.position import compute_position
from seatkeeper.profiles.catalog import build_profile
from seatkeeper.saas.records import SaaSUser

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def profile(purchased=10, cost="12.5", days=90, tracked=True):
    fields = {"id": "id", "active": "active", "created_at": "created"}
    if tracked:
        fields["last_activity"] = "last"
    return build_profile(
        {
            "name": "p",
            "base_url": "https://a.example.com",
            "auth": {"type": "bearer"},
            "users": {"path": "/u", "fields": fields},
            "subscription": {
                "licenses_purchased": purchased,
                "cost_per_license": cost,
                "currency": "EUR",
                "billing_period": "annual",
            },
            "policy": {"inactivity_days": days},
        }
    )


def user(i, *, active=True, last=None, created=None):
    return SaaSUser(id=str(i), active=active, last_activity=last, created_at=created)


def test_the_designed_population_gives_every_figure():
    users = (
        [user(i, last=NOW - timedelta(days=5)) for i in range(6)]  # active
        + [user(10 + i, last=NOW - timedelta(days=200)) for i in range(3)]  # stale
        + [user(20, created=NOW - timedelta(days=400))]  # never active, created long ago: stale
        + [user(21, created=NOW - timedelta(days=10))]  # never active, new: unknown
        + [user(22)]  # no data at all: unknown
        + [user(30 + i, active=False, last=NOW - timedelta(days=500)) for i in range(4)]
    )  # disabled
    position = compute_position("prf", profile(purchased=15), users, now=NOW)
    assert (position.assigned, position.active, position.stale, position.unknown) == (12, 6, 4, 2)
    assert (position.position, position.unused, position.shortfall) == ("over_licensed", 3, 0)
    # max(15 - (12 - 4), 0) x 12.5
    assert position.potential_savings.model_dump(mode="json") == {"amount": 87.5, "currency": "EUR", "period": "annual"}
    assert position.true_up_cost.amount == 0 and position.spend.amount == Decimal("187.5")


def test_under_licensed_reports_the_shortfall_and_its_cost():
    users = [user(i, last=NOW) for i in range(13)]
    position = compute_position("prf", profile(purchased=10), users, now=NOW)
    assert (position.position, position.shortfall, position.unused) == ("under_licensed", 3, 0)
    assert position.true_up_cost.amount == Decimal("37.5")
    assert position.potential_savings.amount == 0


def test_compliant_when_assigned_equals_purchased():
    position = compute_position("prf", profile(purchased=2), [user(1, last=NOW), user(2, last=NOW)], now=NOW)
    assert (position.position, position.unused, position.shortfall) == ("compliant", 0, 0)


def test_zero_licenses_purchased():
    position = compute_position("prf", profile(purchased=0), [user(1, last=NOW)], now=NOW)
    assert (position.position, position.shortfall, position.potential_savings.amount) == ("under_licensed", 1, 0)
    empty = compute_position("prf", profile(purchased=0), [], now=NOW)
    assert (empty.position, empty.assigned) == ("compliant", 0)


def test_without_activity_data_nobody_is_stale():
    users = [user(i, created=NOW - timedelta(days=900)) for i in range(5)]
    position = compute_position("prf", profile(tracked=False), users, now=NOW)
    assert (position.stale, position.unknown, position.active) == (0, 5, 0)


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(days=90), "active"),  # the threshold moment itself is still inside the window
        (timedelta(days=90, seconds=1), "stale"),
        (timedelta(days=89, hours=23), "active"),
    ],
)
def test_the_threshold_day_itself(age, expected):
    position = compute_position("prf", profile(days=90), [user(1, last=NOW - age)], now=NOW)
    assert getattr(position, expected) == 1


def test_time_zones_compare_as_instants():
    tokyo = timezone(timedelta(hours=9))
    last = (NOW - timedelta(days=90)).astimezone(tokyo)  # the same instant, written in Tokyo time
    assert compute_position("prf", profile(days=90), [user(1, last=last)], now=NOW).active == 1


def test_licensed_users_fall_into_activity_buckets_by_the_days_since_their_last_activity():
    ages = [0, 29, 30, 59, 60, 89, 90, 119, 120, 400]
    users = [user(i, last=NOW - timedelta(days=d, hours=1)) for i, d in enumerate(ages)]
    users += [user(50, created=NOW - timedelta(days=3)), user(51, active=False, last=NOW)]
    buckets = compute_position("prf", profile(purchased=20), users, now=NOW).activity
    assert buckets.model_dump() == {
        "d0_30": 2,
        "d30_60": 2,
        "d60_90": 2,
        "d90_120": 2,
        "d120_plus": 2,
        "never": 1,
        "no_data": 0,
    }  # the disabled user holds no license and is not counted


def test_users_of_an_app_without_activity_data_are_counted_as_having_none():
    buckets = compute_position("prf", profile(tracked=False), [user(1), user(2)], now=NOW).activity
    assert (buckets.no_data, buckets.never, buckets.d0_30) == (2, 0, 0)


def test_a_slack_seat_idle_over_28_days_saves_nothing_and_one_without_activity_counts_at_its_price():
    # Given a profile of the slack template: Slack credits a member idle over 28 days (Fair Billing Policy,
    # tests/vendor_specs/slack/fair-billing.yaml), and this policy finds seats stale after 14 days
    slack = profile(purchased=6, cost="8", days=14).model_copy(update={"template": "slack"})
    users = [
        user(1, last=NOW - timedelta(days=2)),  # active
        user(2, last=NOW - timedelta(days=20)),  # stale, still billed by Slack
        user(3, last=NOW - timedelta(days=28, hours=-1)),  # stale, on the last day Slack bills it
        user(4, last=NOW - timedelta(days=29)),  # stale, no longer billed
        user(5, last=NOW - timedelta(days=200)),  # stale, no longer billed
        user(6, created=NOW - timedelta(days=400)),  # never active: stale, counted as billed
    ]
    # When its position is computed
    position = compute_position("prf", slack, users, now=NOW)
    # Then the two seats idle over 28 days are unbilled and the savings are the other three stale seats only
    assert (position.stale, position.unbilled, position.unused) == (5, 2, 0)
    assert position.potential_savings.amount == 3 * Decimal(8)
    # And the same users of a vendor that bills every seat save all five
    same = compute_position("prf", profile(purchased=6, cost="8", days=14), users, now=NOW)
    assert (same.unbilled, same.potential_savings.amount) == (0, 5 * Decimal(8))
