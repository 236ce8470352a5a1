"""A reclaim the app accepts and does not carry out, through the local stack on moto's Step Functions engine.

The app is seatkeeper's own paging app (seatkeeper_local.fakes.paging_app): for the users in
`ignored_reclaims` it answers the removal with 204 No Content and keeps the user active, as an app
whose removal endpoint queues work that never happens would. Every other reclaim takes the license
back, so the same syncs also show what a reclaim that did take effect looks like in the users list.
"""

from __future__ import annotations

import csv
import io
import json
import time

from seatkeeper.aws.dynamodb.snapshots import DynamoDBSync
from tests.integration.test_announcements import listener  # noqa: F401 - a fixture
from tests.integration.test_downgrade import downgrading_profile
from tests.integration.test_reclamation import expected_candidates, reclaiming_profile, wait_for_reclamation
from tests.integration.test_reconciliation import wait_for_reconciliation
from tests.integration.test_sync import stored_users, sync
from tests.paging_app import paging_app


def sent_to(app, user_id: str) -> int:
    return sum(r["user_id"] == user_id for r in app.reclaim_requests)


def test_a_seat_the_app_still_holds_after_a_reclaim_is_not_effective_and_never_sent_again(api, listener):  # noqa: F811
    # Given an app of 40 users that accepts one stale user's removal (204) and keeps the user active
    integrator, admin = api("sam_integrator"), api("admin", subject="boss")
    with paging_app(40) as app:
        profile = reclaiming_profile(integrator, app)
        stuck, *others = expected_candidates(app.users)
        app.ignored_reclaims = {stuck}
        # When a real reclamation takes back every stale seat
        first = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        done = wait_for_reclamation(integrator, first["id"])
        assert done["status"] == "completed" and sent_to(app, stuck) == 1
        # (a sync reads what the app holds from the second after the reclaim was answered: see TakenBack)
        time.sleep(1.1)
        # and the app is synced again, then reconciled (which syncs it once more), then planned again
        assert sync(integrator, profile["id"])["status"] == "succeeded"
        reconciliation = integrator.post("/reconciliations", json={"profile_ids": [profile["id"]]}).json()
        assert wait_for_reconciliation(integrator, reconciliation["id"])["status"] == "completed"
        again = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert wait_for_reclamation(integrator, again["id"])["status"] == "completed"
        dry = integrator.post(f"/profiles/{profile['id']}/reclamations", json={}).json()

        # Then exactly one removal was ever sent for that user, and the later plans do not list it
        assert sent_to(app, stuck) == 1
        assert stuck not in [c["id"] for c in again["candidates"]] + [c["id"] for c in dry["candidates"]]
        # its outcome in the first reclamation is not_effective, no longer counted as a seat saved
        record = integrator.get(f"/reclamations/{first['id']}").json()
        outcomes = {o["user_id"]: o for o in record["outcomes"]}
        assert (
            outcomes[stuck]["outcome"] == "not_effective" and "still found the seat held" in outcomes[stuck]["detail"]
        )
        assert all(outcomes[user_id]["outcome"] == "reclaimed" for user_id in others)
        assert record["reclaimed"] == len(others) and record["savings"]["amount"] == 10.0 * len(others)
        assert [e["user_id"] for e in record["audit"] if e["action"] == "not effective"] == [stuck]
        # a narrowed dry run says why it is left out
        named = integrator.post(
            f"/profiles/{profile['id']}/reclamations", json={"user_ids": [stuck], "dry_run": True}
        ).json()
        assert [c["id"] for c in named["candidates"]] == [stuck] and "did not take effect" in named["candidates"][0][
            "why"
        ]

        # and the users list reads it as not_effective, the others as reclaimed, the app's own leavers as inactive
        users = {u["id"]: u for u in stored_users(integrator, profile["id"])}
        assert users[stuck]["status"] == "not_effective" and users[stuck]["active"] is True
        assert users[stuck]["reclaimed_at"] is not None and users[stuck]["reclamation_id"] == first["id"]
        assert {users[user_id]["status"] for user_id in others} == {"reclaimed"}
        never_held = [u["id"] for u in app.users if u["id"] not in first_candidates(first)]
        assert {users[u]["status"] for u in never_held if not users[u]["active"]} == {"inactive"}
        assert [u["id"] for u in stored_users(integrator, profile["id"], status="not_effective")] == [stuck]

        # When an admin's plan names it again, the request waits for an admin and is then sent once more
        replan = integrator.post(
            f"/profiles/{profile['id']}/reclamations", json={"dry_run": False, "user_ids": [stuck]}
        ).json()
        assert replan["status"] == "awaiting_approval" and "still holds them" in replan["approval_reason"]
        assert sent_to(app, stuck) == 1
        assert admin.post(f"/reclamations/{replan['id']}/approve").status_code == 200
        assert wait_for_reclamation(integrator, replan["id"])["status"] == "completed"
        assert sent_to(app, stuck) == 2

    # Then the event asked for an admin's attention once, about that seat
    heard = [e for e in listener() if e["detail-type"] == "Reclamation Not Effective"]
    assert [(e["detail"]["user_id"], e["detail"]["reclamation_id"]) for e in heard] == [(stuck, first["id"])]
    assert heard[0]["detail"]["profile_id"] == profile["id"]
    # and the notifier told the admins
    told = admin.get("/notifications", params={"kind": "reclaim_not_effective"}).json()["items"]
    assert [n["profile_id"] for n in told if n["profile_id"] == profile["id"]] and all(
        n["status"] in ("sent", "skipped") for n in told
    )


