"""The overview's money: rates per month and year, what reclamations saved, no seat counted twice, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from seatkeeper.core.money import Amount, Rate, rates
from seatkeeper.licensing.analytics import TrendPoint, overview, saved_so_far, savings_years
from seatkeeper.licensing.export import OVERVIEW_COLUMNS, cell, overview_csv
from seatkeeper.licensing.position import LicensePosition, compute_position
from seatkeeper.licensing.reclamation import Saving
from seatkeeper.licensing.reconciliation import record_position
from seatkeeper.profiles.catalog import build_profile
from seatkeeper.profiles.records import ProfileRecord
from tests.unit.test_position import NOW, profile, user
from tests.unit.test_reconciliation import position


def usd(amount, period="monthly"):
    return Amount(amount=Decimal(amount), currency="USD", period=period)


def test_every_billing_period_becomes_a_rate_per_month_and_per_year():
    assert Rate.of(usd(30)).model_dump(mode="json") == {"currency": "USD", "per_month": 30.0, "per_year": 360.0}
    assert Rate.of(usd(30, "quarterly")).model_dump(mode="json") == {
        "currency": "USD",
        "per_month": 10.0,
        "per_year": 120.0,
    }
    assert Rate.of(usd(1200, "annual")).model_dump(mode="json") == {
        "currency": "USD",
        "per_month": 100.0,
        "per_year": 1200.0,
    }
    # Added up only once converted, and never across currencies.
    eur = Amount(amount=Decimal(5), currency="EUR", period="monthly")
    summed = rates([usd(30), usd(30, "quarterly"), usd(1200, "annual"), eur])
    assert [(r.currency, float(r.per_month), float(r.per_year)) for r in summed] == [
        ("EUR", 5.0, 60.0),
        ("USD", 140.0, 1680.0),
    ]


def saving(finished, amount, period="monthly", seats=1, currency="USD", profile_id="prf"):
    return Saving(
        reclamation_id=f"rcl_{finished.isoformat()}",
        profile_id=profile_id,
        finished_at=finished,
        seats=seats,
        per_period=Amount(amount=Decimal(amount), currency=currency, period=period),
    )


def test_savings_so_far_are_the_bills_since_the_first_one_without_the_seats():
    today = date(2026, 11, 28)
    # Given a monthly app billed on the 20th: 62 seats of $8 taken back on September 16th (first bill
    # without them September 20th), and one seat on November 21st (first bill December 20th);
    # an annual app renewing on March 1st: a $365 seat taken back on January 10th (first bill March 1st)
    # and one on November 18th (first bill March 1st, 2027)
    renewal_dates = {"monthly": date(2027, 1, 20), "annual": date(2027, 3, 1)}
    savings = [
        saving(datetime(2026, 9, 16, 15, tzinfo=UTC), 62 * 8, seats=62, profile_id="monthly"),
        saving(datetime(2026, 11, 21, 9, tzinfo=UTC), 8, profile_id="monthly"),
        saving(datetime(2026, 1, 10, 9, tzinfo=UTC), 365, "annual", profile_id="annual"),
        saving(datetime(2026, 11, 18, 9, tzinfo=UTC), 365, "annual", profile_id="annual"),
    ]
    # When they are added up
    so_far, run_rate = saved_so_far(savings, today, renewal_dates)
    # Then the 62 seats were left off the bills of September, October and November 20th, the annual
    # seat off March 1st's, and the two newest off none yet
    assert [(t.currency, t.amount) for t in so_far] == [("USD", Decimal(62 * 8 * 3 + 365).quantize(Decimal("0.01")))]
    # And the run rate is what all of this year's save per month and per year, the annual ones converted
    # (each annual seat's month rounded to four places, as a rate is)
    assert [(r.currency, float(r.per_month), float(r.per_year)) for r in run_rate] == [
        ("USD", pytest.approx(496 + 8 + 2 * 365 / 12, abs=0.0002), (496 + 8) * 12 + 2 * 365.0)
    ]


def test_a_saving_of_an_app_without_a_renewal_date_counts_nothing_and_says_its_start_is_unknown():
    today = date(2026, 11, 28)
    # Given a reclamation of an app with no renewal date and one of an app billed on the 1st
    records = [record_named("undated", "Chat", renewal_date=None), record_named("dated", "HR", date(2027, 1, 1))]
    savings = [
        saving(datetime(2026, 10, 5, tzinfo=UTC), 80, seats=10, profile_id="undated"),
        saving(datetime(2026, 10, 5, tzinfo=UTC), 30, seats=3, profile_id="dated"),
        saving(datetime(2026, 11, 20, tzinfo=UTC), 10, seats=1, profile_id="dated"),
    ]
    # When the overview is made
    figures = overview(records, [], points=[], savings=savings, today=today)
    # Then only the dated app's bills of November 1st count (3 seats, $30)
    assert [(t.currency, float(t.amount)) for t in figures.actual_savings_ytd] == [("USD", 30.0)]
    # And the committed savings say from when each saves, the unknown one last, with its app's name
    assert [(c.starts_on, float(c.per_year), c.seats, c.applications) for c in figures.committed_savings] == [
        (date(2026, 11, 1), 360.0, 3, ["HR"]),
        (date(2026, 12, 1), 120.0, 1, ["HR"]),
        (None, 960.0, 10, ["Chat"]),
    ]
    # And together they are the run rate
    assert sum(c.per_year for c in figures.committed_savings) == figures.saved_run_rate[0].per_year


def record_named(profile_id, name, renewal_date):
    built = profile(purchased=10).model_copy(update={"name": name})
    built = built.model_copy(
        update={"subscription": built.subscription.model_copy(update={"renewal_date": renewal_date})}
    )
    return ProfileRecord(id=profile_id, own={}, profile=built, created_at=NOW, updated_at=NOW)


def test_saved_so_far_is_this_year_s_bills_without_the_seats_whenever_they_were_taken_back():
    today = date(2026, 3, 15)
    # Given an app billed on the 2nd of each month: 5 seats ($50) taken back two years ago, 9 ($1000) last
    # December 30th (first bill without them: January 2nd), and 1 ($31) this March 1st; and a seat ($70)
    # taken back last year in an app deleted since
    records = [record_named("prf", "Zoom", date(2026, 6, 2))]
    two_years_ago = saving(datetime(2024, 5, 10, tzinfo=UTC), 50, seats=5)
    last_december = saving(datetime(2025, 12, 30, tzinfo=UTC), 1000, seats=9)
    this_year = saving(datetime(2026, 3, 1, tzinfo=UTC), 31, seats=1)
    deleted = saving(datetime(2025, 6, 1, tzinfo=UTC), 70, seats=1, profile_id="gone")
    savings = [two_years_ago, last_december, this_year, deleted]
    # When the overview is made
    figures = overview(records, [], points=[], savings=savings, today=today)
    # Then "Saved in 2026 so far" is what its caption says: the money not paid on this year's bills up to
    # today because of seats taken back, each from its app's next bill after the reclamation: the bills
    # of 2026 so far are January 2nd, February 2nd and March 2nd
    bills_of_2026 = [date(2026, 1, 2), date(2026, 2, 2), date(2026, 3, 2)]

    def unpaid(s):
        return s.per_period.amount * sum(1 for bill in bills_of_2026 if bill > s.finished_at.date())

    assert [unpaid(s) for s in (two_years_ago, last_december, this_year)] == [150, 3000, 31]
    assert [(t.currency, t.amount) for t in figures.actual_savings_ytd] == [
        ("USD", Decimal(150 + 3000 + 31).quantize(Decimal("0.01")))
    ]
    # And the caption's counts: 1 license taken back this year, 14 earlier (the deleted app's is nobody's bill)
    assert (figures.actual_savings.seats, figures.actual_savings.earlier_seats) == (1, 5 + 9)
    # And the savings that begin this year are the run rate and the committed ones, last December's among them
    assert [float(r.per_month) for r in figures.saved_run_rate] == [1000 + 31]
    assert [(c.starts_on, c.seats) for c in figures.committed_savings] == [(date(2026, 1, 2), 9), (date(2026, 3, 2), 1)]


def test_a_december_reclamation_whose_first_bill_is_in_january_is_saved_in_january_s_year():
    # Given an app billed on January 2nd each year, and 3 seats ($300) taken back on December 30th
    records = [record_named("prf", "HR", date(2026, 1, 2))]
    december = saving(datetime(2025, 12, 30, tzinfo=UTC), 300, "annual", seats=3)
    # When the overview is made on December 31st and on January 1st, before the bill
    before = [
        overview(records, [], points=[], savings=[december], today=day)
        for day in (date(2025, 12, 31), date(2026, 1, 1))
    ]
    # Then nothing was saved yet, and it is committed from January 2nd in both years' figures
    assert [f.actual_savings_ytd for f in before] == [[], []]
    assert [[c.starts_on for c in f.committed_savings] for f in before] == [[date(2026, 1, 2)]] * 2
    # When the bill of January 2nd has gone out without the seats
    after = overview(records, [], points=[], savings=[december], today=date(2026, 1, 2))
    # Then 2026 has saved the $300, from a reclamation of 2025
    assert [(t.currency, float(t.amount)) for t in after.actual_savings_ytd] == [("USD", 300.0)]
    assert (after.actual_savings.seats, after.actual_savings.earlier_seats) == (0, 3)


def test_the_savings_read_go_back_to_the_year_the_oldest_application_was_added():
    # Given applications added in 2024 and 2026
    old = record_named("old", "Zoom", None).model_copy(update={"created_at": datetime(2024, 11, 3, tzinfo=UTC)})
    new = record_named("new", "HR", None).model_copy(update={"created_at": datetime(2026, 2, 1, tzinfo=UTC)})
    # Then the overview reads the savings of 2024, 2025 and 2026: one query each; none before 2024
    assert list(savings_years([new, old], date(2026, 3, 15))) == [2024, 2025, 2026]
    assert list(savings_years([], date(2026, 3, 15))) == [2026]


def test_seats_taken_back_leave_potential_savings_and_never_exceed_the_unassigned_seats():
    stale = [user(i, last=NOW - timedelta(days=200)) for i in range(4)]
    active = [user(10 + i, last=NOW) for i in range(4)]
    reclaimed = [user(20 + i, active=False, last=NOW - timedelta(days=200)) for i in range(2)]
    # Given 10 seats of 12.5, 8 assigned (4 stale), and the 2 seats a reclamation took back
    position = compute_position("prf", profile(purchased=10), stale + active + reclaimed, now=NOW, taken_back=2)
    # Then potential savings are the 2 unassigned and 4 stale seats, less the 2 taken back: 4 seats
    assert position.taken_back == 2 and position.potential_savings.amount == 4 * Decimal("12.5")
    # And a taken-back seat that someone got again (no seat unassigned any more) is no longer counted as such
    full = compute_position("prf", profile(purchased=8), stale + active, now=NOW, taken_back=2)
    assert full.taken_back == 0 and full.potential_savings.amount == 4 * Decimal("12.5")


class PositionsInMemory:
    """The ReconciliationStore's positions and trend, as the DynamoDB module keeps them."""

    def __init__(self, users):
        self.users_by_profile, self.latest, self.points = users, {}, {}

    def users(self, profile_id, after, limit):
        return self.users_by_profile[profile_id], None

    def latest_position(self, profile_id):
        return self.latest.get(profile_id)

    def put_position(self, position):
        self.latest[position.profile_id] = position

    def standing_positions(self):
        return list(self.latest.values())

    def put_trend_point(self, point: TrendPoint):
        self.points[point.date] = point


