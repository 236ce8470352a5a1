"""The seat lifecycle in a real browser: a keep link's page works under its strict CSP, and the dashboard
shows the renewals of the next twelve months."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.test_dashboard import accessibility_problems, browser, open_as  # noqa: F401 - fixtures
from tests.integration.connection_checks import make_profile
from tests.integration.test_keep_requests import in_grace_period
from tests.integration.test_reclamation import reclaiming_profile
from tests.paging_app import paging_app

pytestmark = pytest.mark.e2e


def test_a_person_keeps_their_seat_from_the_link_s_page_with_its_script_allowed_by_hash(browser, api):  # noqa: F811
    integrator, admin = api("sam_integrator"), api("admin")
    with paging_app(40) as app:
        # Given a reclamation in its grace period, and one candidate's link
        profile = reclaiming_profile(integrator, app, grace_period="PT20S")
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        candidate = in_grace_period(admin, plan["id"])["candidates"][0]

        # When they open it (with the page's own CSP in force) and keep the seat, giving a reason
        context = browser.new_context(locale="en-US", timezone_id="UTC")
        page = context.new_page()
        violations = []
        page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
        page.goto(candidate["keep_url"])
        expect(page.get_by_role("heading")).to_contain_text(profile["name"])
        page.get_by_label("Why (optional)").fill("quarter-end reports")
        page.get_by_role("button", name="Keep my license").click()

        # Then the page says so, and the reclamation knows it with the reason
        expect(page.get_by_role("status")).to_have_text("Thank you: you keep your license.")
        expect(page.get_by_role("button", name="Release it now")).to_be_disabled()
        decisions = integrator.get(f"/reclamations/{plan['id']}").json()["decisions"]
        context.close()
    assert [(d["user_id"], d["status"], d["reason"]) for d in decisions] == [
        (candidate["id"], "kept_by_user", "quarter-end reports")
    ]
    assert violations == []


def test_the_renewals_view_shows_each_deadline_in_its_month_with_the_money_at_stake(open_as, api):  # noqa: F811
    today = datetime.now(UTC).date()
    renews = today + timedelta(days=75)
    profile = make_profile(
        api("sam_integrator"),
        base_url="https://renews.example.com/scim/v2",
        subscription={
            "licenses_purchased": 12,
            "cost_per_license": 10,
            "renewal_date": renews.isoformat(),
            "notice_days": 30,
            "owner": "owner@example.com",
        },
    )
    deadline = renews - timedelta(days=30)
    page = open_as("sam_viewer", "#/renewals", checker=True)
    month = page.locator(f"[data-month='{deadline.isoformat()[:7]}']")
    entry = month.locator(f"[data-profile={profile['id']}]")
    expect(entry).to_contain_text(profile["name"])
    expect(entry).to_contain_text("$1,440.00 / year at stake")
    row = page.get_by_role("table", name="Renewals").get_by_role("row").filter(has_text=profile["name"])
    expect(row).to_contain_text("owner@example.com")
    assert page.problems == []
    assert accessibility_problems(page) == []
    # And the overview shows the next deadlines where people look for money, as the API lists them
    overview = open_as("sam_viewer", "#/", checker=True)
    soon = api("sam_viewer").get("/renewals", params={"within_days": 120}).json()["items"][:5]
    rows = overview.get_by_role("table", name="Next renewals").get_by_role("row")
    expect(rows).to_have_count(len(soon) + 1)  # and its header
    mine = rows.filter(has_text=profile["name"])
    expect(mine).to_contain_text("$1,440.00 / year")
    assert overview.problems == []
    assert accessibility_problems(overview) == []
