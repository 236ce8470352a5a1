"""Messages, reminders and deliveries, without AWS: the templates, when reminders go out, once per message."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from seatkeeper.core.money import Amount
from seatkeeper.licensing.notifications import Audience, weekly_digest
from seatkeeper.licensing.reclamation import Saving, keep_prompt_times
from seatkeeper.licensing.renewals import RenewalList
from seatkeeper.notify import messages
from seatkeeper.notify.channels import ChannelUnavailable, Message, Recipient, RecipientUnreachable, Sent
from seatkeeper.notify.delivery import Delivery, DeliveryIncomplete, Notifier, Outgoing, reached

BRAND = messages.Brand(company="Acme <Corp>", dashboard_url="https://seatkeeper.acme.example/dashboard")
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def prompt(**values) -> Message:
    return messages.keep_prompt(
        BRAND,
        app=values.get("app", "Acme Chat"),
        user_name=values.get("user_name", "Ada"),
        last_used="2026-08-01T10:00:00+00:00",
        reclaim_at="2026-12-12T00:00:00+00:00",
        keep_url="https://api.acme.example/keep/TOKEN",
        token="TOKEN",
    )


def test_values_from_an_app_are_escaped_in_the_html_and_no_remote_resource_is_loaded():
    # Given a user's name and an app's name that are script
    message = prompt(user_name=SCRIPT, app=f"Chat {SCRIPT}")
    # Then the HTML part holds them as text, never as markup
    assert "<script" not in message.html and "<img" not in message.html
    assert "&lt;script&gt;" in message.html and "Acme &lt;Corp&gt;" in message.html
    # And it loads nothing from elsewhere: no image, style sheet or script source
    assert not re.search(r"<(img|link|script|iframe)\b", message.html)
    assert "src=" not in message.html.replace("src=x", "")
    # And the only links are the keep link and the dashboard
    assert set(re.findall(r'href="([^"]+)"', message.html)) == {
        "https://api.acme.example/keep/TOKEN",
        "https://seatkeeper.acme.example/dashboard",
    }
    # And the text part says the same in words, with the date of the reclaim
    assert f"Chat {SCRIPT}" in message.text and "2026-12-12" in message.text
    assert "last used 2026-08-01" in message.text


def test_reminders_go_out_at_their_offsets_inside_the_grace_period_each_once():
    week = 7 * 86400
    assert keep_prompt_times(["P0D", "-P2D"], week) == [5 * 86400]
    assert keep_prompt_times(["P0D", "P1D", "-P6D", "-P1D"], week) == [86400, 6 * 86400]
    # A reminder before the start or after the end of a short grace period is dropped
    assert keep_prompt_times(["P0D", "-P2D"], 3600) == []


class Store:
    """DeliveryStore in memory, with the conditional claim's rules of aws.dynamodb.notifications."""

    def __init__(self) -> None:
        self.items: dict[str, Delivery] = {}

    def claim(self, delivery, key, *, lease_seconds):
        before = self.items.get(key)
        if before is not None and before.status != "failed":
            return None
        claimed = delivery.model_copy(update={"attempts": (before.attempts if before else 0) + 1})
        self.items[key] = claimed
        return claimed

    def finish(self, delivery, key):
        self.items[key] = delivery

    def record(self, delivery, key):
        return self.items.setdefault(key, delivery) is delivery

    def of(self, about, kind):
        return [d for d in self.items.values() if d.about == about and d.kind == kind]


class Channel:
    name = "email"

    def __init__(self, *failures: Exception) -> None:
        self.failures, self.sent = list(failures), []

    def send(self, message, to):
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(to.email)
        return Sent(provider_message_id=f"m-{len(self.sent)}", recipient=to.email)


def keep_prompt_to(email: str | None, user: str = "u1") -> Outgoing:
    return Outgoing(
        "keep_prompt",
        "rcl_1",
        f"{user}#0",
        "prf_1",
        prompt(),
        Recipient(email=email) if email else None,
        user_id=user,
        missing="no e-mail address",
    )


def test_a_message_is_sent_once_however_often_it_is_delivered():
    store, channel = Store(), Channel()
    notifier = Notifier({"email": channel}, store, sleep=lambda _: None)
    notifier.deliver([keep_prompt_to("ada@example.com")], ["email"])
    again = notifier.deliver([keep_prompt_to("ada@example.com")], ["email"])
    assert channel.sent == ["ada@example.com"]
    assert again[0].reason == "delivered already"
    assert reached(store.of("rcl_1", "keep_prompt")) == {"u1"}


