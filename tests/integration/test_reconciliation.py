"""Reconciliation through the local stack: reconcile-all on moto's engine, nested syncs, positions, overview."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import boto3

from seatkeeper_local.demo.client import wait_until
from seatkeeper_local.stack.schedules import LocalScheduler, Schedule
from tests.conftest import forget_every_profile
from tests.integration.connection_checks import make_profile, wait_for
from tests.paging_app import paging_app, profile_fields


def connected(client, app, kind="offset", **changes):
    fields = profile_fields(app, kind)
    fields["subscription"] = {"licenses_purchased": 1000, "cost_per_license": 10, "currency": "USD"}
    profile = make_profile(client, **{**fields, **changes})
    client.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
    assert wait_for(client, profile["id"], {"connected", "failed"})["status"] == "connected"
    return profile


def wait_for_reconciliation(client, reconciliation_id, timeout=120):
    return wait_until(
        lambda: client.get(f"/reconciliations/{reconciliation_id}").json(),
        lambda record: record["status"] != "running",
        timeout=timeout,
    )


def expected_figures(users, days=90):
    cutoff = datetime.now(UTC) - timedelta(days=days)
    assigned = [u for u in users if u["active"]]
    stale = [u for u in assigned if u["last_login"] is None or datetime.fromtimestamp(u["last_login"], UTC) < cutoff]
    return len(assigned), len(stale)


def test_reconciling_two_profiles_where_one_fails_reports_each(api):
    integrator = api("sam_integrator")
    with paging_app(730) as good, paging_app(300) as bad:
        first = connected(integrator, good)
        second = connected(integrator, bad, kind="cursor")
        bad.broken_page = 2
        answer = integrator.post("/reconciliations", json={"profile_ids": [first["id"], second["id"]]})
        assert answer.status_code == 202, answer.text
        record = wait_for_reconciliation(integrator, answer.json()["id"])

    assert record["status"] == "partially_failed", record["results"]
    results = {r["profile_id"]: r for r in record["results"]}
    assert results[first["id"]]["status"] == "succeeded"
    assert results[second["id"]]["status"] == "failed" and "500" in results[second["id"]]["error"]
    failed_run = integrator.get(f"/runs/{results[second['id']]['run_id']}").json()  # the run it names says so too
    assert failed_run["status"] == "failed" and "500" in failed_run["error"]

    assigned, stale = expected_figures(good.users)
    position = api("sam_viewer").get(f"/profiles/{first['id']}/position").json()
    assert (position["assigned"], position["stale"], position["licenses_purchased"]) == (assigned, stale, 1000)
    assert position["position"] == "over_licensed" and position["unused"] == 1000 - assigned
    assert position["potential_savings"] == {
        "amount": (1000 - (assigned - stale)) * 10.0,
        "currency": "USD",
        "period": "monthly",
    }
    assert results[first["id"]]["position"]["assigned"] == assigned
    assert api("sam_viewer").get(f"/profiles/{second['id']}/position").status_code == 404


def test_positions_keep_their_history_and_the_overview_adds_them_up(api):
    integrator = api("sam_integrator")
    with paging_app(200) as app:
        profile = connected(integrator, app)
        for _ in range(2):
            rec = integrator.post("/reconciliations", json={"profile_ids": [profile["id"]]}).json()
            assert wait_for_reconciliation(integrator, rec["id"])["status"] == "completed"
    history = api("sam_viewer").get(f"/profiles/{profile['id']}/positions").json()["items"]
    assert len(history) == 2 and history[0]["reconciled_at"] >= history[1]["reconciled_at"]
    overview = api("sam_viewer").get("/analytics/overview").json()
    assert overview["applications"] >= 1 and overview["reconciled_applications"] >= 1
    assert overview["licenses_purchased"] >= 1000
    assert any(t["profile_id"] == profile["id"] for t in overview["top_savings"]) or len(overview["top_savings"]) == 5
    assert {a["currency"] for a in overview["potential_savings"]} >= {"USD"}
    # The trend's point for today is every profile's latest position, as the overview adds them up now.
    today = overview["trend"][-1]
    assert today["date"] == datetime.now(UTC).date().isoformat()
    assert (today["stale"], today["unused"]) == (overview["stale"], overview["reclaimable"])


def test_bad_reconciliation_requests(api):
    integrator = api("sam_integrator")
    answer = integrator.post("/reconciliations", json={"profile_ids": ["prf_00000000000000000000"]})
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "profile_ids", 0]
    assert integrator.post("/reconciliations", json={"profiles": []}).status_code == 422
    assert api("sam_viewer").post("/reconciliations", json={}).status_code == 403
    assert integrator.get("/reconciliations/rec_00000000000000000000").status_code == 404


def test_a_reconciliation_stored_before_records_were_gzipped_is_still_read(api, stack):
    # Given a reconciliation record as stored before its document was gzipped (a deployed stack's),
    record = {
        "id": "rec_0000000000000000001d",
        "status": "completed",
        "profile_ids": None,
        "requested_by": "schedule",
        "started_at": "2026-11-01T03:00:00+00:00",
        "finished_at": "2026-11-01T03:05:00+00:00",
        "results": [],
    }
    boto3.client("dynamodb").put_item(
        TableName=stack.template.physical_name("Table"),
        Item={
            "pk": {"S": f"RECONCILIATION#{record['id']}"},
            "sk": {"S": "RECONCILIATION"},
            "status": {"S": "completed"},
            "document": {"S": json.dumps(record)},
        },
    )
    # when it is asked for, then it reads as it was written.
    answer = api("sam_viewer").get(f"/reconciliations/{record['id']}")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["finished_at"]) == ("completed", "2026-11-01T03:05:00+00:00")


def test_the_schedule_fires_reconcile_all_on_the_local_stack(api, stack):
    # Given one connected profile and no other: reconcile-all syncs every profile there is
    forget_every_profile(stack)
    integrator = api("sam_integrator")
    with paging_app(120) as app:
        profile = connected(integrator, app)
        schedule = next(s for s in stack.scheduler.schedules if "ReconcileAll" in s.target_arn)
        kept = boto3.client("scheduler").get_schedule(Name=schedule.name)
        assert kept["ScheduleExpression"] == "cron(0 3 * * ? *)"
        # The template's retry policy and dead-letter queue come along; the alarms and the queue are not emulated.
        assert kept["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600}
        assert kept["Target"]["DeadLetterConfig"]["Arn"].endswith(":seatkeeper-local-ReconcileScheduleDeadLetters")
        schedule.due = datetime.now(UTC) - timedelta(seconds=1)  # as if it were 03:00
        assert stack.scheduler.tick() == [schedule.name]
        sfn = boto3.client("stepfunctions")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            executions = sfn.list_executions(stateMachineArn=schedule.target_arn)["executions"]
            mine = [e for e in executions if e["name"].startswith(schedule.name)]
            if mine and mine[0]["status"] != "RUNNING":
                break
            time.sleep(0.2)
    assert mine[0]["status"] == "SUCCEEDED"
    assert api("sam_viewer").get(f"/profiles/{profile['id']}/position").status_code == 200


def test_a_schedule_that_cannot_start_its_target_leaves_a_dead_letter_on_the_local_stack(stack):
    # Given the reconcile schedule as the template declares it, but pointed at a state machine that is gone
    daily = next(s for s in stack.scheduler.schedules if "ReconcileAll" in s.target_arn)
    gone = Schedule(
        "gone",
        daily.target_arn.replace("ReconcileAllStateMachine", "RemovedStateMachine"),
        daily.expression,
        daily.timezone,
        '{"why": "dead-letter test"}',
        retry_attempts=daily.retry_attempts,
        dead_letter_arn=daily.dead_letter_arn,
    )
    scheduler = LocalScheduler([gone], start=stack.scheduler.start, dead_letter=stack.scheduler.dead_letter)
    # When it is due
    gone.due = datetime.now(UTC) - timedelta(seconds=1)
    scheduler.tick()
    # Then, after its retries, its input and the error wait in the template's dead-letter queue
    sqs = boto3.client("sqs")
    queue = sqs.get_queue_url(QueueName=stack.template.physical_name("ReconcileScheduleDeadLetters"))["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"], WaitTimeSeconds=1)["Messages"]
    assert message["Body"] == '{"why": "dead-letter test"}'
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "StateMachineDoesNotExist"
    assert message["MessageAttributes"]["RETRY_ATTEMPTS"]["StringValue"] == "10"
