"""SlackChannel and TeamsChannel against HTTP servers of our own on 127.0.0.1.

The Slack workspace (tests/slack_api.py) follows slackapi/slack-api-specs web-api/slack_web_openapi_v2.json at
commit bc08db49625630e3585bf2f1322128ea04f2a7f3 (extract: tests/vendor_specs/slack/web_api.json), and every
answer it gives here is checked against the method's success or error schema there. The Teams card is checked
against microsoft/AdaptiveCards schemas/1.4.0/adaptive-card.json at 1b19a238 (extract:
tests/vendor_specs/teams/adaptive_card_1.4.json); the message around it follows Microsoft Learn, "Create and
send messages" (Workflows: an Adaptive Card attachment).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from seatkeeper.notify.channels import Action, ChannelUnavailable, Message, Recipient, RecipientUnreachable
from seatkeeper.saas.network_guard import NetworkPolicy
from seatkeeper.saas.slack import SlackChannel
from seatkeeper.saas.teams import TeamsChannel
from seatkeeper_local.fakes.serving import serving
from tests.slack_api import SlackWorkspace, slack_workspace

SPECS = Path(__file__).parents[1] / "vendor_specs"
SLACK = json.loads((SPECS / "slack" / "web_api.json").read_text())
CARD_SCHEMA = json.loads((SPECS / "teams" / "adaptive_card_1.4.json").read_text())
LOOPBACK = NetworkPolicy.from_entries(["127.0.0.1"])
TOKEN = "k" * 43  # a keep token's shape: 32 bytes, base64url


def keep_prompt(text: str = "Do you still need Figma? Last used 2026-09-01.") -> Message:
    return Message(
        kind="keep_prompt",
        subject="Do you still need Figma?",
        text=text,
        html=f"<p>{text}</p>",
        actions=(
            Action(label="Keep", url=f"https://sk.example.com/keep/{TOKEN}", action_id="keep", value=TOKEN),
            Action(label="Release", url=f"https://sk.example.com/keep/{TOKEN}", action_id="release", value=TOKEN),
        ),
    )


def conforms(workspace: SlackWorkspace) -> None:
    """Every answer the fake gave fits the spec: 200 with ok:true the success schema, else the error schema."""
    paths = {"users.lookupByEmail": "get", "chat.postMessage": "post", "chat.update": "post"}
    for method, status, _headers, body in workspace.answers:
        if status == 503:
            continue  # a plain-text outage page: no schema describes it, as no Slack answer would
        responses = SLACK["paths"][f"/{method}"][paths[method]]["responses"]
        schema = responses["200" if body.get("ok") else "default"]["schema"]
        jsonschema.Draft4Validator({**schema, "definitions": SLACK["definitions"]}).validate(body)


@pytest.fixture
def workspace() -> Iterator[SlackWorkspace]:
    with slack_workspace() as running:
        running.add_user("ada@example.com")
        yield running


def channel(workspace: SlackWorkspace, token: str | None = None) -> SlackChannel:
    return SlackChannel(lambda: token or workspace.bot_token, policy=LOOPBACK, api_url=workspace.url)


def test_a_keep_prompt_is_a_dm_with_keep_and_release_buttons_carrying_the_keep_token(workspace):
    # Given a workspace where ada@example.com has a Slack account
    ada = workspace.users["ada@example.com"]

    # When the keep prompt is sent to her
    sent = channel(workspace).send(keep_prompt("Figma <b>&</b> you"), Recipient(email="Ada@example.com"))

    # Then it is one DM from the bot to her user id, with the text (escaped for mrkdwn) and both buttons
    assert [p["channel"] for p in workspace.posted] == [ada["id"]]
    posted = workspace.posted[0]
    assert (sent.provider_message_id, sent.recipient) == (posted["ts"], f"{ada['id']} in {posted['channel_id']}")
    assert posted["text"] == "Do you still need Figma?"
    section, actions = posted["blocks"]
    assert section["text"] == {"type": "mrkdwn", "text": "Figma &lt;b&gt;&amp;&lt;/b&gt; you"}
    buttons = {b["action_id"]: b for b in actions["elements"]}
    assert set(buttons) == {"keep", "release"}
    assert all(b["value"] == TOKEN and "url" not in b for b in buttons.values())
    assert (buttons["keep"]["style"], buttons["release"]["style"]) == ("primary", "danger")
    # With the bot token as a bearer token, and answers that fit Slack's published schemas
    assert set(workspace.authorizations) == {f"Bearer {workspace.bot_token}"}
    conforms(workspace)


def test_the_message_is_updated_in_place(workspace):
    # Given a prompt already sent
    slack = channel(workspace)
    slack.send(keep_prompt(), Recipient(email="ada@example.com"))
    posted = workspace.posted[0]

    # When it is updated
    slack.update(posted["channel_id"], posted["ts"], "Kept until 2027-01-05.")

    # Then the message holds the new text and no buttons
    message = workspace.messages[(posted["channel_id"], posted["ts"])]
    assert message["text"] == "Kept until 2027-01-05."
    assert [b["type"] for b in message["blocks"]] == ["section"]
    conforms(workspace)


def test_a_person_without_a_slack_account_is_unreachable_on_slack(workspace):
    # When the address has no Slack user
    with pytest.raises(RecipientUnreachable, match="users_not_found"):
        channel(workspace).send(keep_prompt(), Recipient(email="nobody@example.com"))

    # Then nothing was posted, and Slack's answer was its documented error
    assert workspace.posted == []
    assert workspace.answers[-1][3] == {"ok": False, "error": "users_not_found"}
    conforms(workspace)


def test_a_rate_limit_is_a_channel_unavailable_with_slacks_retry_after(workspace):
    # Given Slack answers the next chat.postMessage with 429 and Retry-After: 30
    workspace.rate_limited, workspace.retry_after = 1, 30

    # When a message is sent, it is not posted, and the wait Slack asked for travels with the error
    with pytest.raises(ChannelUnavailable) as raised:
        channel(workspace).send(keep_prompt(), Recipient(email="ada@example.com"))
    assert raised.value.retry_after == 30
    assert workspace.posted == []
    conforms(workspace)

    # Then the next try goes through
    channel(workspace).send(keep_prompt(), Recipient(email="ada@example.com"))
    assert len(workspace.posted) == 1


def test_an_outage_is_a_channel_unavailable(workspace):
    # Given Slack answers 503
    workspace.down = 1

    # Then sending is worth another try later
    with pytest.raises(ChannelUnavailable, match="503"):
        channel(workspace).send(keep_prompt(), Recipient(email="ada@example.com"))
    assert workspace.posted == []


def test_a_refused_bot_token_is_unavailable_and_never_named(workspace):
    # When the bot token is wrong
    with pytest.raises(ChannelUnavailable) as raised:
        channel(workspace, token="xoxb-wrong-secret-value").send(keep_prompt(), Recipient(email="ada@example.com"))

    # Then the error says what Slack said, not the token
    assert "invalid_auth" in str(raised.value) and "xoxb" not in str(raised.value)
    conforms(workspace)


def test_slack_is_reached_only_where_the_network_guard_allows(workspace):
    # Given the default policy, which allows no loopback address
    guarded = SlackChannel(lambda: workspace.bot_token, policy=NetworkPolicy(), api_url=workspace.url)

    # Then nothing is sent
    with pytest.raises(ChannelUnavailable, match="private, loopback"):
        guarded.send(keep_prompt(), Recipient(email="ada@example.com"))
    assert workspace.answers == []


# --- Teams --------------------------------------------------------------------------------------------


@contextmanager
def teams_workflow(status: int = 202, headers: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """A Workflows webhook trigger of our own: records what it receives, answers `status` with no body."""
    seen: dict[str, Any] = {"bodies": [], "paths": []}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                seen["bodies"].append((self.headers.get("Content-Type"), json.loads(body)))
                seen["paths"].append(self.path)
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler) as server:
        seen["url"] = (
            f"http://127.0.0.1:{server.server_address[1]}/workflows/abc/triggers/manual/paths/invoke"
            "?api-version=1&sig=secret-signature-value"
        )
        yield seen


def test_teams_gets_an_adaptive_card_whose_buttons_open_the_keep_link():
    with teams_workflow() as workflow:
        # When the keep prompt goes to Teams
        sent = TeamsChannel(lambda: workflow["url"], policy=LOOPBACK).send(
            keep_prompt(), Recipient(email="ada@example.com", name="Ada")
        )

    # Then the webhook got one message with one Adaptive Card attachment
    assert sent.recipient == "ada@example.com"
    [(content_type, message)] = workflow["bodies"]
    assert content_type == "application/json"
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    # That fits the published Adaptive Card 1.4 schema
    jsonschema.Draft6Validator(CARD_SCHEMA).validate(card)
    assert card["version"] == "1.4"
    # Whose buttons open the keep link (a workflow cannot call back), with no token outside the link
    assert [(a["type"], a["title"], a["url"]) for a in card["actions"]] == [
        ("Action.OpenUrl", "Keep", f"https://sk.example.com/keep/{TOKEN}"),
        ("Action.OpenUrl", "Release", f"https://sk.example.com/keep/{TOKEN}"),
    ]
    assert "For Ada" in json.dumps(card["body"])


def test_a_card_that_breaks_the_schema_is_caught_by_the_check():
    # The check can fail: an Action.Submit (a callback Workflows cannot take) is not in seatkeeper's cards
    broken = {"type": "AdaptiveCard", "version": "1.4", "actions": [{"type": "Action.Submit", "title": "Keep"}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft6Validator(CARD_SCHEMA).validate(broken)


@pytest.mark.parametrize(("status", "retry_after"), [(429, 12.0), (502, None), (404, None)])
def test_a_teams_workflow_that_does_not_take_the_message_is_unavailable_and_its_url_stays_secret(status, retry_after):
    headers = {"Retry-After": "12"} if retry_after else {}
    with teams_workflow(status, headers) as workflow, pytest.raises(ChannelUnavailable) as raised:
        TeamsChannel(lambda: workflow["url"], policy=LOOPBACK).send(keep_prompt(), Recipient(email="a@example.com"))
    assert str(status) in str(raised.value)
    assert raised.value.retry_after == retry_after
    assert "sig=" not in str(raised.value) and "secret-signature-value" not in str(raised.value)


def test_the_schema_check_can_fail(workspace):
    # Slack's docs spell the rate limit "ratelimited"; the spec's chat.postMessage error enum does not have it:
    # an answer outside the published schema is caught (the fake answers "rate_limited", the spec's spelling).
    workspace.answers.append(("chat.postMessage", 429, {}, {"ok": False, "error": "ratelimited"}))
    with pytest.raises(jsonschema.ValidationError):
        conforms(workspace)
