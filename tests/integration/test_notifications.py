"""People are told, through the local stack: the notifier on seatkeeper's own events, e-mail through moto's SES.

SES v2 `SendEmail` as the SES API Reference (v2, 2019-09-27) describes it, served by moto; the state
machines run on moto's Step Functions engine; the SaaS app is the paging app of our own (tests/paging_app).
"""

from __future__ import annotations

import calendar
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import boto3
import requests

from seatkeeper.aws.clients import aws_client
from seatkeeper.aws.dynamodb.reclamations import DynamoDBReclamations
from seatkeeper_local.demo.client import wait_until
from seatkeeper_local.stack.outbox import sent_mail
from tests.integration.test_keep_requests import in_grace_period
from tests.integration.test_reclamation import expected_candidates, finished_reclamation, reclaiming_profile
from tests.integration.test_reconciliation import wait_for_reconciliation
from tests.integration.test_renewals import subscribed_profile
from tests.integration.test_saved_this_year import stored_saving
from tests.paging_app import paging_app


def mail_to(stack, address, subject_has="", at_least=1, timeout=20):
    deadline = time.monotonic() + timeout
    while len(found := [m for m in sent_mail(stack.aws_endpoint, to=address) if subject_has in m.subject]) < at_least:
        assert time.monotonic() < deadline, f"{at_least} mails to {address} ({subject_has!r}); got {len(found)}"
        time.sleep(0.2)
    return found


def test_each_stale_user_is_mailed_a_keep_prompt_with_their_own_link(api, stack):
    integrator, admin = api("sam_integrator"), api("admin")
    with paging_app(30) as app:
        # Given a reclamation with a grace period, whose candidates have e-mail addresses in the app
        profile = reclaiming_profile(integrator, app, grace_period="PT6S", keep_reminders=["P0D"])
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        # When it is announced
        shown = in_grace_period(admin, plan["id"])
        # Then each candidate gets one mail, from the configured sender, carrying their own keep link
        for candidate in shown["candidates"]:
            (mail,) = mail_to(stack, candidate["email"], profile["name"])
            assert mail.subject == f"Do you still need {profile['name']}?"
            assert mail.sender == stack.template.parameters["NotificationsFrom"]
            assert candidate["keep_url"] in mail.body
            others = [c["keep_url"] for c in shown["candidates"] if c["id"] != candidate["id"]]
            assert not any(url in mail.body for url in others)
        done = finished_reclamation(integrator, plan["id"])
    # And, reached, the silent ones are reclaimed when the grace period ends
    assert done["status"] == "completed", done
    assert {o["outcome"] for o in done["outcomes"]} == {"reclaimed"}


def deliveries(client, **filters):
    answer = client.get("/notifications", params={"limit": 100, **filters})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_a_reminder_goes_out_once_and_the_records_say_what_was_sent(api, stack):
    integrator, admin = api("sam_integrator"), api("admin")
    with paging_app(16) as app:
        # Given a grace period with a keep prompt at its start and a reminder 4 seconds before its end
        profile = reclaiming_profile(integrator, app, grace_period="PT9S", keep_reminders=["P0D", "-PT4S"])
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        shown = in_grace_period(admin, plan["id"])
        keeper, *silent = shown["candidates"]
        # When one candidate keeps the seat after the first prompt
        first = mail_to(stack, keeper["email"], profile["name"])
        assert requests.post(keeper["keep_url"], json={"decision": "keep"}, timeout=10).status_code == 200
        done = finished_reclamation(integrator, plan["id"])

    # Then the others got the prompt and one reminder, the keeper only the prompt
    for candidate in silent:
        mails = mail_to(stack, candidate["email"], profile["name"], at_least=2)
        assert sorted(m.subject for m in mails) == [
            f"Do you still need {profile['name']}?",
            f"Reminder: Do you still need {profile['name']}?",
        ]
    assert len(mail_to(stack, keeper["email"], profile["name"])) == len(first) == 1
    # And each delivery is recorded, with SES's message id
    mine = deliveries(admin, profile_id=profile["id"], kind="keep_prompt")
    assert len(mine) == 1 + 2 * len(silent)
    assert {(d["status"], d["channel"], d["attempts"]) for d in mine} == {("sent", "email", 1)}
    sent_ids = {m.id for c in shown["candidates"] for m in sent_mail(stack.aws_endpoint, to=c["email"])}
    assert {d["provider_message_id"] for d in mine} <= sent_ids
    assert deliveries(admin, profile_id=profile["id"], status="failed") == []
    # And the seats of those who were reached and did not answer are reclaimed
    outcomes = {o["user_id"]: o["outcome"] for o in done["outcomes"]}
    assert outcomes[keeper["id"]] == "kept_by_user"
    assert {outcomes[c["id"]] for c in silent} == {"reclaimed"}
    # Only admins read who was told what
    assert api("sam_integrator").get("/notifications").status_code == 403
    assert api("sam_viewer").get("/notifications").status_code == 403


