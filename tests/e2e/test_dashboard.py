"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against the local stack.

The stack is seeded as `seatkeeper local --demo` seeds it (two connected, reconciled apps, a
month of earlier positions, a reclamation waiting for an admin). The page's figures are
checked against the API's, then a person's path is followed: an application, its users
filtered, sorted and paged, an approval as admin, what a viewer may not do, an application
added from a template, an OAuth connection through the provider's own consent page, and
signing in through a hosted UI with the code flow and PKCE.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from seatkeeper.aws.dynamodb.reclamations import DynamoDBReclamations
from seatkeeper_local.demo.client import wait_until
from seatkeeper_local.demo.seeding import seed_app, seed_dashboard
from seatkeeper_local.fakes.paging_app import paging_app, profile_fields
from seatkeeper_local.fakes.serving import serving
from seatkeeper_local.stack.local_stack import dashboard_link
from seatkeeper_local.stack.tokens import mint
from tests.integration.conftest import oidc, saas  # noqa: F401 - fixtures for the OAuth connection
from tests.integration.connection_checks import make_profile, wait_for
from tests.integration.test_connection_saga import oauth_profile
from tests.integration.test_grant_refused import access_token_expires, grant
from tests.integration.test_profile_drafts import DRAFTS
from tests.integration.test_profile_preview import token_out_of_band
from tests.integration.test_reclamation import expected_candidates, reclaiming_profile, wait_for_reclamation
from tests.integration.test_sync import sync
from tests.integration.test_template_contracts import own_fields
from tests.integration.test_vendor_mocks import prism
from tests.saas_apps import scim_server
from tests.vendor_fakes import vendor_app

pytestmark = pytest.mark.e2e
expect.set_options(timeout=20_000)  # CI has two cores, and the stack behind the page is moto
CHROMIUM = os.environ.get("SEATKEEPER_CHROMIUM", "/usr/bin/chromium")
# As the machine's notes say: without these, Chromium keeps reaching for Google's hosts.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # make test installs it from the npm registry
PERIOD = {"monthly": "month", "quarterly": "quarter", "annual": "year"}
MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}


def usd(amount: dict) -> str:
    """As the page writes it with Intl.NumberFormat in en-US."""
    assert amount["currency"] == "USD"
    return f"${amount['amount']:,.2f} / {PERIOD[amount['period']]}"


def per_month(rates: list[dict]) -> str:
    return " + ".join(f"${r['per_month']:,.2f} / month" for r in rates if r["currency"] == "USD") or "\N{EN DASH}"


def amounts(rates: list[dict], per: str = "per_month") -> str:
    """As a key figure or a table cell shows them: the unit is in its label or column."""
    return " + ".join(f"${r[per]:,.2f}" for r in rates if r["currency"] == "USD") or "\N{EN DASH}"


def per_year(rates: list[dict]) -> str:
    return " + ".join(f"${r['per_year']:,.2f} / year" for r in rates if r["currency"] == "USD") or "\N{EN DASH}"


def dollars(text: str) -> float:
    return float(re.sub(r"[^0-9.]", "", text))


def table_rows(page: Page, name: str) -> list[list[str]]:
    """A table's cells by its accessible name, also when it sits in a closed <details>."""
    rows = page.get_by_role("table", name=name, exact=True, include_hidden=True).locator("tbody tr")
    return [[c.strip() for c in rows.nth(i).locator("td").all_text_contents()] for i in range(rows.count())]


@pytest.fixture(scope="module")
def seeded(stack) -> Iterator[dict]:
    with scim_server() as scim, paging_app(120) as chat:
        seed_app(scim)
        yield {**seed_dashboard(stack, scim, chat), "scim": scim, "chat": chat}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: make test installs Debian's chromium package"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def open_as(browser, stack):
    """open_as(role, path) -> a page signed in as `role` (through the link `seatkeeper local` prints)."""
    contexts = []

    def open_page(role: str, path: str = "#/", *, phone: bool = False, checker: bool = False) -> Page:
        viewport = {"width": 390, "height": 844} if phone else {"width": 1400, "height": 900}
        # The accessibility checker is injected as a script: only its pages set the page's CSP aside.
        context = browser.new_context(
            locale="en-US", timezone_id="UTC", viewport=viewport, is_mobile=phone, bypass_csp=checker
        )
        contexts.append(context)
        page = context.new_page()
        page.problems = []
        # Shown with a failing test: what the API refused, and why.
        page.on("response", lambda r: r.status >= 400 and print(r.status, r.request.method, r.url, r.text()[:500]))
        page.on("pageerror", lambda error: page.problems.append(str(error)))
        # seatkeeper's pages load nothing but from the stack itself (going to another page is not loading).
        page.on(
            "request",
            lambda r: (
                r.is_navigation_request()
                or not r.frame.url.startswith(stack.url)
                or r.url.startswith((stack.url, "data:"))
                or page.problems.append(r.url)
            ),
        )
        page.goto(dashboard_link(stack.url, mint(stack.jwt_secret, role, subject=f"browser-{role}")))
        expect(page.locator(f"[data-role-name={role}]")).to_be_visible()  # signed in
        if path != "#/":
            page.goto(f"{stack.url}/dashboard{path}")
        return page

    yield open_page
    for context in contexts:
        context.close()


def figure(page: Page, name: str) -> str:
    return page.locator(f"[data-figure={name}]").inner_text().split("\n")[0].strip()


def digits(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text))


def test_the_overview_shows_the_api_s_figures_and_is_saved_as_a_screenshot(open_as, api, seeded):
    page = open_as("sam_viewer")
    expect(page.locator("[data-figure=licenses_purchased]")).to_be_visible()
    o = api("sam_viewer").get("/analytics/overview").json()
    # Every key figure as the API has it, money per month with its per-year figure beside it.
    for name in ("applications", "licenses_purchased", "assigned", "unassigned", "active", "stale"):
        assert digits(figure(page, name)) == o[name], name
    assert figure(page, "stale_percent_of_assigned") == f"{o['stale_percent_of_assigned']:.1f}%"
    for name in ("spend", "potential_savings", "true_up_cost", "saved_run_rate"):
        card = page.locator(f"div:has(> [data-figure={name}])")
        assert card.locator("dt").inner_text().endswith("per month"), name
        assert figure(page, name) == amounts(o[name]), name
        if o[name]:
            assert per_year(o[name]) in page.locator(f"[data-figure={name}]").inner_text(), name
    # The demo has an under-licensed app: its true-up cost is a figure, not a dash.
    assert o["positions"]["under_licensed"] >= 1 and o["true_up_cost"] and "$" in figure(page, "true_up_cost")
    so_far = page.locator("[data-figure=actual_savings_ytd]")
    assert figure(page, "actual_savings_ytd") == (
        " + ".join(f"${t['amount']:,.2f}" for t in o["actual_savings_ytd"]) or "\N{EN DASH}"
    )
    assert f"{o['actual_savings']['seats']} licenses taken back this year" in so_far.inner_text()
    positions = o["positions"]
    assert page.locator("[data-figure=positions]").inner_text() == (
        f"{positions['compliant']} compliant · {positions['over_licensed']} over-licensed · "
        f"{positions['under_licensed']} under-licensed"
    )

    # Every chart has its data as a table, as the API has it, in one vocabulary for unknown activity.
    expect(page.get_by_role("img", name="Licensed users by days since their last activity")).to_be_visible()
    buckets = table_rows(page, "Licensed users by days since their last activity")
    wanted = [o["activity"][k] for k in ("d0_30", "d30_60", "d60_90", "d90_120", "d120_plus", "never")]
    assert [digits(r[1]) for r in buckets[:6]] == wanted and buckets[5][0] == "never signed in"
    assert buckets[6:] == ([["no activity data", str(o["activity"]["no_data"])]] if o["activity"]["no_data"] else [])
    stale_trend = table_rows(page, "Stale seats")
    savings_trend = table_rows(page, "Potential savings")
    assert len(stale_trend) == len(savings_trend) == len(o["trend"]) >= 31  # a month of seeded history and today
    assert [digits(r[1]) for r in stale_trend] == [p["stale"] for p in o["trend"]]
    # The figures agree: the trends end today at the key figures.
    assert digits(stale_trend[-1][1]) == digits(figure(page, "stale"))
    assert savings_trend[-1][1] == figure(page, "potential_savings")
    expect(page.locator("figcaption").first).to_contain_text("the last point is today")

    # Spend per application adds up to the current spend; by cost center and vendor as the API groups it.
    by_id = {a["profile_id"]: a for a in o["per_application"]}
    spending = table_rows(page, "Spend per application")
    paying = sorted((a for a in o["per_application"] if a["spend"]), key=lambda a: -a["spend"]["per_month"])
    assert [r[0] for r in spending] == [a["name"] for a in paying]
    for row, application in zip(spending, paying, strict=True):
        assert row[1:] == [
            f"${application['spend']['per_month']:,.2f}",
            f"${application['spend']['per_year']:,.2f}",
            f"${application['cost_per_license']['per_month']:,.2f}",
            "unknown" if application["utilisation"] is None else f"{application['utilisation']:.1f}%",
        ]
    assert sum(dollars(r[1]) for r in spending) == pytest.approx(dollars(figure(page, "spend")))
    for name, groups in (("Spend by cost center", "spend_by_cost_center"), ("Spend by vendor", "spend_by_vendor")):
        assert table_rows(page, name) == [
            [
                g["name"] or "No cost center",
                str(g["applications"]),
                amounts(g["spend"]),
                amounts(g["spend"], "per_year"),
            ]
            for g in o[groups]
        ], name

    listed = page.get_by_role("table", name="Applications and their latest positions")
    positions_chart = page.get_by_role("list", name="Position per application")
    for application in o["per_application"]:
        expect(listed.locator(f"a[data-profile={application['profile_id']}]")).to_have_text(application["name"])
        position = application["latest"]
        row = positions_chart.locator(f"li[data-profile={application['profile_id']}]")
        if position is None:
            expect(row).to_have_count(0)
        else:
            expect(row.locator(".badge")).to_have_text(position["position"].replace("_", " "))
            expect(row).to_contain_text(f"{position['assigned']:,} of {position['licenses_purchased']:,} assigned")
    for top in o["top_savings"]:
        assert (
            per_month([top["potential_savings"]])
            in page.locator(f"ol.top-savings li[data-profile={top['profile_id']}]").inner_text()
        )

    # The applications download as the API's CSV.
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download the applications as CSV").click()
    saved = Path(downloading.value.path()).read_bytes().decode()
    assert saved == api("sam_viewer").get("/analytics/overview.csv").text
    assert len(saved.strip().splitlines()) == len(by_id) + 1

    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / "dashboard-overview.png", full_page=True)
    phone = open_as("sam_viewer", phone=True)
    expect(phone.locator("[data-figure=licenses_purchased]")).to_be_visible()
    # On a phone the page is as wide as the screen: tables scroll inside their own boxes.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=OUTPUT / "dashboard-overview-phone.png", full_page=True)
    assert page.problems == [] and phone.problems == []


