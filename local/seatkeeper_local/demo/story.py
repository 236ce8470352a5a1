"""The demo: the main job told on the local stack, through the HTTP API as a user would call it."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from seatkeeper_local.demo.client import Api, follow_run, step, wait_for_connection, wait_for_reconciliation, wait_until
from seatkeeper_local.demo.identity_provider import identity_provider
from seatkeeper_local.demo.seeding import DEMO_PROFILE, DEMO_USERS, second_app, seed_app
from seatkeeper_local.fakes.okta import fake_okta
from seatkeeper_local.fakes.paging_app import paging_app, profile_fields
from seatkeeper_local.fakes.scim_server import ScimServer, scim_server
from seatkeeper_local.report import RENEWALS_WITHIN_DAYS, render
from seatkeeper_local.stack.local_stack import LocalStack, dashboard_link, quiet_werkzeug
from seatkeeper_local.stack.outbox import sent_mail
from seatkeeper_local.stack.tokens import mint

PERIOD_WORDS = {"monthly": "month", "quarterly": "quarter", "annual": "year"}
# Said after the link when the demo's stack stops with it (not run from a terminal, or --exit).
DEMO_STOPS = "The demo's stack stops now, so this link will not work any more. For a stack that stays up:"
STAYS_UP = "make local   (= .venv/bin/seatkeeper local --demo: the same demo data, until Ctrl-C)"


def show_templates(viewer: Api) -> None:
    step("Built-in configuration templates (GET /templates)")
    for template in viewer.call("GET", "/templates", 200)["items"]:
        print(f"  {template['name']:<18} {template['title']}")


def create_profile(stack: LocalStack, app: ScimServer, viewer: Api, integrator: Api) -> dict[str, Any]:
    step("Create a custom integration profile from the scim2 template (POST /profiles, as sam_integrator)")
    profile: dict[str, Any] = integrator.call("POST", "/profiles", 201, json={**DEMO_PROFILE, "base_url": app.url})
    users = profile["users"]
    print(f"  created {profile['id']}: {profile['name']} -> {profile['base_url']}")
    print(
        f"  users endpoint filled in by the template: {users['path']} "
        f"({users['pagination']['type']} pagination, records at {users['records_path']!r})"
    )

    step("A viewer may read but not create (POST /profiles as sam_viewer)")
    refused = viewer.session.post(stack.url + "/profiles", json=DEMO_PROFILE, timeout=30)
    print(f"  {refused.status_code} {refused.json()['message']}")

    step("Bad input is a 422 with the field paths")
    broken = {**DEMO_PROFILE, "name": "Broken", "subscription": {"licenses_purchased": -5}}
    bad = integrator.session.post(stack.url + "/profiles", timeout=30, json=broken)
    for error in bad.json()["detail"]:
        print(f"  {bad.status_code} {'.'.join(map(str, error['loc']))}: {error['msg']}")
    return profile


def connect(app: ScimServer, integrator: Api, profile: dict[str, Any]) -> None:
    step("Create the connection & credential (POST /profiles/{id}/connection): a saga on Step Functions")
    integrator.call("POST", f"/profiles/{profile['id']}/connection", 202, json={"token": "not-the-token"})
    failed = wait_for_connection(integrator, profile["id"])
    left = sum(record is not None for record in failed["records"].values())
    print(f"  with a wrong token: {failed['status']}: {failed['error']}")
    print(f"  records left behind by the failed attempt: {left} (the saga deleted what it had created)")
    integrator.call("POST", f"/profiles/{profile['id']}/connection", 202, json={"token": app.token})
    connected = wait_for_connection(integrator, profile["id"])
    if connected["status"] != "connected":
        raise RuntimeError(f"the demo profile did not connect: {connected.get('error')}")
    connection, credential = connected["records"]["connection"], connected["records"]["credential"]
    print(f"  with the right token: {connected['status']}")
    print(f"  connection record: status {connection['status']} since {connection['connected_at']}")
    print(
        f"  credential record: {credential['auth_type']}; the value is only in Secrets Manager, "
        f"at {credential['secret_arn'].split(':secret:')[1]}"
    )


def sync_users(viewer: Api, integrator: Api, profile: dict[str, Any]) -> None:
    step("Fetch the users (POST /profiles/{id}/sync): a sync run on Step Functions")
    run = follow_run(integrator, integrator.call("POST", f"/profiles/{profile['id']}/sync", 202)["run_id"])
    if run["status"] != "succeeded":
        raise RuntimeError(f"the demo sync failed: {run.get('error')}")
    print(
        f"  run {run['run_id']}: {run['status']}, {run['users_fetched']} users fetched "
        f"in {run['pages']} page(s), {run['items_written']} written"
    )
    users = viewer.call("GET", f"/profiles/{profile['id']}/users", 200, params={"limit": 8})
    print(f"  {'id':<34} {'email':<20} {'name':<9} {'active':<7} status")
    for user in users["items"]:
        print(f"  {user['id']:<34} {user['email']:<20} {user['name']:<9} {user['active']!s:<7} {user['status']}")
    print("  ... (SCIM has no standard last-activity attribute, so these users' activity is unknown)")
    again = follow_run(integrator, integrator.call("POST", f"/profiles/{profile['id']}/sync", 202)["run_id"])
    print(f"  a second sync finds nothing changed: {again['items_written']} written, {again['items_deleted']} deleted")


def reconcile(viewer: Api, integrator: Api, profiles: list[dict[str, Any]]) -> None:
    step("Reconcile (POST /reconciliations): sync each profile again and compute its license position")
    started = integrator.call("POST", "/reconciliations", 202, json={"profile_ids": [p["id"] for p in profiles]})
    record = wait_for_reconciliation(viewer, started["id"])
    print(f"  reconciliation {record['id']}: {record['status']}")
    for profile in profiles:
        position = viewer.call("GET", f"/profiles/{profile['id']}/position", 200)
        savings = position["potential_savings"]
        print(
            f"  {profile['name']}: {position['position']}; purchased {position['licenses_purchased']}, "
            f"assigned {position['assigned']}, active {position['active']}, stale {position['stale']}, "
            f"unknown {position['unknown']}; could save {savings['amount']:.2f} {savings['currency']} "
            f"a {PERIOD_WORDS[savings['period']]}"
        )
        if position["shortfall"]:
            true_up = position["true_up_cost"]
            print(
                f"    under-licensed by {position['shortfall']}: the true-up costs {true_up['amount']:.2f} "
                f"{true_up['currency']} a {PERIOD_WORDS[true_up['period']]}"
            )


def reclaim(viewer: Api, integrator: Api, admin: Api, profile: dict[str, Any], app: Any) -> None:
    step(f"Plan a reclamation for {profile['name']} (POST /profiles/{{id}}/reclamations): a dry run, the default")
    plan = integrator.call("POST", f"/profiles/{profile['id']}/reclamations", 201, json={})
    print(
        f"  {plan['id']}: {plan['status']}, {len(plan['candidates'])} candidates: stale users that are not "
        "protected (it-admin@ and the admin role are)"
    )
    for candidate in plan["candidates"][:3]:
        print(f"    {candidate['email']:<22} last active {(candidate['last_activity'] or 'never')[:10]}")

    step("A real run over the policy's cap waits for an admin")
    real = integrator.call("POST", f"/profiles/{profile['id']}/reclamations", 201, json={"dry_run": False})
    print(f"  {real['status']}: {real['approval_reason']}")
    approved = admin.call("POST", f"/reclamations/{real['id']}/approve", 200)
    print(f"  approved by {approved['approved_by']}")
    done = wait_until(
        lambda: viewer.call("GET", f"/reclamations/{real['id']}", 200),
        lambda record: record["status"] not in ("running", "in_grace_period"),
        timeout=120,
    )
    if done["status"] in ("running", "in_grace_period"):
        raise RuntimeError("the demo reclamation did not finish")
    reclaimed = sum(o["outcome"] == "reclaimed" for o in done["outcomes"])
    print(
        f"  {done['status']}: {reclaimed} licenses taken back, each with one request "
        f"(the app received {len(app.reclaim_requests)}); the audit trail has {len(done['audit'])} entries"
    )
    position = viewer.call("GET", f"/profiles/{profile['id']}/position", 200)
    print(f"  the position now: assigned {position['assigned']}, stale {position['stale']}")


def overview(viewer: Api) -> None:
    step("The SaaS overview (GET /analytics/overview)")
    figures = viewer.call("GET", "/analytics/overview", 200)
    money = ", ".join(
        f"{r['per_month']:,.2f} {r['currency']} a month ({r['per_year']:,.2f} a year)"
        for r in figures["potential_savings"]
    )
    print(
        f"  applications {figures['applications']} (reconciled {figures['reconciled_applications']}), "
        f"licenses purchased {figures['licenses_purchased']}, assigned {figures['assigned']}, "
        f"stale {figures['stale']}"
    )
    print(f"  positions {figures['positions']}; potential savings {money or 'none'}")


def lifecycle(viewer: Api, integrator: Api, admin: Api, app: Any, aws_endpoint: str) -> dict[str, Any]:
    """A video app with two tiers: stale seats move down to Basic after a grace period, unless their user keeps one."""
    step("A third app with tiers: stale Pro seats move down to Basic, after a grace period with keep links")
    for user in app.users:
        user["plan"] = "Pro"
    fields = profile_fields(app, "offset")
    fields["users"]["fields"]["tier"] = "plan"
    renews = (datetime.now(UTC) + timedelta(days=75)).date()
    body = {
        "name": "Acme Video (demo)",
        **fields,
        "downgrade": {"method": "PATCH", "path": "/users/{id}", "body": {"plan": "{tier}"}},
        "subscription": {
            "licenses_purchased": 40,
            "cost_per_license": 20,
            "tiers": [{"name": "Pro", "cost_per_license": 20}, {"name": "Basic", "cost_per_license": 5}],
            "renewal_date": renews.isoformat(),
            "notice_days": 30,
            "owner": "video-owner@acme.example.com",
        },
        "policy": {
            "protected_roles": ["admin"],
            "max_reclaim_percent": 100,
            "grace_period": "PT5S",
            "stale_action": "downgrade",
            "downgrade_to": "Basic",
        },
    }
    profile: dict[str, Any] = integrator.call("POST", "/profiles", 201, json=body)
    integrator.call("POST", f"/profiles/{profile['id']}/connection", 202, json={"token": "demo-token"})
    if wait_for_connection(integrator, profile["id"])["status"] != "connected":
        raise RuntimeError("the third demo app did not connect")
    record = integrator.call("POST", "/reconciliations", 202, json={"profile_ids": [profile["id"]]})
    if wait_for_reconciliation(viewer, record["id"])["status"] != "completed":
        raise RuntimeError("the third demo app did not reconcile")
    plan = integrator.call("POST", f"/profiles/{profile['id']}/reclamations", 201, json={"dry_run": False})
    saves = sum(c["saves"] for c in plan["candidates"])
    print(f"  {plan['id']}: {plan['status']}, {len(plan['candidates'])} seats to move to Basic, saving {saves:.2f} USD")
    shown = wait_until(
        lambda: admin.call("GET", f"/reclamations/{plan['id']}", 200),
        lambda record: record["status"] == "in_grace_period",
        timeout=60,
    )
    keeper = shown["candidates"][0]
    print("  each candidate is mailed a 'Do you still need it?' prompt with their keep link (moto's SES), e.g.")
    mails = wait_until(lambda: sent_mail(aws_endpoint, to=keeper["email"]), bool, timeout=30)
    if not mails:
        raise RuntimeError(f"no keep prompt was mailed to {keeper['email']}")
    print(f"    To: {keeper['email']}\n    Subject: {mails[0].subject}")
    for line in mails[0].text.splitlines():
        print(f"    | {line}" if line else "    |")
    print("  (`seatkeeper outbox --to ADDRESS` prints the mail a running local stack sent)")
    kept = requests.post(keeper["keep_url"], json={"decision": "keep", "reason": "I present every week"}, timeout=30)
    print(f"  {keeper['email']} answers keep: {kept.status_code} {kept.json()}")
    again = requests.post(keeper["keep_url"], json={"decision": "release"}, timeout=30)
    print(f"  the same link again: {again.status_code} {again.json()['message']}")
    done = wait_until(
        lambda: viewer.call("GET", f"/reclamations/{plan['id']}", 200),
        lambda record: record["status"] not in ("running", "in_grace_period"),
        timeout=120,
    )
    outcomes: dict[str, int] = {}
    for outcome in done["outcomes"]:
        outcomes[outcome["outcome"]] = outcomes.get(outcome["outcome"], 0) + 1
    print(f"  when the grace period ended: {done['status']}, outcomes {outcomes}")
    print(f"  saved {done['savings']['amount']:.2f} {done['savings']['currency']} a month (Pro 20 - Basic 5 per seat)")
    # The reclaim step records the position right after it finishes the reclamation.
    position = wait_until(
        lambda: viewer.call("GET", f"/profiles/{profile['id']}/position", 200),
        lambda latest: latest["reconciled_at"] >= done["finished_at"],
        timeout=30,
    )
    print("  seats per tier now: " + ", ".join(f"{t['name']} {t['assigned']}" for t in position["tiers"]))

    step("Renewals (GET /renewals): what to decide before each opt-out deadline")
    for renewal in viewer.call("GET", "/renewals", 200, params={"within_days": 120})["items"]:
        print(
            f"  {renewal['name']}: renews {renewal['renewal_date']}, give notice by {renewal['opt_out_deadline']} "
            f"({renewal['days_to_deadline']} days); {renewal['licenses_purchased']} bought, "
            f"renew at {renewal['recommended_licenses']}"
        )
    return profile


def list_profiles(viewer: Api, profile: dict[str, Any]) -> None:
    step("List the profiles (GET /profiles)")
    listing = viewer.call("GET", "/profiles", 200)
    print(
        json.dumps([{k: p[k] for k in ("id", "name", "template", "subscription")} for p in listing["items"]], indent=2)
    )
    if not any(p["id"] == profile["id"] for p in listing["items"]):
        raise RuntimeError("the new profile is missing from the list")


def run(template: Path | None = None, *, keep_open: bool = False) -> int:
    quiet_werkzeug()
    with LocalStack(template, port=0, aws_port=0, log_level="WARNING") as stack, scim_server() as app:
        print(f"seatkeeper local stack up on {stack.url} (AWS services on {stack.aws_endpoint})")
        seed_app(app)
        print(f"demo SaaS app: scim2-server on {app.url} with {DEMO_USERS} users")
        viewer = Api(stack.url, mint(stack.jwt_secret, "sam_viewer"))
        integrator = Api(stack.url, mint(stack.jwt_secret, "sam_integrator", subject="demo-integrator"))
        show_templates(viewer)
        profile = create_profile(stack, app, viewer, integrator)
        connect(app, integrator, profile)
        sync_users(viewer, integrator, profile)
        with paging_app(120) as chat:
            chat.users[0]["email"] = "it-admin@acme.example.com"
            admin = Api(stack.url, mint(stack.jwt_secret, "admin", subject="demo-admin"))
            step("A second app, seatkeeper's own demo chat app, with activity data (POST /profiles, connect)")
            second = second_app(integrator, chat)
            print(f"  {second['name']}: {len(chat.users)} users, some of them stale, some admins")
            time.sleep(1)
            reconcile(viewer, integrator, [profile, second])
            reclaim(viewer, integrator, admin, second, chat)
            with paging_app(40) as video:
                lifecycle(viewer, integrator, admin, video, stack.aws_endpoint)
            overview(viewer)
            list_profiles(viewer, profile)
            with fake_okta() as okta:
                identity_provider(viewer, integrator, okta)
            step("The same overview as `seatkeeper report` prints it")
            renewals = viewer.call("GET", "/renewals", 200, params={"within_days": RENEWALS_WITHIN_DAYS})["items"]
            print(render(viewer.call("GET", "/analytics/overview", 200), renewals))
            link = dashboard_link(
                stack.url, mint(stack.jwt_secret, "admin", subject="demo-admin", ttl_seconds=12 * 3600)
            )
            print(
                "\nThe story is told: template -> profile -> connection & credential -> users -> position -> reclaimed"
                " -> kept by its user or downgraded -> renewed at the recommended count."
            )
            print(f"\nThe SaaS overview dashboard, signed in as admin:\n  {link}")
            if keep_open:
                print("It stays up until you press Ctrl-C.", flush=True)
                with contextlib.suppress(KeyboardInterrupt):
                    threading.Event().wait()
            else:
                print(f"{DEMO_STOPS}\n  {STAYS_UP}", flush=True)
    return 0
