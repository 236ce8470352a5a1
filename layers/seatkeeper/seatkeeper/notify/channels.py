"""The one interface every notification channel sits behind (SPEC: "Notifications").

A channel (e-mail through SES, a Slack DM, a Teams workflow) takes a rendered `Message` to one
`Recipient` and says what the provider answered. The notifier decides who is told what and when,
records each delivery and retries; a channel only delivers, and says which of its failures are
worth another try (`ChannelUnavailable`) and which are not (`RecipientUnreachable`).
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from seatkeeper.core.errors import SeatkeeperError

ChannelName = Literal["email", "slack", "teams"]
MessageKind = Literal[
    "keep_prompt",
    "approval_request",
    "reclaim_not_effective",
    "renewal_reminder",
    "low_seats",
    "reconnect_needed",
    "digest",
]


class Recipient(BaseModel):
    """A person to tell: their e-mail address is how every channel finds them (Slack looks it up)."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    email: str
    name: str | None = None


class Action(BaseModel):
    """A button: it opens `url` (e-mail, Teams), or Slack calls back with `action_id` and `value`."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    label: str
    url: str
    action_id: Literal["keep", "release", "review"]
    # Slack's button value: the user's own keep token, the only token a message may carry.
    value: str | None = None


class Message(BaseModel):
    """One message, rendered: every value from a SaaS app or an IdP is escaped in `html` already."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    kind: MessageKind
    subject: str
    text: str
    html: str
    actions: tuple[Action, ...] = Field(default_factory=tuple)


class Sent(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    provider_message_id: str | None = None
    # Where the message went as the provider knows it: the e-mail address, or the Slack user and channel.
    recipient: str


class ChannelUnavailable(SeatkeeperError):
    """The provider did not take the message now (an outage, a rate limit): worth another try later."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RecipientUnreachable(SeatkeeperError):
    """This channel cannot reach this person (no Slack account for the address, say): no retry helps."""


class Channel(Protocol):
    name: ChannelName

    def send(self, message: Message, to: Recipient) -> Sent:
        """Deliver `message` to `to` once; ChannelUnavailable or RecipientUnreachable when it cannot."""
