"""The benchmark's fetch, to profile: 20,000 users, 100 a page, 40 ms a page, 4 pages in flight.

The app runs in a child process, so that a profile of this one sees only the client:

    py-spy record -r 200 -o fetch.svg -- .venv/bin/python bench/profile_fetch.py

(py-spy as the parent needs no ptrace permission to attach.) Each fetch prints its time and when
its first page came. Not one of `make bench`'s: it measures nothing against a goal.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "local"), str(ROOT / "layers" / "seatkeeper")]

USERS, PAGE, LATENCY = 20_000, 100, 0.040


def serve(conn: Connection) -> None:
    from seatkeeper_local.fakes.paging_app import paging_app

    with paging_app(USERS, latency=LATENCY) as app:
        conn.send(app.url)
        conn.recv()


def main(rounds: int) -> None:
    multiprocessing.set_start_method("spawn")
    here, there = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(there,))
    server.start()
    url = here.recv()
    from seatkeeper.profiles.catalog import build_profile
    from seatkeeper.saas.http import SaaSClient
    from seatkeeper.saas.network_guard import NetworkPolicy
    from seatkeeper.saas.paging import fetch_users
    from seatkeeper_local.fakes.paging_app import profile_fields

    app: Any = SimpleNamespace(url=url, records_key="items")
    profile = build_profile(
        {
            "name": "profiled",
            "subscription": {"licenses_purchased": USERS},
            **profile_fields(app, "offset", page_size=PAGE),
        }
    )
    for _ in range(rounds):
        client = SaaSClient(profile, {"token": "t"}, policy=NetworkPolicy.from_entries(["127.0.0.0/8"]))
        started, first, count = time.perf_counter(), None, 0
        for users, _ in fetch_users(client):
            first = first if first is not None else time.perf_counter() - started
            count += len(users)
        assert count == USERS, count
        print(f"fetch {time.perf_counter() - started:.2f} s, first page after {first or 0:.3f} s", flush=True)
    here.send("done")
    server.join()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4)
