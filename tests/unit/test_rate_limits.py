"""How long an app asks to wait, in each way apps say it."""

from __future__ import annotations

import json
import threading
import time
from email.utils import formatdate

import pytest
import requests

from seatkeeper.saas.http import RetryPolicy
from seatkeeper.saas.pacing import Pacer, announced_quota, told_to_slow_down, wait_requested

NOW = 1_795_860_000.0  # a fixed moment, so that the expectations do not depend on the clock


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"Retry-After": "7"}, 7),
        ({"Retry-After": formatdate(NOW + 30, usegmt=True)}, 30),
        ({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 12)}, 12),
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "5"}, 5),
        ({"Retry-After": formatdate(NOW - 60, usegmt=True)}, 0),
    ],
)
def test_the_wait_an_app_asks_for(headers, wait):
    assert wait_requested(headers, now=NOW) == wait


@pytest.mark.parametrize(
    "headers", [{}, {"X-RateLimit-Remaining": "10", "X-RateLimit-Reset": "99"}, {"Retry-After": "soon"}]
)
def test_no_wait_asked(headers):
    assert wait_requested(headers) is None


def forbidden(body, **headers) -> requests.Response:
    response = requests.Response()
    response.status_code = 403
    response._content = json.dumps(body).encode()
    response.headers.update(headers)
    return response


@pytest.mark.parametrize(
    "answer",
    [
        # GitHub's primary and secondary rate limits
        forbidden({"message": "API rate limit exceeded"}, **{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "9"}),
        forbidden({"message": "You have exceeded a secondary rate limit"}, **{"Retry-After": "60"}),
        # Google's quota errors
        forbidden({"error": {"code": 403, "errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded"}]}}),
        forbidden({"error": {"code": 403, "errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded"}]}}),
        forbidden({"error": {"code": 403, "errors": [{"reason": "quotaExceeded"}]}}),
    ],
)
def test_a_403_that_says_slow_down_is_a_rate_limit(answer):
    assert told_to_slow_down(answer)


@pytest.mark.parametrize(
    "answer",
    [
        forbidden({"message": "Resource not accessible by integration"}, **{"X-RateLimit-Remaining": "4999"}),
        forbidden({"error": {"code": 403, "errors": [{"reason": "forbidden"}]}}),
        forbidden({"error": "insufficient_scope"}),
        forbidden(["not", "an", "object"]),
    ],
)
def test_a_403_that_refuses_the_credential_is_not_a_rate_limit(answer):
    assert not told_to_slow_down(answer)


def test_backoff_has_full_jitter_and_a_ceiling():
    policy = RetryPolicy(base_delay=0.5, max_delay=4)
    samples = [policy.backoff(attempt) for attempt in range(1, 10) for _ in range(50)]
    assert min(samples) >= 0 and max(samples) <= 4
    assert len({round(s, 3) for s in samples}) > 100


def test_a_hold_keeps_every_request_back_until_it_ends():
    # Given a pacer told to hold every request of the connection for 0.3 s
    pacer = Pacer()
    pacer.hold_for(0.3)
    # When a request asks for its turn, and then another
    started = time.monotonic()
    pacer.release(pacer.acquire(), 200, {})
    first = time.monotonic() - started
    started = time.monotonic()
    pacer.release(pacer.acquire(), 200, {})
    # Then the first waited for the hold, the second did not, and the wait is counted as quota wait
    assert first >= 0.25
    assert time.monotonic() - started < 0.05
    assert pacer.pace().quota_wait_seconds >= 0.25


@pytest.mark.parametrize(
    ("headers", "remaining", "reset", "limit"),
    [
        # Okta: developer.okta.com/docs/reference/rl-best-practices (reset in epoch seconds)
        (
            {"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "599", "X-Rate-Limit-Reset": str(int(NOW) + 60)},
            599,
            60,
            600,
        ),
        # GitHub: docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api (epoch seconds)
        (
            {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 9)},
            0,
            9,
            5000,
        ),
        # draft-ietf-httpapi-ratelimit-headers-10, section 5 (remaining r, reset t in seconds; quota q, window w)
        ({"RateLimit": '"default";r=50;t=30', "RateLimit-Policy": '"default";q=100;w=60'}, 50, 30, 100),
        # ...of two policies, the one nearest exhaustion
        (
            {
                "RateLimit": '"burst";r=3;t=1, "day";r=900;t=3600',
                "RateLimit-Policy": '"burst";q=10;w=1, "day";q=1000;w=86400',
            },
            3,
            1,
            10,
        ),
        # draft-06's separate fields (delta seconds)
        ({"RateLimit-Limit": "10", "RateLimit-Remaining": "4", "RateLimit-Reset": "2"}, 4, 2, 10),
    ],
)
def test_the_quota_each_style_announces(headers, remaining, reset, limit):
    quota = announced_quota(requests.structures.CaseInsensitiveDict(headers), now=NOW)
    assert quota is not None
    assert (quota.remaining, quota.reset_after, quota.limit) == (remaining, reset, limit)


