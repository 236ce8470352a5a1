"""Saved in <year> so far through the local stack: this year's bills without the seats, whenever they were taken back."""

from __future__ import annotations

import calendar
import json
from datetime import UTC, date, datetime

import pytest

from seatkeeper.aws.dynamodb.reclamations import DynamoDBReclamations
from seatkeeper_local.stack.tokens import mint
from tests.integration.test_cli import seatkeeper
from tests.integration.test_renewals import subscribed_profile
from tests.paging_app import paging_app


def stored_saving(table, profile_id, finished, seats, per_period):
    """A finished reclamation's saving, as the reclamation store writes it (aws/dynamodb/reclamations.py)."""
    reclamation_id = f"rcl_saved_{finished:%Y%m%d}_{profile_id[-6:]}"
    saving = {
        "reclamation_id": reclamation_id,
        "profile_id": profile_id,
        "finished_at": finished.isoformat(),
        "seats": seats,
        "per_period": {"amount": per_period, "currency": "USD", "period": "monthly"},
    }
    item_key = {"pk": {"S": f"SAVINGS#{finished.year}"}, "sk": {"S": f"{finished.isoformat()}#{reclamation_id}"}}
    table.client.put_item(TableName=table.table_name, Item={**item_key, "document": {"S": json.dumps(saving)}})
    return item_key


def added_in(table, profile_id, when):
    """The profile as an install that old stores it: its record's created_at set back."""
    key = {"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "PROFILE"}}
    item = table.client.get_item(TableName=table.table_name, Key=key, ConsistentRead=True)["Item"]
    document = json.loads(item["document"]["S"])
    document["created_at"] = when.isoformat()
    table.client.put_item(TableName=table.table_name, Item={**item, "document": {"S": json.dumps(document)}})


def test_saved_so_far_counts_this_year_s_bills_of_seats_taken_back_last_december_and_two_years_ago(api, stack, root):
    integrator, viewer = api("sam_integrator"), api("sam_viewer")
    today = datetime.now(UTC).date()
    table = DynamoDBReclamations(stack.template.physical_name("Table"))
    before = viewer.get("/analytics/overview").json()
    with paging_app(40) as app:
        # Given a monthly app ($10 a seat) billed on its renewal date's day, added two years ago
        profile = subscribed_profile(integrator, app, renews_in=50, notice_days=30)
    renews = date.fromisoformat(profile["subscription"]["renewal_date"])
    added_in(table, profile["id"], datetime(today.year - 2, 1, 5, tzinfo=UTC))
    # And 4 seats taken back two years ago, and 3 on December 31st last year (first bill without them: in January)
    two_years_ago = datetime(today.year - 2, 3, 10, 12, tzinfo=UTC)
    last_december = datetime(today.year - 1, 12, 31, 12, tzinfo=UTC)
    keys = [
        stored_saving(table, profile["id"], two_years_ago, 4, 40),
        stored_saving(table, profile["id"], last_december, 3, 30),
    ]
    try:
        # When the overview is read
        after = viewer.get("/analytics/overview").json()
        # Then "Saved in <year> so far" grew by the money not paid on this year's bills up to today because
        # of those seats: each bill of this year (on the renewal date's day, the month's last when shorter),
        # after the reclamation, is $40 and $30 smaller
        bills = [date(today.year, m, min(renews.day, calendar.monthrange(today.year, m)[1])) for m in range(1, 13)]
        bills = [b for b in bills if b <= today]
        unpaid = sum(40 for b in bills if b > two_years_ago.date()) + sum(30 for b in bills if b > last_december.date())
        assert unpaid == 70 * len(bills)

        def usd(figures):
            return next((t["amount"] for t in figures["actual_savings_ytd"] if t["currency"] == "USD"), 0)

        assert usd(after) == pytest.approx(usd(before) + unpaid)
        # And the caption counts them as taken back earlier, not this year
        assert after["actual_savings"]["earlier_seats"] == before["actual_savings"]["earlier_seats"] + 7
        assert after["actual_savings"]["seats"] == before["actual_savings"]["seats"]
        # And `seatkeeper report` prints the same figure and counts
        done = seatkeeper(root, "report", "--url", stack.url, "--token", mint(stack.jwt_secret, "sam_viewer"))
        assert done.returncode == 0, done.stderr
        line = next(li for li in done.stdout.splitlines() if li.startswith(f"  Saved in {today.year} so far"))
        assert f"{usd(after):,.2f} USD" in line
        assert f", {after['actual_savings']['earlier_seats']:,} earlier)" in line
    finally:
        for key in keys:
            table.client.delete_item(TableName=table.table_name, Key=key)
        integrator.delete(f"/profiles/{profile['id']}")
    # And with the application deleted, its seats are nobody's bill: the figure is what it was
    assert usd(viewer.get("/analytics/overview").json()) == pytest.approx(usd(before))


def test_a_year_before_any_application_was_added_is_not_read(api, stack):
    integrator, viewer = api("sam_integrator"), api("sam_viewer")
    table = DynamoDBReclamations(stack.template.physical_name("Table"))
    with paging_app(40) as app:
        # Given an application added today, and a saving of it stored for 1999 (before any application was added)
        profile = subscribed_profile(integrator, app, renews_in=50, notice_days=30)
    before = viewer.get("/analytics/overview").json()
    key = stored_saving(table, profile["id"], datetime(1999, 6, 1, tzinfo=UTC), 1000, 100000)
    try:
        # When the overview is read
        after = viewer.get("/analytics/overview").json()
        # Then that year is not read (one query a year, from the oldest application's): nothing changed
        assert after["actual_savings_ytd"] == before["actual_savings_ytd"]
        assert after["actual_savings"] == before["actual_savings"]
    finally:
        table.client.delete_item(TableName=table.table_name, Key=key)
        integrator.delete(f"/profiles/{profile['id']}")
