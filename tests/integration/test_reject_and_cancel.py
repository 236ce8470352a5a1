"""An admin's no, through the local stack on moto's Step Functions engine: reject a plan awaiting approval,
cancel one in its grace period. The SaaS app of our own (tests/paging_app.py) records every reclaim request."""

from __future__ import annotations

import os
import time

import requests

from seatkeeper.aws.workflows import StepFunctions
from seatkeeper_local.demo.client import wait_until
from tests.integration.test_announcements import listener  # noqa: F401 - a fixture
from tests.integration.test_keep_requests import in_grace_period
from tests.integration.test_reclamation import reclaiming_profile
from tests.paging_app import paging_app


def execution_status(reclamation_id):
    machine = StepFunctions(os.environ["RECLAIM_STATE_MACHINE_ARN"])
    return machine.status(reclamation_id)


def test_an_admin_rejects_a_plan_awaiting_approval_and_nothing_is_sent(api, listener):  # noqa: F811
    integrator, admin = api("sam_integrator"), api("admin", subject="boss")
    with paging_app(60) as app:
        # Given a real run over the cap, waiting in the approval queue
        profile = reclaiming_profile(integrator, app, max_reclaim_percent=10)
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert plan["status"] == "awaiting_approval"
        queue = integrator.get("/reclamations", params={"status": "awaiting_approval"}).json()["items"]
        assert plan["id"] in [w["id"] for w in queue]

        # When a non-admin tries, or an admin gives no reason, nothing changes
        assert integrator.post(f"/reclamations/{plan['id']}/reject", json={"reason": "no"}).status_code == 403
        blank = admin.post(f"/reclamations/{plan['id']}/reject", json={"reason": " "})
        assert blank.status_code == 422 and blank.json()["detail"][0]["loc"] == ["body", "reason"]
        assert admin.post(f"/reclamations/{plan['id']}/reject", json={}).status_code == 422
        # A plan awaiting approval is not in a grace period: it cannot be canceled
        assert admin.post(f"/reclamations/{plan['id']}/cancel", json={"reason": "x"}).status_code == 409

        # When the admin rejects it with a reason
        answer = admin.post(f"/reclamations/{plan['id']}/reject", json={"reason": "HR export was late"})

        # Then it is rejected, on the audit trail with who and why, and out of the approval queue
        assert answer.status_code == 200, answer.text
        rejected = integrator.get(f"/reclamations/{plan['id']}").json()
        assert rejected["status"] == "rejected" and rejected["finished_at"]
        assert [(e["action"], e["by"], e["detail"]) for e in rejected["audit"]][-1] == (
            "rejected",
            "boss",
            "HR export was late",
        )
        queue = integrator.get("/reclamations", params={"status": "awaiting_approval"}).json()["items"]
        assert plan["id"] not in [w["id"] for w in queue]
        listed = integrator.get(f"/profiles/{profile['id']}/reclamations").json()["items"]
        assert [(r["id"], r["status"]) for r in listed] == [(plan["id"], "rejected")]
        # And it can be neither approved nor rejected again; no execution ever started; nothing was sent
        assert admin.post(f"/reclamations/{plan['id']}/approve").status_code == 409
        assert admin.post(f"/reclamations/{plan['id']}/reject", json={"reason": "again"}).status_code == 409
        time.sleep(1)
        assert execution_status(plan["id"]) is None
        assert app.reclaim_requests == []
    heard = [e for e in listener() if e["detail"].get("reclamation_id") == plan["id"]]
    said = next(e["detail"] for e in heard if e["detail-type"] == "Reclamation Rejected")
    assert (said["rejected_by"], said["reason"], said["profile_id"]) == ("boss", "HR export was late", profile["id"])


def test_an_admin_cancels_in_the_grace_period_the_execution_ends_and_nothing_is_reclaimed(api, listener):  # noqa: F811
    integrator, admin = api("sam_integrator"), api("admin", subject="boss")
    with paging_app(40) as app:
        # Given a real reclamation waiting out a grace period of an hour in the state machine's Wait state
        profile = reclaiming_profile(integrator, app, grace_period="PT1H")
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        shown = in_grace_period(admin, plan["id"])
        links = [c["keep_url"] for c in shown["candidates"]]
        assert len(links) >= 3 and execution_status(plan["id"]) == "RUNNING"
        # One user releases their seat before the cancel: taken back at once, by their own choice
        leaver = shown["candidates"][0]["id"]
        assert requests.post(links[0], json={"decision": "release"}, timeout=10).json() == {"status": "released"}
        assert requests.get(links[1], timeout=10).status_code == 200

        # When an admin cancels it (a non-admin cannot, nor without a reason)
        assert integrator.post(f"/reclamations/{plan['id']}/cancel", json={"reason": "no"}).status_code == 403
        assert admin.post(f"/reclamations/{plan['id']}/cancel", json={"reason": ""}).status_code == 422
        answer = admin.post(f"/reclamations/{plan['id']}/cancel", json={"reason": "wrong team"})

        # Then the record says canceled, with who and why, and the released seat as the only one taken back
        assert answer.status_code == 200, answer.text
        canceled = integrator.get(f"/reclamations/{plan['id']}").json()
        assert canceled["status"] == "canceled" and canceled["finished_at"]
        assert (canceled["audit"][-1]["action"], canceled["audit"][-1]["by"], canceled["audit"][-1]["detail"]) == (
            "canceled",
            "boss",
            "wrong team",
        )
        assert [(o["user_id"], o["outcome"]) for o in canceled["outcomes"]] == [(leaver, "released_by_user")]
        assert canceled["reclaimed"] == 1
        # The execution ends now, not in an hour
        ended = wait_until(lambda: execution_status(plan["id"]), lambda s: s != "RUNNING", timeout=20)
        assert ended == "ABORTED"
        # The keep links are withdrawn: 410, on the page and for an answer
        assert requests.get(links[1], timeout=10).status_code == 410
        late = requests.post(links[2], json={"decision": "release"}, timeout=10)
        assert late.status_code == 410 and "no longer waiting" in late.json()["message"]
        # A second cancel, a reject or an approval is a 409
        assert admin.post(f"/reclamations/{plan['id']}/cancel", json={"reason": "again"}).status_code == 409
        assert admin.post(f"/reclamations/{plan['id']}/reject", json={"reason": "x"}).status_code == 409
        assert admin.post(f"/reclamations/{plan['id']}/approve").status_code == 409
        time.sleep(1)
        # Nothing but the user's own release ever reached the app; the record stays canceled after the stop
        assert [r["user_id"] for r in app.reclaim_requests] == [leaver]
        assert integrator.get(f"/reclamations/{plan['id']}").json()["status"] == "canceled"
    heard = [e for e in listener() if e["detail"].get("reclamation_id") == plan["id"]]
    said = next(e["detail"] for e in heard if e["detail-type"] == "Reclamation Canceled")
    assert (said["canceled_by"], said["reason"], said["released"]) == ("boss", "wrong team", [leaver])
    assert not [e for e in heard if e["detail-type"] == "Reclamation Finished"]


def test_reject_and_cancel_of_an_unknown_reclamation_are_404(api):
    admin = api("admin")
    for action in ("reject", "cancel"):
        answer = admin.post(f"/reclamations/rcl_00000000000000000000/{action}", json={"reason": "x"})
        assert answer.status_code == 404
