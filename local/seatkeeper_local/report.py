"""`seatkeeper report`: the SaaS overview, each application's position and the coming renewals, as tables.

It reads GET /analytics/overview and GET /renewals like the dashboard does, from the running
local stack or from any seatkeeper API given a URL and a token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

PERIODS = {"monthly": "month", "quarterly": "quarter", "annual": "year"}
BUCKETS = (
    ("d0_30", "0-30 days"),
    ("d30_60", "30-60"),
    ("d60_90", "60-90"),
    ("d90_120", "90-120"),
    ("d120_plus", "120+"),
    ("never", "never signed in"),
    ("no_data", "no activity data"),
)


def money(amount: dict[str, Any] | None) -> str:
    if not amount:
        return "-"
    return f"{amount['amount']:,.2f} {amount['currency']}/{PERIODS.get(amount['period'], amount['period'])}"


def rate(rate: dict[str, Any] | None) -> str:
    if not rate:
        return "-"
    return f"{rate['per_month']:,.2f} {rate['currency']}/month ({rate['per_year']:,.2f}/year)"


def rates(items: list[dict[str, Any]]) -> str:
    return " + ".join(rate(r) for r in items) or "-"


def table(headers: Sequence[str], rows: list[Sequence[Any]], numeric: set[int] | frozenset[int] = frozenset()) -> str:
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths), *(line(r) for r in cells[1:])])


RENEWALS_WITHIN_DAYS = 365


def render_renewals(renewals: list[dict[str, Any]]) -> str:
    """The renewals of the next twelve months: when to give notice, and the count to renew at."""
    rows = [
        [
            r["name"],
            r["renewal_date"],
            r["opt_out_deadline"],
            f"{r['days_to_deadline']:,}",
            "yes" if r["auto_renew"] else "no",
            f"{r['licenses_purchased']:,}",
            "-" if r["recommended_licenses"] is None else f"{r['recommended_licenses']:,}",
            f"{r['annual_cost']:,.2f} {r['currency']}",
            "-" if r["potential_annual_savings"] is None else f"{r['potential_annual_savings']:,.2f} {r['currency']}",
            r["owner"] or "-",
        ]
        for r in renewals
    ]
    headers = [
        "Application",
        "Renews",
        "Opt-out by",
        "Days left",
        "Auto",
        "Purchased",
        "Recommended",
        "Annual cost",
        "Could save/yr",
        "Owner",
    ]
    return table(headers, rows, numeric={3, 5, 6, 7, 8}) if rows else "  (no renewals in the next 12 months)"


def committed(savings: list[dict[str, Any]]) -> str:
    """Each saving from the day it starts: its app's next bill after the reclamation, or an unknown day."""
    return (
        " + ".join(
            f"{c['per_year']:,.2f} {c['currency']} a year from "
            + (c["starts_on"] or f"an unknown date (no renewal date for {', '.join(c['applications'])})")
            for c in savings
        )
        or "-"
    )


def taken_back(saved: dict[str, Any]) -> str:
    """Whose seats this year's bills no longer carry: those taken back this year, and earlier ones still off them."""
    earlier = saved.get("earlier_seats", 0)
    return f"{saved['seats']:,} licenses taken back this year" + (f", {earlier:,} earlier" if earlier else "")


def render(overview: dict[str, Any], renewals: list[dict[str, Any]] | None = None) -> str:
    saved = overview["actual_savings"]
    so_far = " + ".join(f"{t['amount']:,.2f} {t['currency']}" for t in overview["actual_savings_ytd"]) or "-"
    figures = [
        ("Applications", f"{overview['applications']} ({overview['reconciled_applications']} reconciled)"),
        ("Licenses purchased", f"{overview['licenses_purchased']:,}"),
        ("Assigned", f"{overview['assigned']:,}"),
        ("Unassigned", f"{overview['unassigned']:,}"),
        ("Active", f"{overview['active']:,}"),
        ("Stale", f"{overview['stale']:,}"),
        ("Stale among assigned", f"{overview['stale_percent_of_assigned']}%"),
        ("Current spend", rates(overview["spend"])),
        ("Potential savings", f"{rates(overview['potential_savings'])} ({overview['reclaimable']:,} seats)"),
        ("True-up cost", rates(overview["true_up_cost"])),
        (f"Saved in {saved['year']} so far", f"{so_far} ({taken_back(saved)})"),
        ("Saved run rate", rates(overview["saved_run_rate"])),
        ("Committed", committed(overview.get("committed_savings", []))),
    ]
    width = max(len(name) for name, _ in figures)
    positions = overview["positions"]
    parts = [
        "SaaS overview",
        "",
        *(f"  {name:<{width}}  {value}" for name, value in figures),
        "",
        f"  Positions: {positions['compliant']} compliant, {positions['over_licensed']} over-licensed, "
        f"{positions['under_licensed']} under-licensed",
        "  Users by last activity: "
        + ", ".join(f"{title} {overview['activity'][key]:,}" for key, title in BUCKETS if overview["activity"][key]),
        "",
        "Applications",
        "",
    ]
    rows = []
    for application in overview["per_application"]:
        p = application["latest"]
        if p is None:
            rows.append([application["name"], "not reconciled", "", "", "", "", "", "", "", ""])
            continue
        rows.append(
            [
                application["name"],
                p["position"].replace("_", "-"),
                f"{p['licenses_purchased']:,}",
                f"{p['assigned']:,}",
                f"{p['active']:,}",
                f"{p['stale']:,}",
                rate(application["spend"]),
                money(p["potential_savings"]),
                money(p["true_up_cost"]) if p["true_up_cost"]["amount"] else "-",
                p["reconciled_at"][:16].replace("T", " "),
            ]
        )
    headers = [
        "Application",
        "Position",
        "Purchased",
        "Assigned",
        "Active",
        "Stale",
        "Spend",
        "Savings",
        "True-up",
        "Reconciled",
    ]
    parts.append(table(headers, rows, numeric={2, 3, 4, 5}) if rows else "  (no applications yet)")
    if renewals is not None:
        parts += ["", "Renewals (next 12 months, by opt-out deadline)", "", render_renewals(renewals)]
    return "\n".join(parts)


def fetch(url: str, token: str) -> dict[str, Any]:
    answer = requests.get(
        f"{url.rstrip('/')}/analytics/overview", headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def fetch_renewals(url: str, token: str) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{url.rstrip('/')}/renewals",
        params={"within_days": RENEWALS_WITHIN_DAYS},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    answer.raise_for_status()
    items: list[dict[str, Any]] = answer.json()["items"]
    return items
