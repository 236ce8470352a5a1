"""The benchmarks' client of the local stack's HTTP API: calls made as one role, and connected
profiles of a local test app (seatkeeper_local.fakes.paging_app)."""

from __future__ import annotations

import time
from typing import Any

import requests

from seatkeeper_local.demo.client import wait_until
from seatkeeper_local.fakes.paging_app import PagingApp, profile_fields
from seatkeeper_local.stack.local_stack import LocalStack
from seatkeeper_local.stack.tokens import mint


class LocalApi:
    def __init__(self, stack: LocalStack, role: str = "sam_integrator", timeout: float = 60) -> None:
        self.url = stack.url
        self.timeout = timeout
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {mint(stack.jwt_secret, role)}"

    def call(self, method: str, path: str, expected: int, **kwargs: Any) -> Any:
        answer = self.http.request(method, self.url + path, timeout=self.timeout, **kwargs)
        assert answer.status_code == expected, (path, answer.status_code, answer.text)
        return answer.json()

    def connect(self, app: PagingApp, name: str, *, licenses: int, page_size: int = 100) -> str:
        """A new profile of the app, its connection started (a bearer token the app takes): its id."""
        body = {
            "name": f"{name} {time.time_ns()}",
            "template": "scim2",
            "subscription": {"licenses_purchased": licenses, "cost_per_license": 10},
            **profile_fields(app, "offset", page_size=page_size),
        }
        profile_id: str = self.call("POST", "/profiles", 201, json=body)["id"]
        self.call("POST", f"/profiles/{profile_id}/connection", 202, json={"token": "t"})
        return profile_id

    def wait_connected(self, profile_id: str, timeout: float = 300) -> None:
        view = wait_until(
            lambda: self.call("GET", f"/profiles/{profile_id}/connection", 200),
            lambda view: view["status"] in ("connected", "failed"),
            timeout=timeout,
        )
        assert view["status"] == "connected", view

    def connected_profile(self, app: PagingApp, name: str, *, licenses: int, page_size: int = 100) -> str:
        profile_id = self.connect(app, name, licenses=licenses, page_size=page_size)
        self.wait_connected(profile_id)
        return profile_id

    def synced(self, profile_id: str, *, timeout: float = 300, pause: float = 0.05) -> tuple[float, dict[str, Any]]:
        """Sync the profile (POST /profiles/{id}/sync) and wait for its run: the seconds it took, and the run."""
        started = time.perf_counter()
        run_id = self.call("POST", f"/profiles/{profile_id}/sync", 202)["run_id"]
        run = wait_until(
            lambda: self.call("GET", f"/runs/{run_id}", 200),
            lambda run: run["status"] != "running",
            timeout=timeout,
            pause=pause,
        )
        return time.perf_counter() - started, run