def test_an_application_s_users_filter_sort_and_page_like_the_api_s(open_as, api, seeded):
    chat = seeded["profiles"][1]
    page = open_as("sam_viewer")
    page.locator(f"a[data-profile={chat['id']}]").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(chat["name"])
    viewer = api("sam_viewer")
    position = viewer.get(f"/profiles/{chat['id']}/position").json()
    assert digits(figure(page, "app_assigned")) == position["assigned"]
    assert digits(figure(page, "app_stale")) == position["stale"]
    assert figure(page, "app_savings") == usd(position["potential_savings"])
    snapshot = viewer.get(f"/profiles/{chat['id']}/snapshot").json()
    assert f"{snapshot['users']} users" in page.locator("[data-figure=last_sync]").inner_text()

    users = page.locator("table[aria-label=Users]")
    rows = users.locator("tbody tr")
    # By name at first, as the API lists them by default ("User 2" before "User 10"), and the header says so.
    expect(users).to_have_attribute("data-view", "all name asc 1")
    expect(rows).to_have_count(25)
    by_name = viewer.get(f"/profiles/{chat['id']}/users", params={"limit": 25}).json()["items"]
    assert [rows.nth(i).get_attribute("data-user") for i in range(25)] == [u["id"] for u in by_name]
    expect(page.locator("th[aria-sort=ascending]")).to_have_text(re.compile("^Name"))
    expect(page.locator("th[aria-sort]")).to_have_count(1)
    name_sort, email_sort = page.get_by_role("button", name="Name"), page.get_by_role("button", name="Email")
    expect(name_sort.locator(".arrow")).to_have_text("▲")
    expect(email_sort.locator(".arrow")).to_have_text("↕")  # sortable, not sorted
    for sort_button in (name_sort, email_sort):  # they look like buttons: a border and a pointer
        style = sort_button.evaluate("b => { const s = getComputedStyle(b); return [s.borderTopStyle, s.cursor]; }")
        assert style == ["solid", "pointer"], style
    page.get_by_label("Show").select_option("stale")
    expect(users).to_have_attribute("data-view", "stale name asc 1")
    stale = viewer.get(f"/profiles/{chat['id']}/users", params={"status": "stale", "limit": 25}).json()["items"]
    expect(rows).to_have_count(len(stale))
    assert [rows.nth(i).get_attribute("data-user") for i in range(rows.count())] == [u["id"] for u in stale]
    assert set(page.locator("table[aria-label=Users] tbody .badge").all_inner_texts()) == {"stale"}

    page.get_by_role("button", name="Last activity").click()  # ascending: the longest idle first
    newest_last = viewer.get(
        f"/profiles/{chat['id']}/users", params={"status": "stale", "limit": 25, "sort": "last_activity"}
    ).json()["items"]
    expect(users).to_have_attribute("data-view", "stale last_activity asc 1")
    assert [rows.nth(i).get_attribute("data-user") for i in range(rows.count())] == [u["id"] for u in newest_last]
    expect(page.locator("th[aria-sort=ascending]")).to_have_text(re.compile("Last activity"))
    page.get_by_role("button", name="Last activity").click()
    expect(users).to_have_attribute("data-view", "stale last_activity desc 1")
    expect(page.locator("th[aria-sort=descending]")).to_have_text(re.compile("Last activity"))
    expect(page.get_by_role("button", name="Last activity").locator(".arrow")).to_have_text("▼")

    page.get_by_label("Show").select_option("")
    expect(users).to_have_attribute("data-view", "all last_activity desc 1")
    first_page = [rows.nth(i).get_attribute("data-user") for i in range(rows.count())]
    page.get_by_role("button", name="Next").click()
    expect(users).to_have_attribute("data-view", "all last_activity desc 2")
    expect(page.locator("[data-figure=user_page]")).to_have_text("Page 2")
    second_page = [rows.nth(i).get_attribute("data-user") for i in range(rows.count())]
    everyone = viewer.get(
        f"/profiles/{chat['id']}/users", params={"limit": 50, "sort": "last_activity", "order": "desc"}
    ).json()["items"]
    assert first_page + second_page == [u["id"] for u in everyone]
    page.get_by_role("button", name="Previous").click()
    expect(users).to_have_attribute("data-view", "all last_activity desc 1")
    expect(rows.first).to_have_attribute("data-user", first_page[0])
    # A licensed user without activity in an app that reports it: "never signed in", as on the overview.
    page.get_by_label("Show").select_option("stale")
    page.get_by_role("button", name="Name").click()
    expect(users).to_have_attribute("data-view", "stale name asc 1")
    shown = viewer.get(f"/profiles/{chat['id']}/users", params={"status": "stale", "limit": 25, "sort": "name"}).json()[
        "items"
    ]
    never = [u["id"] for u in shown if u["last_activity"] is None]
    assert never, "the demo app has stale users who never signed in"
    for user_id in never:
        expect(page.locator(f"tr[data-user={user_id}] td").last).to_have_text("never signed in")

    # Every user downloads as the API's CSV.
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download every user as CSV").click()
    saved = Path(downloading.value.path()).read_bytes().decode()
    assert saved == viewer.get(f"/profiles/{chat['id']}/users.csv").text
    assert len(saved.strip().splitlines()) == snapshot["users"] + 1
    page.screenshot(path=OUTPUT / "dashboard-application.png", full_page=True)
    assert page.problems == []


def test_each_caption_says_what_its_figure_is_and_the_figure_follows_from_its_words(open_as, api, seeded):
    # Given the overview as the API has it
    o = api("sam_viewer").get("/analytics/overview").json()
    page = open_as("sam_viewer")
    expect(page.locator("[data-figure=unassigned]")).to_be_visible()
    apps = [a for a in o["per_application"] if a["latest"]]

    # "Unassigned: free seats, added up over the applications"
    card = page.locator("[data-figure=unassigned]").inner_text()
    assert "free seats, added up over the applications" in card
    assert digits(figure(page, "unassigned")) == sum(
        max(a["latest"]["licenses_purchased"] - a["latest"]["assigned"], 0) for a in apps
    )

    # "Potential savings: the cost of N seats unassigned or stale (the M taken back already left out)"
    card = page.locator("[data-figure=potential_savings]").inner_text()
    seats = int(re.search(r"the cost of ([\d,]+) seats unassigned or stale", card).group(1).replace(",", ""))
    each = [
        max(p["licenses_purchased"] - (p["assigned"] - p["stale"]) - p["taken_back"], 0)
        for p in (a["latest"] for a in apps)
    ]
    assert seats == sum(each)
    if o["taken_back"]:
        assert f"(the {o['taken_back']} taken back already left out)" in card
    # ... and the money is those seats at each application's price per month
    usd_apps = [(n, a) for n, a in zip(each, apps, strict=True) if a["cost_per_license"]["currency"] == "USD"]
    assert dollars(figure(page, "potential_savings")) == pytest.approx(
        sum(n * a["cost_per_license"]["per_month"] for n, a in usd_apps), abs=0.01
    )

    # "Saved so far: ... each saves from its app's next bill after the reclamation; Committed: $X a year from <date>"
    # (test_a_seat_taken_back_saves_from_its_app_s_next_bill recomputes both from the reclamations)
    card = page.locator("[data-figure=actual_savings_ytd]").inner_text()
    assert "each saves from its app's next bill after the reclamation, so this counts this year's bills since" in card
    assert card.count(" a year from ") == len(o["committed_savings"])

    # An app that reports no activity has an unknown utilisation, not 0 %, here and on its page
    hr, chat = seeded["profiles"]
    by_id = {a["profile_id"]: a for a in o["per_application"]}
    assert by_id[hr["id"]]["utilisation"] is None
    spending = {r[0]: r[4] for r in table_rows(page, "Spend per application")}
    assert spending[hr["name"]] == "unknown"
    app_page = open_as("sam_viewer", f"#/apps/{hr['id']}")
    expect(app_page.locator("[data-figure=app_utilisation]")).to_contain_text("unknown")
    # And the policy's inactivity window is on the application page
    policy = api("sam_viewer").get(f"/profiles/{chat['id']}").json()["policy"]
    app_page.goto(app_page.url.split("#")[0] + f"#/apps/{chat['id']}")
    expect(app_page.get_by_role("heading", level=1)).to_have_text(chat["name"])
    expect(app_page.locator("[data-figure=inactivity_window]")).to_have_text(
        re.compile(rf"^{policy['inactivity_days']} days")
    )
    position = api("sam_viewer").get(f"/profiles/{chat['id']}/position").json()
    expect(app_page.locator("[data-figure=app_utilisation]")).to_have_text(
        re.compile(rf"^{100 * position['active'] / position['licenses_purchased']:.1f}%")
    )
    assert page.problems == [] and app_page.problems == []


def test_an_app_without_activity_data_says_so_and_its_position_card_reads_on_a_phone(open_as, api, seeded):
    hr = seeded["profiles"][0]
    phone = open_as("sam_viewer", f"#/apps/{hr['id']}", phone=True)
    expect(phone.locator("table[aria-label=Users] tbody tr").first).to_be_visible()
    assert set(phone.locator("table[aria-label=Users] tbody td:last-child").all_inner_texts()) == {"no activity data"}
    position = api("sam_viewer").get(f"/profiles/{hr['id']}/position").json()
    assert position["position"] == "under_licensed"
    true_up = position["true_up_cost"]  # an annual price: shown per month, and per year beside it
    assert figure(phone, "app_true_up") == f"${true_up['amount'] / 12:,.2f} / month"
    assert f"${true_up['amount']:,.2f} / year" in phone.locator("[data-figure=app_true_up]").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    OUTPUT.mkdir(exist_ok=True)
    phone.screenshot(path=OUTPUT / "dashboard-application-phone.png", full_page=True)
    assert phone.problems == []


