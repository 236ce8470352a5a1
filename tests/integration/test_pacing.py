"""The pacer against an app that enforces its quota: fixed windows of N requests, each header style.

The app is the paging fake (seatkeeper_local.fakes.paging_app) in its fixed-window mode, whose
answers follow each vendor's document: Okta's X-Rate-Limit-* (developer.okta.com/docs/reference/
rl-best-practices: reset in epoch seconds), GitHub's x-ratelimit-* (docs.github.com, "Rate limits
for the REST API", 2022-11-28), the IETF RateLimit and RateLimit-Policy fields
(draft-ietf-httpapi-ratelimit-headers-10), Retry-After as seconds and as an HTTP date (RFC 9110
section 10.2.3), and nothing at all but a bare 429. Times are asserted loosely against the floor
the quota sets (this machine is shared); bench/pacing.py measures them exactly.
"""

from __future__ import annotations

import time

import pytest

from seatkeeper.profiles.catalog import build_profile
from seatkeeper.saas.http import RetryPolicy, SaaSClient
from seatkeeper.saas.network_guard import NetworkPolicy
from seatkeeper.saas.paging import fetch_users
from tests.paging_app import paging_app, profile_fields

USERS, PAGE, PER_WINDOW = 1200, 20, 15  # 60 pages at 15 requests a second: a floor of 3 s
PAGES = USERS // PAGE
FLOOR = (PAGES / PER_WINDOW - 1) * 1.0  # the first window's requests go at once
PATIENT = RetryPolicy(max_attempts=8, base_delay=0.05, max_delay=2, budget_seconds=30)


def client_for(app, **own):
    profile = build_profile(
        {
            "name": "paced",
            "subscription": {"licenses_purchased": USERS},
            **profile_fields(app, "offset", page_size=PAGE),
            **own,
        }
    )
    return SaaSClient(profile, {"token": "t"}, policy=NetworkPolicy.from_entries(["127.0.0.0/8"]), retries=PATIENT)


def timed_fetch(client):
    started = time.monotonic()
    count = sum(len(users) for users, _ in fetch_users(client))
    return count, time.monotonic() - started


def quota_app(**settings):
    return paging_app(USERS, rate_limit=PER_WINDOW, rate_window=1.0, fixed_windows=True, latency=0.01, **settings)


@pytest.mark.parametrize("style", ["okta", "github", "ietf"])
def test_an_announced_quota_is_spent_without_a_refusal_after_the_first_answer(style):
    # Given an app that allows 15 requests a second and says so on every answer, in its own style
    with quota_app(quota_style=style) as app:
        client = client_for(app)
        # When every page is fetched, four at a time
        count, seconds = timed_fetch(client)
    # Then every user came, at most the requests sent before the first answer could be refused,
    # and the fetch took about as long as the quota allows, not longer
    assert count == USERS
    assert app.rate_limited <= 2, app.rate_limited
    assert FLOOR - 1.0 <= seconds <= FLOOR * 1.5 + 1.0, (seconds, FLOOR)
    pace = client.pacer.pace()
    assert (pace.requests, pace.refused) == (app.requests, app.rate_limited)
    assert pace.quota_wait_seconds >= FLOOR / 2


@pytest.mark.parametrize("retry_after", ["seconds", "date"])
def test_retry_after_holds_every_request_and_sets_a_pace(retry_after):
    # Given an app that announces nothing until it refuses, then says when to come back
    with quota_app(quota_style=None, retry_after=retry_after) as app:
        client = client_for(app)
        # When every page is fetched
        count, seconds = timed_fetch(client)
    # Then every user came; the refusals stay few, since after the first the pacer keeps a pace
    assert count == USERS
    assert 1 <= app.rate_limited <= 8, app.rate_limited
    assert seconds <= FLOOR * 2 + 1.5, (seconds, FLOOR)
    assert client.pacer.pace().refused == app.rate_limited


def test_a_bare_429_is_met_by_adapting():
    # Given an app that refuses beyond its quota with a bare 429: no headers, no Retry-After
    with quota_app(quota_style=None, retry_after=None) as app:
        client = client_for(app)
        # When every page is fetched
        count, seconds = timed_fetch(client)
    # Then every user came, the refusals stay far below what four pages in flight at full speed
    # would meet (most of every window's requests), and the time stays near the floor
    assert count == USERS
    assert 1 <= app.rate_limited <= 8, app.rate_limited
    assert seconds <= FLOOR * 2.5 + 1.5, (seconds, FLOOR)