@pytest.mark.parametrize("headers", [{}, {"RateLimit": "garbage"}, {"X-Rate-Limit-Remaining": "many"}])
def test_no_quota_announced(headers):
    assert announced_quota(headers, now=NOW) is None


def okta_answer(remaining: int) -> dict[str, str]:
    """Okta's headers (developer.okta.com/docs/reference/rl-best-practices): a window of 10 that resets in 60 s."""
    return {
        "X-Rate-Limit-Limit": "10",
        "X-Rate-Limit-Remaining": str(remaining),
        "X-Rate-Limit-Reset": str(int(NOW) + 60),
    }


def turns_given_at_once(pacer: Pacer, most: int) -> int:
    """How many turns the pacer gives without waiting (each handed back at once), up to `most`."""
    given = []

    def take() -> None:
        for _ in range(most):
            given.append(pacer.acquire())

    taker = threading.Thread(target=take, daemon=True)
    taker.start()
    taker.join(0.5)
    return len(given)


def test_answers_that_overtake_each_other_do_not_cost_a_request_of_the_window():
    # Given an Okta-style window of 10 and four requests sent at once, the later three of which reached
    # the app before the first did, so the first's answer counts all four as spent
    pacer = Pacer(wall_clock=lambda: NOW)
    first, *others = [pacer.acquire() for _ in range(4)]
    pacer.release(first, 200, okta_answer(6))
    for turn, remaining in zip(others, (9, 8, 7), strict=True):
        pacer.release(turn, 200, okta_answer(remaining))
    # When more requests ask for a turn in the same window
    given = turns_given_at_once(pacer, 8)
    # Then the window's other six go, and no more (a seventh waits for the reset)
    assert given == 6


def test_another_integration_spending_the_window_is_noticed():
    # Given an Okta-style window of 10 of which another integration of the customer spent 5
    pacer = Pacer(wall_clock=lambda: NOW)
    turn = pacer.acquire()
    pacer.release(turn, 200, okta_answer(4))
    # When more requests ask for a turn in the same window
    given = turns_given_at_once(pacer, 8)
    # Then only the four left go
    assert given == 4


def test_refusals_that_arrive_together_make_one_wait_not_a_wait_each():
    # Given four requests in flight at once, all refused with a bare 429 (no headers, no Retry-After)
    pacer = Pacer()
    for turn in [pacer.acquire() for _ in range(4)]:
        pacer.release(turn, 429, {}, refused=True)
    # When the next request asks for a turn
    started = time.monotonic()
    pacer.release(pacer.acquire(), 200, {})
    # Then it waited the first probe's quarter second, not one doubled for each of the four (2 s)
    assert 0.2 <= time.monotonic() - started < 0.6


class FakeClock:
    """One clock for the pacer's monotonic and wall time, moved by the test: seconds since NOW."""

    def __init__(self) -> None:
        self.at = 0.0

    def monotonic(self) -> float:
        return self.at

    def wall(self) -> float:
        return NOW + self.at


def okta_window(remaining: int, ends_at: float) -> dict[str, str]:
    """Okta's headers (developer.okta.com/docs/reference/rl-best-practices) for a window of 10 a second
    that resets at NOW + ends_at, in epoch seconds as Okta sends them."""
    return {
        "X-Rate-Limit-Limit": "10",
        "X-Rate-Limit-Remaining": str(remaining),
        "X-Rate-Limit-Reset": str(int(NOW + ends_at)),
    }


def test_an_answer_from_the_window_gone_by_does_not_hide_the_new_windows_requests():
    # Given a fetch that starts late in a window of 10 a second (a trace of bench/pacing.py's Okta
    # scenario): the first page's answer, then four pages sent together, three of them answered
    # before the reset
    clock = FakeClock()
    pacer = Pacer(clock=clock.monotonic, wall_clock=clock.wall)
    clock.at = 0.920
    pacer.release(pacer.acquire(), 200, okta_window(9, 1))
    clock.at = 0.965
    late = [pacer.acquire() for _ in range(4)]
    clock.at = 1.008
    for turn, remaining in zip(late[:3], (7, 8, 6), strict=True):
        pacer.release(turn, 200, okta_window(remaining, 1))
    # ...two pages sent in the new window while the fourth is still on its way back, whose answer,
    # counted by the app in the old window, is read after the reset
    clock.at = 1.018
    new = [pacer.acquire() for _ in range(2)]
    clock.at = 1.019
    pacer.release(late[3], 200, okta_window(5, 1))
    clock.at = 1.025
    new += [pacer.acquire() for _ in range(2)]
    # When the first answer from the new window comes (the app counted those four in it) and more
    # requests ask for a turn in it
    clock.at = 1.059
    pacer.release(new[0], 200, okta_window(9, 2))
    given = turns_given_at_once(pacer, 10)
    # Then only what is left of the new window goes: 6, not one more that the app would refuse
    assert given == 6


