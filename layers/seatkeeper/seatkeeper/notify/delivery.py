"""Delivering messages: each (event, recipient, channel) once, each one recorded (SPEC "Notifications").

Once, even when EventBridge delivers an event twice or the notifier is retried: the delivery record
is claimed with a conditional write before anything is sent, under a key made of what the message is
about (a reclamation's user and reminder, a renewal's date and reminder day), the recipient and the
channel. A record that says `sent` is never sent again; one that `failed` is sent again by the next
try; one `pending` (a send in flight) is left alone until its lease runs out, so that a notifier
that died mid-send is not a message lost forever. The record is the idempotency key itself: one
write per message, and the same item answers GET /notifications and "was this user reached?".

A channel that is down (ChannelUnavailable) is tried again here with a short backoff; after the
last try the delivery is `failed` and `deliver` raises DeliveryIncomplete, so that the function's
own retries (and then its dead-letter queue) take over. A person that a channel cannot reach
(RecipientUnreachable), no address, or a channel with no adapter is recorded and not retried.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from seatkeeper.core.errors import SeatkeeperError
from seatkeeper.notify.channels import (
    Channel,
    ChannelUnavailable,
    Message,
    MessageKind,
    Recipient,
    RecipientUnreachable,
)

DeliveryStatus = Literal["pending", "sent", "failed", "skipped"]
# A send in flight longer than this is taken to have died with its notifier.
LEASE_SECONDS = 300


class Delivery(BaseModel):
    """One message to one recipient on one channel, as GET /notifications shows it."""

    model_config = ConfigDict(defer_build=True)

    id: str
    kind: MessageKind
    channel: str
    recipient: str | None = Field(None, description="The e-mail address, or where the provider delivered it")
    profile_id: str | None = None
    status: DeliveryStatus
    reason: str | None = None
    attempts: int = 0
    provider_message_id: str | None = None
    created_at: str
    sent_at: str | None = None
    # What it is about, for "was this user reached?": a reclamation's id and the seat's user.
    about: str
    user_id: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """A message the notifier means to send: what it is about, to whom, and how it reads."""

    kind: MessageKind
    about: str  # the reclamation or profile it is about
    occasion: str  # what makes it a distinct message: the user and reminder, the renewal day
    profile_id: str | None
    message: Message
    recipient: Recipient | None  # None: seatkeeper has no address for this person
    user_id: str | None = None
    missing: str | None = None  # why there is no recipient

    def key(self, channel: str) -> str:
        who = self.recipient.email.casefold() if self.recipient else f"nobody:{self.user_id or self.occasion}"
        return f"{self.kind}#{self.occasion}#{channel}#{who}"

    def delivery_id(self, channel: str) -> str:
        return hashlib.sha256(f"{self.about}|{self.key(channel)}".encode()).hexdigest()[:32]


class DeliveryStore(Protocol):
    def claim(self, delivery: Delivery, key: str, *, lease_seconds: int) -> Delivery | None:
        """Write `delivery` as pending unless its record says sent, skipped or pending under a running
        lease; the record as claimed (its attempts counted), or None when it is not this call's to send."""

    def finish(self, delivery: Delivery, key: str) -> None: ...

    def record(self, delivery: Delivery, key: str) -> bool:
        """Write a delivery that was never tried (skipped) unless one exists: whether this call wrote it."""

    def of(self, about: str, kind: str) -> list[Delivery]: ...


class DeliveryIncomplete(SeatkeeperError):
    """A channel stayed unavailable through every try: the notifier fails, so that it is tried again later."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Notifier:
    channels: Mapping[str, Channel | str]  # a name without an adapter maps to why (recorded as skipped)
    store: DeliveryStore
    attempts: int = 3
    backoff_seconds: float = 0.5
    sleep: Callable[[float], None] = time.sleep

    def deliver(self, outgoing: Iterable[Outgoing], channel_names: Iterable[str]) -> list[Delivery]:
        names = list(dict.fromkeys(channel_names))
        done, unavailable = [], []
        for message in outgoing:
            for name in names:
                delivery = self._deliver_one(message, name)
                done.append(delivery)
                if delivery.status == "failed" and delivery.reason and delivery.reason.startswith("unavailable"):
                    unavailable.append(delivery)
        if unavailable:
            raise DeliveryIncomplete(
                f"{len(unavailable)} of {len(done)} deliveries failed on an unavailable channel; retried later"
            )
        return done

    def _deliver_one(self, out: Outgoing, name: str) -> Delivery:
        key = out.key(name)
        delivery = Delivery(
            id=out.delivery_id(name),
            kind=out.kind,
            channel=name,
            recipient=out.recipient.email if out.recipient else None,
            profile_id=out.profile_id,
            status="pending",
            created_at=_now(),
            about=out.about,
            user_id=out.user_id,
        )
        channel = self.channels.get(name)
        skipped_because = (
            out.missing or "no address for this person"
            if out.recipient is None
            else channel
            if isinstance(channel, str)
            else f"no {name} channel is configured"
            if channel is None
            else None
        )
        if skipped_because is not None:
            skipped = delivery.model_copy(update={"status": "skipped", "reason": skipped_because})
            self.store.record(skipped, key)
            return skipped
        if out.recipient is None or channel is None or isinstance(channel, str):
            # skipped_because names each of these cases: reaching this is a bug, not a delivery.
            raise RuntimeError(f"delivery {key} has no recipient or channel and was not skipped")
        claimed = self.store.claim(delivery, key, lease_seconds=LEASE_SECONDS)
        if claimed is None:
            return delivery.model_copy(update={"status": "skipped", "reason": "delivered already"})
        finished = self._send(channel, out.message, out.recipient, claimed)
        self.store.finish(finished, key)
        return finished

    def _send(self, channel: Channel, message: Message, to: Recipient, claimed: Delivery) -> Delivery:
        for attempt in range(1, self.attempts + 1):
            try:
                sent = channel.send(message, to)
            except RecipientUnreachable as exc:
                return claimed.model_copy(update={"status": "failed", "reason": f"unreachable: {str(exc)[:300]}"})
            except ChannelUnavailable as exc:
                if attempt == self.attempts:
                    return claimed.model_copy(update={"status": "failed", "reason": f"unavailable: {str(exc)[:300]}"})
                wait = self.backoff_seconds * 2 ** (attempt - 1)
                self.sleep(min(exc.retry_after, 30.0) if exc.retry_after is not None else wait)
                continue
            return claimed.model_copy(
                update={
                    "status": "sent",
                    "reason": None,
                    "recipient": sent.recipient,
                    "provider_message_id": sent.provider_message_id,
                    "sent_at": _now(),
                }
            )
        raise AssertionError("unreachable")  # pragma: no cover


def reached(deliveries: Iterable[Delivery]) -> set[str]:
    """The users whom at least one message reached."""
    return {d.user_id for d in deliveries if d.status == "sent" and d.user_id}