def test_without_any_limit_the_fetch_keeps_its_pages_in_flight():
    # Given an app with no limit at all
    with paging_app(USERS, latency=0.02) as app:
        client = client_for(app)
        # When every page is fetched
        count, _ = timed_fetch(client)
    # Then nothing held it back: four pages were in flight at once and no time went waiting for quota
    assert count == USERS
    assert app.most_in_flight == 4
    assert client.pacer.pace().quota_wait_seconds == 0


def test_a_declared_org_budget_is_spent_only_in_part():
    # Given an Okta-style app whose template declares the org's limit of 15 a second, shared by every
    # integration of the customer (scope "org": seatkeeper's share is half of it by default)
    with quota_app(quota_style="okta") as app:
        client = client_for(app, rate_limit={"requests": PER_WINDOW, "window_seconds": 1, "scope": "org"})
        # When every page is fetched
        count, seconds = timed_fetch(client)
    # Then no window saw more than half the quota (and a request or two in flight before the first answer),
    # none was refused, and the fetch took about twice the floor of the whole quota
    assert count == USERS
    assert app.rate_limited == 0
    assert app.most_in_window <= PER_WINDOW // 2 + 2, app.most_in_window
    assert seconds >= FLOOR * 1.5, (seconds, FLOOR)


# Rising latency: an app of k workers, 40 ms a request, that queues the requests beyond k (the
# paging fake's `workers`), and the same app without a queue. Sixteen pages may be in flight.
WORKERS, SERVE, WIDE = 4, 0.040, 16
QUEUE_PAGES = 200
QUEUE_FLOOR = QUEUE_PAGES / WORKERS * SERVE  # k requests at a time, each its 40 ms: 2 s


def wide_client(app, **own):
    profile = build_profile(
        {
            "name": "queued",
            "subscription": {"licenses_purchased": QUEUE_PAGES * PAGE},
            **profile_fields(app, "offset", page_size=PAGE, max_concurrency=WIDE),
            **own,
        }
    )
    return SaaSClient(profile, {"token": "t"}, policy=NetworkPolicy.from_entries(["127.0.0.0/8"]), retries=PATIENT)


def settled_in_flight(app) -> float:
    """The mean of the requests in flight as each of the second half arrived: what the pacer settled at."""
    seen = app.in_flight_seen[len(app.in_flight_seen) // 2 :]
    return sum(seen) / len(seen)


def test_an_app_whose_answers_slow_down_as_its_queue_grows_is_sent_about_what_it_serves_at_once():
    # Given an app that serves 4 requests at once and queues the rest, announcing no quota
    with paging_app(QUEUE_PAGES * PAGE, latency=SERVE, workers=WORKERS) as app:
        client = wide_client(app)
        # When every page is fetched, up to 16 at once
        count, seconds = timed_fetch(client)
    # Then the pacer cut what it sends at once until the answers came about twice as slowly as the
    # app's own time, no further: well under the 16 in flight the app sees without the signal (about
    # 2.5k, bench/pacing.py), at least k, so the 4 workers stayed busy and the fetch near its floor
    assert count == QUEUE_PAGES * PAGE
    assert client.pacer.latency_cuts >= 1
    assert WORKERS <= settled_in_flight(app) <= WIDE - 3, app.in_flight_seen
    assert seconds <= QUEUE_FLOOR * 1.5 + 0.5, (seconds, QUEUE_FLOOR)


def test_the_latency_signal_can_be_turned_off():
    # Given the same queueing app, and a template that turns the latency signal off
    with paging_app(QUEUE_PAGES * PAGE, latency=SERVE, workers=WORKERS) as app:
        client = wide_client(app, rate_limit={"latency_signal": False, "scope": "connection"})
        # When every page is fetched
        count, _ = timed_fetch(client)
    # Then all 16 pages stayed in flight, the queue as long as it gets
    assert count == QUEUE_PAGES * PAGE
    assert client.pacer.latency_cuts == 0
    assert settled_in_flight(app) >= WIDE - 2, app.in_flight_seen


def test_an_app_that_answers_as_fast_under_load_keeps_every_page_in_flight():
    # Given an app that answers every request in 40 ms however many come at once
    with paging_app(QUEUE_PAGES * PAGE, latency=SERVE) as app:
        client = wide_client(app)
        # When every page is fetched, up to 16 at once
        count, _ = timed_fetch(client)
    # Then no answer's latency cut the pages in flight, all 16 of them (our own reading of the pages
    # is not the app's time)
    assert count == QUEUE_PAGES * PAGE
    assert client.pacer.latency_cuts == 0
    assert app.most_in_flight == WIDE