def test_the_waiting_plan_lists_its_users_sortable_filterable_paged_and_an_admin_excludes_one(open_as, api, seeded):
    chat, waiting = seeded["profiles"][1], seeded["waiting"]
    plan = api("admin").get(f"/reclamations/{waiting['id']}").json()
    total = len(plan["candidates"])
    # Given the application page of a plan that waits for approval, as an admin
    admin = open_as("admin", f"#/apps/{chat['id']}")
    # When the admin opens its review, beside Approve
    review_button = admin.locator(f"[data-review={waiting['id']}]")
    expect(review_button).to_have_text(f"Review {total} users")
    review_button.click()
    # Then the first page of its candidates shows, as the API lists them
    review = admin.get_by_role("table", name="Candidates", exact=True)
    expect(review).to_be_visible()
    expect(admin.locator("[data-figure=candidate_page]")).to_have_text(
        f"Page 1 of {-(-total // 25)} · {total} of {total} users"
    )
    rows = table_rows(admin, "Candidates")
    assert len(rows) == min(total, 25)
    by_id = {c["id"]: c for c in plan["candidates"]}
    first = by_id[admin.locator("[data-candidate]").first.get_attribute("data-candidate")]
    cost = plan["seat_cost"]
    saves = first["saves"] if first["saves"] is not None else cost["amount"]
    assert rows[0][6] == first["why"] and rows[0][5] == usd({**cost, "amount": saves})
    # Sorted by last activity, never active and then the oldest first, by default: as the API's dates order them
    dated = sorted((c for c in plan["candidates"] if c["last_activity"]), key=lambda c: c["last_activity"])
    undated = [c for c in plan["candidates"] if not c["last_activity"]]
    shown = [admin.locator("[data-candidate]").nth(i).get_attribute("data-candidate") for i in range(len(rows))]
    assert shown == [c["id"] for c in undated + dated][: len(rows)]
    # When the admin sorts by e-mail, descending, the order is the e-mails' own
    admin.locator("[data-review-sort=email]").click()
    admin.locator("[data-review-sort=email]").click()
    expect(review).to_have_attribute("data-view", "email desc 1")
    emails = [r[1] for r in table_rows(admin, "Candidates")]
    assert emails == sorted((c["email"] for c in plan["candidates"]), reverse=True)[: len(emails)]
    # When the admin filters by one e-mail, one row is left
    target = plan["candidates"][-1]
    admin.locator(f"[data-review-filter={waiting['id']}]").fill(target["email"])
    expect(admin.locator("[data-figure=candidate_page]")).to_contain_text(f"1 of {total} users")
    expect(admin.locator("[data-candidate]")).to_have_count(1)
    expect(admin.get_by_role("button", name="Download the candidates as CSV")).to_be_visible()
    # And excludes that user, giving a reason at the confirm step
    admin.once("dialog", lambda dialog: dialog.accept("needed for the audit"))
    admin.locator(f"[data-candidate={target['id']}] [data-exclude]").click()
    expect(admin.locator("#toast")).to_contain_text("their seat is kept")
    after = api("admin").get(f"/reclamations/{waiting['id']}").json()
    assert [c["id"] for c in after["candidates"]] == [c["id"] for c in plan["candidates"][:-1]]
    assert (after["audit"][-1]["action"], after["audit"][-1]["by"]) == ("excluded", "browser-admin")
    assert admin.problems == []


def test_an_admin_rejects_a_waiting_reclamation_after_saying_why_and_it_leaves_the_queue(open_as, api, seeded):
    # Given a second real run of the chat app over its cap, waiting beside the seeded one
    chat = seeded["profiles"][1]
    second = api("sam_integrator").post(f"/profiles/{chat['id']}/reclamations", json={"dry_run": False}).json()
    assert second["status"] == "awaiting_approval"
    viewer = open_as("sam_viewer")
    expect(viewer.get_by_role("heading", name="Waiting for approval")).to_be_visible()
    assert viewer.locator("[data-withdraw]").count() == 0  # only admins say no
    admin = open_as("admin")
    reject = admin.locator(f"[data-withdraw={second['id']}]")
    # When the admin clicks Reject, the page asks why before it sends anything
    reject.click()
    expect(reject).to_have_text("Confirm: reject")
    reason = admin.locator(f"[data-withdraw-reason={second['id']}]")
    expect(reason).to_be_visible()
    reject.click()
    expect(admin.locator("#toast")).to_have_text("Say why: the reason goes to the audit trail.")
    assert api("admin").get(f"/reclamations/{second['id']}").json()["status"] == "awaiting_approval"
    reason.fill("the chat export is a week old")
    reject.click()
    # Then it is rejected, with the reason on its audit trail, and no longer waits
    expect(admin.locator("#toast")).to_have_text("Rejected: nothing will be reclaimed.")
    expect(admin.locator(f"[data-withdraw={second['id']}]")).to_have_count(0)
    record = api("admin").get(f"/reclamations/{second['id']}").json()
    assert record["status"] == "rejected"
    assert (record["audit"][-1]["by"], record["audit"][-1]["detail"]) == (
        "browser-admin",
        "the chat export is a week old",
    )
    # The seeded one still waits, with both its buttons
    expect(admin.locator(f"[data-approve={seeded['waiting']['id']}]")).to_be_visible()
    expect(admin.locator(f"[data-withdraw={seeded['waiting']['id']}]")).to_have_text("Reject")
    assert admin.problems == []


def test_the_review_shows_a_plan_s_warnings_above_approve_and_approving_a_data_loss_asks_to_confirm_it(open_as, api):
    integrator = api("sam_integrator")
    # Given Asana's template, whose removal loses the user's data (Asana's "Remove a user from a workspace or
    # organization", developers.asana.com/reference/removeuserforworkspace), against the fake of Asana's API
    # that tests/vendor_fakes.py answers from Asana/openapi defs/asana_oas.yaml 1.0 (tests/vendor_specs/asana),
    # and a real plan of its stale users waiting for an admin: it takes more than the cap of one user
    with vendor_app("asana", 40) as app:
        fields = own_fields("asana", app)
        fields["policy"]["max_reclaim_count"] = 1
        profile = make_profile(integrator, **fields)
        assert integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "t"}).status_code == 202
        assert wait_for(integrator, profile["id"], {"connected", "failed"})["status"] == "connected"
        assert sync(integrator, profile["id"])["status"] == "succeeded"
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert plan["status"] == "awaiting_approval" and len(plan["candidates"]) > 1, plan
        [loss] = [w for w in plan["warnings"] if "reclaiming loses the user's data" in w]
        # When an admin opens its review
        admin = open_as("admin", f"#/apps/{profile['id']}", checker=True)
        admin.locator(f"[data-review={plan['id']}]").click()
        # Then the review shows the warning and why the run waits, in the API's words, above its Approve
        warnings = admin.locator(f"[data-plan-warnings={plan['id']}]")
        expect(warnings.locator("li")).to_have_count(len(plan["warnings"]))
        expect(warnings.locator("li[data-warning=loses-data]")).to_have_text(loss)
        expect(warnings.locator("[data-approval-reason]")).to_contain_text(plan["approval_reason"])
        approve = admin.locator(f"[data-approve-reviewed={plan['id']}]")
        assert warnings.bounding_box()["y"] + warnings.bounding_box()["height"] <= approve.bounding_box()["y"]
        assert accessibility_problems(admin) == []
        # When the admin approves with the keyboard alone, the confirm step names the data loss to confirm
        approve.focus()
        admin.keyboard.press("Enter")
        expect(approve).to_have_text(f"Confirm: reclaim {len(plan['candidates'])} licenses")
        confirm = admin.locator(f"[data-review-of={plan['id']}] [data-confirm-loss={plan['id']}]")
        expect(confirm).to_be_focused()
        expect(admin.locator(f"[data-review-of={plan['id']}] label.confirm-loss")).to_contain_text(loss)
        # and confirming the approval without ticking it approves nothing
        approve.focus()
        admin.keyboard.press("Enter")
        expect(admin.locator("#toast")).to_have_text("Tick the box first: approving this plan loses the users' data.")
        expect(confirm).to_be_focused()
        assert integrator.get(f"/reclamations/{plan['id']}").json()["status"] == "awaiting_approval"
        assert app.reclaim_requests == []
        # and the Approve beside the plan's row asks the same, having read the plan's warnings
        row_approve = admin.locator(f"tr[data-reclamation={plan['id']}] [data-approve={plan['id']}]")
        row_approve.click()
        expect(admin.locator(f"tr[data-reclamation={plan['id']}] label.confirm-loss")).to_contain_text(loss)
        # Then ticking it (Space) and confirming approves, and the run takes the seats back
        confirm.press("Space")
        expect(confirm).to_be_checked()
        approve.focus()
        admin.keyboard.press("Enter")
        expect(admin.locator("#toast")).to_have_text("Approved: the reclamation is running.")
        done = wait_for_reclamation(integrator, plan["id"])
        assert done["approved_by"] == "browser-admin" and len(app.reclaim_requests) == len(plan["candidates"])
        integrator.delete(f"/profiles/{profile['id']}")
    assert admin.problems == []


def test_the_review_of_a_plan_without_warnings_shows_none_and_approving_it_asks_nothing_more(open_as, api):
    integrator = api("sam_integrator")
    with paging_app(24) as app:
        # Given an app that removes users with a request of its own (no template's warning applies), and a
        # real plan waiting for an admin because it takes more than the cap of one user
        profile = reclaiming_profile(integrator, app, max_reclaim_count=1)
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert (plan["status"], plan["warnings"]) == ("awaiting_approval", []), plan
        # When an admin opens its review
        admin = open_as("admin", f"#/apps/{profile['id']}")
        admin.locator(f"[data-review={plan['id']}]").click()
        expect(admin.get_by_role("table", name="Candidates", exact=True)).to_be_visible()
        # Then it says why it waits, and warns of nothing
        review = admin.locator(f"[data-review-of={plan['id']}]")
        expect(review.locator("[data-approval-reason]")).to_contain_text(plan["approval_reason"])
        expect(review.locator("[data-warning]")).to_have_count(0)
        # And its approval's confirm step asks for no data loss to be confirmed
        approve = review.locator(f"[data-approve-reviewed={plan['id']}]")
        approve.click()
        expect(approve).to_have_text(f"Confirm: reclaim {len(plan['candidates'])} licenses")
        expect(admin.locator("[data-confirm-loss]")).to_have_count(0)
        # A dry run waits for no one and warns of nothing: its review shows no warnings at all
        dry = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": True}).json()
        admin.reload()
        admin.locator(f"[data-review={dry['id']}]").click()
        expect(admin.locator(f"[data-review-of={dry['id']}] table[aria-label=Candidates]")).to_be_visible()
        expect(admin.locator(f"[data-plan-warnings={dry['id']}]")).to_have_count(0)
        integrator.delete(f"/profiles/{profile['id']}")
    assert admin.problems == []


