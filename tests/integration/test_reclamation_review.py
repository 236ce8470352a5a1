"""The admin's review through the local stack: who exactly a plan reclaims (and why), as JSON and as CSV,
and taking single users out of a plan before approving it. The SaaS app is our own (tests/paging_app.py)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from seatkeeper.aws.dynamodb.reclamations import DynamoDBReclamations
from seatkeeper.licensing.reclamation import Reclamation, ReclamationConflict
from tests.integration.test_reclamation import expected_candidates, reclaiming_profile, wait_for_reclamation
from tests.paging_app import paging_app


def test_each_candidate_says_why_and_the_csv_lists_them_as_the_plan_does(api):
    integrator = api("sam_integrator")
    with paging_app(80) as app:
        # Given a dry run of an app whose users' last logins we know
        profile = reclaiming_profile(integrator, app)
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={}).json()
        # When the plan and its CSV are read
        answer = api("sam_viewer").get(f"/reclamations/{plan['id']}/candidates.csv")
    # Then every candidate says why, in words an admin can check against the app's own record
    users = {u["id"]: u for u in app.users}
    assert sorted(c["id"] for c in plan["candidates"]) == expected_candidates(app.users)
    for c in plan["candidates"]:
        login = users[c["id"]]["last_login"]
        if login is None:
            assert c["why"].startswith("never active") and c["activity_source"] is None
        else:
            seen = datetime.fromtimestamp(login, UTC).date().isoformat()
            assert c["why"] == f"no activity since {seen} (the window is 90 days)"
            assert c["activity_source"] == "app"  # no identity provider in this profile
    # And the CSV has one row per candidate, with what each saves at the plan's price
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    assert f"{plan['id']}-candidates.csv" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["id"] for r in rows] == [c["id"] for c in plan["candidates"]]
    assert {(r["saves"], r["currency"], r["period"]) for r in rows} == {("10", "USD", "monthly")}
    assert [r["why"] for r in rows] == [c["why"] for c in plan["candidates"]]
    assert api("admin").get("/reclamations/rcl_00000000000000000000/candidates.csv").status_code == 404


def test_an_admin_excludes_a_user_before_approving_and_only_the_others_are_reclaimed(api, stack):
    integrator, admin = api("sam_integrator"), api("admin", subject="boss")
    with paging_app(80) as app:
        # Given a plan over the cap, waiting for approval
        profile = reclaiming_profile(integrator, app, max_reclaim_percent=10, keep_days=30)
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert plan["status"] == "awaiting_approval"
        spared = plan["candidates"][0]["id"]
        path = f"/reclamations/{plan['id']}/exclusions"

        # When a non-admin tries, or a user who is no candidate, or no reason, nothing changes
        assert integrator.post(path, json={"user_id": spared, "reason": "x"}).status_code == 403
        assert admin.post(path, json={"user_id": "nobody", "reason": "x"}).status_code == 404
        missing = admin.post(path, json={"user_id": spared})
        assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "reason"]

        # When the admin excludes one user, saying why
        answer = admin.post(path, json={"user_id": spared, "reason": "on parental leave"})

        # Then the plan no longer has them, the queue counts one fewer, and the audit says who, whom and why
        assert answer.status_code == 200, answer.text
        narrowed = integrator.get(f"/reclamations/{plan['id']}").json()
        assert [c["id"] for c in narrowed["candidates"]] == [c["id"] for c in plan["candidates"][1:]]
        entry = narrowed["audit"][-1]
        assert (entry["action"], entry["by"], entry["user_id"]) == ("excluded", "boss", spared)
        until = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
        assert entry["detail"].startswith("on parental leave (kept until " + until)
        queue = integrator.get("/reclamations", params={"status": "awaiting_approval"}).json()["items"]
        assert {w["id"]: w["candidates"] for w in queue}[plan["id"]] == len(plan["candidates"]) - 1
        # The seat is protected as a kept one is: no next plan proposes it
        again = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"user_ids": [spared]})
        assert again.status_code == 422 and f"until {until}" in again.json()["detail"][0]["msg"]
        # An approval that read the plan before the exclusion cannot write it back with the user in it
        as_read_before = Reclamation.model_validate(plan)
        with pytest.raises(ReclamationConflict):
            DynamoDBReclamations(stack.template.physical_name("Table")).replace_reclamation(
                as_read_before.model_copy(update={"status": "running"}),
                expected_status="awaiting_approval",
                expected_revision=len(as_read_before.audit),
            )
        # Excluding them twice is a 404: they are no longer a candidate
        assert admin.post(path, json={"user_id": spared, "reason": "again"}).status_code == 404

        # When the admin approves, only the others are reclaimed
        assert admin.post(f"/reclamations/{plan['id']}/approve").status_code == 200
        done = wait_for_reclamation(integrator, plan["id"])
        # And once approved, no one can be excluded any more
        late = admin.post(path, json={"user_id": plan["candidates"][1]["id"], "reason": "late"})
    assert done["status"] == "completed", done
    sent = sorted(r["user_id"] for r in app.reclaim_requests)
    assert sent == sorted(c["id"] for c in plan["candidates"][1:]) and spared not in sent
    assert late.status_code == 409
