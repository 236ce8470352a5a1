"""Renewal arithmetic and reminders as plain functions: deadlines, roll-over, recommended counts, once each."""

from __future__ import annotations

from datetime import UTC, date, datetime

from seatkeeper.licensing.position import compute_position
from seatkeeper.licensing.renewals import remind, renewal_of, upcoming
from seatkeeper.profiles.catalog import build_profile
from seatkeeper.profiles.records import ProfileRecord
from seatkeeper.saas.records import SaaSUser

TODAY = date(2026, 3, 1)
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def record(profile_id="prf_1", name="p", **subscription):
    built = build_profile(
        {
            "name": name,
            "base_url": "https://a.example.com",
            "auth": {"type": "bearer"},
            "users": {"path": "/u", "fields": {"id": "id", "last_activity": "last"}},
            "subscription": {"licenses_purchased": 10, "cost_per_license": 5, **subscription},
        }
    )
    return ProfileRecord(id=profile_id, own={}, profile=built, created_at=NOW, updated_at=NOW)


def position_of(profile, active=5, stale=2):
    users = [SaaSUser(id=f"a{i}", last_activity=NOW) for i in range(active)]
    users += [SaaSUser(id=f"s{i}", last_activity=datetime(2020, 1, 1, tzinfo=UTC)) for i in range(stale)]
    return compute_position(profile.id, profile.profile, users, now=NOW)


class Marks:
    def __init__(self):
        self.marks = set()

    def mark_renewal_reminder(self, profile_id, renewal_date, days):
        key = (profile_id, renewal_date, days)
        fresh = key not in self.marks
        self.marks.add(key)
        return fresh


class Heard:
    def __init__(self):
        self.events = []

    def put(self, detail_type, detail):
        self.events.append((detail_type, detail))


def test_the_deadline_is_notice_days_before_the_renewal_and_the_count_has_headroom():
    profile = record(renewal_date="2026-05-30", notice_days=45)
    renewal = renewal_of(profile, position_of(profile), TODAY)
    assert renewal.opt_out_deadline == date(2026, 4, 15) and renewal.days_to_deadline == 45
    assert renewal.recommended_licenses == 6  # ceil((7 - 2) x 1.1) = ceil(5.5)
    assert renewal.utilisation == 0.5 and renewal.annual_cost == 600
    assert renewal.potential_annual_savings == 4 * 5 * 12


def test_an_auto_renewing_subscription_rolls_over_and_one_that_does_not_lapses():
    rolled = renewal_of(record(renewal_date="2024-02-29"), None, TODAY)
    assert rolled.renewal_date == date(2027, 2, 28)
    assert renewal_of(record(renewal_date="2026-01-01", auto_renew=False), None, TODAY) is None
    assert renewal_of(record(), None, TODAY) is None


def test_upcoming_keeps_the_window_and_sorts_by_deadline():
    a = record("prf_a", "a", renewal_date="2026-06-01", notice_days=10)
    b = record("prf_b", "b", renewal_date="2026-05-01", notice_days=60)
    c = record("prf_c", "c", renewal_date="2027-06-01")
    assert [r.profile_id for r in upcoming([a, b, c], [], today=TODAY, within_days=120).items] == ["prf_b", "prf_a"]


def test_each_reminder_goes_out_once_and_a_late_first_look_skips_the_farther_ones():
    profile = record(renewal_date="2026-04-20", notice_days=30)  # deadline in 20 days
    marks, heard = Marks(), Heard()
    assert remind(profile, None, store=marks, notices=heard, today=TODAY) == 30
    assert remind(profile, None, store=marks, notices=heard, today=TODAY) is None
    assert [d["reminder_days"] for _, d in heard.events] == [30]
    farther = record(renewal_date="2026-08-28", notice_days=30)  # deadline in 150 days: none crossed yet
    assert remind(farther, None, store=marks, notices=heard, today=TODAY) is None
    assert remind(farther, None, store=marks, notices=heard, today=date(2026, 3, 31)) == 120