def test_an_event_delivered_twice_sends_each_message_once(api, stack):
    admin = api("admin")
    with paging_app(16) as app:
        profile = reclaiming_profile(api("sam_integrator"), app, grace_period="PT8S", keep_reminders=["P0D"])
        plan = admin.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        shown = in_grace_period(admin, plan["id"])
        user = shown["candidates"][0]
        mail_to(stack, user["email"], profile["name"])
        # Given the announcement EventBridge delivered once, when it is delivered again
        event = {
            "id": "a-second-delivery",
            "detail-type": "Seat Will Be Reclaimed",
            "source": "seatkeeper",
            "detail": {
                "reclamation_id": plan["id"],
                "profile_id": profile["id"],
                "user_id": user["id"],
                "email": user["email"],
                "reclaim_at": shown["reclaim_at"],
                "keep_url": user["keep_url"],
            },
        }
        answer = stack.functions.invoke("NotifyFunction", event)
        # Then nothing is sent again, and the record stays as it was
        assert answer == {"sent": 0, "deliveries": 1}
        assert len([m for m in sent_mail(stack.aws_endpoint, to=user["email"]) if profile["name"] in m.subject]) == 1
        (record,) = [d for d in deliveries(admin, profile_id=profile["id"]) if d["recipient"] == user["email"]]
        assert (record["status"], record["attempts"]) == ("sent", 1)
        finished_reclamation(admin, plan["id"])


def test_a_user_with_no_address_is_skipped_saying_why_and_keeps_the_seat_until_an_admin_decides(api, stack):
    integrator, admin = api("sam_integrator"), api("admin")
    with paging_app(16) as app:
        # Given a stale user the app knows no e-mail address of
        nameless = expected_candidates(app.users)[0]
        for user in app.users:
            if user["id"] == nameless:
                user["email"] = None
        profile = reclaiming_profile(integrator, app, grace_period="PT6S", keep_reminders=["P0D"])
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert nameless in {c["id"] for c in plan["candidates"]}
        # When the grace period passes
        done = finished_reclamation(integrator, plan["id"])

    # Then the prompt to them is recorded as skipped, with the reason
    skipped = deliveries(admin, profile_id=profile["id"], status="skipped")
    assert [(d["kind"], d["recipient"]) for d in skipped] == [("keep_prompt", None)]
    assert "no e-mail address" in skipped[0]["reason"]
    # And their seat is not reclaimed: the reclamation says the user was not reached
    outcomes = {o["user_id"]: o for o in done["outcomes"]}
    assert outcomes[nameless]["outcome"] == "canceled_user_not_reached"
    assert ("user not reached", nameless) in {(e["action"], e.get("user_id")) for e in done["audit"]}
    assert nameless not in {r["user_id"] for r in app.reclaim_requests}
    # While everyone the prompt reached is reclaimed, and the reclamation completes
    assert done["status"] == "completed"
    assert {o["outcome"] for u, o in outcomes.items() if u != nameless} == {"reclaimed"}


