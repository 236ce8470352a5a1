"""Reclamation through the local stack, against a SaaS app of our own that records every reclaim request."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest

from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles
from seatkeeper.aws.dynamodb.reclamations import DynamoDBReclamations
from seatkeeper.aws.dynamodb.reconciliations import DynamoDBReconciliations
from seatkeeper.licensing import reclamation
from seatkeeper.profiles.service import ProfileService
from seatkeeper.saas.http import SaaSClient
from seatkeeper.saas.network_guard import NetworkPolicy
from seatkeeper_local.demo.client import wait_until
from tests.integration.connection_checks import make_profile, wait_for
from tests.integration.test_sync import stored_users, sync
from tests.paging_app import paging_app, profile_fields

PROTECTED_EMAIL = "user3@example.com"


def expected_candidates(users, days=90):
    """Stale, holding a license, not protected by email or the admin role (created long before the window)."""
    cutoff = datetime.now(UTC) - timedelta(days=days)
    return sorted(
        u["id"]
        for u in users
        if u["active"]
        and u["role"] != "admin"
        and u["email"] != PROTECTED_EMAIL
        and (u["last_login"] is None or datetime.fromtimestamp(u["last_login"], UTC) < cutoff)
    )


def reclaiming_profile(client, app, **policy):
    fields = profile_fields(app, "offset")
    fields["reclaim"] = {
        "method": "PATCH",
        "path": "/users/{id}",
        "body": {"active": False, "note": "reclaimed {email}"},
    }
    fields["subscription"] = {"licenses_purchased": 120, "cost_per_license": 10}
    fields["policy"] = {
        "inactivity_days": 90,
        "protected_users": [PROTECTED_EMAIL],
        "protected_roles": ["admin"],
        "max_reclaim_percent": 100,
        "max_reclaim_count": 1000,
        **policy,
    }
    profile = make_profile(client, **fields)
    client.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
    assert wait_for(client, profile["id"], {"connected", "failed"})["status"] == "connected"
    assert sync(client, profile["id"])["status"] == "succeeded"
    return profile


def wait_for_reclamation(client, reclamation_id, timeout=60):
    return wait_until(
        lambda: client.get(f"/reclamations/{reclamation_id}").json(),
        lambda record: record["status"] != "running",
        timeout=timeout,
    )


def finished_reclamation(client, reclamation_id, timeout=60):
    """The reclamation once it has ended: neither running nor waiting out its grace period."""
    record = wait_until(
        lambda: client.get(f"/reclamations/{reclamation_id}").json(),
        lambda record: record["status"] not in ("running", "in_grace_period"),
        timeout=timeout,
    )
    assert record["status"] not in ("running", "in_grace_period"), record
    return record


def test_a_dry_run_plans_the_designed_candidates_and_calls_nothing(api):
    integrator = api("sam_integrator")
    with paging_app(100) as app:
        profile = reclaiming_profile(integrator, app)
        answer = integrator.post(f"/profiles/{profile['id']}/reclamations", json={})
        assert answer.status_code == 201, answer.text
        plan = answer.json()
        assert (plan["status"], plan["dry_run"]) == ("planned", True)
        assert sorted(c["id"] for c in plan["candidates"]) == expected_candidates(app.users)
        assert plan["audit"][0]["action"] == "planned" and plan["audit"][0]["by"] == "local-sam_integrator"
        assert app.reclaim_requests == []


def test_narrowing_to_a_non_candidate_is_422_saying_why(api):
    integrator = api("sam_integrator")
    with paging_app(100) as app:
        profile = reclaiming_profile(integrator, app)
        protected = next(u["id"] for u in app.users if u["email"] == PROTECTED_EMAIL)
        admin = next(u["id"] for u in app.users if u["role"] == "admin")
        candidate = expected_candidates(app.users)[0]
        answer = integrator.post(
            f"/profiles/{profile['id']}/reclamations", json={"user_ids": [candidate, protected, admin, "nobody"]}
        )
    assert answer.status_code == 422
    reasons = {e["loc"][-1]: e["msg"] for e in answer.json()["detail"]}
    assert set(reasons) == {1, 2, 3}
    assert "protected user" in reasons[1] and "protected role" in reasons[2] and "not a user" in reasons[3]


def test_a_run_over_the_cap_waits_for_an_admin_then_reclaims_each_user_once(api, stack):
    integrator, admin = api("sam_integrator"), api("admin", subject="boss")
    with paging_app(100) as app:
        profile = reclaiming_profile(integrator, app, max_reclaim_percent=10)
        figures_before = api("sam_viewer").get("/analytics/overview").json()
        saved_before = figures_before["actual_savings"]
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert plan["status"] == "awaiting_approval" and "max_reclaim_percent" in plan["approval_reason"]
        waiting = api("sam_viewer").get("/reclamations", params={"status": "awaiting_approval"}).json()["items"]
        assert plan["id"] in [w["id"] for w in waiting]
        time.sleep(1)
        assert app.reclaim_requests == []  # nothing before the approval

        assert integrator.post(f"/reclamations/{plan['id']}/approve").status_code == 403
        approved = admin.post(f"/reclamations/{plan['id']}/approve")
        assert approved.status_code == 200 and approved.json()["approved_by"] == "boss"
        assert admin.post(f"/reclamations/{plan['id']}/approve").status_code == 409
        done = wait_for_reclamation(integrator, plan["id"])

        left = expected_candidates(app.users)
    assert done["status"] == "completed", done
    sent = sorted(r["user_id"] for r in app.reclaim_requests)
    assert sent == sorted(c["id"] for c in plan["candidates"]) and len(sent) == len(set(sent))
    assert app.reclaim_requests[0]["body"]["note"].startswith("reclaimed user")
    assert [e["action"] for e in done["audit"]][:2] == ["planned", "approved"]
    assert {e["user_id"] for e in done["audit"] if e["action"] == "reclaim"} == set(sent)
    reclaimed = {u["id"]: u for u in stored_users(integrator, profile["id"])}
    assert all(not reclaimed[user_id]["active"] for user_id in sent)  # shown as reclaimed at once
    position = integrator.get(f"/profiles/{profile['id']}/position").json()
    assert position["stale"] == 0 and position["assigned"] == sum(u["active"] for u in app.users)
    assert left == []  # the app now reports them without a license, so no one is left to reclaim

    # Listed with the profile, gone from the approval queue, and counted as saved this year.
    listed = integrator.get(f"/profiles/{profile['id']}/reclamations").json()["items"]
    assert [(r["id"], r["status"], r["reclaimed"], r["candidates"]) for r in listed] == [
        (plan["id"], "completed", len(sent), len(sent))
    ]
    assert listed[0]["savings"] == {"amount": 10.0 * len(sent), "currency": "USD", "period": "monthly"}
    assert listed[0]["saving_starts_on"] is None  # no renewal date: the day of the app's next bill is unknown
    waiting = integrator.get("/reclamations", params={"status": "awaiting_approval"}).json()["items"]
    assert plan["id"] not in [w["id"] for w in waiting]
    figures = api("sam_viewer").get("/analytics/overview").json()
    saved = figures["actual_savings"]
    assert saved["year"] == datetime.now(UTC).year and saved["seats"] == saved_before["seats"] + len(sent)
    # Committed at their cost per month and year; finished today, they have saved nothing yet: the app's
    # next bill after today is the first without them.
    usd = {r["currency"]: r for r in figures["saved_run_rate"]}["USD"]
    usd_before = {r["currency"]: r for r in figures_before["saved_run_rate"]}.get(
        "USD", {"per_month": 0, "per_year": 0}
    )
    assert usd["per_month"] == pytest.approx(usd_before["per_month"] + 10.0 * len(sent))
    assert usd["per_year"] == pytest.approx(usd_before["per_year"] + 120.0 * len(sent))
    so_far = {t["currency"]: t["amount"] for t in figures["actual_savings_ytd"]}
    so_far_before = {t["currency"]: t["amount"] for t in figures_before["actual_savings_ytd"]}
    assert so_far.get("USD", 0) == so_far_before.get("USD", 0)
    # Its subscription has no renewal date: nobody knows the day of its next bill, and the overview says so.
    committed = [c for c in figures["committed_savings"] if profile["name"] in c["applications"]]
    assert [(c["starts_on"], c["seats"], c["per_month"]) for c in committed] == [
        (None, len(sent), pytest.approx(10.0 * len(sent)))
    ]
    # The seats taken back are no longer potential savings, and the trend's last point says so too.
    assert position["taken_back"] == len(sent) and position["potential_savings"]["amount"] == 10.0 * (
        position["licenses_purchased"] - position["assigned"] - len(sent)
    )
    assert figures["trend"][-1]["stale"] == figures["stale"]
    assert figures["trend"][-1]["potential_savings"] == figures["potential_savings"]
    # Stored too, by the reclamation's finish: tomorrow's trend shows today as it ended.
    today = datetime.now(UTC).date()
    (stored,) = DynamoDBReconciliations(stack.template.physical_name("Table")).trend_points(since=today)
    assert (stored.stale, stored.unused) == (figures["stale"], figures["reclaimable"])


def test_a_failing_user_is_reported_and_the_others_go_on(api):
    integrator = api("sam_integrator")
    with paging_app(100) as app:
        profile = reclaiming_profile(integrator, app)
        candidates = expected_candidates(app.users)
        app.failing_reclaims = {candidates[1]}
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert plan["status"] == "running"
        done = wait_for_reclamation(integrator, plan["id"])
    assert done["status"] == "partially_failed"
    outcomes = {o["user_id"]: o for o in done["outcomes"]}
    assert outcomes[candidates[1]]["outcome"] == "failed" and "500" in outcomes[candidates[1]]["detail"]
    assert sum(o["outcome"] == "reclaimed" for o in outcomes.values()) == len(candidates) - 1


def test_an_app_supplied_dot_segment_id_fails_for_that_user_and_never_moves_the_request(api):
    # Given an app that lists stale users whose ids are dot segments, plain or percent-encoded
    integrator = api("sam_integrator")
    with paging_app(100) as app:
        odd = dict(zip(expected_candidates(app.users)[:3], ["..", ".", "%2e%2E"], strict=True))
        for user in app.users:
            user["id"] = odd.get(user["id"], user["id"])
        profile = reclaiming_profile(integrator, app)
        # When a real reclamation runs
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        done = wait_for_reclamation(integrator, plan["id"])
    # Then each of those users fails on its own, the others are reclaimed, and no request left /users/<one id>
    outcomes = {o["user_id"]: o for o in done["outcomes"]}
    assert done["status"] == "partially_failed"
    for user_id in odd.values():
        assert outcomes[user_id]["outcome"] == "failed" and "cannot be a path segment" in outcomes[user_id]["detail"]
    assert all(o["outcome"] == "reclaimed" for user_id, o in outcomes.items() if user_id not in odd.values())
    assert sum(o["outcome"] == "reclaimed" for o in outcomes.values()) == len(plan["candidates"]) - 3
    paths = [r["path"] for r in app.reclaim_requests]
    assert all(path.startswith("/offset/users/") and path.count("/") == 3 for path in paths), paths
    assert len(paths) == len(plan["candidates"]) - 3


def test_a_reclamation_run_again_never_sends_a_users_request_twice(api, stack):
    integrator = api("sam_integrator")
    with paging_app(60) as app:
        profile_view = reclaiming_profile(integrator, app)
        plan = integrator.post(f"/profiles/{profile_view['id']}/reclamations", json={"dry_run": False}).json()
        first = wait_for_reclamation(integrator, plan["id"])
        assert first["status"] == "completed"
        sent_once = len(app.reclaim_requests)
        # Run it again, as a retried or re-started execution would, from the state it was in before it finished.
        table = stack.template.physical_name("Table")
        store = DynamoDBReclamations(table)
        running = store.get_reclamation(plan["id"]).model_copy(update={"status": "running"})
        store.put_reclamation(running)
        profile = ProfileService(DynamoDBProfiles(table), NetworkPolicy.from_environment()).get(profile_view["id"])
        client = SaaSClient(profile.profile, {"token": "t"}, policy=NetworkPolicy.from_entries(["127.0.0.0/8"]))
        again = reclamation.execute(running, store=store, seats=client, stale_now={c.id for c in running.candidates})
    assert len(app.reclaim_requests) == sent_once
    assert again.status == "completed" and all(o.outcome == "reclaimed" for o in again.outcomes)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"template": None, "reclaim": None}, "no reclaim request"),
    ],
)
def test_real_runs_that_cannot_be_done_safely_are_refused(api, change, says):
    integrator = api("sam_integrator")
    with paging_app(30) as app:
        profile = reclaiming_profile(integrator, app)
        integrator.patch(f"/profiles/{profile['id']}", json=change)
        answer = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False})
        assert answer.status_code == 422 and says in answer.json()["detail"][0]["msg"]
        assert integrator.post(f"/profiles/{profile['id']}/reclamations", json={}).status_code == 201  # dry runs may
    assert app.reclaim_requests == []


def test_unknown_reclamations(api):
    assert api("admin").get("/profiles/prf_00000000000000000000/reclamations").status_code == 404
    assert api("admin").get("/reclamations", params={"status": "completed"}).status_code == 422
    assert api("admin").get("/reclamations/rcl_00000000000000000000").status_code == 404
    assert api("admin").post("/reclamations/rcl_00000000000000000000/approve").status_code == 404
    assert os.environ.get("RECLAIM_STATE_MACHINE_ARN")


def test_with_a_grace_period_users_active_again_are_not_reclaimed(api):
    integrator = api("sam_integrator")
    with paging_app(80) as app:
        # Three seconds may end before every keep prompt is mailed; this test is about activity, not about
        # reaching people (tests/integration/test_notifications.py), so the unreached are reclaimed too.
        profile = reclaiming_profile(integrator, app, grace_period="PT3S", unreached_users="reclaim")
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert plan["status"] == "running" and plan["grace_seconds"] == 3
        deadline = time.monotonic() + 20
        while integrator.get(f"/reclamations/{plan['id']}").json()["status"] != "in_grace_period":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        # During the grace period one candidate logs in again.
        back = plan["candidates"][0]["id"]
        next(u for u in app.users if u["id"] == back)["last_login"] = int(time.time())
        assert app.reclaim_requests == []
        done = wait_for_reclamation(integrator, plan["id"])
        while done["status"] == "in_grace_period":
            time.sleep(0.2)
            done = integrator.get(f"/reclamations/{plan['id']}").json()
            done = wait_for_reclamation(integrator, plan["id"]) if done["status"] == "running" else done
    outcomes = {o["user_id"]: o["outcome"] for o in done["outcomes"]}
    assert done["status"] == "completed", done
    assert outcomes[back] == "canceled_activity_detected"
    assert sorted(r["user_id"] for r in app.reclaim_requests) == sorted(c["id"] for c in plan["candidates"][1:])
    assert "announced" in [e["action"] for e in done["audit"]]


def test_a_failed_sync_after_the_grace_period_cancels_everything(api):
    integrator = api("sam_integrator")
    with paging_app(80) as app:
        profile = reclaiming_profile(integrator, app, grace_period="PT2S")
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        app.broken_page = 1
        deadline = time.monotonic() + 60
        while (done := integrator.get(f"/reclamations/{plan['id']}").json())["status"] in (
            "running",
            "in_grace_period",
        ):
            assert time.monotonic() < deadline
            time.sleep(0.3)
    assert done["status"] == "canceled" and "nothing was reclaimed" in done["audit"][-1]["detail"]
    assert app.reclaim_requests == []


def test_a_sync_whose_activity_data_suddenly_looks_broken_refuses_reclamation(api):
    integrator = api("sam_integrator")
    with paging_app(100) as app:
        profile = reclaiming_profile(integrator, app)
        for user in app.users:  # the app's activity feed breaks: nobody has logged in, ever
            user["last_login"] = None
        run = sync(integrator, profile["id"])
        assert run["status"] == "succeeded" and run["warnings"][0]["blocks_inactivity"]
        # No data is not "never signed in" (#28): refused outright, rather than left to an admin's approval.
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False})
        time.sleep(1)
    assert plan.status_code == 409 and "users.fields.last_activity" in plan.json()["message"]
    assert app.reclaim_requests == []


def age_the_last_snapshot(stack, profile_id: str, by: timedelta) -> str:
    """Move the last successful sync back in time, as days of failing syncs would leave it; its new synced_at."""
    import json

    import boto3

    table, key = stack.template.physical_name("Table"), {"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "SNAPSHOT"}}
    dynamodb = boto3.client("dynamodb")
    item = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    document = json.loads(item["document"]["S"])
    document["synced_at"] = (datetime.fromisoformat(document["synced_at"]) - by).isoformat(timespec="seconds")
    dynamodb.put_item(TableName=table, Item={**item, "document": {"S": json.dumps(document)}})
    return document["synced_at"]


def test_a_reclamation_refuses_to_start_on_a_snapshot_older_than_max_snapshot_age(api, stack):
    integrator = api("sam_integrator")
    with paging_app(40) as app:
        # Given a profile synced once, whose syncs have failed for three days since
        profile = reclaiming_profile(integrator, app)
        app.broken_page = 1
        assert sync(integrator, profile["id"])["status"] == "failed"
        synced_at = age_the_last_snapshot(stack, profile["id"], timedelta(days=3))

        # When a real reclamation is asked for
        refused = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False})

        # Then it is a 409 saying how old the data is and what the policy allows, and nothing is reclaimed
        assert refused.status_code == 409, refused.text
        assert synced_at in refused.json()["message"] and "max_snapshot_age (P2D)" in refused.json()["message"]
        assert integrator.get(f"/profiles/{profile['id']}/reclamations").json()["items"] == []
        # A dry run still recommends, on the data there is
        dry = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": True})
        assert dry.status_code == 201 and dry.json()["candidates"]
        # And a policy that accepts older data lets it start
        policy = {**profile["policy"], "max_snapshot_age": "P7D"}
        assert integrator.patch(f"/profiles/{profile['id']}", json={"policy": policy}).status_code == 200
        started = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False})
        assert started.status_code == 201, started.text
        app.broken_page = None
        done = finished_reclamation(integrator, started.json()["id"])
    assert done["status"] == "completed" and app.reclaim_requests