def within_the_phone(page: Page, locator) -> None:
    """The element is on the screen of a 390 px phone, and the page itself never scrolls sideways."""
    expect(locator).to_be_visible()
    # Scrolled to by the page only (vertically), never by scrolling its table sideways.
    locator.evaluate("e => window.scrollBy(0, e.getBoundingClientRect().top - 100)")
    box = locator.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_at_390_px_each_view_s_primary_button_is_on_screen_and_tables_say_they_scroll(open_as, api, seeded):
    chat, waiting = seeded["profiles"][1], seeded["waiting"]
    # Given a phone, as an admin, with a reclamation waiting for approval
    phone = open_as("admin", phone=True)
    # Then on the overview the Approve button is on screen, its table stacked into rows
    within_the_phone(phone, phone.locator(f"[data-approve={waiting['id']}]"))
    within_the_phone(phone, phone.locator(f"[data-withdraw={waiting['id']}]"))
    # And a table wider than its card says that it scrolls sideways
    wide = phone.locator(".scroll.overflows").first
    expect(wide).to_be_visible()
    hint = wide.evaluate("box => getComputedStyle(box, '::before').content")
    assert "Scroll sideways" in hint
    # On an application's page: Sync now, and the review of the waiting plan
    phone.goto(phone.url.split("#")[0] + f"#/apps/{chat['id']}")
    within_the_phone(phone, phone.get_by_role("button", name="Sync now"))
    within_the_phone(phone, phone.locator(f"[data-review={waiting['id']}]"))
    # On the new application form: its submit button
    phone.goto(phone.url.split("#")[0] + "#/new")
    within_the_phone(phone, phone.get_by_role("button", name="Create and connect"))
    # On the renewals view: months without a deadline fold into one line, none says "Nothing due." alone
    phone.goto(phone.url.split("#")[0] + "#/renewals")
    expect(phone.get_by_role("heading", name="Opt-out deadlines by month")).to_be_visible()
    months = phone.locator("ol.timeline > li")
    folded = phone.locator("li.empty-months")
    items = api("admin").get("/renewals", params={"within_days": 365}).json()["items"]
    due = {r["opt_out_deadline"][:7] for r in items}
    assert phone.locator("[data-month]").count() == len(due)
    assert months.count() <= 2 * len(due) + 1
    covered = " ".join(folded.nth(i).get_attribute("data-months") for i in range(folded.count())).split()
    assert len(covered) + len(due) == 12 and not set(covered) & due
    assert phone.get_by_text("Nothing due.", exact=True).count() == 0
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.problems == []


# Every visible table: stacked into rows (display: block), or in a box inside the screen that, where it
# is wider than the box, says "Scroll sideways"; and every visible control left of the screen's edge,
# but for those in such a box.
FITS = """() => {
  const tables = [...document.querySelectorAll('table')].filter((t) => t.offsetParent).map((t) => {
    const box = t.closest('.scroll');
    const name = t.getAttribute('aria-label') || t.querySelector('caption')?.textContent || '?';
    if (getComputedStyle(t).display === 'block') return { name, how: 'stacked' };
    if (!box || box.getBoundingClientRect().right > innerWidth + 0.5) return { name, how: 'cut off' };
    if (box.scrollWidth <= box.clientWidth + 1) return { name, how: 'fits' };
    const hint = getComputedStyle(box, '::before').content;
    return { name, how: box.classList.contains('overflows') && hint.includes('Scroll sideways') ? 'scrolls, says so' : 'scrolls silently' };
  });
  const off = [...document.querySelectorAll('button, a.button, input, select, textarea')]
    .filter((c) => c.offsetParent && !c.closest('.scroll.overflows'))
    .filter((c) => { const r = c.getBoundingClientRect(); return r.left < 0 || r.right > innerWidth + 0.5; })
    .map((c) => (c.textContent || c.getAttribute('aria-label') || c.id).trim().slice(0, 40));
  return { tables, off, width: document.documentElement.scrollWidth };
}"""


def fits_the_phone(page: Page, view: str) -> list[dict]:
    """Asserts FITS on the page as it stands; gives its tables, for the view's own checks."""
    page.wait_for_function("document.querySelector('#main:not([aria-busy])') !== null")
    found = page.evaluate(FITS)
    assert found["width"] <= 390, (view, found)
    assert found["off"] == [], (view, found)
    assert not [t for t in found["tables"] if t["how"] not in ("stacked", "fits", "scrolls, says so")], (view, found)
    return found["tables"]


def test_at_390_px_every_view_fits_the_phone_and_its_primary_action_is_on_screen(open_as, api, seeded):
    hr, chat = seeded["profiles"]
    waiting = seeded["waiting"]
    # Given a phone, as an admin
    phone = open_as("admin", phone=True)
    go = lambda path: phone.goto(phone.url.split("#")[0] + path)  # noqa: E731
    stacked = lambda tables: {t["name"] for t in tables if t["how"] == "stacked"}  # noqa: E731

    # The overview: Approve on the approval queue, and the applications' CSV; the applications stack
    within_the_phone(phone, phone.locator(f"[data-approve={waiting['id']}]"))
    within_the_phone(phone, phone.get_by_role("button", name="Download the applications as CSV"))
    tables = fits_the_phone(phone, "overview")
    assert {"Reclamations waiting for approval", "Applications and their latest positions"} <= stacked(tables)

    # An application's page: Sync now; its users, reclamations and notifications stack, the users
    # keeping their sort buttons above the rows
    go(f"#/apps/{chat['id']}")
    expect(phone.get_by_role("heading", level=1)).to_have_text(chat["name"])
    expect(phone.locator("table[aria-label=Users] tbody tr").first).to_be_visible()
    within_the_phone(phone, phone.get_by_role("button", name="Sync now"))
    within_the_phone(phone, phone.locator("[data-sort=last_activity]"))
    within_the_phone(phone, phone.get_by_role("button", name="Download every user as CSV"))
    assert {"Users", "Reclamations", "Notifications"} <= stacked(fits_the_phone(phone, "application"))
    # The review of a waiting plan: Approve beside it, each candidate's Exclude and the CSV on screen
    phone.locator(f"[data-review={waiting['id']}]").click()
    expect(phone.locator("[data-candidate]").first).to_be_visible()
    within_the_phone(phone, phone.locator(f"[data-reclamation={waiting['id']}] [data-approve]"))
    within_the_phone(phone, phone.locator("[data-candidate] [data-exclude]").first)
    within_the_phone(phone, phone.locator("[data-review-sort=saves]"))
    within_the_phone(phone, phone.get_by_role("button", name="Download the candidates as CSV"))
    assert "Candidates" in stacked(fits_the_phone(phone, "review"))
    # Its audit trail
    phone.locator(f"[data-audit={waiting['id']}]").click()
    expect(phone.get_by_role("table", name="Audit trail").locator("tbody tr").first).to_be_visible()
    assert "Audit trail" in stacked(fits_the_phone(phone, "audit trail"))
    # An application without activity data, and its connection form: Connect
    go(f"#/apps/{hr['id']}")
    expect(phone.get_by_role("heading", level=1)).to_have_text(hr["name"])
    expect(phone.locator("table[aria-label=Users] tbody tr").first).to_be_visible()
    fits_the_phone(phone, "application without activity data")
    go(f"#/apps/{hr['id']}/connect")
    within_the_phone(phone, phone.get_by_role("button", name="Connect"))
    fits_the_phone(phone, "connect")

    # Adding an application: Create and connect; a custom one: its Connect (after a try)
    go("#/new")
    within_the_phone(phone, phone.get_by_role("button", name="Create and connect"))
    fits_the_phone(phone, "new application")
    phone.get_by_label("Template").select_option("__custom__")
    within_the_phone(phone, phone.get_by_role("button", name="Connect", exact=True))
    fits_the_phone(phone, "custom application")

    # Renewals: the nearest deadline's application, and the renewals stacked into rows
    go("#/renewals")
    expect(phone.get_by_role("heading", name="Opt-out deadlines by month")).to_be_visible()
    within_the_phone(phone, phone.locator("ol.timeline [data-profile] a").first)
    assert "Renewals" in stacked(fits_the_phone(phone, "renewals"))
    assert phone.problems == []


def test_a_viewer_sees_no_buttons_an_admin_approves_the_waiting_reclamation(open_as, api, seeded):
    chat, waiting = seeded["profiles"][1], seeded["waiting"]
    viewer = open_as("sam_viewer", f"#/apps/{chat['id']}")
    expect(viewer.locator(f"tr[data-reclamation={waiting['id']}]")).to_be_visible()
    assert viewer.locator("[data-approve]").count() == 0
    assert viewer.get_by_role("button", name="Sync now").count() == 0
    expect(viewer.get_by_role("link", name="Add an application")).to_be_hidden()
    # Who was told what names people's addresses: no panel for a viewer
    assert viewer.get_by_role("heading", name="Notifications").count() == 0

    admin = open_as("admin")
    expect(admin.get_by_role("heading", name="Waiting for approval")).to_be_visible()
    saved_before = api("admin").get("/analytics/overview").json()["actual_savings"]["seats"]
    approve = admin.locator(f"[data-approve={waiting['id']}]")
    approve.click()
    expect(approve).to_have_text(re.compile(r"^Confirm: reclaim \d+ licenses$"))
    approve.click()
    expect(admin.locator("#toast")).to_have_text("Approved: the reclamation is running.")

    done = wait_until(
        lambda: api("admin").get(f"/reclamations/{waiting['id']}").json(),
        lambda record: record["status"] not in ("running", "in_grace_period"),
        timeout=60,
    )
    assert done["status"] == "completed" and done["approved_by"] == "browser-admin"
    reclaimed = sum(o["outcome"] == "reclaimed" for o in done["outcomes"])
    assert reclaimed and len(seeded["chat"].reclaim_requests) >= reclaimed

    admin.goto(admin.url.split("#")[0] + f"#/apps/{chat['id']}")
    # The admin sees that the approval request went out, to the admins (the chat profile names no approver)
    told = admin.get_by_role("table", name="Notifications").locator("tbody tr")
    expect(told.first).to_be_visible()
    assert any(
        "approval request" in t and "admin@seatkeeper.localhost" in t and "sent" in t for t in told.all_inner_texts()
    ), told.all_inner_texts()
    row = admin.locator(f"tr[data-reclamation={waiting['id']}]")
    expect(row.locator(".badge")).to_have_text("completed")
    row.get_by_role("button", name="Audit trail").click()
    trail = admin.get_by_role("table", name="Audit trail").locator("tbody tr")
    expect(trail.first).to_contain_text("planned")
    actions = trail.all_inner_texts()
    assert any("approved" in a and "browser-admin" in a for a in actions)
    assert sum("reclaim\t" in a or "\treclaim\t" in a for a in actions) == reclaimed
    admin.goto(admin.url.split("#")[0] + "#/")
    expect(admin.locator("[data-figure=actual_savings_ytd]")).to_contain_text(
        f"{saved_before + reclaimed} licenses taken back this year"
    )
    # The trend ends at the figures after the reclamation, and the seats taken back save from now on.
    after = api("admin").get("/analytics/overview").json()
    assert digits(figure(admin, "stale")) == after["stale"] == after["trend"][-1]["stale"]
    assert digits(table_rows(admin, "Stale seats")[-1][1]) == after["stale"]
    assert figure(admin, "saved_run_rate") == amounts(after["saved_run_rate"]) != "\N{EN DASH}"
    assert admin.problems == [] and viewer.problems == []


