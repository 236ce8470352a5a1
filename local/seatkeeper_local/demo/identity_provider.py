"""The demo's identity provider: an Okta org (the fake Okta) with people, apps and sign-ins, and the
story's steps that connect it and track one of its apps through it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from seatkeeper_local.demo.client import Api, follow_run, step, wait_for_connection
from seatkeeper_local.fakes.identity_provider import App, Assignment, Person
from seatkeeper_local.fakes.okta import FakeOkta


def seed_okta(okta: FakeOkta) -> str:
    """An Okta org with one app behind it: people assigned directly and through a group, one who left, sign-ins."""
    design = okta.add_app(App("0oadesign0000000demo", "Acme Design"))
    okta.add_app(App("0oawiki00000000000demo", "Acme Wiki"))
    now = datetime.now(UTC)
    people = [
        ("Ada Active", "ACTIVE", None, 2),
        ("Ben Stale", "ACTIVE", None, 45),
        ("Cleo Never", "ACTIVE", None, None),
        ("Dan Group", "ACTIVE", "Design team", 50),
        ("Eve Leaver", "DEPROVISIONED", None, 5),
    ]
    for i, (name, status, group, days) in enumerate(people):
        person = okta.add_person(
            Person(f"00udemo{i:013d}", f"{name.split()[0].lower()}@acme.example.com", name, status=status)
        )
        design.assignments.append(Assignment(person.id, group=group))
        if days is not None:
            okta.sign_in(design.id, person.id, now - timedelta(days=days))
    return design.id


def identity_provider(viewer: Api, integrator: Api, okta: FakeOkta) -> None:
    step("Usage from the identity provider: connect Okta (template okta_sso), read-only API token")
    app_id = seed_okta(okta)
    idp: dict[str, Any] = integrator.call(
        "POST", "/profiles", 201, json={"name": "Acme Okta (demo)", "template": "okta_sso", "base_url": okta.url}
    )
    integrator.call("POST", f"/profiles/{idp['id']}/connection", 202, json={"api_key": okta.token})
    print(f"  {idp['name']}: {wait_for_connection(integrator, idp['id'])['status']}, no subscription needed")

    step("The apps behind Okta (GET /idp/{id}/apps)")
    for app in viewer.call("GET", f"/idp/{idp['id']}/apps", 200)["items"]:
        print(f"  {app['name']:<12} {app['assigned_users']} assigned, {app['sign_ins_30d']} sign-ins in 30 days")

    step("Track one of them in one call (POST /idp/{id}/apps/{app_id}/profile): users and activity from Okta")
    profile: dict[str, Any] = integrator.call(
        "POST",
        f"/idp/{idp['id']}/apps/{app_id}/profile",
        201,
        json={
            "name": "Acme Design (via Okta)",
            "subscription": {"licenses_purchased": 10, "cost_per_license": 15},
            "policy": {"inactivity_days": 30},
        },
    )
    run = follow_run(integrator, integrator.call("POST", f"/profiles/{profile['id']}/sync", 202)["run_id"])
    print(f"  synced with Okta's connection: {run['users_fetched']} users, {run['sign_ins_read']} sign-ins read")
    print(f"  {'name':<11} {'last sign-in':<12} {'status':<8} note")
    for user in viewer.call("GET", f"/profiles/{profile['id']}/users", 200)["items"]:
        note = (
            f"assigned through {user['assigned_via_group']}"
            if user["assigned_via_group"]
            else "left the company (orphaned)"
            if user["orphaned"]
            else ""
        )
        print(f"  {user['name']:<11} {(user['last_sign_in'] or 'never')[:10]:<12} {user['status']:<8} {note}")
    planned = integrator.call("POST", f"/profiles/{profile['id']}/reclamations", 201, json={"dry_run": True})
    print(f"  a plan would unassign in Okta: {', '.join(c['name'] for c in planned['candidates'])}")
    for change in planned["needs_group_change"]:
        print(f"  needs a group change: {change['email']} through {change['group']}")