def test_an_ses_outage_ends_in_retries_then_the_dead_letter_queue_and_the_seat_waits_for_an_admin(
    api, stack, monkeypatch
):
    integrator = api("sam_integrator")
    sqs = boto3.client("sqs")
    queue = sqs.get_queue_url(QueueName=stack.template.physical_name("NotifyDeadLetters"))["QueueUrl"]
    with paging_app(16) as app:
        profile = reclaiming_profile(integrator, app, grace_period="PT12S", keep_reminders=["P0D"])
        # Given SES unreachable (nothing listens where the notifier's SES client is sent)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", "http://127.0.0.1:9")
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        aws_client.cache_clear()
        try:
            plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
            # When the notifier has tried every time Lambda gives it, for each candidate
            mine: list[dict] = []

            def dead_letters() -> list[dict]:
                for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
                    record = json.loads(m["Body"])
                    if record["requestPayload"]["detail"].get("reclamation_id") == plan["id"]:
                        mine.append(record)
                return mine

            wait_until(dead_letters, lambda found: len(found) >= len(plan["candidates"]), timeout=120)
            done = finished_reclamation(integrator, plan["id"])
        finally:
            monkeypatch.undo()
            aws_client.cache_clear()

    # Then the events wait in the dead-letter queue, saying why, after three tries
    assert len(mine) == len(plan["candidates"])
    assert mine[0]["requestContext"]["condition"] == "RetriesExhausted"
    assert mine[0]["requestContext"]["approximateInvokeCount"] == 3
    assert mine[0]["responsePayload"]["errorType"] == "DeliveryIncomplete"
    # And each delivery is recorded as failed after three tries, none sent
    records = deliveries(api("admin"), profile_id=profile["id"], kind="keep_prompt")
    assert records and {(d["status"], d["attempts"]) for d in records} == {("failed", 3)}
    assert all(d["reason"].startswith("unavailable") for d in records)
    # And the reclamation did not fail: nobody was reached, so nothing was reclaimed without an admin
    assert done["status"] == "completed", done
    assert {o["outcome"] for o in done["outcomes"]} == {"canceled_user_not_reached"}
    assert app.reclaim_requests == []


def test_the_approver_is_asked_and_the_owner_and_finance_are_reminded_once_per_reminder_day(api, stack):
    integrator, admin = api("sam_integrator"), api("admin")
    tag = uuid.uuid4().hex[:8]
    owner, finance, approver = (f"{who}-{tag}@acme.example" for who in ("owner", "finance", "approver"))
    with paging_app(40) as app:
        # Given a subscription whose opt-out deadline is in 20 days, with few free licenses, an owner,
        # a finance contact and an approver
        profile = subscribed_profile(integrator, app, renews_in=50, notice_days=30, low_seat_threshold=10)
        people: dict = {"subscription": {"owner": owner}}
        people["notifications"] = {"approvers": [approver], "finance_contact": finance}
        patched = integrator.patch(f"/profiles/{profile['id']}", json=people)
        assert patched.status_code == 200, patched.text
        # When the reconciliation runs twice
        for _ in range(2):
            run = integrator.post("/reconciliations", json={"profile_ids": [profile["id"]]}).json()
            assert wait_for_reconciliation(integrator, run["id"])["status"] == "completed"
        # And a reclamation over the approval cap is planned
        reclaimer = reclaiming_profile(integrator, app, max_reclaim_percent=1)
        patched = integrator.patch(f"/profiles/{reclaimer['id']}", json={"notifications": {"approvers": [approver]}})
        assert patched.status_code == 200, patched.text
        plan = integrator.post(f"/profiles/{reclaimer['id']}/reclamations", json={"dry_run": False}).json()
        assert plan["status"] == "awaiting_approval"

        # Then the owner and the finance contact get one renewal reminder, for the 30-day reminder
        for person in (owner, finance):
            (reminder,) = mail_to(stack, person, "renews on")
            assert reminder.subject.startswith(f"{profile['name']} renews on")
            assert "in 20 days" in reminder.text
        # And the owner one low-seat alert, not one per reconciliation
        (low,) = mail_to(stack, owner, "licenses left")
        assert low.subject.startswith(f"{profile['name']}: ")
        # And the approver is asked to approve the reclamation
        (asked,) = mail_to(stack, approver, "Approval needed")
        assert asked.subject == f"Approval needed: {reclaimer['name']}"
        assert stack.template.parameters["DashboardUrl"] in asked.body
    kinds = {(d["kind"], d["recipient"], d["status"]) for d in deliveries(admin, profile_id=profile["id"])}
    assert kinds == {
        ("renewal_reminder", owner, "sent"),
        ("renewal_reminder", finance, "sent"),
        ("low_seats", owner, "sent"),
    }
    time.sleep(1)  # a late second delivery would show by now
    assert len(mail_to(stack, owner, "renews on")) == 1


