"""Pacing by the vendor's quota: a sync's fetch against an app that enforces its limit.

The app: 12,000 users, 100 a page (120 pages), 40 ms a page, a fixed window of 10 requests a second
aligned to the wall clock (Okta's kind: developer.okta.com/docs/reference/rl-best-practices), 429
beyond it. Two scenarios, run in turn ROUNDS times and each judged by its worst run ("reliably"):

1. Okta's headers (X-Rate-Limit-Limit/-Remaining/-Reset, reset in epoch seconds) on every answer.
   Goal: at most 1.1x the floor the quota sets, at most 2 requests refused, all in the first window.
2. No headers at all: a bare 429 beyond the quota. Goal: at most 1.3x the floor.
3. No quota at all, but an app of 4 workers that queues the requests beyond them (40 ms each), with
   16 pages allowed in flight: the pacer's latency signal. Goal: at most 1.25x the floor of 4 workers
   always busy (the first page alone, then 119 pages 4 at a time), which holds only if the cuts keep
   at least 4 in flight (3 workers busy would be 1.33x): gentle enough. Printed with it: the pages
   in flight it settled at (16 without the signal, as the same app with the signal off shows), and
   the latency cuts against an app as fast under load (goal: none).

The floor is exact for the moment the fetch starts: the fastest any client could go without a
refusal, 4 pages at a time, each taking its 40 ms, no window given more than its 10, and the first
page alone (its total says how many pages there are). Mostly the 12th window from the first one,
plus 40 ms; a fetch that starts in a window's last ~0.15 s cannot fit 10 requests in it and needs a
13th (the formula "11 windows after the first" counted those as 1.1x of our own).
"""

from __future__ import annotations

import heapq
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "local"), str(ROOT / "layers" / "seatkeeper")]

from seatkeeper.profiles.catalog import build_profile  # noqa: E402
from seatkeeper.saas.http import SaaSClient  # noqa: E402
from seatkeeper.saas.network_guard import NetworkPolicy  # noqa: E402
from seatkeeper.saas.paging import fetch_users  # noqa: E402
from seatkeeper_local.fakes.paging_app import paging_app, profile_fields  # noqa: E402

USERS, PAGE, LATENCY, PER_SECOND = 12_000, 100, 0.040, 10
PAGES = USERS // PAGE
HEADERS_GOAL, HEADERS_REFUSED, BARE_GOAL = 1.1, 2, 1.3


CONCURRENCY = 4  # pages in flight: the profile's users.max_concurrency (profile_fields' default)


def floor_seconds(started_wall: float) -> float:
    """The earliest the last page can be in, from `started_wall`, for a client that is never refused."""
    counted: dict[int, int] = {}

    def sent(at: float) -> float:
        window = math.floor(at)
        while counted.get(window, 0) >= PER_SECOND:
            window += 1
            at = float(window)
        counted[window] = counted.get(window, 0) + 1
        return at + LATENCY

    first = sent(started_wall)
    free = [first] * CONCURRENCY  # when each of the pages in flight is free again
    last = first
    for _ in range(PAGES - 1):
        done = sent(heapq.heappop(free))
        heapq.heappush(free, done)
        last = max(last, done)
    return last - started_wall


def run(style: str | None, retry_after: str | None) -> tuple[float, int, int, float]:
    """(ratio to the floor, refused, refused after the first window, seconds) of one fetch."""
    with paging_app(
        USERS,
        latency=LATENCY,
        rate_limit=PER_SECOND,
        rate_window=1.0,
        fixed_windows=True,
        quota_style=style,
        retry_after=retry_after,
    ) as app:
        profile = build_profile(
            {
                "name": "bench",
                "subscription": {"licenses_purchased": USERS},
                **profile_fields(app, "offset", page_size=PAGE),
            }
        )
        client = SaaSClient(profile, {"token": "t"}, policy=NetworkPolicy.from_entries(["127.0.0.0/8"]))
        started_wall, started = time.time(), time.perf_counter()
        count = sum(len(users) for users, _ in fetch_users(client))
        seconds = time.perf_counter() - started
        assert count == USERS, count
        # The window of each refusal as the app counted it (not when the fetch happened to see it).
        later = sum(1 for window in app.refused_windows if window != app.first_window)
        return seconds / floor_seconds(started_wall), app.rate_limited, later, seconds