def test_nobody_to_tell_and_a_channel_not_configured_are_recorded_as_skipped_with_why():
    store = Store()
    notifier = Notifier({"email": Channel(), "slack": "the slack channel is not available yet"}, store)
    done = notifier.deliver([keep_prompt_to(None, "u2"), keep_prompt_to("bo@example.com", "u3")], ["email", "slack"])
    assert [(d.channel, d.status, d.reason) for d in done] == [
        ("email", "skipped", "no e-mail address"),
        ("slack", "skipped", "no e-mail address"),
        ("email", "sent", None),
        ("slack", "skipped", "the slack channel is not available yet"),
    ]
    assert reached(store.of("rcl_1", "keep_prompt")) == {"u3"}


def test_an_unavailable_channel_is_tried_with_backoff_then_the_notifier_fails_so_that_it_is_tried_later():
    store, waits = Store(), []
    channel = Channel(
        *[ChannelUnavailable("down", retry_after=2.0), ChannelUnavailable("down"), ChannelUnavailable("down")]
    )
    notifier = Notifier({"email": channel}, store, attempts=3, backoff_seconds=0.5, sleep=waits.append)
    with pytest.raises(DeliveryIncomplete):
        notifier.deliver([keep_prompt_to("ada@example.com")], ["email"])
    # The provider's Retry-After first, then the backoff; the record says failed, and why
    assert waits == [2.0, 1.0]
    (record,) = store.items.values()
    assert (record.status, record.attempts, record.reason) == ("failed", 1, "unavailable: down")
    # When the notifier is tried again and the channel is back, it is sent, once
    notifier.deliver([keep_prompt_to("ada@example.com")], ["email"])
    assert channel.sent == ["ada@example.com"]
    assert [(d.status, d.attempts) for d in store.items.values()] == [("sent", 2)]


def test_a_person_the_channel_cannot_reach_is_failed_without_a_retry():
    store = Store()
    notifier = Notifier({"email": Channel(RecipientUnreachable("refused"))}, store, sleep=lambda _: None)
    (done,) = notifier.deliver([keep_prompt_to("ada@example.com")], ["email"])
    assert (done.status, done.reason) == ("failed", "unreachable: refused")
    assert reached(store.of("rcl_1", "keep_prompt")) == set()


def test_a_seat_that_moves_down_a_tier_says_so():
    message = messages.keep_prompt(
        BRAND,
        app="Acme Video",
        user_name=None,
        last_used=None,
        reclaim_at="2026-12-12T00:00:00+00:00",
        keep_url=None,
        token=None,
        downgrade_to="Basic <b>",
    )
    assert "Unless you keep it, it moves to the Basic <b> tier on 2026-12-12." in message.text
    assert "Basic &lt;b&gt; tier" in message.html and message.actions == ()


def test_the_weekly_digest_says_from_when_each_reclamation_saves():
    today = date(2026, 12, 7)

    def saving(profile_id, seats, amount, period):
        return Saving(
            reclamation_id=f"rcl_{profile_id}",
            profile_id=profile_id,
            finished_at=datetime(2026, 12, 3, 10, tzinfo=UTC),
            seats=seats,
            per_period=Amount(amount=Decimal(amount), currency="USD", period=period),
        )

    # Given three reclamations finished this week: a monthly app billed on the 20th, an annual one renewing
    # on March 1st, and an app with no renewal date
    savings = [saving("zoom", 3, 30, "monthly"), saving("hr", 2, 730, "annual"), saving("chat", 1, 8, "monthly")]
    renewal_dates = {"zoom": date(2027, 1, 20), "hr": date(2027, 3, 1), "chat": None}
    # When the week's digest is written
    (out,) = weekly_digest(
        today,
        savings=savings,
        waiting=[],
        renewing=RenewalList(items=[]),
        names={"zoom": "Zoom", "hr": "HR", "chat": "Chat"},
        renewal_dates=renewal_dates,
        audience=Audience(admins=("admin@example.com",)),
        brand=messages.Brand(),
    )
    # Then each says what it saves per its app's billing period, from its app's next bill after it finished
    # (the day the overview's committed savings start): the seats are paid until then
    assert "- Zoom: 3 seats, saving 30.00 USD a month from 2026-12-20" in out.message.text
    assert "- HR: 2 seats, saving 730.00 USD a year from 2027-03-01" in out.message.text
    assert "- Chat: 1 seat, saving 8.00 USD a month from an unknown date (the app has no renewal date)" in (
        out.message.text
    )
    assert "saving 30.00 USD a month from 2026-12-20" in out.message.html