def test_a_keep_request_that_waits_for_an_admin_asks_the_approver(api, stack):
    integrator, admin = api("sam_integrator"), api("admin")
    approver = f"approver-{uuid.uuid4().hex[:8]}@acme.example"
    with paging_app(16) as app:
        # Given keep requests that an admin decides, and an approver named in the profile
        profile = reclaiming_profile(
            integrator, app, grace_period="PT8S", keep_reminders=["P0D"], keep_requires_approval=True
        )
        patched = integrator.patch(f"/profiles/{profile['id']}", json={"notifications": {"approvers": [approver]}})
        assert patched.status_code == 200, patched.text
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        user = in_grace_period(admin, plan["id"])["candidates"][0]
        # When a user asks to keep the seat
        asked = requests.post(user["keep_url"], json={"decision": "keep", "reason": "<b>quarter-end</b>"}, timeout=10)
        assert asked.json() == {"status": "awaiting_approval"}
        # Then the approver is asked, once, and the user's words are not in the mail at all
        (mail,) = mail_to(stack, approver, "Approval needed")
        assert mail.subject == f"Approval needed: {profile['name']}"
        assert "a user asks to keep their license" in mail.text and "quarter-end" not in mail.body
        finished_reclamation(integrator, plan["id"])


def test_the_weekly_digest_tells_the_admins_what_waits_and_renews_once_a_week(api, stack):
    integrator = api("sam_integrator")
    admin_address = stack.template.parameters["NotificationAdmins"]
    with paging_app(40) as app:
        # Given a subscription to decide on in 20 days, and a reclamation waiting for an admin
        renewing = subscribed_profile(integrator, app, renews_in=50, notice_days=30)
        run = integrator.post("/reconciliations", json={"profile_ids": [renewing["id"]]}).json()
        assert wait_for_reconciliation(integrator, run["id"])["status"] == "completed"
        waiting = reclaiming_profile(integrator, app, max_reclaim_percent=1)
        plan = integrator.post(f"/profiles/{waiting['id']}/reclamations", json={"dry_run": False}).json()
        assert plan["status"] == "awaiting_approval"
        # And 3 seats ($30 a month) of the renewing app taken back an hour ago
        table = DynamoDBReclamations(stack.template.physical_name("Table"))
        finished = datetime.now(UTC) - timedelta(hours=1)
        saved = stored_saving(table, renewing["id"], finished, 3, 30)
        # When the weekly schedule fires (as if it were Monday 08:00), twice
        schedule = next(s for s in stack.scheduler.schedules if s.name == "NotifyFunction-WeeklyDigest")
        assert schedule.expression == "cron(0 8 ? * MON *)" and schedule.payload == '{"digest": "weekly"}'
        for _ in range(2):
            schedule.due = datetime.now(UTC) - timedelta(seconds=1)
            assert stack.scheduler.tick() == [schedule.name]
        # Then the admins get one digest that week, naming what waits for them and what renews
        (mail,) = mail_to(stack, admin_address, "this week")
        week = "{}-W{:02d}".format(*datetime.now(UTC).date().isocalendar()[:2])
        assert mail.subject == f"seatkeeper this week ({week})"
        assert f"{waiting['name']}: {len(plan['candidates'])} seats to approve" in mail.text
        assert f"{renewing['name']}: decide by" in mail.text
        # And what was reclaimed, saving from the app's next bill after the reclamation (billed on its renewal
        # date's day each month, the month's last when shorter): the seats are paid until then
        table.client.delete_item(TableName=table.table_name, Key=saved)
        day = date.fromisoformat(renewing["subscription"]["renewal_date"]).day
        month = finished.date().replace(day=1)
        bills = [
            m.replace(day=min(day, calendar.monthrange(m.year, m.month)[1]))
            for m in (month, (month + timedelta(days=32)).replace(day=1))
        ]
        starts = next(b for b in bills if b > finished.date())
        assert f"{renewing['name']}: 3 seats, saving 30.00 USD a month from {starts.isoformat()}" in mail.text
        time.sleep(2)
        assert len(mail_to(stack, admin_address, "this week")) == 1