def record(profile_id, purchased, cost="8"):
    built = profile(purchased=purchased, cost=cost)
    return ProfileRecord(id=profile_id, own={}, profile=built, created_at=NOW, updated_at=NOW)


def test_every_recorded_position_rewrites_today_s_trend_point_and_carries_the_seats_taken_back():
    stale = [user(i, last=NOW - timedelta(days=200)) for i in range(6)]
    active = [user(10 + i, last=NOW) for i in range(4)]
    other = [user(i, last=NOW) for i in range(3)]
    store = PositionsInMemory({"a": stale + active, "b": other})
    # Given two reconciled apps: a with 6 stale of 10 assigned out of 12, b with 3 active of 5
    record_position(record("b", 5), store, store, run_id="r0", now=NOW)
    record_position(record("a", 12), store, store, run_id="r1", now=NOW)
    assert store.points[NOW.date()].stale == 6 and store.points[NOW.date()].unused == 2 + 6 + 2
    # When a reclamation takes the 6 stale seats back
    store.users_by_profile["a"] = active + [u.model_copy(update={"active": False}) for u in stale]
    after = record_position(record("a", 12), store, store, run_id=None, now=NOW + timedelta(hours=1), taken_back=6)
    # Then today's point says 0 stale at once, and the 6 seats are no longer potential savings
    point = store.points[NOW.date()]
    assert (after.stale, after.taken_back, point.stale) == (0, 6, 0)
    assert after.potential_savings.amount == 2 * 8 and point.unused == 2 + 2
    # And the next reconciliation keeps them taken back, until the subscription drops 4 licenses
    again = record_position(record("a", 12), store, store, run_id="r2", now=NOW + timedelta(days=1))
    assert again.taken_back == 6
    renewed = record_position(record("a", 8), store, store, run_id="r3", now=NOW + timedelta(days=2))
    assert (renewed.taken_back, renewed.unused, renewed.potential_savings.amount) == (2, 4, 2 * 8)