WORKERS, WIDE = 4, 16
QUEUE_GOAL = 1.25


def run_queue(workers: int | None, *, signal: bool = True) -> tuple[float, float, int]:
    """(ratio to the floor of `workers` busy, mean pages in flight over the second half, latency cuts)."""
    with paging_app(USERS, latency=LATENCY, workers=workers) as app:
        profile = build_profile(
            {
                "name": "bench",
                "subscription": {"licenses_purchased": USERS},
                **profile_fields(app, "offset", page_size=PAGE, max_concurrency=WIDE),
                **({} if signal else {"rate_limit": {"latency_signal": False, "scope": "connection"}}),
            }
        )
        client = SaaSClient(profile, {"token": "t"}, policy=NetworkPolicy.from_entries(["127.0.0.0/8"]))
        started = time.perf_counter()
        count = sum(len(users) for users, _ in fetch_users(client))
        seconds = time.perf_counter() - started
        assert count == USERS, count
        floor = LATENCY + math.ceil((PAGES - 1) / (workers or WIDE)) * LATENCY
        settled = app.in_flight_seen[len(app.in_flight_seen) // 2 :]
        return seconds / floor, sum(settled) / len(settled), client.pacer.latency_cuts


ROUNDS = int(os.environ.get("ROUNDS", "3"))  # each scenario this many times, in turn


def main() -> int:
    print(f"\npacing: {PAGES} pages, {LATENCY * 1000:.0f} ms a page, a fixed window of {PER_SECOND} requests a second")
    print(f"   machine load (1, 5, 15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    scenarios = (
        ("Okta's headers on every answer", "okta", "seconds", HEADERS_GOAL),
        ("no headers, a bare 429", None, None, BARE_GOAL),
    )
    # In turn, so that both meet the same load on a shared machine.
    runs: dict[str, list[tuple[float, int, int, float]]] = {label: [] for label, *_ in scenarios}
    for _ in range(ROUNDS):
        for label, style, retry_after, _goal in scenarios:
            runs[label].append(run(style, retry_after))
    ok = True
    for label, style, _retry_after, goal in scenarios:
        ratios = ", ".join(f"{ratio:.3f}x" for ratio, *_ in runs[label])
        ratio, refused, later, seconds = max(runs[label])
        met = ratio <= goal and (style is None or all(r <= HEADERS_REFUSED and n == 0 for _, r, n, _ in runs[label]))
        ok &= met
        print(
            f"   {label:<32} worst {seconds:6.2f} s = {ratio:5.3f}x the floor (goal <= {goal}x),"
            f" {refused} refused ({later} after the first window): {'ok' if met else 'MISSED'}  [runs: {ratios}]"
        )
    print(f"   latency: {WORKERS} workers that queue the rest, {WIDE} pages allowed in flight, no quota")
    queued, flat = [], []
    for _ in range(ROUNDS):
        queued.append(run_queue(WORKERS))
        flat.append(run_queue(None))
    unsignalled = run_queue(WORKERS, signal=False)
    worst = max(queued)
    met = worst[0] <= QUEUE_GOAL and all(cuts == 0 for *_, cuts in flat)
    ok &= met
    print(
        f"   {'a queue of ' + str(WORKERS) + ' workers':<32} worst {worst[0]:5.3f}x the floor (goal <= {QUEUE_GOAL}x),"
        f" settled at {worst[1]:.1f} in flight ({unsignalled[1]:.1f} with the signal off, {unsignalled[0]:.3f}x),"
        f" {worst[2]} cuts; as fast under load: {sum(cuts for *_, cuts in flat)} cuts (goal 0): {'ok' if met else 'MISSED'}"
        f"  [runs: {', '.join(f'{r:.3f}x/{n:.1f}' for r, n, _ in queued)}]"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
