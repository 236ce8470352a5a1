"""Reclamation rules as plain functions: who is a candidate, the approval cap, exactly-once execution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seatkeeper.core.errors import Conflict, InvalidInput, SaaSRequestFailed, SaaSUnavailable
from seatkeeper.licensing.reclamation import (
    AdminReason,
    Candidate,
    ReclamationConflict,
    ReclamationRequest,
    UserOutcome,
    announce,
    approve,
    cancel_grace_period,
    check_taken_back,
    end_grace_period,
    execute,
    plan,
    record_failure,
    reject,
    why_not_a_candidate,
)
from seatkeeper.profiles.catalog import build_profile
from seatkeeper.profiles.records import ProfileRecord
from seatkeeper.saas.records import SaaSUser
from seatkeeper.saas.templating import fill_in
from seatkeeper.sync.runs import TakenBack

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
        # A sync that just succeeded, unless the figures say when it did
        return {"synced_at": datetime.now(UTC).isoformat(timespec="seconds"), **(self.figures or {})}


class Store:
    def __init__(self):
        self.records, self.actions, self.claimed = {}, {}, set()
        self.marks = {}  # seats taken back, by user id, as a test gives them

    def put_reclamation(self, r):
        self.records[r.id] = r

    def get_reclamation(self, i):
        return self.records[i]

    def replace_reclamation(self, r, *, expected_status, expected_revision=None):
        stored = self.records[r.id]
        if stored.status != expected_status:
            raise ReclamationConflict("changed")
        if expected_revision is not None and len(stored.audit) != expected_revision:
            raise ReclamationConflict("changed meanwhile")
        self.records[r.id] = r

    def taken_back(self, profile_id, *, marked_users=True):
        # "gone": taken back by an earlier reclamation, and no sync checked it since
        return {"gone": TakenBack(user_id="gone", at=OLD), **self.marks}

    def check_taken_back(self, profile_id, marks):
        self.marks = {**self.marks, **{mark.user_id: mark for mark in marks}}
        return []

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
    approved = approve(
        record.id, store=store, approved_by="boss", profile_of=lambda _: profile(), snapshots=Snapshot(users)
    )
    assert approved.status == "running" and approved.approved_by == "boss"
    with pytest.raises(ReclamationConflict):
        approve(record.id, store=store, approved_by="boss", profile_of=lambda _: profile(), snapshots=Snapshot(users))


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


def waiting_plan(store, **policy):
    users = [stale(i) for i in range(5)] + [SaaSUser(id=f"a{i}", last_activity=NOW) for i in range(45)]
    return plan(
        profile(max_reclaim_count=3, **policy),
        ReclamationRequest(dry_run=False),
        snapshots=Snapshot(users),
        store=store,
        planned_by="alice",
    )


def test_an_admin_rejects_a_plan_awaiting_approval_once_and_it_can_no_longer_be_approved():
    # Given a plan that waits for approval
    store = Store()
    record = waiting_plan(store)
    assert record.status == "awaiting_approval"
    # When an admin rejects it with a reason
    rejected = reject(record.id, store=store, by="boss", reason="the HR export was a day late")
    # Then it is rejected and finished, with who and why on the audit trail
    assert (rejected.status, store.get_reclamation(record.id).status) == ("rejected", "rejected")
    assert rejected.finished_at is not None and rejected.outcomes == []
    last = rejected.audit[-1]
    assert (last.action, last.by, last.detail) == ("rejected", "boss", "the HR export was a day late")
    # And neither a second reject, an approval nor a cancel applies to it any more
    for act in (
        lambda: reject(record.id, store=store, by="boss", reason="again"),
        lambda: approve(
            record.id, store=store, approved_by="boss", profile_of=lambda _: profile(), snapshots=Snapshot([])
        ),
        lambda: cancel_grace_period(record.id, store=store, by="boss", reason="x"),
    ):
        with pytest.raises(ReclamationConflict):
            act()


def in_grace(store):
    record = plan(
        profile(grace_period="P7D"),
        ReclamationRequest(dry_run=False),
        snapshots=Snapshot([stale(i) for i in range(3)] + [SaaSUser(id=f"a{i}", last_activity=NOW) for i in range(30)]),
        store=store,
        planned_by=None,
    )
    store.put_reclamation(record)
    return announce(record, store=store, notices=Notices())


def test_an_admin_cancels_in_the_grace_period_and_the_end_of_the_wait_reclaims_nothing():
    # Given a reclamation in its grace period, one of whose users released the seat already
    store, seats = Store(), Seats()
    waiting = in_grace(store)
    assert waiting.status == "in_grace_period"
    store.claim_action(waiting.id, "1")
    store.finish_action(waiting.id, "prf_1", UserOutcome(user_id="1", outcome="released_by_user", status_code=204))
    # A plan still waiting for approval cannot be canceled: it is rejected instead
    with pytest.raises(ReclamationConflict):
        reject(waiting.id, store=store, by="boss", reason="no")
    # When an admin cancels it
    canceled = cancel_grace_period(waiting.id, store=store, by="boss", reason="wrong app")
    # Then it is canceled, the released seat is the one taken back, and the audit says who and why
    assert canceled.status == "canceled" and canceled.finished_at is not None
    assert [(o.user_id, o.outcome) for o in canceled.outcomes] == [("1", "released_by_user")]
    assert canceled.reclaimed == 1 and str(canceled.savings.amount) == "12.50"
    assert (canceled.audit[-1].action, canceled.audit[-1].by, canceled.audit[-1].detail) == (
        "canceled",
        "boss",
        "wrong app",
    )
    # And the step after the wait leaves it canceled, so nothing else is sent
    after = end_grace_period(waiting, store=store)
    assert after.status == "canceled" and store.get_reclamation(waiting.id).status == "canceled"
    with pytest.raises(ReclamationConflict):
        execute(after, store=store, seats=seats, stale_now={"0", "1", "2"})
    assert seats.sent == []
    with pytest.raises(ReclamationConflict):
        cancel_grace_period(waiting.id, store=store, by="boss", reason="twice")


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_a_reject_or_cancel_needs_a_reason_in_words(reason):
    with pytest.raises(ValueError, match="reason"):
        AdminReason(reason=reason)


@pytest.mark.parametrize(
    ("policy", "synced_hours_ago", "refused"),
    [
        ({}, 49, True),
        ({}, 47, False),
        ({"max_snapshot_age": "PT12H"}, 13, True),
        ({"max_snapshot_age": "P7D"}, 100, False),
    ],
)
def test_a_real_run_on_a_snapshot_older_than_max_snapshot_age_is_refused_with_the_reason(
    policy, synced_hours_ago, refused
):
    # Given a profile whose syncs broke: the last successful one is this many hours old, and every user looks stale
    users = [stale(1)] + [SaaSUser(id=f"a{i}", last_activity=NOW) for i in range(19)]
    synced_at = (datetime.now(UTC) - timedelta(hours=synced_hours_ago)).isoformat(timespec="seconds")
    snapshots, store = Snapshot(users, {"synced_at": synced_at}), Store()

    # When a real reclamation is planned
    def start():
        return plan(
            profile(**policy), ReclamationRequest(dry_run=False), snapshots=snapshots, store=store, planned_by=None
        )

    if not refused:
        assert start().status == "running"
        return
    # Then it is a 409 that says how old the data is and what the policy allows, and nothing is stored
    with pytest.raises(ReclamationConflict, match=r"older than policy\.max_snapshot_age") as raised:
        start()
    assert synced_at in str(raised.value) and isinstance(raised.value, Conflict)  # the API answers 409
    assert store.records == {}
    # And a dry run still recommends, on the data there is
    assert plan(profile(**policy), ReclamationRequest(), snapshots=snapshots, store=store, planned_by=None).candidates


def test_an_approval_given_after_the_data_went_stale_is_refused():
    # Given a reclamation awaiting approval, planned on a fresh snapshot
    users = [stale(i) for i in range(5)] + [SaaSUser(id=f"a{i}", last_activity=NOW) for i in range(45)]
    store = Store()
    record = plan(
        profile(max_reclaim_count=3),
        ReclamationRequest(dry_run=False),
        snapshots=Snapshot(users),
        store=store,
        planned_by=None,
    )
    # When an admin approves it three days later, the syncs having failed since
    old = Snapshot(users, {"synced_at": (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")})
    # Then the approval is refused, and the reclamation still waits
    with pytest.raises(ReclamationConflict, match="max_snapshot_age"):
        approve(
            record.id, store=store, approved_by="boss", profile_of=lambda _: profile(max_reclaim_count=3), snapshots=old
        )
    assert store.records[record.id].status == "awaiting_approval"


def test_a_real_run_with_no_successful_sync_is_refused():
    class NeverSynced(Snapshot):
        def snapshot(self, profile_id):
            return None

    with pytest.raises(ReclamationConflict, match="no successful sync"):
        plan(
            profile(),
            ReclamationRequest(dry_run=False),
            snapshots=NeverSynced([stale(1)]),
            store=Store(),
            planned_by=None,
        )


def test_a_candidate_says_why_and_where_its_last_activity_comes_from():
    # Given candidates stale by the app's record, by the IdP's sign-in, never active, and a leaver
    from seatkeeper.licensing.reclamation import activity_source, why_a_candidate

    app_seen = SaaSUser(id="1", last_activity=OLD)
    idp_seen = SaaSUser(id="2", last_activity=OLD, last_sign_in=OLD)
    never = SaaSUser(id="3", created_at=OLD)
    leaver = SaaSUser(id="4", orphaned=True, last_activity=NOW)
    # Then each says why in words that name the date and the window, and the activity's source
    assert why_a_candidate(app_seen, inactivity_days=90) == f"no activity since {OLD.date()} (the window is 90 days)"
    assert why_a_candidate(never, inactivity_days=30) == f"never active, created {OLD.date()} (the window is 30 days)"
    assert why_a_candidate(leaver, inactivity_days=90).startswith("a leaver")
    assert [activity_source(u) for u in (app_seen, idp_seen, never)] == ["app", "idp", None]
    # And a plan's candidates carry them
    record = plan(profile(), ReclamationRequest(), snapshots=Snapshot([app_seen]), store=Store(), planned_by=None)
    assert (record.candidates[0].why, record.candidates[0].activity_source) == (
        f"no activity since {OLD.date()} (the window is 90 days)",
        "app",
    )


def test_an_excluded_user_leaves_the_plan_is_kept_for_keep_days_and_only_while_it_waits():
    from seatkeeper.core.errors import NotFound
    from seatkeeper.licensing.keep import ExclusionRequest, exclude

    # Given a plan waiting for approval, and a store that keeps seats
    store = Store()
    store.kept_seats = {}
    store.keep_seat = lambda profile_id, user_id, until: store.kept_seats.update({user_id: until})
    record = waiting_plan(store, keep_days=14)
    policy = profile(keep_days=14).profile.policy
    # When an admin excludes one candidate
    narrowed = exclude(
        record.id, ExclusionRequest(user_id="2", reason="on leave"), store=store, policy=policy, by="boss", now=NOW
    )
    # Then the plan has the others, the seat is kept for 14 days, and the audit says so
    assert [c.id for c in narrowed.candidates] == ["0", "1", "3", "4"]
    assert store.kept_seats == {"2": NOW + timedelta(days=14)}
    assert (narrowed.audit[-1].action, narrowed.audit[-1].by, narrowed.audit[-1].user_id) == ("excluded", "boss", "2")
    # A user who is no candidate is a 404; once approved, no exclusion applies
    with pytest.raises(NotFound):
        exclude(record.id, ExclusionRequest(user_id="2", reason="x"), store=store, policy=policy, by="b", now=NOW)
    approve(record.id, store=store, approved_by="boss", profile_of=lambda _: profile(), snapshots=Snapshot([]))
    with pytest.raises(ReclamationConflict):
        exclude(record.id, ExclusionRequest(user_id="3", reason="x"), store=store, policy=policy, by="b", now=NOW)


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


# --- a reclaim the app accepted and did not carry out -------------------------------------------


class OneUser(Snapshot):
    def user(self, profile_id, user_id):
        return next((u for u in self.list if u.id == user_id), None)


def reclaimed_by(store, user_ids, at):
    """A finished reclamation that took back `user_ids` at `at`, with its marks in the store."""
    p = profile(max_reclaim_percent=100, max_reclaim_count=1000)
    snap = Snapshot([stale(i) for i in user_ids])
    done = plan(p, ReclamationRequest(dry_run=False), snapshots=snap, store=store, planned_by="me")
    done = execute(done, store=store, seats=Seats(), stale_now=set(user_ids))
    store.marks = {i: TakenBack(user_id=i, reclamation_id=done.id, at=at) for i in user_ids}
    return done


def test_a_seat_the_next_sync_still_finds_held_is_not_effective_told_once_and_left_out_of_plans():
    # Given a reclamation that took back two seats an hour ago, and a sync read since in which the app
    # lets one go and still holds the other
    store, notices = Store(), Notices()
    done = reclaimed_by(store, ["held", "freed"], NOW - timedelta(hours=1))
    synced = OneUser([stale("held"), stale("freed", active=False)])
    # When the sync's commit checks them (twice: a retried commit)
    found = check_taken_back("prf_1", snapshots=synced, store=store, read_at=NOW, notices=notices)
    again = check_taken_back("prf_1", snapshots=synced, store=store, read_at=NOW, notices=notices)
    # Then the held one is not_effective, once: its outcome, the event, the mark; the freed one is effective
    assert found == {"held": "not_effective", "freed": "effective"} and again == {}
    record = store.records[done.id]
    outcomes = {o.user_id: o.outcome for o in record.outcomes}
    assert outcomes == {"held": "not_effective", "freed": "reclaimed"} and record.reclaimed == 1
    assert record.savings.amount == 12.5
    assert [(kind, detail["user_id"]) for kind, detail in notices.put_] == [("Reclamation Not Effective", "held")]
    assert (store.marks["held"].checked, store.marks["freed"].checked) == ("not_effective", "effective")
    # and the next plan leaves the held seat out, saying why, until a plan names it
    later = plan(profile(max_reclaim_percent=100), ReclamationRequest(), snapshots=synced, store=store, planned_by="me")
    assert [c.id for c in later.candidates] == []
    with pytest.raises(InvalidInput) as refused:
        plan(profile(), ReclamationRequest(user_ids=["held", "nobody"]), snapshots=synced, store=store, planned_by="me")
    assert [e["loc"][-1] for e in refused.value.errors] == [1]
    named = plan(
        profile(max_reclaim_percent=100),
        ReclamationRequest(dry_run=False, user_ids=["held"]),
        snapshots=synced,
        store=store,
        planned_by="me",
    )
    assert [c.id for c in named.candidates] == ["held"] and named.status == "awaiting_approval"
    assert "did not take effect" in named.candidates[0].why and "an admin decides" in named.approval_reason


def test_a_seat_is_checked_only_by_a_sync_that_started_after_it_and_once_its_reclamation_finished():
    # Given a seat taken back now, and a sync that began reading the app a minute before
    store, notices = Store(), Notices()
    reclaimed_by(store, ["held"], NOW)
    synced = OneUser([stale("held")])
    # When that sync commits, it says nothing of the seat: it may have read the app before the request
    assert check_taken_back("prf_1", snapshots=synced, store=store, read_at=NOW - timedelta(minutes=1)) == {}
    # and a sync started later finds nothing while the reclamation has not finished (its outcome is unwritten)
    running = store.records[store.marks["held"].reclamation_id]
    store.records[running.id] = running.model_copy(update={"finished_at": None})
    assert check_taken_back("prf_1", snapshots=synced, store=store, read_at=NOW + timedelta(minutes=1)) == {}
    assert store.marks["held"].checked == "sent" and notices.put_ == []


def test_a_downgrade_is_effective_once_the_app_shows_the_new_tier():
    mark = TakenBack(user_id="u", at=OLD, tier="Basic")
    assert mark.effective_in(SaaSUser(id="u", tier="basic")) and mark.effective_in(None)
    assert not mark.effective_in(SaaSUser(id="u", tier="Pro"))


def test_a_reclamation_changed_while_a_seat_is_checked_leaves_it_for_the_next_sync():
    # Given a seat the app still holds, and its reclamation written by someone else as the check writes it
    store, notices = Store(), Notices()
    reclaimed_by(store, ["held"], NOW - timedelta(hours=1))

    def changed_meanwhile(record, *, expected_status, expected_revision=None):
        raise ReclamationConflict("changed meanwhile")

    store.replace_reclamation = changed_meanwhile
    # When the commit checks it
    found = check_taken_back("prf_1", snapshots=OneUser([stale("held")]), store=store, read_at=NOW, notices=notices)
    # Then the sync is not failed for it: nothing is said yet, and the mark waits for the next commit
    assert found == {} and notices.put_ == [] and store.marks["held"].checked == "sent"


def test_many_seats_are_checked_from_one_read_of_the_snapshot():
    # Given 60 seats taken back an hour ago (more than CHECK_ONE_BY_ONE), of which the app still holds the first
    store = Store()
    user_ids = [f"u{i:02d}" for i in range(60)]
    reclaimed_by(store, user_ids, NOW - timedelta(hours=1))

    class Listed(OneUser):
        def user(self, profile_id, user_id):
            raise AssertionError("read one by one")

    synced = Listed([stale("u00"), *(stale(i, active=False) for i in user_ids[1:])])
    # When the commit checks them
    found = check_taken_back("prf_1", snapshots=synced, store=store, read_at=NOW)
    # Then they are all checked from the listing, and the held one corrects its reclamation once
    assert found == {"u00": "not_effective", **dict.fromkeys(user_ids[1:], "effective")}
    record = next(iter(store.records.values()))
    assert record.reclaimed == 59 and sum(e.action == "not effective" for e in record.audit) == 1


def test_a_slack_plan_says_in_slack_s_words_that_members_idle_over_28_days_save_nothing():
    # Given a Slack profile (the slack template: Slack bills only members who "take an action in Slack at any
    # time within a 28-day period", tests/vendor_specs/slack/fair-billing.yaml) finding seats stale after 14 days
    built = build_profile(
        {
            "name": "Slack",
            "template": "slack",
            "subscription": {"licenses_purchased": 30, "cost_per_license": "8.75"},
            "users": {"fields": {"last_activity": "last"}},
            "policy": {"inactivity_days": 14},
        }
    )
    slack = ProfileRecord(id="prf_1", own={}, profile=built, created_at=OLD, updated_at=OLD)
    users = [
        SaaSUser(id="recent", last_activity=NOW - timedelta(days=20), created_at=OLD),
        SaaSUser(id="idle", last_activity=NOW - timedelta(days=60), created_at=OLD),
        SaaSUser(id="never", last_activity=None, created_at=OLD),
    ] + [SaaSUser(id=f"a{i}", last_activity=NOW) for i in range(20)]
    # When a dry run plans
    planned = plan(slack, ReclamationRequest(), snapshots=Snapshot(users), store=Store(), planned_by=None)
    # Then the member idle over 28 days saves nothing and says why; the others save their seat's price
    saves = {c.id: c.saves for c in planned.candidates}
    assert saves == {"recent": 8.75, "idle": 0, "never": 8.75}
    idle = next(c for c in planned.candidates if c.id == "idle")
    assert idle.why is not None and "no longer bills a member idle over 28 days" in idle.why
    # And the plan warns once, quoting Slack's policy
    quoted = [w for w in planned.warnings if "save nothing" in w]
    assert len(quoted) == 1 and "1 of the 3 candidates" in quoted[0]
    assert '"Members who take an action in Slack at any time within a 28-day period' in quoted[0]
    # And a plan with no such member has no such warning
    fresh = [u for u in users if u.id != "idle"]
    again = plan(slack, ReclamationRequest(), snapshots=Snapshot(fresh), store=Store(), planned_by=None)
    assert not [w for w in again.warnings if "save nothing" in w]