def test_per_application_spend_adds_up_to_the_total_and_groups_by_cost_center_and_vendor():
    def app(profile_id, name, template=None, cost_center=None, period="monthly", cost="10"):
        own = {
            "name": name,
            "base_url": "https://a.example.com",
            "auth": {"type": "bearer"},
            "users": {"path": "/u", "fields": {"id": "id", "active": "active"}},
            "subscription": {
                "licenses_purchased": 10,
                "cost_per_license": cost,
                "billing_period": period,
                **({"cost_center": cost_center} if cost_center else {}),
            },
        }
        if template:
            own["template"] = template
        return ProfileRecord(id=profile_id, own=own, profile=build_profile(own), created_at=NOW, updated_at=NOW)

    profiles = [
        app("a", "Zoom for sales", "zoom", "Sales"),
        app("b", "Acme HR", "scim2", "People", period="annual", cost="120"),
        app("c", "In-house wiki", None, "Sales", period="quarterly", cost="30"),
        app("d", "Not reconciled yet"),
    ]
    positions = [
        position("a", assigned=8, stale=2, cost="10"),
        position("b", assigned=12, stale=0, cost="120", period="annual"),
        position("c", assigned=4, stale=1, cost="30", period="quarterly"),
    ]
    figures = overview(profiles, positions, points=[], savings=[], today=NOW.date())
    by_id = {a.profile_id: a for a in figures.per_application}
    # Each reconciled application's spend per month; their sum is the total spend
    assert {i: float(a.spend.per_month) for i, a in by_id.items() if a.spend} == {"a": 100, "b": 100, "c": 100}
    assert by_id["d"].spend is None and float(by_id["d"].cost_per_license.per_month) == 10
    assert [(r.currency, float(r.per_month), float(r.per_year)) for r in figures.spend] == [("USD", 300, 3600)]
    assert float(by_id["b"].cost_per_license.per_month) == 10 and by_id["a"].utilisation == 60.0
    # The vendor: the template's title, or the profile's own name when custom or plain SCIM
    assert {i: a.vendor for i, a in by_id.items()} == {
        "a": "Zoom",
        "b": "Acme HR",
        "c": "In-house wiki",
        "d": "Not reconciled yet",
    }
    centers = {g.name: (g.applications, float(g.spend[0].per_month)) for g in figures.spend_by_cost_center}
    assert centers == {"Sales": (2, 200.0), "People": (1, 100.0)}
    assert figures.spend_by_cost_center[0].name == "Sales"
    assert sum(float(g.spend[0].per_month) for g in figures.spend_by_vendor) == 300


