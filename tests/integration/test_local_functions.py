"""The local stack runs each function as one Lambda execution environment: one invocation at a time."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import pytest


@pytest.fixture
def threads_switch_often():
    """Threads take turns every 10 µs instead of 5 ms, as on a loaded machine: a race shows at once."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


def test_parallel_requests_to_different_routes_each_get_their_own_route_s_answer(api, threads_switch_often):
    # Given a page that asks the API for several things at once, as the dashboard does
    admin = api("admin")
    profile = admin.post(
        "/profiles",
        json={
            "name": "Asked in parallel",
            "template": "scim2",
            "base_url": "https://parallel.example.com/scim/v2",
            "subscription": {"licenses_purchased": 3},
        },
    ).json()
    asks = [
        "/templates",
        "/profiles",
        "/analytics/overview",
        f"/profiles/{profile['id']}",
        f"/profiles/{profile['id']}/positions",
    ] * 20

    def ask(path):
        answer = admin.get(path)
        return path, answer.status_code, answer.text[:300]

    # When the requests arrive together
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, asks))
    admin.delete(f"/profiles/{profile['id']}")
    # Then each is answered by its own route: none validated against another route's model, none lost its route
    assert [a for a in answers if a[1] != 200] == []