def first_candidates(plan) -> set[str]:
    return {c["id"] for c in plan["candidates"]}


def test_a_reclaimed_seat_reads_reclaimed_with_its_date_in_the_users_csv_after_a_resync(api):
    # Given an app whose reclaims all take effect, and one real reclamation
    integrator = api("sam_integrator")
    with paging_app(30) as app:
        profile = reclaiming_profile(integrator, app)
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert wait_for_reclamation(integrator, plan["id"])["status"] == "completed"
        time.sleep(1.1)
        # When the app is synced again (its users rewritten from what the app says)
        assert sync(integrator, profile["id"])["status"] == "succeeded"
        answer = integrator.get(f"/profiles/{profile['id']}/users.csv")
    # Then the CSV reads each reclaimed seat "reclaimed" with the reclaim's date, the app's own leavers "inactive"
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(answer.text))}
    taken = first_candidates(plan)
    assert taken and {rows[u]["status"] for u in taken} == {"reclaimed"}
    assert all(rows[u]["reclaimed_at"][:4].isdigit() for u in taken)
    leavers = [u["id"] for u in app.users if not u["active"] and u["id"] not in taken]
    assert leavers and {rows[u]["status"] for u in leavers} == {"inactive"}
    assert {rows[u]["reclaimed_at"] for u in leavers} == {""}
    only = integrator.get(f"/profiles/{profile['id']}/users.csv", params={"status": "reclaimed"}).text
    assert sorted(r["id"] for r in csv.DictReader(io.StringIO(only))) == sorted(taken)


def test_the_openapi_document_names_each_status_of_a_user(api):
    # Given the API's own document
    document = api("sam_viewer").get("/openapi.json").json()
    # Then a user's status and the list's filter name the same words, reclaimed and not_effective among them
    view = document["components"]["schemas"]["UserView"]
    assert set(view["properties"]["status"]["enum"]) == {
        "active",
        "stale",
        "unknown",
        "inactive",
        "reclaimed",
        "not_effective",
    }
    assert {"reclaimed_at", "reclamation_id"} <= set(view["properties"])
    listing = document["paths"]["/profiles/{profile_id}/users"]["get"]["parameters"]
    (status,) = [p for p in listing if p["name"] == "status"]
    assert "not_effective" in json.dumps(status["schema"]) and "reclaimed" in json.dumps(status["schema"])


def test_a_seat_marked_reclaimed_by_the_code_before_is_still_not_planned(api, stack):
    # Given a synced app, and a seat marked as the code before TAKEN_BACK items marked it: on the stored user only
    integrator = api("sam_integrator")
    with paging_app(30) as app:
        profile = reclaiming_profile(integrator, app)
        user_id = expected_candidates(app.users)[0]
        DynamoDBSync(stack.template.physical_name("Table")).change_user(
            profile["id"],
            user_id,
            {"active": False, "reclaimed_at": "2026-11-30T10:00:00+00:00", "fingerprint": "reclaimed"},
        )
        # When the users are listed and a plan names that user
        users = {u["id"]: u for u in stored_users(integrator, profile["id"])}
        named = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"user_ids": [user_id]})
    # Then no plan takes it again, and the list reads it as it did (without a license) until the next sync
    assert (users[user_id]["status"], users[user_id]["active"]) == ("inactive", False)
    assert named.status_code == 422 and "already reclaimed" in named.json()["detail"][0]["msg"]


def test_a_downgrade_the_app_accepted_and_did_not_make_is_not_effective_and_not_sent_again(api):
    # Given an app whose stale seats move from Pro to Standard, but which ignores one user's move (204)
    integrator = api("sam_integrator")
    with paging_app(30) as app:
        profile = downgrading_profile(integrator, app, max_reclaim_percent=100)
        assert sync(integrator, profile["id"])["status"] == "succeeded"
        stuck, *others = expected_candidates(app.users)
        app.ignored_reclaims = {stuck}
        # When a real run moves every stale seat down, and the app is synced again, then planned again
        first = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert first["status"] == "running"  # under the caps: no approval
        assert wait_for_reclamation(integrator, first["id"])["status"] == "completed"
        time.sleep(1.1)
        assert sync(integrator, profile["id"])["status"] == "succeeded"
        dry = integrator.post(f"/profiles/{profile['id']}/reclamations", json={}).json()
    # Then the ignored move was sent once, is not_effective, and is not planned again; the others moved for good
    assert sent_to(app, stuck) == 1 and stuck not in first_candidates(dry)
    outcomes = {o["user_id"]: o["outcome"] for o in integrator.get(f"/reclamations/{first['id']}").json()["outcomes"]}
    assert outcomes[stuck] == "not_effective" and {outcomes[u] for u in others} == {"downgraded"}
    users = {u["id"]: u for u in stored_users(integrator, profile["id"])}
    assert users[stuck]["status"] == "not_effective"
    assert all(users[u]["status"] != "not_effective" and users[u]["active"] for u in others)
