"""People are told, through the local stack: the notifier on seatkeeper's own events, e-mail through moto's SES.

SES v2 `SendEmail` as the SES API Reference (v2, 2019-09-27) describes it, served by moto; the state
machines run on moto's Step Functions engine; the SaaS app is the paging app of our own (tests/paging_app).
"""

from __future__ import annotations

import time

from seatkeeper_local.stack.outbox import sent_mail
from tests.integration.test_keep_requests import in_grace_period
from tests.integration.test_reclamation import finished_reclamation, reclaiming_profile
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
