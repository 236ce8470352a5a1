"""Renewals through the local stack: the list with its recommended counts, and the reconciliation's reminders,
each put once per renewal, heard as an organisation would hear them (an EventBridge rule into a queue)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from tests.integration.connection_checks import make_profile, wait_for
from tests.integration.test_announcements import listener  # noqa: F401 - a fixture
from tests.integration.test_reconciliation import wait_for_reconciliation
from tests.paging_app import paging_app, profile_fields


def subscribed_profile(client, app, *, renews_in: int, notice_days: int, **policy):
    fields = profile_fields(app, "offset")
    today = datetime.now(UTC).date()
    fields["subscription"] = {
        "licenses_purchased": 40,
        "cost_per_license": 10,
        "billing_period": "monthly",
        "renewal_date": (today + timedelta(days=renews_in)).isoformat(),
        "notice_days": notice_days,
        "owner": "it-owner@example.com",
        "cost_center": "CC-42",
    }
    fields["policy"] = policy
    profile = make_profile(client, **fields)
    client.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
    assert wait_for(client, profile["id"], {"connected", "failed"})["status"] == "connected"
    return profile


def test_renewals_are_listed_by_deadline_and_reminded_once_each(api, listener):  # noqa: F811
    integrator, viewer = api("sam_integrator"), api("sam_viewer")
    with paging_app(40) as app:
        # Given three subscriptions: deadlines in 20, 40 and 170 days
        soon = subscribed_profile(integrator, app, renews_in=50, notice_days=30, low_seat_threshold=10)
        later = subscribed_profile(integrator, app, renews_in=100, notice_days=60, renewal_headroom_percent=25)
        far = subscribed_profile(integrator, app, renews_in=200, notice_days=30)
        ids = [soon["id"], later["id"], far["id"]]

        # When the reconciliation runs, twice
        for _ in range(2):
            run = integrator.post("/reconciliations", json={"profile_ids": ids}).json()
            assert wait_for_reconciliation(integrator, run["id"])["status"] == "completed"

    # Then the list holds those whose deadline is within 120 days, the nearest first
    answer = viewer.get("/renewals", params={"within_days": 120})
    assert answer.status_code == 200, answer.text
    mine = [r for r in answer.json()["items"] if r["profile_id"] in ids]
    assert [r["profile_id"] for r in mine] == [soon["id"], later["id"]]
    first = mine[0]
    position = integrator.get(f"/profiles/{soon['id']}/position").json()
    today = datetime.now(UTC).date()
    assert first["opt_out_deadline"] == (today + timedelta(days=20)).isoformat()
    assert (first["owner"], first["auto_renew"], first["licenses_purchased"]) == ("it-owner@example.com", True, 40)
    in_use = position["assigned"] - position["stale"]
    assert first["recommended_licenses"] == math.ceil(in_use * 1.1)
    assert mine[1]["recommended_licenses"] == math.ceil(in_use * 1.25)
    assert first["utilisation"] == round(position["active"] / 40, 4)
    assert first["annual_cost"] == 40 * 10 * 12
    assert first["potential_annual_savings"] == max(40 - first["recommended_licenses"], 0) * 10 * 12
    assert far["id"] in [r["profile_id"] for r in viewer.get("/renewals?within_days=200").json()["items"]]
    assert viewer.get("/renewals", params={"within_days": -1}).status_code == 422

    # And each renewal was reminded once, at the nearest threshold crossed, whatever the runs
    heard = [e for e in listener() if e["detail"].get("profile_id") in ids]
    reminders = [e["detail"] for e in heard if e["detail-type"] == "Renewal Approaching"]
    assert sorted((r["profile_id"], r["reminder_days"], r["days_left"]) for r in reminders) == sorted(
        [(soon["id"], 30, 20), (later["id"], 60, 40)]
    )
    assert next(r for r in reminders if r["profile_id"] == soon["id"])["recommended_licenses"] == math.ceil(
        in_use * 1.1
    )
    # Free licenses under the threshold: warned once, not at every reconciliation
    low = [e["detail"] for e in heard if e["detail-type"] == "Licenses Running Low"]
    assert [(w["profile_id"], w["threshold"]) for w in low] == [(soon["id"], 10)]
    assert low[0]["free"] == 40 - position["assigned"] < 10
