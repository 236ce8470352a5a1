"""Reclamation rules as plain functions: who is a candidate, the approval cap, exactly-once execution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seatkeeper.core.errors import InvalidInput, SaaSRequestFailed, SaaSUnavailable
from seatkeeper.licensing.reclamation import (
    Candidate,
    ReclamationConflict,
    ReclamationRequest,
    UserOutcome,
    approve,
    execute,
    plan,
    record_failure,
    why_not_a_candidate,
)
from seatkeeper.profiles.catalog import build_profile
from seatkeeper.profiles.records import ProfileRecord
from seatkeeper.saas.records import SaaSUser
from seatkeeper.saas.templating import fill_in

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=400)


def profile(**policy):
    built = build_profile(
        {
            "name": "p",
            "base_url": "https://a.example.com",
            "auth": {"type": "bearer"},
            "users": {"path": "/u", "fields": {"id": "id", "last_activity": "last"}},
            "reclaim": {"method": "DELETE", "path": "/u/{id}"},
            "subscription": {"licenses_purchased": 10, "cost_per_license": "12.50", "currency": "EUR"},
            "policy": {"protected_users": ["Boss@Acme.example.com"], "protected_roles": ["Owner"], **policy},
        }
    )
    return ProfileRecord(id="prf_1", own={}, profile=built, created_at=OLD, updated_at=OLD)


class Snapshot:
    def __init__(self, users, figures=None):
        self.list, self.figures = users, figures

    def users(self, profile_id, after, limit):
        return self.list, None

    def snapshot(self, profile_id):
        return self.figures


class Store:
    def __init__(self):
        self.records, self.actions, self.claimed = {}, {}, set()

    def put_reclamation(self, r):
        self.records[r.id] = r

    def get_reclamation(self, i):
        return self.records[i]

    def replace_reclamation(self, r, *, expected_status):
        if self.records[r.id].status != expected_status:
            raise ReclamationConflict("changed")
        self.records[r.id] = r

    def reclaimed(self, profile_id):
        return {"gone"}

    def kept(self, profile_id):
        return {"keeper": "2099-01-01T00:00:00+00:00"}

    def decisions(self, reclamation_id):
        return {}

    def claim_action(self, reclamation_id, user_id):
        if (reclamation_id, user_id) in self.claimed:
            return False
        self.claimed.add((reclamation_id, user_id))
        return True

    def finish_action(self, reclamation_id, profile_id, outcome):
        self.actions[reclamation_id, outcome.user_id] = outcome

    def action_outcome(self, reclamation_id, user_id):
        return self.actions.get((reclamation_id, user_id))

    def acted_on(self, reclamation_id):
        return {u: self.actions.get((r, u)) for r, u in self.claimed if r == reclamation_id}


class Notices:
    def __init__(self):
        self.put_ = []

    def put(self, detail_type, detail):
        self.put_.append((detail_type, detail))


class Seats:
    def __init__(self, failing=()):
        self.sent, self.failing = [], set(failing)

    def take_back(self, candidate):
        self.sent.append(candidate.id)
        if candidate.id in self.failing:
            raise SaaSUnavailable("the app answered 503")
        return 204, f"DELETE /u/{candidate.id}"


def stale(i, **extra):
    return SaaSUser(id=str(i), last_activity=OLD, created_at=OLD, **extra)


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        (stale(1), None),
        (stale(2, email="boss@acme.example.com"), "a protected user"),
        (stale(3, role="owner"), "has the protected role 'owner'"),
        (
            SaaSUser(id="4", last_activity=None, created_at=NOW - timedelta(days=3)),
            "created within the inactivity window",
        ),
        (SaaSUser(id="5", last_activity=NOW), "not stale (active)"),
        (stale(6, active=False), "not stale (inactive)"),
        (stale("gone"), "already reclaimed"),
        (stale("keeper"), "kept by the user until 2099-01-01T00:00:00+00:00"),
    ],
)
def test_who_is_a_candidate(user, reason):
    p = profile().profile
    kept = {"keeper": "2099-01-01T00:00:00+00:00"}
    assert (
        why_not_a_candidate(user, p, cutoff=NOW - timedelta(days=90), tracked=True, reclaimed={"gone"}, kept=kept)
        == reason
    )


def test_a_real_run_over_the_count_cap_waits_for_approval_and_is_approved_once():
    store = Store()
    users = [stale(i) for i in range(5)] + [SaaSUser(id=f"a{i}", last_activity=NOW) for i in range(45)]
    record = plan(
        profile(max_reclaim_count=3),
        ReclamationRequest(dry_run=False),
        snapshots=Snapshot(users),
        store=store,
        planned_by="alice",
    )
    assert record.status == "awaiting_approval" and "max_reclaim_count" in record.approval_reason
    approved = approve(record.id, store=store, approved_by="boss")
    assert approved.status == "running" and approved.approved_by == "boss"
    with pytest.raises(ReclamationConflict):
        approve(record.id, store=store, approved_by="boss")


def test_a_real_run_under_the_caps_runs_without_approval():
    users = [stale(1)] + [SaaSUser(id=f"a{i}", last_activity=NOW) for i in range(19)]
    record = plan(
        profile(), ReclamationRequest(dry_run=False), snapshots=Snapshot(users), store=Store(), planned_by=None
    )
    assert record.status == "running" and not record.needs_approval  # 1 of 20 assigned is 5%, under 10%


def test_narrowing_to_non_candidates_says_why_for_each():
    with pytest.raises(InvalidInput) as raised:
        plan(
            profile(),
            ReclamationRequest(user_ids=["1", "2", "x"]),
            snapshots=Snapshot([stale(1), stale(2, role="Owner")]),
            store=Store(),
            planned_by=None,
        )
    assert [(e["loc"][-1], e["msg"]) for e in raised.value.errors] == [
        (1, "2 is has the protected role 'Owner'"),
        (2, "x is not a user of the last sync"),
    ]


def test_execution_sends_each_request_once_and_goes_on_past_a_failure():
    store, seats = Store(), Seats(failing={"1"})
    record = plan(
        profile(),
        ReclamationRequest(dry_run=False),
        snapshots=Snapshot([stale(i) for i in range(3)] + [SaaSUser(id=f"a{i}", last_activity=NOW) for i in range(30)]),
        store=store,
        planned_by=None,
    )
    done = execute(record, store=store, seats=seats, stale_now={"0", "1", "2"})
    assert done.status == "partially_failed" and seats.sent == ["0", "1", "2"]
    assert [o.outcome for o in done.outcomes] == ["reclaimed", "failed", "reclaimed"]
    # What is saved is what the two reclaimed licenses cost, at the price when the plan was made.
    assert done.reclaimed == 2 and done.savings is not None
    assert (str(done.savings.amount), done.savings.currency) == ("25.00", "EUR")
    store.put_reclamation(record)  # the same run, retried from where it stood before it finished
    again = execute(record, store=store, seats=seats, stale_now={"0", "1", "2"})
    assert seats.sent == ["0", "1", "2"]
    assert [o.outcome for o in again.outcomes] == ["reclaimed", "failed", "reclaimed"]


def test_fill_in_puts_user_fields_into_bodies_and_paths():
    candidate = Candidate(id="u1", email="a@b.c")
    body = {"Operations": [{"op": "replace", "value": "{email}"}], "ids": ["{id}"], "n": 1}
    assert fill_in(body, candidate) == {"Operations": [{"op": "replace", "value": "a@b.c"}], "ids": ["u1"], "n": 1}
    assert fill_in("/users/{id}", candidate) == "/users/u1"


def test_fill_in_keeps_braces_that_name_no_user_field_as_a_graphql_mutation_has_them():
    # str.format raised on these, in the reclaim function, and left the reclamation running for ever.
    mutation = {
        "query": "mutation ($ids: [ID!]!) { deactivate_users(user_ids: $ids) { deactivated_users { id } } }",
        "variables": {"ids": ["{id}"]},
    }
    filled = fill_in(mutation, Candidate(id="4012689"))
    assert filled == {"query": mutation["query"], "variables": {"ids": ["4012689"]}}


def test_a_plan_warns_when_the_templates_reclaim_request_loses_the_users_data():
    def box(**own):
        built = build_profile({"name": "Box", "template": "box", "subscription": {"licenses_purchased": 10}, **own})
        return ProfileRecord(id="prf_1", own={}, profile=built, created_at=OLD, updated_at=OLD)

    users = [stale(1)] + [SaaSUser(id=f"a{i}", last_activity=NOW) for i in range(19)]
    planned = plan(box(), ReclamationRequest(), snapshots=Snapshot(users), store=Store(), planned_by=None)
    assert len(planned.warnings) == 1 and "Move their files to another user first" in planned.warnings[0]
    # A reclaim request of the profile's own is the profile's to describe.
    own = box(reclaim={"method": "POST", "path": "/users/{id}/suspend"})
    assert plan(own, ReclamationRequest(), snapshots=Snapshot(users), store=Store(), planned_by=None).warnings == []
    assert (
        plan(profile(), ReclamationRequest(), snapshots=Snapshot(users), store=Store(), planned_by=None).warnings == []
    )


def test_a_body_naming_no_user_field_fails_that_user_not_the_run():
    # Given a reclaim body with a placeholder the user does not have (or a stray brace)
    for body in ({"login": "{login}"}, ["{id.__len__.x}"], {"q": "query { users {login} }"}):
        # When it is filled in, Then it is a SaaSRequestFailed, which execute() records for that user
        with pytest.raises(SaaSRequestFailed, match="names no user field"):
            fill_in(body, Candidate(id="u1"))
    # A brace with whitespace after it is text, as GraphQL's are
    assert fill_in({"note": "a { b"}, Candidate(id="u1")) == {"note": "a { b"}


@pytest.mark.parametrize(
    ("figures", "says"),
    [
        (
            {
                "assigned": 40,
                "with_activity": 5,
                "stale": 10,
                "previous": {"assigned": 40, "with_activity": 38, "stale": 4},
            },
            "12% of assigned users have any activity now, 95% did before",
        ),
        (
            {
                "assigned": 40,
                "with_activity": 40,
                "stale": 40,
                "previous": {"assigned": 40, "with_activity": 40, "stale": 3},
            },
            "every assigned user is stale now",
        ),
    ],
)
def test_suspicious_activity_data_stops_a_real_run_for_an_admins_review(figures, says):
    users = [stale(i) for i in range(2)] + [SaaSUser(id=f"a{i}", last_activity=NOW) for i in range(38)]
    record = plan(
        profile(), ReclamationRequest(dry_run=False), snapshots=Snapshot(users, figures), store=Store(), planned_by=None
    )
    assert record.status == "awaiting_approval" and says in record.approval_reason


def test_steady_activity_data_is_not_suspicious():
    figures = {
        "assigned": 40,
        "with_activity": 36,
        "stale": 4,
        "previous": {"assigned": 41, "with_activity": 37, "stale": 5},
    }
    users = [stale(1)] + [SaaSUser(id=f"a{i}", last_activity=NOW) for i in range(39)]
    record = plan(
        profile(), ReclamationRequest(dry_run=False), snapshots=Snapshot(users, figures), store=Store(), planned_by=None
    )
    assert record.status == "running"


def test_a_run_that_died_midway_is_finished_from_its_action_records():
    store, notices = Store(), Notices()
    users = [stale(i) for i in range(4)] + [SaaSUser(id=f"a{i}", last_activity=NOW) for i in range(36)]
    record = plan(profile(), ReclamationRequest(dry_run=False), snapshots=Snapshot(users), store=store, planned_by=None)
    # Given the run reclaimed user 0, claimed user 1 and died before keeping user 1's outcome,
    written = UserOutcome(user_id="0", outcome="reclaimed", status_code=204)
    store.claim_action(record.id, "0")
    store.finish_action(record.id, record.profile_id, written)
    store.claim_action(record.id, "1")

    failed = record_failure(record.id, store=store, error="ClientError", cause="the table refused", notices=notices)

    assert failed.status == "partially_failed" and (failed.error, failed.cause) == ("ClientError", "the table refused")
    assert failed.outcomes[0] == written  # as written
    assert [(o.user_id, o.outcome) for o in failed.outcomes] == [("0", "reclaimed"), ("1", "outcome_unknown")]
    assert failed.reclaimed == 1 and str(failed.savings.amount) == "12.50"
    assert failed.audit[-1].action == "failed" and failed.finished_at
    assert notices.put_ == [
        (
            "Reclamation Finished",
            {
                "reclamation_id": record.id,
                "profile_id": "prf_1",
                "status": "partially_failed",
                "error": "ClientError",
                "reclaimed": ["0"],
                "canceled": [],
                "failed": ["1"],
            },
        )
    ]


def test_a_run_that_died_before_acting_is_canceled_and_a_finished_one_is_left_alone():
    store = Store()
    users = [stale(1)] + [SaaSUser(id=f"a{i}", last_activity=NOW) for i in range(19)]
    record = plan(profile(), ReclamationRequest(dry_run=False), snapshots=Snapshot(users), store=store, planned_by=None)
    canceled = record_failure(record.id, store=store, error="States.Timeout", cause="too slow", notices=Notices())
    assert canceled.status == "canceled" and canceled.outcomes == []
    assert "nothing was reclaimed" in canceled.audit[-1].detail
    notices = Notices()
    assert record_failure(record.id, store=store, error="Again", cause="twice", notices=notices) == canceled
    assert notices.put_ == []


def test_a_real_run_waits_for_approval_when_the_template_s_removal_call_is_unverified(monkeypatch):
    from seatkeeper.profiles import catalog

    # Given a template whose reclaim request no vendor source confirms (Box's, marked so for the test)
    box = catalog.templates()["box"]
    doubted = box.model_copy(update={"verified": False, "unverified": {"reclaim": "no vendor source names it"}})
    monkeypatch.setattr(catalog, "templates", lambda: {"box": doubted})
    built = build_profile({"name": "Box", "template": "box", "subscription": {"licenses_purchased": 10}})
    record = ProfileRecord(id="prf_1", own={}, profile=built, created_at=OLD, updated_at=OLD)
    users = [stale(1)] + [SaaSUser(id=f"a{i}", last_activity=NOW) for i in range(19)]
    # When a dry run and a real run are planned, under every cap
    dry = plan(record, ReclamationRequest(), snapshots=Snapshot(users), store=Store(), planned_by=None)
    real = plan(record, ReclamationRequest(dry_run=False), snapshots=Snapshot(users), store=Store(), planned_by=None)
    # Then the dry run plans as ever, and the real run waits for an admin, saying why
    assert dry.status == "planned"
    assert real.status == "awaiting_approval" and real.needs_approval
    assert real.approval_reason == "the box template's reclaim (no vendor source names it) is unverified"
    # And with the template's facts confirmed, the same real run runs
    monkeypatch.setattr(catalog, "templates", lambda: {"box": box})
    again = plan(record, ReclamationRequest(dry_run=False), snapshots=Snapshot(users), store=Store(), planned_by=None)
    assert again.status == "running"