def next_bill(renewal: date, period: str, after: date) -> date:
    """The first billing date after `after`: the renewal date's day each month, quarter or year (its own walk)."""
    step = {"monthly": 1, "quarterly": 3, "annual": 12}[period]
    bills = []
    for k in range(-40, 41):
        months = renewal.year * 12 + renewal.month - 1 + k * step
        year, month = divmod(months, 12)
        bills.append(date(year, month + 1, min(renewal.day, calendar.monthrange(year, month + 1)[1])))
    return min(b for b in bills if b > after)


def finished_savings(api, profile_id: str) -> list[dict]:
    """The profile's reclamations that took seats back this year, as the API lists them."""
    items = api("admin").get(f"/profiles/{profile_id}/reclamations").json()["items"]
    year = datetime.now(UTC).year
    return [
        r
        for r in items
        if r["finished_at"] and r["finished_at"][:4] == str(year) and (r["savings"] or {}).get("amount")
    ]


def test_a_seat_taken_back_saves_from_its_app_s_next_bill_and_the_saved_caption_says_from_when(open_as, api, seeded):
    chat = seeded["profiles"][1]
    integrator, admin = api("sam_integrator"), api("admin")
    # Given seats of the chat app taken back today (by the approval before, or a run of one user here)
    if not finished_savings(api, chat["id"]):
        candidates = integrator.post(f"/profiles/{chat['id']}/reclamations", json={"dry_run": True}).json()[
            "candidates"
        ]
        run = integrator.post(
            f"/profiles/{chat['id']}/reclamations", json={"dry_run": False, "user_ids": [candidates[0]["id"]]}
        ).json()
        if run["status"] == "awaiting_approval":
            assert admin.post(f"/reclamations/{run['id']}/approve").status_code == 200
        wait_until(
            lambda: admin.get(f"/reclamations/{run['id']}").json()["status"],
            lambda status: status not in ("awaiting_approval", "running", "in_grace_period"),
            timeout=60,
        )
    finished = finished_savings(api, chat["id"])
    assert finished, "no seat of the chat app was taken back"
    # ... at the chat app's price per month: $X a year is each reclamation's saving x 12
    per_year = sum(r["savings"]["amount"] * 12 / MONTHS[r["savings"]["period"]] for r in finished)
    assert {r["savings"]["period"] for r in finished} == {"monthly"}
    today = datetime.now(UTC).date()

    # When the chat app has no renewal date (as seeded), nobody knows its next bill
    page = open_as("sam_viewer")
    card = page.locator("[data-figure=actual_savings_ytd]")
    unknown = card.locator("[data-committed=unknown]")
    # Then the caption says "$X a year from an unknown date", naming the app; nothing is saved so far
    expect(unknown).to_have_text(f"${per_year:,.2f} a year from an unknown date (no renewal date for {chat['name']})")
    assert figure(page, "actual_savings_ytd") == "\N{EN DASH}"
    listed = admin.get(f"/profiles/{chat['id']}/reclamations").json()["items"]
    assert {r["saving_starts_on"] for r in listed if r["id"] in {f["id"] for f in finished}} == {None}

    # When the integrator gives it a renewal date 40 days away (billed monthly on that day)
    renews = today + timedelta(days=40)
    patched = integrator.patch(f"/profiles/{chat['id']}", json={"subscription": {"renewal_date": renews.isoformat()}})
    assert patched.status_code == 200, patched.text
    try:
        page.reload()
        # Then the saving starts at the first monthly bill after today, which the caption names
        starts = next_bill(renews, "monthly", today)
        assert today < starts <= renews
        committed = card.locator(f"[data-committed='{starts.isoformat()}']")
        expect(committed).to_have_text(f"${per_year:,.2f} a year from {starts:%b} {starts.day}, {starts.year}")
        assert card.locator("[data-committed=unknown]").count() == 0
        # And Saved so far counts no bill yet: the first without the seats is still to come
        assert figure(page, "actual_savings_ytd") == "\N{EN DASH}"
        o = api("sam_viewer").get("/analytics/overview").json()
        assert o["actual_savings_ytd"] == []
        # On the application's page, each of those reclamations says the same
        app_page = open_as("sam_viewer", f"#/apps/{chat['id']}")
        for r in finished:
            expect(app_page.locator(f"[data-reclamation={r['id']}] [data-saving-starts]")).to_have_attribute(
                "data-saving-starts", starts.isoformat()
            )
            expect(app_page.locator(f"[data-reclamation={r['id']}] [data-saving-starts]")).to_contain_text(
                f"from {starts:%b} {starts.day}, {starts.year}"
            )
        mine = [c for c in o["committed_savings"] if chat["name"] in c["applications"]]
        assert [(c["starts_on"], c["per_year"], c["applications"]) for c in mine] == [
            (starts.isoformat(), pytest.approx(per_year), [chat["name"]])
        ]
    finally:
        integrator.patch(f"/profiles/{chat['id']}", json={"subscription": {"renewal_date": None}})
    assert page.problems == []


def test_saved_so_far_is_each_saving_times_the_bills_since_its_start_as_the_caption_says(open_as, api, stack, seeded):
    hr = seeded["profiles"][0]
    subscription = api("admin").get(f"/profiles/{hr['id']}").json()["subscription"]
    renews, period = date.fromisoformat(subscription["renewal_date"]), subscription["billing_period"]
    today = datetime.now(UTC).date()
    # Given two HR seats taken back on January 2nd of this year (a past reclamation, stored as a
    # finished one stores its saving: the demo cannot wait for a bill)
    finished = datetime(today.year, 1, 2, 9, tzinfo=UTC)
    per_period = 2 * subscription["cost_per_license"]
    saving = {
        "reclamation_id": "rcl_e2e_january",
        "profile_id": hr["id"],
        "finished_at": finished.isoformat(),
        "seats": 2,
        "per_period": {"amount": per_period, "currency": "USD", "period": period},
    }
    table = DynamoDBReclamations(stack.template.physical_name("Table"))
    item_key = {"pk": {"S": f"SAVINGS#{today.year}"}, "sk": {"S": f"{finished.isoformat()}#rcl_e2e_january"}}
    table.client.put_item(TableName=table.table_name, Item={**item_key, "document": {"S": json.dumps(saving)}})
    try:
        page = open_as("sam_viewer")
        card = page.locator("[data-figure=actual_savings_ytd]")
        expect(card).to_contain_text("each saves from its app's next bill after the reclamation")
        # Then it saves from the app's first bill after January 2nd ("from <date>" in the caption) ...
        starts = next_bill(renews, period, finished.date())
        expect(card.locator(f"[data-committed='{starts.isoformat()}']")).to_have_text(
            f"${per_period * 12 / MONTHS[period]:,.2f} a year from {starts:%b} {starts.day}, {starts.year}"
        )
        # ... and Saved so far is its saving per period times the bills since then this year ("counts the bills since")
        bills, bill = 0, starts
        while bill <= today and bill.year == today.year:
            bills, bill = bills + 1, next_bill(renews, period, bill)
        o = api("sam_viewer").get("/analytics/overview").json()
        assert [(t["currency"], t["amount"]) for t in o["actual_savings_ytd"]] == (
            [("USD", pytest.approx(per_period * bills))] if bills else []
        )
        assert figure(page, "actual_savings_ytd") == (f"${per_period * bills:,.2f}" if bills else "\N{EN DASH}")
    finally:
        table.client.delete_item(TableName=table.table_name, Key=item_key)
    assert page.problems == []


def test_seats_taken_back_two_years_ago_still_count_on_this_year_s_bills_and_the_caption_says_earlier(
    open_as, api, stack, seeded
):
    hr = seeded["profiles"][0]
    subscription = api("admin").get(f"/profiles/{hr['id']}").json()["subscription"]
    renews, period = date.fromisoformat(subscription["renewal_date"]), subscription["billing_period"]
    today = datetime.now(UTC).date()
    before = api("sam_viewer").get("/analytics/overview").json()
    # Given HR added three years ago (its stored record's created_at set back, as an install that old has it)
    # and two of its seats taken back two years ago (stored as a finished reclamation stores its saving)
    table = DynamoDBReclamations(stack.template.physical_name("Table"))
    profile_key = {"pk": {"S": f"PROFILE#{hr['id']}"}, "sk": {"S": "PROFILE"}}
    stored = table.client.get_item(TableName=table.table_name, Key=profile_key, ConsistentRead=True)["Item"]
    document = json.loads(stored["document"]["S"])
    older = {
        **stored,
        "document": {"S": json.dumps({**document, "created_at": f"{today.year - 3}-02-01T00:00:00+00:00"})},
    }
    finished = datetime(today.year - 2, 5, 4, 9, tzinfo=UTC)
    per_period = 2 * subscription["cost_per_license"]
    saving = {
        "reclamation_id": "rcl_e2e_two_years_ago",
        "profile_id": hr["id"],
        "finished_at": finished.isoformat(),
        "seats": 2,
        "per_period": {"amount": per_period, "currency": "USD", "period": period},
    }
    item_key = {"pk": {"S": f"SAVINGS#{finished.year}"}, "sk": {"S": f"{finished.isoformat()}#rcl_e2e_two_years_ago"}}
    table.client.put_item(TableName=table.table_name, Item=older)
    table.client.put_item(TableName=table.table_name, Item={**item_key, "document": {"S": json.dumps(saving)}})
    try:
        # When a viewer opens the overview
        page = open_as("sam_viewer")
        card = page.locator("[data-figure=actual_savings_ytd]")
        # Then the caption counts the two seats as taken back earlier, not this year
        seats = before["actual_savings"]["seats"]
        expect(card).to_contain_text(f"{seats} licenses taken back this year, 2 earlier")
        # And Saved so far grew by their saving per period x every bill of this year up to today
        bills, bill = 0, next_bill(renews, period, date(today.year - 1, 12, 31))
        while bill <= today:
            bills, bill = bills + 1, next_bill(renews, period, bill)
        o = api("sam_viewer").get("/analytics/overview").json()
        was = sum(t["amount"] for t in before["actual_savings_ytd"] if t["currency"] == "USD")
        now = sum(t["amount"] for t in o["actual_savings_ytd"] if t["currency"] == "USD")
        assert now == pytest.approx(was + per_period * bills)
    finally:
        table.client.delete_item(TableName=table.table_name, Key=item_key)
        table.client.put_item(TableName=table.table_name, Item=stored)
    assert page.problems == []


