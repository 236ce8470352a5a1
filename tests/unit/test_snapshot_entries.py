"""A base's entries and when a commit writes a new base (seatkeeper.sync), without AWS."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatkeeper.aws.dynamodb.snapshots import PAGE_BYTES, _user, base_page
from seatkeeper.saas.records import SaaSUser
from seatkeeper.sync.runs import (
    REBASE_AT_LEAST,
    STAGED_MARK,
    fingerprint,
    rebases,
    snapshot_entry,
    staged_row,
    staged_users,
)


@pytest.mark.parametrize(
    "user",
    [
        SaaSUser(id="u1"),
        SaaSUser(id="u2", active=False, email="a@example.com", tier="pro", orphaned=True),
        SaaSUser(
            id='odd "id" \\ é',
            name="Ünïcode",
            last_activity=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            last_sign_in=datetime(2026, 2, 1, tzinfo=UTC),
            assigned_via_group="Everyone",
            unmatched=True,
        ),
    ],
)
def test_an_entry_reads_back_as_the_user_it_was_with_its_fingerprint(user):
    entry = snapshot_entry(user, fingerprint(user))
    (read,) = json.loads(gzip.decompress(base_page([entry])))
    assert _user(read) == user and read["fingerprint"] == fingerprint(user)
    # Defaults are left out: a user of the common kind costs its id and what it has
    assert "orphaned" not in read or user.orphaned


def test_a_base_is_written_anew_once_its_changes_outgrow_a_tenth_of_its_users_and_at_least_a_thousand():
    assert not rebases(20_000, 2_000) and rebases(20_000, 2_001)
    assert not rebases(500, REBASE_AT_LEAST) and rebases(500, REBASE_AT_LEAST + 1)
    assert not rebases(0, 0)


def test_a_page_of_the_largest_entries_stays_under_dynamodbs_item_limit():
    # Incompressible JSON of PAGE_BYTES: gzip adds its header, never more than DynamoDB's 400 KB an item
    entry = json.dumps({"id": "u", "name": os.urandom(PAGE_BYTES // 2).hex()[: PAGE_BYTES - 40]})
    assert len(base_page([entry])) < 400 * 1024


def test_a_user_of_no_more_list_keeps_the_fingerprint_it_had_before_lists_had_kinds():
    # Given a user as the users list gives it (no kind), and the fingerprint the code before users.also gave
    # it (computed at commit 2752029)
    user = SaaSUser(id="octo1", name="octo1", role="User", last_activity=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    # Then its fingerprint is unchanged: a first sync after the upgrade writes none of the stored users again
    assert fingerprint(user) == "b0e94081c0ff64e4246a3d66"
    # And the same user listed by a more list differs, so a change of list is written
    assert fingerprint(user.model_copy(update={"kind": "outside_collaborator"})) != fingerprint(user)


def test_a_user_staged_by_fetch_carries_the_fingerprint_stored_before_marks_were_staged():
    # Given the users of the test above, as FetchUsers stages them (one JSON line with its mark)
    user = SaaSUser(id="octo1", name="octo1", role="User", last_activity=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    listed = user.model_copy(update={"kind": "outside_collaborator"})
    for staged, expected in ((user, "b0e94081c0ff64e4246a3d66"), (listed, fingerprint(listed))):
        row = json.loads(staged_row(staged))
        # Then the mark is byte for byte the fingerprint the commit computed before (commit 2752029's for the
        # first), and the row reads back as the user
        assert row[STAGED_MARK] == expected
        assert SaaSUser.model_validate(row) == staged


ODD_TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)
USERS = st.builds(
    SaaSUser,
    id=ODD_TEXT.filter(bool),
    email=st.none() | ODD_TEXT,
    name=st.none() | ODD_TEXT,
    active=st.booleans(),
    last_activity=st.none() | st.datetimes(timezones=st.just(UTC)),
    created_at=st.none() | st.datetimes(timezones=st.just(UTC)),
    orphaned=st.booleans(),
    kind=st.none() | st.sampled_from(["outside_collaborator", "guest"]),
)


@settings(max_examples=300, deadline=None)
@given(USERS)
def test_the_staged_mark_is_the_fingerprint_of_the_user_the_commit_reads_back(user):
    # Given any user (quotes, backslashes, control characters and non-ASCII text; with a kind or without)
    # When FetchUsers stages it and the commit reads the row back
    (read, mark), *_ = staged_users([staged_row(user).encode()], (), lambda same: same)
    # Then the commit has the user and, without dumping it again, the fingerprint it would have computed
    assert read == user
    assert mark == fingerprint(SaaSUser.model_validate(read.model_dump(mode="json")))


def test_a_user_the_commit_adds_to_is_fingerprinted_anew_and_one_it_leaves_keeps_its_mark():
    # Given two staged users and an identity provider that saw the second sign in
    users = [SaaSUser(id="u1"), SaaSUser(id="u2")]
    lines = [staged_row(user).encode() for user in users]
    signed_in = datetime(2026, 3, 1, tzinfo=UTC)

    def adding(user: SaaSUser) -> SaaSUser:
        return user.model_copy(update={"last_sign_in": signed_in}) if user.id == "u2" else user

    # When the commit reads them
    (first, first_mark), (second, second_mark) = staged_users(lines, (), adding)
    # Then the first keeps the mark it was staged with, and the second has the fingerprint of what it is now
    assert first_mark == json.loads(lines[0])[STAGED_MARK] == fingerprint(first)
    assert second.last_sign_in == signed_in and second_mark == fingerprint(second) != json.loads(lines[1])[STAGED_MARK]


def test_a_row_staged_before_rows_had_marks_is_fingerprinted_at_the_commit():
    # Given a row as FetchUsers staged it before (a dict dumped by json, without a mark), and a user whose kind
    # is text that ends as a mark would
    old = json.dumps(SaaSUser(id="u1", email="a@example.com").model_dump(mode="json"), separators=(",", ":"))
    forged = SaaSUser(id="u2", kind=f'x","{STAGED_MARK}":"{"0" * 24}').model_dump_json()
    # When the commit reads them, and the first again with that user already listed
    read = list(staged_users([old.encode(), forged.encode()], (), lambda same: same))
    # Then each has the fingerprint of what it is, and a user listed already is left out
    assert [mark for _, mark in read] == [fingerprint(user) for user, _ in read]
    assert read[1][0].kind == f'x","{STAGED_MARK}":"{"0" * 24}'
    assert list(staged_users([old.encode()], {"u1"}, lambda same: same)) == []


@settings(max_examples=200, deadline=None)
@given(USERS)
def test_an_entry_is_the_json_it_was_before_its_encoder_was_made_once(user):
    # Given any user (any text), when a first sync writes it into a base
    mark = fingerprint(user)
    expected = json.dumps(
        {**user.model_dump(mode="json", exclude_defaults=True), "fingerprint": mark}, separators=(",", ":")
    )
    # Then its entry is byte for byte what json.dumps wrote for it before: a base's pages do not change
    assert snapshot_entry(user, mark) == expected