def test_requests_still_on_their_way_when_the_window_resets_count_in_the_new_one():
    # Given a window of 10 a second with 5 left, and four requests sent just as it resets (the app's
    # whole second ticks before the pacer's reset margin does), so the app counts them in the next
    clock = FakeClock()
    pacer = Pacer(clock=clock.monotonic, wall_clock=clock.wall)
    clock.at = 0.500
    pacer.release(pacer.acquire(), 200, okta_window(5, 1))
    on_their_way = []
    for at in (1.002, 1.004, 1.006, 1.008):
        clock.at = at
        on_their_way.append(pacer.acquire())
    # When the first of them answers from the new window, the pacer not having seen the reset itself
    clock.at = 1.045
    pacer.release(on_their_way[0], 200, okta_window(9, 2))
    # Then what is left of the new window is the six the app still has, before the others answer
    assert turns_given_at_once(pacer, 10) == 6


def answers_at(pacer: Pacer, clock: FakeClock, latencies: list[float], *, in_flight: int) -> None:
    """Answers with these latencies (the app's time) to requests kept `in_flight` at once: each answer's
    place is taken by a new request, except the last's."""
    turns = [pacer.acquire() for _ in range(in_flight)]
    for n, latency in enumerate(latencies):
        clock.at += 0.01
        pacer.release(turns.pop(0), 200, {}, latency=latency)
        if n < len(latencies) - 1:
            turns.append(pacer.acquire())
    for turn in turns:
        pacer.release(turn, 200, {}, latency=latencies[-1])


def test_answers_twice_as_slow_with_several_in_flight_cut_what_goes_at_once_by_a_fifth():
    # Given an app that announces no quota and answered in 40 ms
    clock = FakeClock()
    pacer = Pacer(clock=clock.monotonic, wall_clock=clock.wall)
    answers_at(pacer, clock, [0.040] * 8, in_flight=1)
    # When the next 16 answers (two stretches of 8 in a row), 4 in flight, take 100 ms
    turns = [pacer.acquire() for _ in range(4)]
    for n in range(16):
        clock.at += 0.01
        pacer.release(turns.pop(0), 200, {}, latency=0.100)
        if n < 15:
            turns.append(pacer.acquire())
    # Then the pacer cut once, gently: of the 4 it sent at once, 3 are let go (4 x 0.8), not 2
    assert pacer.latency_cuts == 1
    assert len(turns) == 3
    assert turns_given_at_once(pacer, 4) == 0


@pytest.mark.parametrize(
    ("slow", "in_flight", "why"),
    [
        (0.100, 1, "one request at a time: the app is slower, not queueing ours"),
        (0.070, 4, "under twice the usual: our own slowness on a busy machine"),
    ],
)
def test_slower_answers_that_do_not_say_the_app_queues_cut_nothing(slow, in_flight, why):
    # Given an app that announces no quota and answered in 40 ms
    clock = FakeClock()
    pacer = Pacer(clock=clock.monotonic, wall_clock=clock.wall)
    answers_at(pacer, clock, [0.040] * 8, in_flight=in_flight)
    # When the next 24 answers are slower
    answers_at(pacer, clock, [slow] * 24, in_flight=in_flight)
    # Then nothing was cut
    assert pacer.latency_cuts == 0, why


def test_one_slow_stretch_alone_cuts_nothing():
    # Given an app that announces no quota and answered in 40 ms
    clock = FakeClock()
    pacer = Pacer(clock=clock.monotonic, wall_clock=clock.wall)
    answers_at(pacer, clock, [0.040] * 8, in_flight=1)
    # When 8 answers with 4 in flight take 100 ms (a stall of ours while they were read), then 8 do not
    answers_at(pacer, clock, [0.100] * 8 + [0.045] * 8, in_flight=4)
    # Then nothing was cut: one stretch is not a sustained one
    assert pacer.latency_cuts == 0


def test_an_announced_quota_leaves_latency_unheard():
    # Given an app that announces its quota (Okta's headers: 1,000 a minute, plenty left) and
    # answers four at once 2.5 times as slowly as it did
    clock = FakeClock()
    pacer = Pacer(clock=clock.monotonic, wall_clock=clock.wall)
    plenty = {"X-Rate-Limit-Limit": "1000", "X-Rate-Limit-Remaining": "900", "X-Rate-Limit-Reset": str(int(NOW) + 60)}
    turns = [pacer.acquire() for _ in range(4)]
    for latency in [0.040] * 8 + [0.100] * 8:
        clock.at += 0.001
        pacer.release(turns.pop(0), 200, plenty, latency=latency)
        turns.append(pacer.acquire())
    # Then the quota paces it, the latency cut nothing
    assert pacer.latency_cuts == 0
