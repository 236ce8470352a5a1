"""The demo's data: the SCIM app's users, the profiles connected to the demo apps, and a month of earlier
positions; what the story, `seatkeeper local --demo` and the dashboard's browser test start from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from seatkeeper.aws.dynamodb.reconciliations import DynamoDBReconciliations
from seatkeeper.licensing.analytics import trend
from seatkeeper.licensing.position import LicensePosition
from seatkeeper_local.demo.client import Api, wait_for_connection, wait_for_reconciliation, wait_until
from seatkeeper_local.fakes.paging_app import profile_fields
from seatkeeper_local.fakes.scim_server import ScimServer, scim_user
from seatkeeper_local.stack.local_stack import LocalStack
from seatkeeper_local.stack.tokens import mint

DEMO_USERS = 25


DEMO_PROFILE: dict[str, Any] = {
    "name": "Acme HR (demo)",
    "template": "scim2",
    # Fewer licenses than users, bought by the year: the overview shows a true-up cost, converted per month.
    "subscription": {
        "licenses_purchased": 20,
        "cost_per_license": 150,
        "currency": "USD",
        "billing_period": "annual",
        "renewal_date": "2027-01-31",
        "cost_center": "People",
    },
    "policy": {
        "inactivity_days": 90,
        "protected_users": ["it-admin@acme.example.com"],
        "protected_roles": ["admin", "owner"],
        "max_reclaim_percent": 10,
    },
}


def seed_app(app: ScimServer) -> None:
    app.add_users([scim_user(i, title="admin" if i == 0 else "member") for i in range(DEMO_USERS)])


def seed(stack: LocalStack, app: ScimServer) -> dict[str, Any]:
    """The demo profile, connected to the demo app; used by `seatkeeper local --demo` and the demo story."""
    api = Api(stack.url, mint(stack.jwt_secret, "sam_integrator", subject="demo-integrator"))
    profile: dict[str, Any] = api.call("POST", "/profiles", 201, json={**DEMO_PROFILE, "base_url": app.url})
    api.call("POST", f"/profiles/{profile['id']}/connection", 202, json={"token": app.token})
    view = wait_for_connection(api, profile["id"])
    if view["status"] != "connected":
        raise RuntimeError(f"the demo profile did not connect: {view.get('error')}")
    return profile


def earlier_positions(stack: LocalStack, profile_ids: list[str], days: int = 30) -> None:
    """Seed a month of made-up earlier positions, so that the dashboard's trend has a past to show.

    Each day before today had a few more stale seats than now (as if reclamations had been
    taking them back); today's real position is written again last, so it stays the latest.
    The trend's daily points are computed from them as a reconciliation on each day would have.
    """
    positions = DynamoDBReconciliations(stack.template.physical_name("Table"))
    history: dict[str, list[LicensePosition]] = {}
    for profile_id in profile_ids:
        now = positions.latest_position(profile_id)
        if now is None:
            continue
        cost = now.spend.amount / now.licenses_purchased if now.licenses_purchased else Decimal(0)
        history[profile_id] = []
        for back in range(days, 0, -1):
            stale = min(now.stale + (back * 2) // 3, now.assigned - now.unknown)
            spare = max(now.licenses_purchased - (now.assigned - stale), 0)
            earlier = now.model_copy(
                update={
                    "reconciled_at": now.reconciled_at - timedelta(days=back),
                    "stale": stale,
                    "active": now.assigned - now.unknown - stale,
                    "potential_savings": now.potential_savings.model_copy(update={"amount": spare * cost}),
                    "run_id": None,
                }
            )
            positions.put_position(earlier)
            history[profile_id].append(earlier)
        positions.put_position(now)
    today = datetime.now(UTC).date()
    for point in trend(history, days=days + 1):
        if point.date < today:
            positions.put_trend_point(point)


def second_app(integrator: Api, app: Any) -> dict[str, Any]:
    """A chat app with activity data, admins and a reclaim request: seatkeeper's own demo app."""
    fields = profile_fields(app, "offset")
    fields["reclaim"] = {"method": "PATCH", "path": "/users/{id}", "body": {"active": False}}
    body = {
        "name": "Acme Chat (demo)",
        **fields,
        "subscription": {"licenses_purchased": 150, "cost_per_license": 8, "currency": "USD", "cost_center": "IT"},
        "policy": {
            "inactivity_days": 90,
            "protected_users": ["it-admin@acme.example.com"],
            "protected_roles": ["admin"],
            "max_reclaim_percent": 10,
        },
    }
    profile: dict[str, Any] = integrator.call("POST", "/profiles", 201, json=body)
    integrator.call("POST", f"/profiles/{profile['id']}/connection", 202, json={"token": "demo-token"})
    if wait_for_connection(integrator, profile["id"])["status"] != "connected":
        raise RuntimeError("the second demo app did not connect")
    integrator.call("POST", f"/profiles/{profile['id']}/sync", 202)
    return profile


def seed_dashboard(stack: LocalStack, scim: ScimServer, chat: Any) -> dict[str, Any]:
    """Two connected apps, reconciled, with a month of history and a reclamation waiting for an admin.

    What `seatkeeper local --demo` and the dashboard's browser test start from.
    """
    integrator = Api(stack.url, mint(stack.jwt_secret, "sam_integrator", subject="demo-integrator"))
    hr = seed(stack, scim)
    chat.users[0]["email"] = "it-admin@acme.example.com"
    second = second_app(integrator, chat)
    # Its first sync, started by second_app, has to be done before the reconciliation syncs it again.
    synced = wait_until(
        lambda: integrator.session.get(f"{stack.url}/profiles/{second['id']}/snapshot", timeout=30).status_code,
        lambda status: status == 200,
        timeout=60,
    )
    if synced != 200:
        raise RuntimeError("the second demo app's first sync did not finish")
    started = integrator.call("POST", "/reconciliations", 202, json={"profile_ids": [hr["id"], second["id"]]})
    record = wait_for_reconciliation(integrator, started["id"])
    if record["status"] != "completed":
        raise RuntimeError(f"the demo reconciliation did not complete: {record}")
    earlier_positions(stack, [hr["id"], second["id"]])
    waiting = integrator.call("POST", f"/profiles/{second['id']}/reclamations", 201, json={"dry_run": False})
    if waiting["status"] != "awaiting_approval":
        raise RuntimeError(f"the demo reclamation should wait for an admin, it is {waiting['status']}")
    return {"profiles": [hr, second], "waiting": waiting}