def test_an_integrator_adds_an_application_from_a_template_and_connects_it(open_as, api, seeded):
    scim = seeded["scim"]
    page = open_as("sam_integrator", "#/new")
    # The catalog is searched by what an app is called or can do.
    page.get_by_label("Search the catalog").fill("graphql")
    expect(page.get_by_label("Template").locator("option")).to_have_text(["monday.com"])
    expect(page.locator("#template-matches")).to_contain_text("1 of")
    page.get_by_label("Search the catalog").fill("")
    page.get_by_label("Template").select_option("scim2")
    page.get_by_label("Name").fill("Browser-added HR")
    page.get_by_label("Base URL").fill("not a url")
    page.get_by_label("Token").fill(scim.token)
    page.get_by_label("Licenses purchased").fill("40")
    page.get_by_role("button", name="Create and connect").click()
    # The API's 422 lands next to the field it names.
    expect(page.locator("[data-error=base_url]")).not_to_be_empty()
    page.get_by_label("Base URL").fill(scim.url)
    page.get_by_label("Token").fill(scim.token)
    page.get_by_role("button", name="Create and connect").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Browser-added HR", timeout=60_000)
    expect(page.locator(".sub .badge")).to_have_text("connected")
    profile_id = page.url.rsplit("/", 1)[1]
    assert api("sam_viewer").get(f"/profiles/{profile_id}/connection").json()["status"] == "connected"
    assert api("sam_viewer").get(f"/profiles/{profile_id}").json()["subscription"]["licenses_purchased"] == 40
    assert scim.token not in page.content()  # the credential is not kept in the page
    assert page.problems == []


def test_a_failed_attempt_to_add_an_application_leaves_nothing_and_the_retry_works(open_as, api, seeded):
    scim = seeded["scim"]

    def named(name):
        return [
            p for p in api("sam_viewer").get("/profiles", params={"limit": 100}).json()["items"] if p["name"] == name
        ]

    # Given the add-application form filled in with an empty credential (issue #28's orphan)
    page = open_as("sam_integrator", "#/new")
    page.get_by_label("Template").select_option("scim2")
    page.get_by_label("Name").fill("Half-made HR")
    page.get_by_label("Base URL").fill(scim.url)
    # When it is submitted
    page.get_by_role("button", name="Create and connect").click()
    # Then the credential is asked for beside its field, and nothing was created
    expect(page.locator("[data-error=token]")).not_to_be_empty()
    assert named("Half-made HR") == []
    # When a wrong token is given, Then the app's refusal is shown, and still nothing was created
    page.get_by_label("Token").fill("not-the-token")
    page.get_by_role("button", name="Create and connect").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was created")
    assert named("Half-made HR") == []
    # When the right token is given, Then the application is created and connected, once
    page.get_by_label("Token").fill(scim.token)
    page.get_by_role("button", name="Create and connect").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Half-made HR", timeout=60_000)
    expect(page.locator(".sub .badge")).to_have_text("connected")
    assert len(named("Half-made HR")) == 1
    assert page.problems == []


def test_a_custom_application_is_written_tested_against_its_app_and_connected(open_as, api):
    with paging_app(25) as app:
        fields = profile_fields(app, "cursor", page_size=10)
        profile = {
            "name": "Hand-written chat",
            **fields,
            "users": {**fields["users"], "fields": {**fields["users"]["fields"], "last_activity": "lastLogin"}},
            "subscription": {"licenses_purchased": 25, "cost_per_license": 2},
        }
        # Given the add-application form's custom entry
        page = open_as("sam_integrator", "#/new")
        page.get_by_label("Template").select_option(label="Custom application (write its profile)")
        editor = page.get_by_label("Profile (JSON)")
        # When the profile is typed, Then it is checked against the schema as it goes
        editor.fill('{"name": "x", "colour": "red"}')
        expect(page.locator("[data-error=profile]")).to_contain_text("colour is not a profile field")
        expect(page.locator("[data-error=profile]")).to_contain_text("base_url is required")
        editor.fill(json.dumps(profile))
        expect(page.locator("[data-error=profile]")).to_be_empty()
        expect(page.get_by_role("button", name="Connect")).to_be_disabled()
        # When it is tested with the app's token
        page.get_by_label("Token").fill("t")
        page.get_by_role("button", name="Test").click()
        # Then the preview shows the users, the field that matched nothing with the key to use, and the requests
        expect(page.locator("#preview-results")).to_contain_text("25 users read; paging ended.")
        assert ["users.fields.last_activity", "lastLogin", "0 of 25", "last_login"] in table_rows(
            page, "Fields matched"
        )
        assert len(table_rows(page, "Requests")) == 3
        listed = api("sam_viewer").get("/profiles", params={"limit": 100}).json()["items"]
        assert [p for p in listed if p["name"] == profile["name"]] == []  # a test creates nothing
        # When the path is fixed, Then Connect waits for another test, and after it connects
        profile["users"]["fields"]["last_activity"] = "last_login"
        editor.fill(json.dumps(profile))
        expect(page.get_by_role("button", name="Connect")).to_be_disabled()
        page.get_by_label("Token").fill("t")
        page.get_by_role("button", name="Test").click()
        expect(page.locator("#preview-results")).to_contain_text("25 users read")
        assert ["users.fields.last_activity", "last_login", "23 of 25", "\N{EN DASH}"] in table_rows(
            page, "Fields matched"
        )
        page.get_by_label("Token").fill("t")
        page.get_by_role("button", name="Connect").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Hand-written chat", timeout=60_000)
        expect(page.locator(".sub .badge")).to_have_text("connected")
    assert page.problems == []


def test_a_custom_application_is_drafted_from_the_vendor_s_openapi_document_and_its_test_reads_users(open_as, api):
    # Follows tests/vendor_specs/drafts/okta.yaml: an extract of okta/okta-management-openapi-spec
    # dist/2026.06.3/management-minimal.yaml (info.version 2026.06.3), served by Prism as the document says.
    extract = DRAFTS / "okta.yaml"
    with prism(extract) as url:
        # Given the custom entry of the add-application form
        page = open_as("sam_integrator", "#/new")
        page.get_by_label("Template").select_option(label="Custom application (write its profile)")
        # When the vendor's document is chosen as a file and drafted
        page.get_by_label("The vendor's OpenAPI or Swagger document").set_input_files(extract)
        expect(page.get_by_label("Document text")).not_to_be_empty()
        page.get_by_role("button", name="Draft the profile").click()
        # Then the draft is in the editor, valid, and its notes are beside it with each guess, confidence and why
        expect(page.locator("#draft-notes")).to_contain_text("users: GET /api/v1/users")
        notes = {row[0]: row for row in table_rows(page, "Draft notes")}
        assert notes["users.path"][1] == "GET /api/v1/users" and notes["users.path"][3], notes["users.path"]
        assert notes["users.fields.last_activity"][1] == "lastLogin"
        assert all(re.fullmatch(r"\d{1,3}%", row[2]) for row in notes.values()), notes
        editor = page.get_by_label("Profile (JSON)")
        profile = json.loads(editor.input_value())
        assert profile["users"]["path"] == "/api/v1/users"
        assert profile["auth"] == {"type": "api_key", "location": "header", "name": "Authorization", "prefix": "SSWS "}
        expect(page.locator("[data-error=profile]")).to_be_empty()
        # When the author points it at the app (here Prism, which serves the paths at its root) and Tests it
        profile["base_url"] = url
        editor.fill(json.dumps(profile, indent=2))
        page.get_by_label("API key").fill("prism-key")
        page.get_by_role("button", name="Test").click()
        # Then the preview read the users Prism answers with, every mapped field found, and Connect is offered
        expect(page.locator("#preview-results")).to_contain_text("users read")
        assert table_rows(page, "Previewed users"), "the users table has rows"
        for field, path, matched, _ in table_rows(page, "Fields matched"):
            seen, of = matched.split(" of ")
            assert seen == of != "0", (field, path, matched)
        assert [r[1] for r in table_rows(page, "Requests")] == ["200"]
        expect(page.get_by_role("button", name="Connect")).to_be_enabled()
    assert page.problems == []


