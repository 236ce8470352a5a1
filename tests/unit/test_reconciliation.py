"""Reconciliation results and the overview's figures, as plain functions."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from seatkeeper.core.errors import InvalidInput
from seatkeeper.core.money import Amount
from seatkeeper.licensing.analytics import overview, trend
from seatkeeper.licensing.position import LicensePosition
from seatkeeper.licensing.reclamation import Saving
from seatkeeper.licensing.reconciliation import finish, new_reconciliation, readable_failure, record_failure
from seatkeeper.profiles.records import ProfileRecord
from tests.unit.test_position import profile


def position(
    profile_id,
    *,
    assigned,
    stale,
    purchased=10,
    cost="10",
    currency="USD",
    period="monthly",
    at=datetime(2026, 11, 28, tzinfo=UTC),
):
    savings = max(purchased - (assigned - stale), 0) * Decimal(cost)
    shortfall = max(assigned - purchased, 0)
    return LicensePosition(
        profile_id=profile_id,
        licenses_purchased=purchased,
        assigned=assigned,
        active=assigned - stale,
        stale=stale,
        unknown=0,
        position="under_licensed" if shortfall else "over_licensed" if assigned < purchased else "compliant",
        unused=max(purchased - assigned, 0),
        shortfall=shortfall,
        potential_savings=Amount(amount=savings, currency=currency, period=period),
        true_up_cost=Amount(amount=shortfall * Decimal(cost), currency=currency, period=period),
        spend=Amount(amount=purchased * Decimal(cost), currency=currency, period=period),
        reconciled_at=at,
    )


def record(profile_id, name):
    return ProfileRecord(
        id=profile_id,
        own={},
        profile=profile().model_copy(update={"name": name}),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_the_overview_adds_up_per_currency_and_ranks_the_savings():
    profiles = [record("a", "Zoom"), record("b", "Okta"), record("c", "Slack"), record("d", "Never reconciled")]
    positions = [
        position("a", assigned=8, stale=3),
        position("b", assigned=12, stale=0),
        position("c", assigned=5, stale=5, currency="EUR", cost="4"),
    ]
    saved = [
        Saving(
            reclamation_id="rcl_1",
            profile_id="a",
            finished_at=datetime(2026, 11, 18, tzinfo=UTC),
            seats=2,
            per_period=Amount(amount=Decimal(20), currency="USD", period="monthly"),
        )
    ]
    yesterday = trend({p.profile_id: [p.model_copy(update={"stale": 9})] for p in positions})[0]
    yesterday = yesterday.model_copy(update={"date": date(2026, 11, 27)})
    figures = overview(profiles, positions, points=[yesterday], savings=saved, today=date(2026, 11, 28))
    assert (figures.applications, figures.reconciled_applications) == (4, 3)
    assert (figures.licenses_purchased, figures.assigned, figures.stale) == (30, 25, 8)
    assert figures.positions == {"compliant": 0, "over_licensed": 2, "under_licensed": 1}
    assert [(r.currency, float(r.per_month), float(r.per_year)) for r in figures.potential_savings] == [
        ("EUR", 40.0, 480.0),
        ("USD", 50.0, 600.0),
    ]
    assert [(r.currency, float(r.per_month)) for r in figures.true_up_cost] == [("USD", 20.0)]
    assert [t.name for t in figures.top_savings] == ["Zoom", "Slack"]
    # Unassigned: a 2, b none (under-licensed), c 5; stale among assigned: 8 of 25.
    assert (figures.unassigned, figures.stale_percent_of_assigned) == (7, 32.0)
    # Reclaimable: a 2 unassigned + 3 stale, b none, c 5 unassigned + 5 stale.
    assert figures.reclaimable == 15
    assert figures.actual_savings.seats == 2
    assert [(a.name, a.latest is not None) for a in figures.per_application] == [
        ("Zoom", True),
        ("Slack", True),
        ("Okta", True),
        ("Never reconciled", False),
    ]
    # Yesterday's stored point stays; today's is the figures above, whatever was stored for today.
    assert [(p.date, p.stale, p.unused) for p in figures.trend] == [
        (date(2026, 11, 27), 27, yesterday.unused),
        (date(2026, 11, 28), 8, 15),
    ]
    assert figures.trend[-1].potential_savings == figures.potential_savings


def test_the_trend_carries_each_profile_s_last_position_forward_day_by_day():
    day = datetime(2026, 11, 1, 9, tzinfo=UTC)
    history = {
        "a": [
            position("a", assigned=8, stale=3, at=day),
            position("a", assigned=8, stale=1, at=day + timedelta(days=2)),
        ],
        "b": [
            position("b", assigned=10, stale=4, at=day + timedelta(days=1)),
            position("b", assigned=10, stale=2, at=day + timedelta(days=1, hours=5)),  # the day's last one counts
        ],
    }
    points = trend(history)
    assert [(p.date.day, p.stale) for p in points] == [(1, 3), (2, 5), (3, 3)]
    assert [float(p.potential_savings[0].per_month) for p in points] == [50.0, 70.0, 50.0]
    assert trend({}) == [] and trend({"a": []}) == []


def test_the_trend_covers_at_most_the_last_days_asked_for():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    history = {"a": [position("a", assigned=5, stale=i % 3, at=start + timedelta(days=i)) for i in range(200)]}
    points = trend(history, days=90)
    assert len(points) == 90 and points[-1].date == date(2026, 7, 19) and points[0].date == date(2026, 4, 21)
    assert points[0].stale == 110 % 3


def test_a_reconciliation_is_completed_partially_failed_or_failed():
    started = new_reconciliation(None, requested_by="schedule", exists=lambda _: True)
    ok = {"profile_id": "a", "status": "succeeded"}
    bad = {"profile_id": "b", "status": "failed", "error_name": "SyncFailed", "cause": "acme answered 500"}
    assert finish(started, [ok]).status == "completed"
    assert finish(started, [ok, bad]).status == "partially_failed"
    done = finish(started, [bad])
    assert done.status == "failed" and done.results[0].error == "SyncFailed: acme answered 500"


def test_a_nested_failure_reads_as_one_line():
    lambda_cause = json.dumps({"errorType": "SaaSUnavailable", "errorMessage": "acme answered 503"})
    assert readable_failure("SaaSUnavailable", lambda_cause) == "SaaSUnavailable: acme answered 503"
    assert readable_failure(None, "x" * 2000) == "x" * 500


def test_unknown_profiles_in_a_request_are_422_at_their_index():
    with pytest.raises(InvalidInput) as raised:
        new_reconciliation(["prf_a", "prf_b", "prf_c"], requested_by=None, exists=lambda i: i != "prf_b")
    assert raised.value.errors[0]["loc"] == ["body", "profile_ids", 1]


class Reconciliations:
    def __init__(self, record):
        self.records = {record.id: record}

    def get_reconciliation(self, reconciliation_id):
        return self.records[reconciliation_id]

    def replace_reconciliation(self, record, *, expected_status):
        assert self.records[record.id].status == expected_status
        self.records[record.id] = record


class Notices:
    def __init__(self):
        self.put_ = []

    def put(self, detail_type, detail):
        self.put_.append((detail_type, detail))


def test_a_run_that_died_marks_its_reconciliation_failed_once_keeping_the_results_it_had():
    started = new_reconciliation(None, requested_by="schedule", exists=lambda _: True)
    store, notices = Reconciliations(started), Notices()
    results = [{"profile_id": "a", "status": "succeeded", "run_id": "run_1"}]

    failed = record_failure(
        started.id, store=store, error="InjectedFault", cause="finish died", results=results, notices=notices
    )

    assert (failed.status, failed.error, failed.cause) == ("failed", "InjectedFault", "finish died")
    assert [(r.profile_id, r.status) for r in failed.results] == [("a", "succeeded")] and failed.finished_at
    assert store.records[started.id] == failed
    assert notices.put_ == [
        (
            "Reconciliation Finished",
            {
                "reconciliation_id": started.id,
                "status": "failed",
                "error": "InjectedFault",
                "profiles": {"a": "succeeded"},
            },
        )
    ]
    again = record_failure(started.id, store=store, error="Other", cause="later", results=None, notices=notices)
    assert again == failed and len(notices.put_) == 1
