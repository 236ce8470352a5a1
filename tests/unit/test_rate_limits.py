"""How long an app asks to wait, in each way apps say it."""

from __future__ import annotations

import json
import time
from email.utils import formatdate

import pytest
import requests

from seatkeeper.saas.http import RateGate, RetryPolicy, told_to_slow_down, wait_requested

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


def test_a_closed_gate_holds_everyone_until_it_opens():
    gate = RateGate()
    gate.close_for(0.3)
    started = time.monotonic()
    gate.wait()
    assert time.monotonic() - started >= 0.25
    started = time.monotonic()
    gate.wait()
    assert time.monotonic() - started < 0.05
