"""The demo's ways with the HTTP API: calling it as a user would, waiting for what a call started, and
heading each step of the story.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests

T = TypeVar("T")


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


def wait_until(read: Callable[[], T], done: Callable[[T], bool], *, timeout: float, pause: float = 0.2) -> T:
    """Read until `done` says so or `timeout` seconds have passed; the last reading either way."""
    deadline = time.monotonic() + timeout
    while not done(value := read()) and time.monotonic() < deadline:
        time.sleep(pause)
    return value


def wait_for_connection(api: Api, profile_id: str, timeout: float = 60) -> dict[str, Any]:
    # A failed attempt's clean-up deletes its records a moment before the failure is recorded: a 404
    # in between means "not settled yet", as much as "pending" does.
    answer = wait_until(
        lambda: api.session.get(f"{api.url}/profiles/{profile_id}/connection", timeout=30),
        lambda answer: answer.status_code == 200 and answer.json()["status"] in ("connected", "failed"),
        timeout=timeout,
    )
    if answer.status_code != 200:
        raise RuntimeError(f"the connection of {profile_id} did not settle: {answer.status_code} {answer.text[:500]}")
    view: dict[str, Any] = answer.json()
    return view


def follow_run(api: Api, run_id: str, *, timeout: float = 600, out: Any = sys.stdout) -> dict[str, Any]:
    """Wait for a sync run, drawing a progress bar on a terminal; the finished run."""
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = api.call("GET", f"/runs/{run_id}", 200)
        if out.isatty():
            fetched, expected = run.get("users_fetched") or 0, run.get("users_expected")
            if expected:
                done = min(fetched / expected, 1.0)
                bar = "#" * int(done * 30)
                out.write(f"\r  [{bar:<30}] {fetched}/{expected} users")
            else:
                out.write(f"\r  {fetched} users fetched")
            out.flush()
        if run["status"] != "running" or time.monotonic() > deadline:
            if out.isatty():
                out.write("\n")
            return run
        time.sleep(0.2)


def wait_for_reconciliation(api: Api, reconciliation_id: str, timeout: float = 120) -> dict[str, Any]:
    record: dict[str, Any] = wait_until(
        lambda: api.call("GET", f"/reconciliations/{reconciliation_id}", 200),
        lambda record: record["status"] != "running",
        timeout=timeout,
    )
    if record["status"] == "running":
        raise RuntimeError("the demo reconciliation did not finish")
    return record