def test_the_csv_has_a_row_per_application_and_no_cell_a_spreadsheet_would_run():
    hostile = ['=HYPERLINK("http://evil.example")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "Fine name"]
    profiles = [
        ProfileRecord(
            id=f"p{i}",
            own={},
            profile=profile().model_copy(update={"name": name}),
            created_at=NOW,
            updated_at=NOW,
        )
        for i, name in enumerate(hostile)
    ]
    figures = overview(profiles, [position("p0", assigned=8, stale=3)], points=[], savings=[], today=NOW.date())
    rows = list(csv.reader(io.StringIO(overview_csv(figures))))
    assert rows[0] == list(OVERVIEW_COLUMNS)
    assert sorted(r[0] for r in rows[1:]) == sorted(cell(n) for n in hostile)
    assert {r[0][0] for r in rows[1:] if r[0] != "Fine name"} == {"'"}
    reconciled = next(dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[1] == "p0")
    assert (reconciled["position"], reconciled["stale"], reconciled["potential_savings_per_month"]) == (
        "over_licensed",
        "3",
        "50.0000",
    )
    waiting = next(dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[1] == "p5")
    assert waiting["position"] == "not_reconciled" and waiting["spend_per_month"] == ""


def test_positions_stored_before_rates_still_read():
    stored = {"date": "2026-11-01", "stale": 3, "unused": 4, "potential_savings": [usd(120, "annual").model_dump()]}
    assert float(TrendPoint.model_validate(stored).potential_savings[0].per_month) == 10.0
    old = position("a", assigned=1, stale=0).model_dump(mode="json")
    old.pop("taken_back")
    assert LicensePosition.model_validate(old).taken_back == 0


def test_an_app_that_reports_no_activity_has_an_unknown_utilisation_not_zero():
    # Given two apps with the same position, one that reports its users' activity and one that does not
    def app(profile_id, fields):
        own = {
            "name": profile_id,
            "base_url": "https://a.example.com",
            "auth": {"type": "bearer"},
            "users": {"path": "/u", "fields": {"id": "id", **fields}},
            "subscription": {"licenses_purchased": 10, "cost_per_license": "10"},
        }
        return ProfileRecord(id=profile_id, own=own, profile=build_profile(own), created_at=NOW, updated_at=NOW)

    profiles = [app("seen", {"last_activity": "last"}), app("blind", {})]
    positions = [
        LicensePosition(
            profile_id=i,
            licenses_purchased=10,
            assigned=6,
            active=active,
            stale=0,
            unknown=6 - active,
            position="compliant",
            unused=4,
            shortfall=0,
            taken_back=0,
            potential_savings=Amount(amount=Decimal(40), currency="USD", period="monthly"),
            true_up_cost=Amount(amount=Decimal(0), currency="USD", period="monthly"),
            spend=Amount(amount=Decimal(100), currency="USD", period="monthly"),
            reconciled_at=NOW,
        )
        for i, active in (("seen", 6), ("blind", 0))
    ]
    # When the overview is made
    by_id = {
        a.profile_id: a for a in overview(profiles, positions, points=[], savings=[], today=NOW.date()).per_application
    }
    # Then the one that reports activity has 6 of 10 active, and the other an unknown utilisation
    assert (by_id["seen"].utilisation, by_id["blind"].utilisation) == (60.0, None)


def test_the_overview_leaves_out_of_its_savings_and_seats_the_stale_members_slack_no_longer_bills():
    # Given a Slack profile (Fair Billing Policy: idle over 28 days is not billed,
    # tests/vendor_specs/slack/fair-billing.yaml) of 6 seats at 8: 2 active, 2 stale idle 200 days, 1 stale
    # never active, 1 unassigned
    slack = profile(purchased=6, cost="8").model_copy(update={"template": "slack"})
    users = [user(i, last=NOW) for i in range(2)]
    users += [user(10 + i, last=NOW - timedelta(days=200)) for i in range(2)]
    users += [user(20, created=NOW - timedelta(days=400))]
    position = compute_position("slk", slack, users, now=NOW)
    record_ = ProfileRecord(id="slk", own={}, profile=slack, created_at=NOW, updated_at=NOW)
    # When the overview is read
    seen = overview([record_], [position], points=[], savings=[], today=NOW.date())
    # Then its savings and reclaimable seats are the unassigned seat and the never-active member only
    assert position.unbilled == 2
    assert seen.reclaimable == 2
    assert [r.per_year for r in seen.potential_savings] == [2 * Decimal(8)]  # an annual subscription
    assert seen.trend[-1].unused == 2
