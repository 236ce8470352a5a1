"""A base's entries and when a commit writes a new base (seatkeeper.sync), without AWS."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime

import pytest

from seatkeeper.aws.dynamodb.snapshots import PAGE_BYTES, _user, base_page
from seatkeeper.saas.records import SaaSUser
from seatkeeper.sync.runs import REBASE_AT_LEAST, fingerprint, rebases, snapshot_entry


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
