"""Keep and Release clicks in Slack through the local stack: POST /slack/interactions, signed as Slack signs.

The click's body is the `block_actions` payload of Slack's docs (docs.slack.dev/reference/interaction-payloads/
block_actions-payload), form-encoded as `payload=<JSON>`; its signature is Slack's ("Verifying requests from
Slack": `v0=` + HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{body}` under the signing secret). The Slack
Web API it calls back is the workspace of tests/slack_api.py, built from slackapi/slack-api-specs at bc08db49.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest
import requests

from seatkeeper.aws.channels import channel_for, forget_secrets
from seatkeeper.aws.vault import SecretsManagerVault
from seatkeeper.core.settings import ChannelSettings
from seatkeeper.notify.channels import Action, Message, Recipient
from seatkeeper.saas.network_guard import NetworkPolicy
from tests.integration.test_keep_requests import in_grace_period
from tests.integration.test_reclamation import finished_reclamation, reclaiming_profile
from tests.paging_app import paging_app
from tests.slack_api import slack_workspace

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the shape of Slack's example signing secret
SECRET_NAME = "seatkeeper/slack-tests"


def click_body(token: str, decision: str, *, channel: str, ts: str, user: str = "W012A3CDE") -> str:
    """A button click as Slack's block_actions payload documents it, form-encoded."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "ada", "name": "ada", "team_id": "T0SEATKEEP"},
        "api_app_id": "A02",
        "token": "Shh_its_a_seekrit",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": "12466734323.1395872398",
        "team": {"id": "T0SEATKEEP", "domain": "seatkeeper"},
        "channel": {"id": channel, "name": "directmessage"},
        "response_url": "https://hooks.slack.com/actions/T0SEATKEEP/123/abc",
        "actions": [
            {
                "action_id": decision,
                "block_id": "b1",
                "text": {"type": "plain_text", "text": decision.title(), "emoji": True},
                "value": token,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def signed(body: str, *, secret: str = SIGNING_SECRET, at: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if at is None else at)
    mac = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={mac}",
    }


@pytest.fixture
def slack(stack, api_environment):
    """A Slack workspace of our own, and the stack's Slack secret pointing at it."""
    vault = SecretsManagerVault()
    with slack_workspace() as workspace:
        vault.create(SECRET_NAME, {"bot_token": workspace.bot_token, "signing_secret": SIGNING_SECRET})
        api_environment(SLACK_SECRET=SECRET_NAME, SLACK_API_URL=workspace.url)
        forget_secrets()
        try:
            yield workspace
        finally:
            vault.delete(SECRET_NAME)
            forget_secrets()


def prompt(token: str) -> Message:
    return Message(
        kind="keep_prompt",
        subject="Do you still need it?",
        text="Do you still need it?",
        html="<p>Do you still need it?</p>",
        actions=(
            Action(label="Keep", url="https://x.example/keep", action_id="keep", value=token),
            Action(label="Release", url="https://x.example/keep", action_id="release", value=token),
        ),
    )


def test_a_signed_keep_click_keeps_the_seat_and_forged_or_stale_clicks_change_nothing(api, stack, slack):
    integrator, admin = api("sam_integrator"), api("admin")
    url = f"{stack.url}/slack/interactions"
    with paging_app(40) as app:
        # Given a reclamation in its grace period, and each candidate's keep prompt sent as a Slack DM
        profile = reclaiming_profile(integrator, app, grace_period="PT8S", keep_days=30)
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        shown = in_grace_period(admin, plan["id"])
        keeper, leaver, attacked = shown["candidates"][:3]
        tokens = {c["id"]: c["keep_url"].rsplit("/", 1)[1] for c in (keeper, leaver, attacked)}
        settings = ChannelSettings.from_environment()
        channel = channel_for("slack", settings, policy=NetworkPolicy.from_entries(["127.0.0.1"]))
        assert channel is not None
        dms = {}
        for candidate in (keeper, leaver, attacked):
            slack.add_user(candidate["email"])
            channel.send(prompt(tokens[candidate["id"]]), Recipient(email=candidate["email"]))
            dms[candidate["id"]] = (slack.posted[-1]["channel_id"], slack.posted[-1]["ts"])

        # When someone forges clicks on the third candidate's button
        attacked_dm, attacked_ts = dms[attacked["id"]]
        body = click_body(tokens[attacked["id"]], "release", channel=attacked_dm, ts=attacked_ts)
        six_minutes_ago = int(time.time()) - 360
        replayed = signed(click_body(tokens[keeper["id"]], "keep", channel="D0", ts="1.1"))
        missing_signature = {k: v for k, v in signed(body).items() if k != "X-Slack-Signature"}
        missing_timestamp = {k: v for k, v in signed(body).items() if k != "X-Slack-Request-Timestamp"}
        attacks = {
            "a bad signature": signed(body, secret="not-the-signing-secret"),
            "an old timestamp": signed(body, at=six_minutes_ago),
            "another body's signature": replayed,
            "no signature": missing_signature,
            "no timestamp": missing_timestamp,
            "a signature of the wrong form": {**signed(body), "X-Slack-Signature": "v1=" + "0" * 64},
        }
        refused = {
            what: requests.post(url, data=body, headers=headers, timeout=10) for what, headers in attacks.items()
        }
        # Then each is a 401 that changes nothing: the link is still unused, the message still has its buttons
        assert {what: answer.status_code for what, answer in refused.items()} == dict.fromkeys(attacks, 401)
        assert all("Slack" in answer.json()["message"] for answer in refused.values())
        assert requests.get(attacked["keep_url"], timeout=10).status_code == 200
        assert slack.updated == [] and app.reclaim_requests == []

        # When the first candidate clicks Keep, signed by Slack
        channel_id, ts = dms[keeper["id"]]
        keep_body = click_body(tokens[keeper["id"]], "keep", channel=channel_id, ts=ts)
        started = time.monotonic()
        kept = requests.post(url, data=keep_body, headers=signed(keep_body), timeout=10)
        took = time.monotonic() - started
        # Then Slack gets its 200 well within its 3 seconds, and the seat is kept as through the keep link
        assert kept.status_code == 200 and took < 3, (kept.status_code, kept.text, took)
        assert requests.get(keeper["keep_url"], timeout=10).status_code == 410  # the link is used
        # And the DM says until when, without its buttons
        message = slack.messages[(channel_id, ts)]
        assert message["text"].startswith("Kept until ") and [b["type"] for b in message["blocks"]] == ["section"]

        # When the same click comes again (Slack retries, or a second click), nothing is decided twice
        again = requests.post(url, data=keep_body, headers=signed(keep_body), timeout=10)
        assert again.status_code == 200
        assert "can no longer be used" in slack.messages[(channel_id, ts)]["text"]

        # When the second candidate clicks Release
        channel_id, ts = dms[leaver["id"]]
        release_body = click_body(tokens[leaver["id"]], "release", channel=channel_id, ts=ts)
        released = requests.post(url, data=release_body, headers=signed(release_body), timeout=10)
        assert released.status_code == 200
        assert slack.messages[(channel_id, ts)]["text"].startswith("Released")

        done = finished_reclamation(integrator, plan["id"])

    # Then the kept seat is kept, the released one went back with the end of the grace period, once, and
    # the attacked one was reclaimed like any seat whose user did not answer
    outcomes = {o["user_id"]: o["outcome"] for o in done["outcomes"]}
    assert outcomes[keeper["id"]] == "kept_by_user"
    assert outcomes[leaver["id"]] == "released_by_user"
    assert outcomes[attacked["id"]] == "reclaimed"
    sent = [r["user_id"] for r in app.reclaim_requests]
    assert keeper["id"] not in sent and sent.count(leaver["id"]) == 1
    assert next(e for e in done["audit"] if e.get("user_id") == keeper["id"])["detail"] == "answered in Slack"


def test_a_click_without_a_payload_of_buttons_is_a_422_once_signed(stack, slack):
    url = f"{stack.url}/slack/interactions"
    # Given signed bodies that are not a Keep or Release click
    bodies = {
        "no payload": "foo=bar",
        "not JSON": urlencode({"payload": "{not json"}),
        "a view submission": urlencode({"payload": json.dumps({"type": "view_submission", "actions": []})}),
        "another button": click_body("x" * 43, "review", channel="D0", ts="1.1"),
    }
    answers = {what: requests.post(url, data=body, headers=signed(body), timeout=10) for what, body in bodies.items()}
    # Then each is a clear 422 naming where in the body, never a 500
    assert {what: a.status_code for what, a in answers.items()} == dict.fromkeys(bodies, 422)
    assert all(a.json()["detail"][0]["loc"][:2] == ["body", "payload"] for a in answers.values())


def test_without_a_slack_secret_the_route_is_not_there(stack, api_environment):
    # Given no Slack secret under the configured name
    api_environment(SLACK_SECRET="seatkeeper/slack-none-here")
    forget_secrets()
    body = click_body("x" * 43, "keep", channel="D0", ts="1.1")
    # Then a click is a 404, whatever its signature
    answer = requests.post(f"{stack.url}/slack/interactions", data=body, headers=signed(body), timeout=10)
    assert answer.status_code == 404


def test_channel_for_gives_each_channel_whose_secret_exists_and_none_otherwise(stack):
    # Given a Teams secret and no Slack secret under their configured names
    vault = SecretsManagerVault()
    vault.create("seatkeeper/teams-tests", {"webhook_url": "https://example.logic.azure.com/workflows/x?sig=s"})
    settings = ChannelSettings.from_environment(
        {"SLACK_SECRET": "seatkeeper/slack-none-here", "TEAMS_SECRET": "seatkeeper/teams-tests"}
    )
    forget_secrets()
    try:
        policy = NetworkPolicy()
        # Then Teams is a channel, Slack is not set up, and e-mail is not one of these
        teams = channel_for("teams", settings, policy=policy)
        assert teams is not None and teams.name == "teams"
        assert channel_for("slack", settings, policy=policy) is None
        assert channel_for("email", settings, policy=policy) is None
    finally:
        vault.delete("seatkeeper/teams-tests")
        forget_secrets()


def test_a_base64_body_as_api_gateway_hands_a_form_over_is_verified_as_its_bytes(stack, slack, root):
    # Given the sample event, whose form body is base64-encoded as API Gateway passes a form body
    event = json.loads((root / "events" / "api_slack_interaction_forged.json").read_text())
    body = base64.b64decode(event["body"]).decode()

    # When it carries its sample's forged signature, it is a 401
    assert stack.functions.invoke("ApiFunction", event)["statusCode"] == 401

    # When it is signed now, over the decoded bytes, it passes the check and reaches the keep code
    event["headers"] = {**event["headers"], **{k.lower(): v for k, v in signed(body).items()}}
    answer = stack.functions.invoke("ApiFunction", event)
    assert answer["statusCode"] == 200
    assert slack.updated == []  # the sample names no message to update
