"""Microsoft Teams: a message posted to a Workflows webhook ("When a Teams webhook request is received").

A Teams workflow cannot call back, so each button is an `Action.OpenUrl` to its link: the keep link opens
the confirm page, whose POST decides. The message is the shape the Workflows trigger takes (Microsoft
Learn, "Create and send messages", webhooks-and-connectors/how-to/connectors-using): `type: message`
with one attachment of content type `application/vnd.microsoft.card.adaptive`, an Adaptive Card 1.4
(microsoft/AdaptiveCards schemas/1.4.0/adaptive-card.json). The webhook URL carries its own signature
(`sig=`): it is a secret, and no message here names it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from seatkeeper.core.errors import SeatkeeperError
from seatkeeper.notify.channels import ChannelName, ChannelUnavailable, Message, Recipient, Sent
from seatkeeper.saas.http import GuardedSession
from seatkeeper.saas.network_guard import NetworkPolicy
from seatkeeper.saas.pacing import wait_requested

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"


def card(message: Message, to: Recipient) -> dict[str, Any]:
    """The Adaptive Card: who it is for, the subject, the text (TextBlock shows it as plain text), the links."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": message.subject, "weight": "bolder", "size": "medium", "wrap": True},
        {"type": "TextBlock", "text": message.text, "wrap": True},
        {"type": "TextBlock", "text": f"For {to.name or to.email}", "isSubtle": True, "wrap": True},
    ]
    actions = [{"type": "Action.OpenUrl", "title": action.label, "url": action.url} for action in message.actions]
    return {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "fallbackText": message.text,
        "body": body,
        "actions": actions,
    }


def webhook_message(message: Message, to: Recipient) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card(message, to)}],
    }


class TeamsChannel:
    """Messages as Adaptive Cards through one Workflows webhook, which posts them where the workflow says."""

    name: ChannelName = "teams"

    def __init__(
        self, webhook_url: Callable[[], str], *, policy: NetworkPolicy, deadline_seconds: float = 10.0
    ) -> None:
        self._webhook_url = webhook_url
        self.session = GuardedSession(policy, deadline_seconds=deadline_seconds, max_response_bytes=256 * 1024)

    def send(self, message: Message, to: Recipient) -> Sent:
        url = self._webhook_url()
        host = urlsplit(url).hostname or "the webhook"
        try:
            response = self.session.post(
                url,
                data=json.dumps(webhook_message(message, to)).encode(),
                headers={"Content-Type": "application/json"},
            )
        except requests.Timeout:
            raise ChannelUnavailable(f"the Teams workflow at {host} did not answer in time") from None
        except requests.RequestException as exc:
            raise ChannelUnavailable(f"cannot reach the Teams workflow at {host}: {type(exc).__name__}") from None
        except SeatkeeperError as exc:  # the network guard, a body too large
            raise ChannelUnavailable(f"the Teams workflow at {host} was not called: {exc}") from None
        if response.status_code in (200, 201, 202):
            # A workflow run's id, when the trigger gives one; the webhook answers 202 with no body.
            run = response.headers.get("x-ms-workflow-run-id")
            return Sent(provider_message_id=run, recipient=to.email)
        # 429, 5xx: another try later; 400/401/404: the workflow was changed, disabled or deleted, which an
        # admin fixes; every failure ends, after the notifier's retries, in its DLQ and alarm.
        retry_after = wait_requested(response.headers)
        answered = f"the Teams workflow at {host} answered {response.status_code}"
        raise ChannelUnavailable(answered, retry_after=retry_after)
