"""Keep links through the local stack: people answer "Do you still need it?" during a grace period of seconds,
and the SaaS app of our own records which reclaim requests it receives."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time

import requests

from tests.integration.connection_checks import table_text
from tests.integration.test_announcements import listener  # noqa: F401 - a fixture
from tests.integration.test_reclamation import finished_reclamation, reclaiming_profile
from tests.paging_app import paging_app


def in_grace_period(client, reclamation_id, timeout=20):
    deadline = time.monotonic() + timeout
    while (record := client.get(f"/reclamations/{reclamation_id}").json())["status"] != "in_grace_period":
        assert time.monotonic() < deadline, record
        time.sleep(0.1)
    return record


def test_people_keep_or_release_their_seat_and_the_rest_is_reclaimed_when_the_grace_period_ends(api, stack, listener):  # noqa: F811
    integrator, admin = api("sam_integrator"), api("admin")
    with paging_app(40) as app:
        # Given a real reclamation with a grace period of a few seconds
        profile = reclaiming_profile(integrator, app, grace_period="PT8S", keep_days=30)
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert len(plan["candidates"]) >= 3
        keeper, leaver, silent = (c["id"] for c in plan["candidates"][:3])

        # When it is announced, only admins see each candidate's link
        shown = in_grace_period(admin, plan["id"])
        links = {c["id"]: c["keep_url"] for c in shown["candidates"]}
        assert all(url and "/keep/" in url for url in links.values())
        assert all(c["keep_url"] is None for c in in_grace_period(integrator, plan["id"])["candidates"])
        assert all(c["keep_url"] is None for c in in_grace_period(api("sam_viewer"), plan["id"])["candidates"])
        # The table holds only each token's hash: 256 bits, never the token itself
        tokens = [url.rsplit("/", 1)[1] for url in links.values()]
        assert all(len(base64.urlsafe_b64decode(t + "=")) == 32 for t in tokens)
        table = table_text(stack)
        assert not any(t in table for t in tokens)
        assert all(hashlib.sha256(t.encode()).hexdigest() in table for t in tokens)

        # The page shows the app, the user and the date, under a strict content security policy
        page = requests.get(links[keeper], timeout=10)
        assert page.status_code == 200 and profile["name"] in page.text and "Keep my license" in page.text
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in page.headers["Content-Security-Policy"].split("script-src")[1]
        assert page.headers["Cache-Control"] == "no-store"

        # A cross-site form (no CORS preflight for text/plain, urlencoded or multipart) decides nothing: 415,
        # and neither do a scanner's GET and HEAD; the link still works for its person afterwards
        forms = [
            {"data": '{"decision": "release"}', "headers": {"Content-Type": "text/plain"}},
            {"data": {"decision": "release"}},  # application/x-www-form-urlencoded
            {"files": {"decision": (None, "release")}},  # multipart/form-data
            {"data": '{"decision": "release"}', "headers": {"Content-Type": "application/json-patch+json"}},
        ]
        for form in forms:
            refused = requests.post(links[keeper], timeout=10, **form)
            assert refused.status_code == 415, (form, refused.status_code, refused.text)
            assert "application/json" in refused.json()["message"]
        requests.head(links[keeper], timeout=10)  # no HEAD route: the gateway answers it without a function
        assert requests.get(links[keeper], timeout=10).status_code == 200
        assert app.reclaim_requests == []

        # One keeps the seat, one releases it: the release is sent to the app at once
        kept = requests.post(links[keeper], json={"decision": "keep", "reason": "month-end close"}, timeout=10)
        assert (kept.status_code, kept.json()) == (200, {"status": "kept"})
        released = requests.post(links[leaver], json={"decision": "release"}, timeout=10)
        assert (released.status_code, released.json()) == (200, {"status": "released"})
        assert [r["user_id"] for r in app.reclaim_requests] == [leaver]

        # A link works once; a forged one is a 404 that says nothing about tokens
        again = requests.post(links[keeper], json={"decision": "release"}, timeout=10)
        assert again.status_code == 410 and "used already" in again.json()["message"]
        assert requests.get(links[keeper], timeout=10).status_code == 410
        base = links[keeper].rsplit("/", 1)[0]
        token = links[keeper].rsplit("/", 1)[1]
        one_off = token[:-1] + ("B" if token.endswith("A") else "A")  # never the token itself
        forged = [secrets.token_urlsafe(32), "x", "a" * 300, one_off]
        answers = [requests.post(f"{base}/{t}", json={"decision": "keep"}, timeout=10) for t in forged]
        assert {(a.status_code, a.json()["message"]) for a in answers} == {(404, "this link is not valid")}
        assert requests.get(f"{base}/{forged[0]}", timeout=10).status_code == 404

        # Then, when the grace period ends, only those who did not answer are reclaimed
        done = finished_reclamation(integrator, plan["id"])
        late = requests.post(links[silent], json={"decision": "keep"}, timeout=10)

    outcomes = {o["user_id"]: o["outcome"] for o in done["outcomes"]}
    assert done["status"] == "completed", done
    assert outcomes[keeper] == "kept_by_user" and outcomes[leaver] == "released_by_user"
    assert outcomes[silent] == "reclaimed"
    sent = [r["user_id"] for r in app.reclaim_requests]
    assert sorted(sent) == sorted(c["id"] for c in plan["candidates"] if c["id"] != keeper)
    assert len(sent) == len(set(sent))  # the released seat was not sent again at the end
    assert late.status_code == 410
    assert done["reclaimed"] == len(sent)

    # Every decision is in the audit trail and on EventBridge
    said = {(e["action"], e.get("user_id")) for e in done["audit"]}
    assert {("kept", keeper), ("released", leaver)} <= said
    assert next(e for e in done["audit"] if e["action"] == "kept")["detail"] == "month-end close"
    heard = [e for e in listener() if e["detail"].get("reclamation_id") == plan["id"]]
    notices = [e["detail"] for e in heard if e["detail-type"] == "Seat Will Be Reclaimed"]
    assert {n["user_id"]: n["keep_url"] for n in notices} == links
    seat_kept = next(e["detail"] for e in heard if e["detail-type"] == "Seat Kept")
    assert (seat_kept["user_id"], seat_kept["reason"], seat_kept["profile_id"]) == (
        keeper,
        "month-end close",
        profile["id"],
    )
    assert next(e["detail"] for e in heard if e["detail-type"] == "Seat Released")["user_id"] == leaver

    # A kept seat is protected from the next plans
    answer = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"user_ids": [keeper]})
    assert answer.status_code == 422 and "kept by the user until" in answer.json()["detail"][0]["msg"]


def test_with_approval_an_admin_decides_each_keep_request(api, listener):  # noqa: F811
    integrator, admin = api("sam_integrator"), api("admin", subject="boss")
    with paging_app(40) as app:
        # Given a policy that wants an admin to confirm each keep request
        profile = reclaiming_profile(integrator, app, grace_period="PT8S", keep_requires_approval=True)
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        approved_one, denied_one, undecided = (c["id"] for c in plan["candidates"][:3])
        links = {c["id"]: c["keep_url"] for c in in_grace_period(admin, plan["id"])["candidates"]}

        # When three people ask to keep their seat
        for user_id in (approved_one, denied_one, undecided):
            answer = requests.post(links[user_id], json={"decision": "keep", "reason": "still needed"}, timeout=10)
            assert answer.json() == {"status": "awaiting_approval"}
        view = integrator.get(f"/reclamations/{plan['id']}").json()
        assert {d["user_id"]: d["status"] for d in view["decisions"]} == dict.fromkeys(
            (approved_one, denied_one, undecided), "awaiting_approval"
        )

        # Then only an admin decides, once per request
        decisions = f"/reclamations/{plan['id']}/decisions"
        assert integrator.post(decisions, json={"user_id": approved_one, "decision": "keep"}).status_code == 403
        kept = admin.post(decisions, json={"user_id": approved_one, "decision": "keep"})
        assert kept.status_code == 200, kept.text
        assert {d["user_id"]: d["status"] for d in kept.json()["decisions"]}[approved_one] == "kept_by_admin"
        assert admin.post(decisions, json={"user_id": approved_one, "decision": "reclaim"}).status_code == 409
        assert admin.post(decisions, json={"user_id": denied_one, "decision": "reclaim"}).status_code == 200
        nobody = plan["candidates"][3]["id"]
        assert admin.post(decisions, json={"user_id": nobody, "decision": "keep"}).status_code == 409
        assert admin.post(decisions, json={"user_id": nobody, "decision": "maybe"}).status_code == 422
        done = finished_reclamation(integrator, plan["id"])

    outcomes = {o["user_id"]: o["outcome"] for o in done["outcomes"]}
    assert outcomes[approved_one] == "kept_by_admin"
    assert outcomes[denied_one] == "reclaimed"
    # Nobody takes a seat its user asked to keep before an admin said no
    assert outcomes[undecided] == "canceled_keep_request_undecided"
    sent = {r["user_id"] for r in app.reclaim_requests}
    assert denied_one in sent and approved_one not in sent and undecided not in sent
    actions = [(e["action"], e.get("user_id"), e.get("by")) for e in done["audit"]]
    assert ("keep requested", approved_one, None) in actions and ("keep approved", approved_one, "boss") in actions
    assert ("keep denied", denied_one, "boss") in actions
    kinds = {(e["detail-type"], e["detail"]["user_id"]) for e in listener() if e["detail"].get("user_id")}
    assert {("Seat Keep Requested", undecided), ("Seat Kept", approved_one), ("Seat Keep Denied", denied_one)} <= kinds
    assert (
        admin.post(f"/reclamations/{plan['id']}/decisions", json={"user_id": undecided, "decision": "keep"}).status_code
        == 409
    )
