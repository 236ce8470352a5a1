"""How long an app asks to wait, in each way apps say it."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from seatkeeper.saas_http import RateGate, RetryPolicy, wait_requested

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