def test_an_oauth_profile_is_tested_with_an_access_token_before_it_is_connected(open_as, api, oidc, saas):  # noqa: F811
    # Given an app that checks each bearer token at oidc-provider-mock's userinfo, an authorization-code profile for
    # it, and an access token its author got from that server out of band (as tests/integration/test_profile_preview)
    profile = {
        "name": "OAuth app under test",
        "template": "scim2",
        "base_url": f"{saas.url}/oauth",
        "auth": {
            "type": "oauth2_authorization_code",
            "authorize_url": f"{oidc}/oauth2/authorize",
            "token_url": f"{oidc}/oauth2/token",
            "scopes": ["openid", "email"],
        },
        "subscription": {"licenses_purchased": 10},
    }
    # (the editor asks for the users block that the API would take from the template: it is the template's own)
    [scim2] = [t for t in api("sam_viewer").get("/templates").json()["items"] if t["name"] == "scim2"]
    profile["users"] = scim2["profile"]["users"]
    token = token_out_of_band(oidc)
    page = open_as("sam_integrator", "#/new")
    page.get_by_label("Template").select_option(label="Custom application (write its profile)")
    page.get_by_label("Profile (JSON)").fill(json.dumps(profile))
    # Then the Test step asks for an access token, as a password field
    field = page.get_by_label("Access token (for the Test only)")
    expect(field).to_have_attribute("type", "password")
    # When the profile is tested with the token
    field.fill(token)
    expect(page.locator("[data-error=profile]")).to_be_empty()
    with page.expect_request(lambda r: r.url.endswith("/profiles/preview")) as sent:
        page.get_by_role("button", name="Test").click()
    # Then only the token went, as the preview's credential, and the app's users are shown
    assert sent.value.post_data_json["credential"] == {"access_token": token}
    expect(page.locator("#preview-results")).to_contain_text("3 users read")
    assert [row[0] for row in table_rows(page, "Previewed users")] == ["0", "1", "2"]
    assert saas.requests_seen[-1]["authorization"] == f"Bearer {token}"
    expect(page.get_by_role("button", name="Connect")).to_be_enabled()
    # and nothing was created, and the token is not written into the page
    listed = api("sam_viewer").get("/profiles", params={"limit": 100}).json()["items"]
    assert [p for p in listed if p["name"] == profile["name"]] == []
    assert token not in page.content()
    assert page.problems == []


def test_an_application_s_page_shows_the_last_sync_s_warnings(open_as, api):
    integrator = api("sam_integrator")
    with paging_app(12) as app:
        # Given an application whose last-activity path matches nothing, synced
        profile = integrator.post(
            "/profiles",
            json={
                "name": "Misread app",
                **profile_fields(app, "offset"),
                "subscription": {"licenses_purchased": 12, "cost_per_license": 1},
            }
            | {
                "users": {
                    **profile_fields(app, "offset")["users"],
                    "fields": {"id": "id", "last_activity": "lastLogin"},
                }
            },
        ).json()
        integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
        wait_for(integrator, profile["id"], {"connected"})
        run_id = integrator.post(f"/profiles/{profile['id']}/sync").json()["run_id"]
        wait_until(lambda: integrator.get(f"/runs/{run_id}").json(), lambda run: run["status"] != "running", timeout=60)
        # When its page is opened
        page = open_as("sam_viewer", f"#/apps/{profile['id']}")
        # Then the warning is there, naming the field and the key the records have
        warning = page.locator("#sync-warnings")
        expect(warning).to_contain_text("removals by inactivity are refused")
        expect(warning).to_contain_text("users.fields.last_activity: 0 of 12 records matched 'lastLogin'")
        expect(warning).to_contain_text("did you mean 'last_login'?")
    assert page.problems == []


def test_the_users_table_says_reclaimed_apart_from_inactive_and_lists_a_reclaim_the_app_ignored(open_as, api):
    # Given an app (of one page of the table) that accepts one stale user's reclaim (204) and keeps the user,
    # and takes the others back
    integrator = api("sam_integrator")
    with paging_app(24) as app:
        profile = reclaiming_profile(integrator, app)
        stuck, *others = expected_candidates(app.users)
        app.ignored_reclaims = {stuck}
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert wait_for_reclamation(integrator, plan["id"])["status"] == "completed"
        time.sleep(1.1)  # a sync started after the reclaim's second checks it (TakenBack)
        # and synced again, which rewrites every stored user from what the app says
        assert sync(integrator, profile["id"])["status"] == "succeeded"
        leaver = next(u["id"] for u in app.users if not u["active"] and u["id"] not in {stuck, *others})
        # When its page is opened
        page = open_as("sam_viewer", f"#/apps/{profile['id']}")
        # Then the seat still held needs an admin's attention, named with the day of its reclaim
        attention = page.locator("#needs-attention")
        expect(attention).to_contain_text("Needs attention: 1 seat still held after a reclaim")
        expect(attention.locator("li")).to_have_count(1)
        expect(attention.locator(f"li[data-attention={stuck}]")).to_contain_text("reclaimed ")
        # and the users table reads one word per status: reclaimed (with its day), inactive, not effective
        page.get_by_label("Show").select_option("")
        users = page.locator("table[aria-label=Users]")
        expect(users.locator(f"tr[data-user={stuck}] td[data-status]")).to_have_attribute(
            "data-status", "not_effective"
        )
        expect(users.locator(f"tr[data-user={stuck}] .badge")).to_have_text("not effective")
        for user_id in others:
            cell = users.locator(f"tr[data-user={user_id}] td[data-status]")
            expect(cell.locator(".badge")).to_have_text("reclaimed")
            expect(cell.locator(".hint")).to_contain_text("reclaimed ")
        expect(users.locator(f"tr[data-user={leaver}] .badge")).to_have_text("inactive")
        expect(users.locator(f"tr[data-user={leaver}] .hint")).to_have_count(0)
        # and the filter shows the reclaimed ones alone
        page.get_by_label("Show").select_option("reclaimed")
        expect(users).to_have_attribute("data-view", re.compile("^reclaimed "))
        expect(users.locator("tbody tr")).to_have_count(len(others))
        assert set(users.locator("tbody .badge").all_inner_texts()) == {"reclaimed"}
    assert page.problems == []


