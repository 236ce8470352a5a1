"""Slack: the keep prompt as a direct message with Keep / Release buttons, and the clicks Slack sends back.

`SlackChannel` is a `notify.channels.Channel` over Slack's Web API (slackapi/slack-api-specs,
web-api/slack_web_openapi_v2.json): `users.lookupByEmail` finds the person, `chat.postMessage` with
the user id as the channel opens the DM, `chat.update` rewrites it once they have answered. Every
request goes through the guarded session (network guard, deadline, no redirect to another origin).

`verify_request` checks Slack's request signature ("Verifying requests from Slack",
api.slack.com/authentication/verifying-requests-from-slack): `v0=` + HMAC-SHA256 of
`v0:{timestamp}:{body}` under the app's signing secret, compared in constant time, five minutes at most
old. `read_click` reads the `block_actions` payload of a button (docs.slack.dev/reference/
interaction-payloads/block_actions-payload). Nothing here logs or raises with the bot token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qs

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seatkeeper.core.errors import InvalidInput, SeatkeeperError
from seatkeeper.notify.channels import ChannelName, ChannelUnavailable, Message, Recipient, RecipientUnreachable, Sent
from seatkeeper.saas.http import GuardedSession
from seatkeeper.saas.network_guard import NetworkPolicy
from seatkeeper.saas.pacing import wait_requested

DEFAULT_API_URL = "https://slack.com/api"
# Slack refuses requests older than five minutes in its own SDKs; so do we, against replays.
MAX_REQUEST_AGE_SECONDS = 300
SECTION_TEXT_LIMIT = 3000  # characters of a section block's text (Block Kit reference, section block)

# Error codes of the spec's error schemas, by what another try would do. Slack's docs spell the rate
# limit `ratelimited` (HTTP 429 with Retry-After); the spec's enums spell it `rate_limited`: both count.
RATE_LIMITED = frozenset({"ratelimited", "rate_limited"})
NOT_THIS_PERSON = frozenset(
    {"users_not_found", "user_not_found", "channel_not_found", "is_archived", "cannot_dm_bot", "user_disabled"}
)
_CODE = re.compile(r"^[a-z0-9_.]{1,64}$")


class SlackRequestRefused(SeatkeeperError):
    """A request that does not come from Slack, as far as its signature tells: 401, and nothing changes."""


def verify_request(signing_secret: str, *, timestamp: str | None, signature: str | None, body: str, now: float) -> None:
    """SlackRequestRefused unless `signature` is Slack's over `timestamp` and `body`, made in the last 5 minutes."""
    if not timestamp or not signature:
        raise SlackRequestRefused("the request carries no Slack signature")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_REQUEST_AGE_SECONDS:
        raise SlackRequestRefused("the request's Slack timestamp is not within five minutes of now")
    expected = "v0=" + hmac.new(signing_secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SlackRequestRefused("the request's Slack signature does not match")


class _Action(BaseModel):
    model_config = ConfigDict(defer_build=True)

    action_id: str
    value: str | None = None


class _Container(BaseModel):
    model_config = ConfigDict(defer_build=True)

    channel_id: str | None = None
    message_ts: str | None = None


class _BlockActions(BaseModel):
    model_config = ConfigDict(defer_build=True)

    type: Literal["block_actions"]
    actions: list[_Action] = Field(min_length=1)
    container: _Container = Field(default_factory=_Container)


class ButtonClick(BaseModel):
    """A click on Keep or Release: the keep token of the button, and where the message is to update it."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    decision: Literal["keep", "release"]
    token: str
    channel_id: str | None = None
    message_ts: str | None = None


def read_click(body: str) -> ButtonClick:
    """The button click in a form-encoded interaction (`payload=<JSON>`); InvalidInput (422) for anything else."""
    payloads = parse_qs(body, max_num_fields=20).get("payload")
    if not payloads:
        raise InvalidInput.at(("body", "payload"), "an interaction from Slack carries a payload field", "missing")
    try:
        click = _BlockActions.model_validate_json(payloads[0])
    except ValidationError as exc:
        errors = exc.errors()
        loc = tuple(errors[0]["loc"]) if errors else ()
        raise InvalidInput.at(
            ("body", "payload", *loc), "not a block_actions payload of a Keep or Release button"
        ) from None
    action = click.actions[0]
    if action.action_id not in ("keep", "release") or not action.value:
        raise InvalidInput.at(("body", "payload", "actions", 0), "not a Keep or Release button of seatkeeper")
    return ButtonClick(
        decision="keep" if action.action_id == "keep" else "release",
        token=action.value,
        channel_id=click.container.channel_id,
        message_ts=click.container.message_ts,
    )


def mrkdwn(text: str) -> str:
    """Text as Slack shows it literally: its three control characters escaped ("Formatting text for app surfaces")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def blocks(message: Message) -> list[dict[str, Any]]:
    """The message text, then its buttons: Keep and Release call back with the token, others open their link."""
    text = mrkdwn(message.text)
    if len(text) > SECTION_TEXT_LIMIT:
        text = text[: SECTION_TEXT_LIMIT - 1] + "…"
    shown: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    buttons: list[dict[str, Any]] = []
    for action in message.actions:
        button: dict[str, Any] = {
            "type": "button",
            "action_id": action.action_id,
            "text": {"type": "plain_text", "text": action.label[:75]},
        }
        if action.action_id in ("keep", "release") and action.value:
            button["value"] = action.value
            button["style"] = "primary" if action.action_id == "keep" else "danger"
        else:
            button["url"] = action.url
        buttons.append(button)
    if buttons:
        shown.append({"type": "actions", "elements": buttons})
    return shown


class SlackChannel:
    """Keep prompts and other messages as a DM from the seatkeeper app's bot."""

    name: ChannelName = "slack"

    def __init__(
        self,
        bot_token: Callable[[], str],
        *,
        policy: NetworkPolicy,
        api_url: str = DEFAULT_API_URL,
        deadline_seconds: float = 10.0,
    ) -> None:
        self._bot_token = bot_token
        self.api_url = api_url.rstrip("/")
        self.session = GuardedSession(policy, deadline_seconds=deadline_seconds, max_response_bytes=1024 * 1024)

    def send(self, message: Message, to: Recipient) -> Sent:
        user = self.call("users.lookupByEmail", params={"email": to.email})["user"]["id"]
        posted = self.call(
            "chat.postMessage",
            body={"channel": user, "text": message.subject, "blocks": blocks(message), "unfurl_links": False},
        )
        return Sent(provider_message_id=posted.get("ts"), recipient=f"{user} in {posted.get('channel')}")

    def update(self, channel: str, ts: str, text: str) -> None:
        """Replace a message's text and buttons with what was decided (`chat.update`)."""
        shown = [{"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(text)}}]
        self.call("chat.update", body={"channel": channel, "ts": ts, "text": text, "blocks": shown})

    def call(self, method: str, *, params: dict[str, str] | None = None, body: Any = None) -> dict[str, Any]:
        """One Web API method; ChannelUnavailable or RecipientUnreachable when Slack does not do it."""
        headers = {"Authorization": f"Bearer {self._bot_token()}", "Accept": "application/json"}
        try:
            if body is None:
                response = self.session.get(f"{self.api_url}/{method}", params=params, headers=headers)
            else:
                headers["Content-Type"] = "application/json; charset=utf-8"
                response = self.session.post(
                    f"{self.api_url}/{method}", data=json.dumps(body).encode(), headers=headers
                )
        except requests.Timeout:
            raise ChannelUnavailable(f"Slack did not answer {method} in time") from None
        except requests.RequestException as exc:
            raise ChannelUnavailable(f"cannot reach Slack for {method}: {type(exc).__name__}") from None
        except SeatkeeperError as exc:  # the network guard, a body too large
            raise ChannelUnavailable(f"Slack's {method} was not called: {exc}") from None
        retry_after = wait_requested(response.headers)
        if response.status_code == 429 or response.status_code >= 500:
            raise ChannelUnavailable(f"Slack answered {response.status_code} to {method}", retry_after=retry_after)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ChannelUnavailable(f"Slack answered {response.status_code} to {method} without a JSON object")
        if answer.get("ok") is True:
            return answer
        error = answer.get("error")
        code = error if isinstance(error, str) and _CODE.match(error) else "an unknown error"
        if code in NOT_THIS_PERSON:
            raise RecipientUnreachable(f"Slack cannot reach this person ({method}: {code})")
        # Rate limits, outages, and a bot token refused or without a scope: another try, once an admin
        # has fixed the app, can work; the retries end in the notifier's DLQ and its alarm.
        raise ChannelUnavailable(f"Slack refused {method}: {code}", retry_after=retry_after)