def test_a_profile_that_asks_for_slack_gets_its_keep_prompts_as_dms_with_keep_and_release_buttons(api, stack):
    # Slack's side is the workspace of tests/slack_api.py, built from slackapi/slack-api-specs'
    # web-api/slack_web_openapi_v2.json (users.lookupByEmail, chat.postMessage).
    from seatkeeper.aws.channels import forget_secrets
    from seatkeeper.aws.vault import SecretsManagerVault
    from tests.slack_api import slack_workspace

    integrator, admin = api("sam_integrator"), api("admin")
    vault = SecretsManagerVault()
    with paging_app(16) as app, slack_workspace() as slack:
        # Given the stack's Slack secret set up, a workspace that knows the app's users, and a profile whose
        # prompts go to Slack only
        secret = f"seatkeeper/slack-{uuid.uuid4().hex[:8]}"
        vault.create(secret, {"bot_token": slack.bot_token, "signing_secret": "s" * 32})
        for i in range(16):
            slack.add_user(f"user{i}@example.com")
        profile = reclaiming_profile(integrator, app, grace_period="PT8S", keep_reminders=["P0D"])
        answer = integrator.patch(f"/profiles/{profile['id']}", json={"notifications": {"channels": ["slack"]}})
        assert answer.status_code == 200, answer.text
        with _environment(SLACK_SECRET=secret, SLACK_API_URL=slack.url):
            forget_secrets()
            try:
                # When a reclamation with a grace period announces its candidates
                plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
                shown = in_grace_period(admin, plan["id"])
                wait_until(lambda: len(slack.posted), lambda n: n >= len(shown["candidates"]), timeout=30)
            finally:
                forget_secrets()
                vault.delete(secret)
        finished_reclamation(admin, plan["id"])

    # Then each candidate got one DM whose buttons carry their own keep token, and no e-mail
    tokens = {c["keep_url"].rsplit("/", 1)[1] for c in shown["candidates"]}
    buttons = [
        (element["action_id"], element["value"])
        for post in slack.posted
        for block in post["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert len(slack.posted) == len(shown["candidates"])
    assert {value for _, value in buttons} == tokens
    assert sorted({action for action, _ in buttons}) == ["keep", "release"]
    assert not [m for m in sent_mail(stack.aws_endpoint) if profile["name"] in m.subject]
    # And each delivery is recorded as sent through Slack
    records = deliveries(admin, profile_id=profile["id"], kind="keep_prompt")
    assert {(d["channel"], d["status"]) for d in records} == {("slack", "sent")}
    assert len(records) == len(shown["candidates"])


class _environment:
    """Variables set for the functions the stack runs in this process, and put back after."""

    def __init__(self, **variables: str) -> None:
        self.variables, self.before = variables, {}

    def __enter__(self) -> None:
        import os

        for name, value in self.variables.items():
            self.before[name] = os.environ.get(name)
            os.environ[name] = value

    def __exit__(self, *_: object) -> None:
        import os

        for name, value in self.before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
