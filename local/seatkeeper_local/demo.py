"""The demo: the main job told on the local stack, through the HTTP API as a user would call it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import requests

from seatkeeper_local.demo_saas import ScimServer, scim_server, scim_user
from seatkeeper_local.stack import LocalStack, quiet_werkzeug
from seatkeeper_local.tokens import mint

DEMO_USERS = 25

DEMO_PROFILE: dict[str, Any] = {
    "name": "Acme HR (demo)",
    "template": "scim2",
    "subscription": {
        "licenses_purchased": 100,
        "cost_per_license": 12.5,
        "currency": "USD",
        "billing_period": "monthly",
        "renewal_date": "2027-01-31",
    },
    "policy": {
        "inactivity_days": 90,
        "protected_users": ["it-admin@acme.example.com"],
        "protected_roles": ["admin", "owner"],
        "max_reclaim_percent": 10,
    },
}


class Api:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.session.request(method, self.url + path, timeout=30, **kwargs)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: expected {expect}, got {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def seed_app(app: ScimServer) -> None:
    app.add_users([scim_user(i, title="admin" if i == 0 else "member") for i in range(DEMO_USERS)])


def wait_for_connection(api: Api, profile_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        view: dict[str, Any] = api.call("GET", f"/profiles/{profile_id}/connection", 200)
        if view["status"] in ("connected", "failed") or time.monotonic() > deadline:
            return view
        time.sleep(0.2)


def seed(stack: LocalStack, app: ScimServer) -> dict[str, Any]:
    """The demo profile, connected to the demo app; used by `seatkeeper local --demo` and the demo story."""
    api = Api(stack.url, mint(stack.jwt_secret, "sam_integrator", subject="demo-integrator"))
    profile: dict[str, Any] = api.call("POST", "/profiles", 201, json={**DEMO_PROFILE, "base_url": app.url})
    api.call("POST", f"/profiles/{profile['id']}/connection", 202, json={"token": app.token})
    view = wait_for_connection(api, profile["id"])
    if view["status"] != "connected":
        raise RuntimeError(f"the demo profile did not connect: {view.get('error')}")
    return profile


def run(template: Path | None = None) -> int:
    quiet_werkzeug()
    with LocalStack(template, port=0, aws_port=0, log_level="WARNING") as stack, scim_server() as app:
        print(f"seatkeeper local stack up on {stack.url} (AWS services on {stack.aws_endpoint})")
        seed_app(app)
        print(f"demo SaaS app: scim2-server on {app.url} with {DEMO_USERS} users")
        viewer = Api(stack.url, mint(stack.jwt_secret, "sam_viewer"))
        integrator = Api(stack.url, mint(stack.jwt_secret, "sam_integrator", subject="demo-integrator"))

        step("Built-in configuration templates (GET /templates)")
        for template_ in viewer.call("GET", "/templates", 200)["items"]:
            print(f"  {template_['name']:<18} {template_['title']}")

        step("Create a custom integration profile from the scim2 template (POST /profiles, as sam_integrator)")
        profile = integrator.call("POST", "/profiles", 201, json={**DEMO_PROFILE, "base_url": app.url})
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
        bad = integrator.session.post(
            stack.url + "/profiles",
            timeout=30,
            json={**DEMO_PROFILE, "name": "Broken", "subscription": {"licenses_purchased": -5}},
        )
        for error in bad.json()["detail"]:
            print(f"  {bad.status_code} {'.'.join(map(str, error['loc']))}: {error['msg']}")

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
        records = connected["records"]
        print(f"  with the right token: {connected['status']}")
        connection = records["connection"]
        print(f"  connection record: status {connection['status']} since {connection['connected_at']}")
        print(
            f"  credential record: {records['credential']['auth_type']}; the value is only in Secrets Manager, "
            f"at {records['credential']['secret_arn'].split(':secret:')[1]}"
        )

        step("List the profiles (GET /profiles)")
        listing = viewer.call("GET", "/profiles", 200)
        print(
            json.dumps(
                [{k: p[k] for k in ("id", "name", "template", "subscription")} for p in listing["items"]], indent=2
            )
        )
        if not any(p["id"] == profile["id"] for p in listing["items"]):
            raise RuntimeError("the new profile is missing from the list")
    print(
        "\nThe story so far is told: template -> profile -> connection & credential."
        " (Sync, reconcile and reclaim come next.)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(run())
