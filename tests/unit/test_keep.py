"""Keep links as plain functions: the token, what the table keeps of it, and a kept seat in the position."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from seatkeeper.core.errors import NotFound
from seatkeeper.licensing.keep import KeepLinks, digest, open_ticket
from seatkeeper.licensing.position import compute_position
from seatkeeper.profiles.catalog import build_profile
from seatkeeper.saas.records import SaaSUser

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


class Tickets:
    """The KeepStore contract in memory: one reclamation in its grace period, tickets, claims and decisions."""

    def __init__(self, record):
        self.record, self.tickets, self.decided, self.claimed, self.kept_seats = record, {}, {}, {}, {}

    def get_reclamation(self, reclamation_id):
        return self.record

    def put_keep_ticket(self, digest, ticket):
        self.tickets[digest] = ticket

    def keep_ticket(self, digest):
        return self.tickets.get(digest)

    def use_keep_ticket(self, digest, ticket, decision, now):
        stored = self.tickets[digest]
        if stored.used_at or now >= stored.deadline:
            return False
        self.tickets[digest] = stored.model_copy(update={"used_at": decision.at})
        self.decided[decision.user_id] = decision
        return True

    def keep_seat(self, profile_id, user_id, until):
        self.kept_seats[user_id] = until

    def claim_action(self, reclamation_id, user_id):
        if user_id in self.claimed:
            return False
        self.claimed[user_id] = None
        return True

    def action_outcome(self, reclamation_id, user_id):
        return self.claimed.get(user_id)

    def finish_action(self, reclamation_id, profile_id, outcome):
        self.claimed[outcome.user_id] = outcome


class Heard:
    def __init__(self):
        self.events = []

    def put(self, detail_type, detail):
        self.events.append((detail_type, detail))


def grace_period_reclamation():
    from seatkeeper.licensing.reclamation import Candidate, Reclamation

    return Reclamation(
        id="rcl_1",
        profile_id="prf_1",
        status="in_grace_period",
        dry_run=False,
        candidates=[Candidate(id="u1", email="u1@example.com"), Candidate(id="u2")],
        created_at=NOW.isoformat(),
        reclaim_at=(NOW + timedelta(minutes=5)).isoformat(),
    )


def test_a_release_whose_app_cannot_be_reached_now_is_answered_and_left_to_the_end_of_the_grace_period():
    from seatkeeper.core.errors import SaaSAuthenticationFailed
    from seatkeeper.licensing.keep import KeepDecisionRequest, decide
    from seatkeeper.profiles.model import Policy

    record = grace_period_reclamation()
    store, heard = Tickets(record), Heard()
    links = KeepLinks(b"k" * 32, "https://api.example.com")
    issue = links.issuer(store)
    for candidate in record.candidates:
        issue(record, candidate, NOW + timedelta(minutes=5))

    def unreachable(profile_id):
        raise SaaSAuthenticationFailed("profile prf_1 has no credential; connect it first")

    answer = decide(
        links.token("rcl_1", "u1"),
        KeepDecisionRequest(decision="release"),
        store=store,
        policy_of=lambda _: Policy(),
        seats=unreachable,
        notices=heard,
        now=NOW,
    )
    assert answer.status == "released"
    assert store.decided["u1"].status == "released_by_user" and store.claimed == {}  # nothing was sent
    assert heard.events[0][0] == "Seat Released" and "end of the grace period" in heard.events[0][1]["outcome"]
