"""Keep links as plain functions: the token, what the table keeps of it, and a kept seat in the position."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from seatkeeper.catalog import build_profile
from seatkeeper.errors import NotFound
from seatkeeper.keep import KeepLinks, digest, open_ticket
from seatkeeper.position import compute_position
from seatkeeper.user_records import SaaSUser

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_a_token_is_256_bits_the_same_for_the_same_user_and_another_for_anyone_else():
    links = KeepLinks(b"k" * 32, "https://api.example.com/")
    token = links.token("rcl_1", "u1")
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    assert token == links.token("rcl_1", "u1") != links.token("rcl_1", "u2") != links.token("rcl_2", "u1")
    assert KeepLinks(b"x" * 32, "https://api.example.com").token("rcl_1", "u1") != token  # the key makes it
    assert links.url("rcl_1", "u1") == f"https://api.example.com/keep/{token}"
    assert digest(token) != token and len(digest(token)) == 64


class NoTickets:
    def __init__(self):
        self.asked = []

    def keep_ticket(self, digest):
        self.asked.append(digest)


@pytest.mark.parametrize("token", ["", "short", "x" * 43, "a" * 5000])
def test_an_unknown_or_malformed_token_is_not_found_with_the_same_words(token):
    with pytest.raises(NotFound, match=r"^this link is not valid$"):
        open_ticket(token, store=NoTickets(), now=NOW)


def test_a_kept_seat_counts_as_active_while_it_is_protected():
    profile = build_profile(
        {
            "name": "p",
            "base_url": "https://a.example.com",
            "auth": {"type": "bearer"},
            "users": {"path": "/u", "fields": {"id": "id", "last_activity": "last"}},
            "subscription": {"licenses_purchased": 3},
        }
    )
    old = NOW - timedelta(days=400)
    users = [SaaSUser(id="kept", last_activity=old), SaaSUser(id="stale", last_activity=old)]
    position = compute_position("prf", profile, users, now=NOW, kept={"kept"})
    assert (position.active, position.stale) == (1, 1)