def test_an_oauth_connection_goes_through_the_provider_s_consent_page_and_back(open_as, api, oidc, saas):  # noqa: F811
    profile = oauth_profile(api("sam_integrator"), oidc, saas)
    page = open_as("sam_integrator", f"#/apps/{profile['id']}")
    page.get_by_role("link", name="Connect").click()
    expect(page.get_by_text("Register this redirect URI")).to_contain_text("/oauth/callback")
    page.get_by_label("OAuth client id").fill("seatkeeper-browser")
    page.get_by_label("OAuth client secret").fill("browser-secret-51c2")
    page.get_by_role("button", name="Connect").click()

    page.wait_for_url(f"{oidc}/oauth2/authorize?**", timeout=60_000)  # the provider's own page
    page.locator("input[name=sub]").fill("alice@acme.example.com")
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Access granted", timeout=30_000)
    page.get_by_role("link", name="Back to the seatkeeper dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(profile["name"])

    wait_for(api("sam_viewer"), profile["id"], {"connected"})
    page.reload()
    expect(page.locator(".sub .badge")).to_have_text("connected")
    assert page.problems == []


def test_a_refused_grant_shows_a_banner_whose_reconnect_goes_through_the_provider_and_back(open_as, api, oidc, saas):  # noqa: F811
    integrator, sub = api("sam_integrator"), f"dora-{secrets.token_hex(4)}"
    # Given an OAuth application, connected, whose grant the provider then revokes, met by a sync
    profile = oauth_profile(integrator, oidc, saas)
    integrator.post(f"/profiles/{profile['id']}/connection", json={"client_id": "c", "client_secret": "s"})
    grant(wait_for(integrator, profile["id"], {"awaiting_grant"}), sub)
    wait_for(integrator, profile["id"], {"connected"})
    assert requests.post(f"{oidc}/users/{sub}/revoke-tokens", timeout=10).status_code == 204
    access_token_expires(integrator, profile["id"])
    assert sync(integrator, profile["id"])["status"] == "failed"

    # When a viewer opens its page, then an integrator
    viewer = open_as("sam_viewer", f"#/apps/{profile['id']}")
    page = open_as("sam_integrator", f"#/apps/{profile['id']}", checker=True)

    # Then both see why nothing syncs, and only the integrator a Reconnect button
    for seen in (viewer, page):
        expect(seen.locator("#reconnect-banner")).to_contain_text("Reconnect needed")
        expect(seen.locator(".sub .badge")).to_have_text("needs reconnect")
    expect(viewer.get_by_role("button", name="Reconnect")).to_have_count(0)
    expect(page.get_by_role("button", name="Sync now")).to_have_count(0)
    assert accessibility_problems(page) == [], "the banner"

    # When the integrator reconnects and grants access on the provider's own page
    page.get_by_role("button", name="Reconnect").click()
    page.wait_for_url(f"{oidc}/oauth2/authorize?**", timeout=60_000)
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Access granted", timeout=30_000)
    page.get_by_role("link", name="Back to the seatkeeper dashboard").click()

    # Then the application is connected again, the banner gone, and it syncs
    wait_for(api("sam_viewer"), profile["id"], {"connected"})
    page.reload()
    expect(page.locator(".sub .badge")).to_have_text("connected")
    expect(page.locator("#reconnect-banner")).to_have_count(0)
    assert sync(integrator, profile["id"])["status"] == "succeeded"
    assert page.problems == [] and viewer.problems == []


def accessibility_problems(page: Page) -> list[dict]:
    """What axe-core finds against WCAG 2.1 A and AA (labels, names, contrast, structure, ARIA)."""
    assert AXE.exists(), f"{AXE} is missing: make test installs it (npm ci)"
    page.add_script_tag(path=AXE)
    return page.evaluate(
        """async () => (await axe.run(document, {runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}))
            .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                   nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}))"""
    )


def test_every_view_passes_an_accessibility_check_on_a_laptop_and_a_phone(open_as, seeded):
    chat = seeded["profiles"][1]
    for phone in (False, True):
        overview = open_as("admin", phone=phone, checker=True)
        expect(overview.locator("[data-figure=licenses_purchased]")).to_be_visible()
        for details in overview.locator("details").all():  # the charts' tables too
            details.locator("summary").click()
        assert accessibility_problems(overview) == [], "overview"

        application = open_as("admin", f"#/apps/{chat['id']}", phone=phone, checker=True)
        expect(application.locator("table[aria-label=Users] tbody tr").first).to_be_visible()
        application.locator("[data-audit]").first.click()
        expect(application.get_by_role("table", name="Audit trail")).to_be_visible()
        assert accessibility_problems(application) == [], "application"

        adding = open_as("sam_integrator", "#/new", phone=phone, checker=True)
        expect(adding.get_by_label("Template")).to_be_visible()
        assert accessibility_problems(adding) == [], "new application"


def test_the_overview_can_be_used_with_the_keyboard_alone(open_as, seeded):
    page = open_as("sam_viewer")
    expect(page.locator("[data-figure=licenses_purchased]")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the content")).to_be_focused()
    page.keyboard.press("Enter")
    chat = seeded["profiles"][1]
    link = page.locator(f"a[data-profile={chat['id']}]").last
    for _ in range(200):  # tab until the application's link in the table has the focus
        if link.evaluate("element => element === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(chat["name"])
    sort = page.get_by_role("button", name="Name")
    sort.focus()
    page.keyboard.press("Enter")  # by name is the first order: Enter turns it round
    expect(page.locator("table[aria-label=Users]")).to_have_attribute("data-view", "all name desc 1")
    expect(page.get_by_role("button", name="Name")).to_be_focused()  # the focus stays where it was
    assert page.problems == []


class HostedSignIn(BaseHTTPRequestHandler):
    """A stand-in for Cognito's hosted UI: the code flow with PKCE, checked as Cognito checks it.

    It signs people in at once (no form) as `role`, and its tokens are the local stack's own
    JWTs, so that the API takes them as it would take Cognito's.
    """

    secret: str
    role = "admin"
    issued: dict[str, dict[str, str]] = {}
    seen: list[dict[str, str]] = []

    def _answer(self, status: int, body: dict | None = None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        self.seen.append({"path": url.path, **query})
        if url.path == "/oauth2/authorize":
            code = secrets.token_urlsafe(16)
            self.issued[code] = query
            back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            return self._answer(302, headers={"Location": back})
        if url.path == "/logout":
            return self._answer(302, headers={"Location": query["logout_uri"]})
        return self._answer(404, {"error": "not_found"})

    def do_POST(self) -> None:
        form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        self.seen.append({"path": self.path, **{k: v for k, v in form.items() if k != "code_verifier"}})
        asked = self.issued.pop(form.get("code", ""), None)
        cors = {"Access-Control-Allow-Origin": self.headers.get("Origin", "")}
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
        if (
            asked is None
            or asked["code_challenge_method"] != "S256"
            or asked["code_challenge"] != challenge
            or asked["redirect_uri"] != form.get("redirect_uri")
            or asked["client_id"] != form.get("client_id")
        ):
            self._answer(400, {"error": "invalid_grant"}, cors)
        else:
            token = mint(self.secret, self.role, subject="hosted-user")
            tokens = {"access_token": token, "id_token": token, "token_type": "Bearer", "expires_in": 3600}
            self._answer(200, tokens, cors)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def hosted_sign_in(stack, api_environment) -> Iterator[type[HostedSignIn]]:
    HostedSignIn.secret, HostedSignIn.issued, HostedSignIn.seen = stack.jwt_secret, {}, []
    with serving(HostedSignIn) as server:
        # As in AWS, where the template gives the API function the hosted UI's address and client.
        api_environment(
            DASHBOARD_SIGN_IN_URL=f"http://127.0.0.1:{server.server_port}", DASHBOARD_CLIENT_ID="dashboard-client"
        )
        yield HostedSignIn


def test_without_a_token_the_local_sign_in_page_gives_a_token_command_that_works(browser, stack, root):
    # Given the dashboard of a local stack, opened without a token
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"{stack.url}/dashboard#/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to seatkeeper")
    # When a person runs the token command the page shows
    command = page.locator("code", has_text="seatkeeper token").inner_text().split()
    context.close()
    assert command[0] == "seatkeeper"
    done = subprocess.run(
        [sys.executable, "-m", "seatkeeper_local.cli", *command[1:]],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "PYTHONPATH": f"{root}/local:{root}/layers/seatkeeper",
            "SEATKEEPER_LOCAL_JWT_SECRET": "s" * 32,
        },
        check=False,
    )
    # Then it prints a token
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(".") == 2


def test_signing_in_at_the_hosted_ui_uses_the_code_flow_with_pkce_and_signing_out_ends_it(
    browser, stack, hosted_sign_in
):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"{stack.url}/dashboard#/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to seatkeeper")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("[data-role-name=admin]")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("SaaS overview")
    assert page.url == f"{stack.url}/dashboard#/"  # the code and state are gone from the address bar

    authorize, token = hosted_sign_in.seen[0], hosted_sign_in.seen[1]
    assert authorize["path"] == "/oauth2/authorize" and authorize["response_type"] == "code"
    assert (authorize["client_id"], authorize["redirect_uri"]) == ("dashboard-client", f"{stack.url}/dashboard")
    assert authorize["code_challenge_method"] == "S256" and len(authorize["state"]) >= 20
    assert token["path"] == "/oauth2/token" and token["grant_type"] == "authorization_code"

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert hosted_sign_in.seen[-1]["path"] == "/logout"
    assert hosted_sign_in.seen[-1]["logout_uri"] == f"{stack.url}/dashboard"

    # A code that comes back without the state this tab sent is refused, and nothing is exchanged.
    exchanged = sum(s["path"] == "/oauth2/token" for s in hosted_sign_in.seen)
    page.goto(f"{stack.url}/dashboard?code=stolen&state=not-ours")
    expect(page.get_by_role("alert")).to_have_text("This sign-in link was not started here. Sign in again.")
    assert sum(s["path"] == "/oauth2/token" for s in hosted_sign_in.seen) == exchanged
    context.close()


def test_a_template_s_needs_are_fields_of_the_form_and_land_where_the_template_says(open_as, api):
    # Given Calendly's template, which needs users.params.organization (its own value is only an example)
    page = open_as("sam_integrator", "#/new")
    page.route("https://auth.calendly.com/**", lambda route: route.fulfill(body="Calendly's consent page"))
    page.get_by_label("Search the catalog").fill("calendly")
    page.get_by_label("Template").select_option("calendly")
    need = page.get_by_label("users.params.organization")
    expect(need).to_have_attribute("placeholder", re.compile(r"^https://api\.calendly\.com/organizations/"))
    page.get_by_label("OAuth client id").fill("calendly-client")
    page.get_by_label("OAuth client secret").fill("calendly-secret")
    # When the person leaves the need empty, Then the form says so and creates nothing
    page.get_by_role("button", name="Create and connect").click()
    expect(page.locator('[data-error="users.params.organization"]')).to_have_text("Required by this template.")
    assert not [p for p in api("sam_viewer").get("/profiles").json()["items"] if p["template"] == "calendly"]
    # When they give their organization's URI
    organization = "https://api.calendly.com/organizations/EBHAAFHDCAEQTSEZ"
    need.fill(organization)
    page.get_by_role("button", name="Create and connect").click()
    # Then the profile holds it where the template reads it, and the grant goes to Calendly
    page.wait_for_url("https://auth.calendly.com/oauth/authorize?**", timeout=60_000)
    created = [p for p in api("sam_viewer").get("/profiles").json()["items"] if p["template"] == "calendly"]
    assert [p["users"]["params"]["organization"] for p in created] == [organization]
    assert api("sam_integrator").delete(f"/profiles/{created[0]['id']}").status_code == 204


def test_the_add_application_view_shows_the_facts_no_vendor_source_confirms(open_as):
    # Given Asana's template, whose e-mail field Asana's OpenAPI document does not declare
    page = open_as("sam_integrator", "#/new")
    page.get_by_label("Search the catalog").fill("asana")
    page.get_by_label("Template").select_option("asana")
    # Then the form says which fact is unverified and why, and which API version the template follows
    note = page.locator("[data-unverified]")
    # (email among them: the template marks its rate-limit answer unverified too)
    expect(note).to_have_attribute("data-unverified", re.compile(r"(^| )email( |$)"))
    expect(note).to_contain_text("opt_fields")
    expect(page.locator("form")).to_contain_text("Follows the vendor's API 1.0.")
    # And a template whose facts are all confirmed shows no such note
    page.get_by_label("Search the catalog").fill("okta")
    page.get_by_label("Template").select_option("okta")
    expect(page.locator("[data-unverified]")).to_have_count(0)
    assert page.problems == []


def test_an_application_s_page_follows_a_running_sync_until_it_ends(open_as, api):
    integrator = api("sam_integrator")
    # Given a slow app: 30 pages of 50 users, 0.15 s a page, one page at a time, connected
    with paging_app(1500, latency=0.15) as app:
        profile = integrator.post(
            "/profiles",
            json={
                "name": "Slow app",
                **profile_fields(app, "offset", page_size=50, max_concurrency=1),
                "subscription": {"licenses_purchased": 1500, "cost_per_license": 1},
            },
        ).json()
        integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
        wait_for(integrator, profile["id"], {"connected"})
        page = open_as("sam_integrator", f"#/apps/{profile['id']}")
        expect(page.locator("[data-figure=last_sync]")).to_contain_text("never")
        # When the integrator starts a sync from its page
        page.get_by_role("button", name="Sync now").click()
        # Then the page shows the running sync's pages, users so far (of the total the app gave) and pace
        progress = page.locator("#sync-progress")
        expect(progress).to_contain_text(re.compile(r"Syncing: [1-9]\d* pages, [\d,]+ of 1,500 users so far"))
        expect(progress).to_contain_text("requests a second")
        # And once the sync ended the progress is gone and the page shows the new snapshot
        expect(progress).to_be_empty(timeout=60_000)
        expect(page.locator("[data-figure=last_sync]")).to_contain_text("1,500 users")
    assert page.problems == []


def test_the_users_table_says_which_users_an_app_s_more_list_holds(open_as, api):
    integrator = api("sam_integrator")
    # Given GitHub's organization (tests/vendor_fakes.py, after npm:@octokit/openapi 23.0.2) with members and
    # outside collaborators, and an application made from the github_org template, synced
    with vendor_app("github_org", 12) as app:
        profile = integrator.post(
            "/profiles",
            json={
                "name": "GitHub org",
                "template": "github_org",
                "base_url": app.base_url,
                "subscription": {"licenses_purchased": 12, "cost_per_license": 4},
            },
        ).json()
        integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
        wait_for(integrator, profile["id"], {"connected"})
        run_id = integrator.post(f"/profiles/{profile['id']}/sync").json()["run_id"]
        wait_until(lambda: integrator.get(f"/runs/{run_id}").json(), lambda run: run["status"] != "running", timeout=60)
        outside = [app.vendor.user_id(p) for p in app.people if app.vendor.kind(p)]
        member = next(app.vendor.user_id(p) for p in app.people if not app.vendor.kind(p))
    # When its page is opened
    page = open_as("sam_viewer", f"#/apps/{profile['id']}")
    # Then each outside collaborator's row says so, and a member's does not
    for user_id in outside:
        expect(page.locator(f"tr[data-user={user_id}] [data-kind=outside_collaborator]")).to_have_text(
            " · outside collaborator"
        )
    expect(page.locator(f"tr[data-user={member}]")).to_be_visible()
    expect(page.locator(f"tr[data-user={member}] [data-kind]")).to_have_count(0)
    assert page.problems == []
