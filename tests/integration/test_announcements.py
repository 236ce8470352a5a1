"""Every connection, sync, position change and reconciliation is put on EventBridge (source: seatkeeper).

The test listens as an organisation would: a rule on the default bus, an SQS queue as its target.
"""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest

from seatkeeper.notify.events import DETAIL_TYPES
from tests.integration.connection_checks import make_profile, wait_for
from tests.integration.test_reconciliation import wait_for_reconciliation
from tests.integration.test_sync import wait_for_run
from tests.paging_app import paging_app, profile_fields


@pytest.fixture
def listener(stack):
    sqs, events = boto3.client("sqs"), boto3.client("events")
    name = f"seatkeeper-listener-{uuid.uuid4().hex[:8]}"
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["seatkeeper"]}))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])

    def heard() -> list[dict]:
        found, deadline = [], time.monotonic() + 5
        while time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
                "Messages", []
            )
            if not messages and found:
                break
            found += [json.loads(m["Body"]) for m in messages]
            if not messages:
                time.sleep(0.2)
        return found

    yield heard
    events.remove_targets(Rule=name, Ids=["queue"])
    events.delete_rule(Name=name)


def test_the_story_is_announced_step_by_step(api, listener):
    integrator = api("sam_integrator")
    with paging_app(150) as app:
        fields = profile_fields(app, "offset")
        fields["subscription"] = {"licenses_purchased": 100, "cost_per_license": 4}
        profile = make_profile(integrator, **fields)
        integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
        wait_for(integrator, profile["id"], {"connected"})
        run = integrator.post(f"/profiles/{profile['id']}/sync").json()
        assert wait_for_run(integrator, run["run_id"])["status"] == "succeeded"
        app.broken_page = 1
        failed = integrator.post(f"/profiles/{profile['id']}/sync").json()
        assert wait_for_run(integrator, failed["run_id"])["status"] == "failed"
        app.broken_page = None
        rec = integrator.post("/reconciliations", json={"profile_ids": [profile["id"]]}).json()
        assert wait_for_reconciliation(integrator, rec["id"])["status"] == "completed"
        assert integrator.delete(f"/profiles/{profile['id']}/connection").status_code == 204
    other = make_profile(integrator, base_url="http://127.0.0.1:9/scim/v2")
    integrator.post(f"/profiles/{other['id']}/connection", json={"token": "t"})
    wait_for(integrator, other["id"], {"failed"}, timeout=60)

    heard = listener()
    mine = [
        e
        for e in heard
        if e["detail"].get("profile_id") in (profile["id"], other["id"])
        or profile["id"] in e["detail"].get("profiles", {})
    ]
    assert {e["source"] for e in heard} == {"seatkeeper"}
    kinds = {e["detail-type"] for e in mine}
    # Reclamations and their seat notices: test_reclamation_is_announced and test_keep_requests;
    # renewal reminders and low seats: test_renewals; a template's sunset: test_template_lifecycle;
    # a refused OAuth grant (Connection Needs Reconnect): test_grant_refused.
    told_elsewhere = ("Reclamation", "Seat", "Renewal", "Licenses", "Template", "Connection Needs Reconnect")
    story = {t for t in DETAIL_TYPES if not t.startswith(told_elsewhere)}
    assert kinds == story, sorted(story - kinds)
    changed = next(e for e in mine if e["detail-type"] == "License Position Changed")["detail"]
    assert changed["previous"] is None and changed["current"]["assigned"] > 0
    succeeded = next(e for e in mine if e["detail-type"] == "Sync Succeeded")["detail"]
    assert succeeded["users"] == 150 and succeeded["run_id"] == run["run_id"]


def test_reclamation_is_announced(api, listener):
    from tests.integration.test_reclamation import reclaiming_profile, wait_for_reclamation

    integrator = api("sam_integrator")
    with paging_app(60) as app:
        profile = reclaiming_profile(integrator, app, max_reclaim_count=1)
        waiting = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        integrator.post(f"/profiles/{profile['id']}/reclamations", json={})
        api("admin").post(f"/reclamations/{waiting['id']}/approve")
        assert wait_for_reclamation(integrator, waiting["id"])["status"] == "completed"
    kinds = {e["detail-type"] for e in listener() if e["detail"].get("profile_id") == profile["id"]}
    assert {
        "Reclamation Planned",
        "Reclamation Awaiting Approval",
        "Reclamation Approved",
        "Reclamation Finished",
    } <= kinds


def test_a_sync_against_a_quota_reports_its_pace_and_announces_what_it_cost(api, listener):
    # Given an app that allows 15 requests a second in Okta's fixed windows and says so on every
    # answer (X-Rate-Limit-*, developer.okta.com/docs/reference/rl-best-practices), 40 pages of users
    integrator = api("sam_integrator")
    with paging_app(800, rate_limit=15, rate_window=1.0, fixed_windows=True, quota_style="okta") as app:
        fields = profile_fields(app, "offset", page_size=20)
        fields["subscription"] = {"licenses_purchased": 800}
        profile = make_profile(integrator, **fields)
        integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
        wait_for(integrator, profile["id"], {"connected"})
        # When it is synced through the local stack, and its run is read while it runs
        before = app.requests  # the connection's test read the first page already
        run = integrator.post(f"/profiles/{profile['id']}/sync").json()
        seen_running = []

        def read() -> dict:
            current = integrator.get(f"/runs/{run['run_id']}").json()
            if current["status"] == "running" and current.get("requests"):
                seen_running.append(current)
            return current

        from seatkeeper_local.demo.client import wait_until

        done = wait_until(read, lambda r: r["status"] != "running", timeout=120, pause=0.1)
    # Then the running sync said how far it was and at what pace, none was refused after the
    # first answer, and Sync Succeeded carries the requests made, refused, and the wait for quota
    assert done["status"] == "succeeded", done
    assert seen_running, "the run never reported its requests while running"
    assert 0 < seen_running[-1]["pages"] <= 40 and seen_running[-1]["users_fetched"] > 0
    assert done["requests"] == app.requests - before == 40, (done, app.requests, before)
    assert done["refused"] == app.rate_limited <= 2, done
    # (40 requests span three windows of 15, the first one partly: when the sync starts just before a
    # reset, 15 + 15 + 10 go in a little over one second, so the pace is at most about 40 a second, and
    # far from the hundreds a second of four pages in flight held back by nothing)
    assert done["quota_wait_seconds"] > 0.5 and 5 < done["pace_per_second"] < 45, done
    succeeded = next(
        e["detail"]
        for e in listener()
        if e["detail-type"] == "Sync Succeeded" and e["detail"].get("run_id") == run["run_id"]
    )
    assert (succeeded["requests"], succeeded["refused"]) == (done["requests"], done["refused"])
    assert succeeded["quota_wait_seconds"] == done["quota_wait_seconds"]
