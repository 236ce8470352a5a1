"""Downgrade instead of removal, through the local stack: stale seats move to a cheaper tier, under the same
caps, approvals and exactly-once rule as reclaims, and the SaaS app of our own records each request."""

from __future__ import annotations

import pytest

from tests.integration.test_reclamation import expected_candidates, reclaiming_profile, wait_for_reclamation
from tests.integration.test_sync import sync
from tests.paging_app import paging_app

TIERS = [
    {"name": "Pro", "cost_per_license": 20, "licenses_purchased": 40},
    {"name": "Standard", "cost_per_license": 8},
]


def downgrading_profile(client, app, **policy):
    for user in app.users:
        user["plan"] = "Pro"
    profile = reclaiming_profile(client, app, **policy)
    answer = client.patch(
        f"/profiles/{profile['id']}",
        json={
            "policy": {"stale_action": "downgrade", "downgrade_to": "Standard"},
            "users": {"fields": {"tier": "plan"}},
            "subscription": {"licenses_purchased": 40, "cost_per_license": 20, "tiers": TIERS},
            "downgrade": {"method": "PATCH", "path": "/users/{id}", "body": {"plan": "{tier}", "note": "{email}"}},
        },
    )
    assert answer.status_code == 200, answer.text
    return profile


def test_a_profile_that_downgrades_names_a_tier_it_has(api):
    integrator = api("sam_integrator")
    with paging_app(5) as app:
        profile = reclaiming_profile(integrator, app)
        answer = integrator.patch(f"/profiles/{profile['id']}", json={"policy": {"stale_action": "downgrade"}})
        assert answer.status_code == 422 and "downgrade_to" in answer.text
        answer = integrator.patch(
            f"/profiles/{profile['id']}", json={"policy": {"stale_action": "downgrade", "downgrade_to": "Gold"}}
        )
        assert answer.status_code == 422 and "not one of subscription.tiers" in answer.text


def test_stale_seats_move_to_the_cheaper_tier_after_an_admins_approval_each_once(api):
    integrator, admin = api("sam_integrator"), api("admin")
    with paging_app(40) as app:
        # Given a profile whose stale seats are downgraded, and one stale user already on the cheaper tier
        profile = downgrading_profile(integrator, app, max_reclaim_count=2, max_reclaim_percent=100)
        stale = expected_candidates(app.users)
        already = stale[0]
        next(u for u in app.users if u["id"] == already)["plan"] = "Standard"
        assert sync(integrator, profile["id"])["status"] == "succeeded"

        # When a dry run plans it, it says what each seat saves and sends nothing
        dry = integrator.post(f"/profiles/{profile['id']}/reclamations", json={}).json()
        assert (dry["action"], dry["downgrade_to"]) == ("downgrade", "Standard")
        assert sorted(c["id"] for c in dry["candidates"]) == stale[1:]
        assert {c["saves"] for c in dry["candidates"]} == {12.0}
        narrowed = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"user_ids": [already]})
        assert narrowed.status_code == 422 and "already on the tier 'Standard'" in narrowed.text
        assert app.reclaim_requests == []

        # And a real run over the cap waits for an admin
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert plan["status"] == "awaiting_approval" and "max_reclaim_count" in plan["approval_reason"]
        assert app.reclaim_requests == []
        assert admin.post(f"/reclamations/{plan['id']}/approve").status_code == 200
        done = wait_for_reclamation(integrator, plan["id"])
        users = {u["id"]: u for u in app.users}

    # Then each stale seat was moved down once, with its fields filled in, and kept its license
    assert done["status"] == "completed", done
    assert {o["outcome"] for o in done["outcomes"]} == {"downgraded"}
    sent = [r["user_id"] for r in app.reclaim_requests]
    assert sorted(sent) == stale[1:] and len(sent) == len(set(sent))
    first = app.reclaim_requests[0]
    assert first["method"] == "PATCH" and first["path"] == f"/offset/users/{first['user_id']}"
    assert first["body"] == {"plan": "Standard", "note": users[first["user_id"]]["email"]}
    assert all(users[u]["plan"] == "Standard" and users[u]["active"] for u in sent)
    # The savings are the cost difference of the two tiers
    assert (done["downgraded"], done["reclaimed"]) == (len(sent), 0)
    assert done["savings"] == {"amount": pytest.approx(12.0 * len(sent)), "currency": "USD", "period": "monthly"}
    assert {e["action"] for e in done["audit"]} >= {"planned", "approved", "downgrade", "finished"}

    # And the position counts the seats per tier at once
    position = integrator.get(f"/profiles/{profile['id']}/position").json()
    tiers = {t["name"]: t for t in position["tiers"]}
    assert tiers["Standard"]["assigned"] == len(stale) and tiers["Standard"]["stale"] == len(stale)
    assert tiers["Pro"]["stale"] == 0 and tiers["Pro"]["licenses_purchased"] == 40
    assert tiers["Standard"]["cost"] == {"amount": 8.0, "currency": "USD", "period": "monthly"}
    # The downgraded seats, still stale on Standard, have nothing left to save: potential savings
    # are the unassigned seats at the subscription's $20 only, never the Standard seats again at Pro's price
    assert position["stale"] == len(stale)
    assert position["potential_savings"]["amount"] == (position["unused"] - position["taken_back"]) * 20


@pytest.mark.parametrize("action", ["reclaim", "downgrade"])
def test_a_seat_request_redirected_elsewhere_is_not_followed_and_fails(api, action):
    integrator = api("sam_integrator")
    with paging_app(40) as app, paging_app(0) as elsewhere:
        # Given an app that answers each seat request with a redirect to another origin
        profile = downgrading_profile(integrator, app) if action == "downgrade" else reclaiming_profile(integrator, app)
        app.redirect_reclaims_to = f"{elsewhere.url}/offset/users"
        # When a real run sends them
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        done = wait_for_reclamation(integrator, plan["id"])
    # Then nothing reaches the other origin, and each user's outcome says why it failed
    assert elsewhere.reclaim_requests == []
    assert len(app.reclaim_requests) == len(plan["candidates"]) > 0
    assert done["status"] == "partially_failed"
    assert {o["outcome"] for o in done["outcomes"]} == {"failed"}
    assert all("another origin: not followed" in o["detail"] for o in done["outcomes"])
