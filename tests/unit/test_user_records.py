"""Reading users out of a page: timestamps in every form the SaaS apps send, ids and records paths."""

from __future__ import annotations

from datetime import UTC, datetime

import jmespath
import pytest

from seatkeeper.profiles.model import UserFields, UsersEndpoint
from seatkeeper.saas.records import FieldTally, UnreadableRecord, closest_key, parse_timestamp, read_page, search

MOMENT = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-01T12:30:00Z",
        "2024-03-01T12:30:00.000Z",
        "2024-03-01T14:30:00+02:00",
        "2024-03-01T12:30:00",
        1709296200,
        1709296200000,
        "1709296200",
        1709296200.0,
    ],
)
def test_timestamps_in_every_form_mean_the_same_moment(value):
    assert parse_timestamp(value) == MOMENT


def test_a_date_alone_is_midnight_utc():
    assert parse_timestamp("2024-03-01") == datetime(2024, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, "", 0, "1970-01-01T00:00:00.000Z", "0001-01-01T00:00:00Z"])
def test_placeholders_for_never_are_none(value):
    assert parse_timestamp(value) is None


@pytest.mark.parametrize("value", ["yesterday", {"at": 1}, [1], True])
def test_anything_else_is_unreadable(value):
    with pytest.raises(UnreadableRecord):
        parse_timestamp(value)


USERS = UsersEndpoint(path="/u", records_path="data.items", fields={"id": "uid", "email": "mail", "active": "state"})


def test_records_path_that_matches_nothing_is_an_error_not_zero_users():
    with pytest.raises(UnreadableRecord, match="records_path"):
        read_page(USERS, {"error": "<html>"})


def test_a_record_without_an_id_is_unreadable():
    with pytest.raises(UnreadableRecord, match="no id"):
        read_page(USERS, {"data": {"items": [{"mail": "a@b.c"}]}})


def test_ids_may_be_numbers_and_active_may_be_text():
    users = read_page(USERS, {"data": {"items": [{"uid": 42, "state": "Active"}, {"uid": 43, "state": "disabled"}]}})
    assert [(u.id, u.active) for u in users] == [("42", True), ("43", False)]


@pytest.mark.parametrize(
    "expression",
    [
        "id",
        '"user-name"',
        "profile.email",
        "a.b.c",
        "links.next",
        "emails[0].value",
        "emails[?primary].value | [0]",
        "to_string(id)",
        "length(emails)",
        "meta.lastLogin || created",
    ],
)
@pytest.mark.parametrize(
    "data",
    [
        {"id": 7, "user-name": "x", "profile": {"email": "e"}, "a": {"b": {"c": False}}, "links": {"next": None}},
        {"emails": [{"value": "p", "primary": True}, {"value": "s"}], "meta": {"lastLogin": "2026-01-01"}},
        {"profile": ["not", "a", "map"], "a": {"b": "text"}, "links": [], "created": 0},
        [],
        "text",
        None,
    ],
)
def test_a_field_or_a_path_is_read_as_jmespath_reads_it(expression, data):
    try:
        expected = jmespath.search(expression, data)
    except jmespath.exceptions.JMESPathError as exc:
        with pytest.raises(type(exc)):
            search(expression, data)
        return
    assert search(expression, data) == expected


def test_a_tally_counts_each_mapped_field_and_names_the_closest_key_when_none_matched():
    # Given a profile that maps lastLogin, and records that have last_login_at
    fields = UserFields(id="id", email="email", last_activity="lastLogin")
    tally = FieldTally.of_fields(fields)

    # When two pages of records are counted
    tally.count([{"id": "1", "email": "a@x", "last_login_at": "2026-01-01"}])
    tally.count([{"id": "2", "email": None, "profile": {"last_login_at": None}}])

    # Then each field says how many records matched, and the unmatched one the key it should be
    assert tally.matched == {"users.fields.id": 2, "users.fields.email": 1, "users.fields.last_activity": 0}
    [unmatched] = tally.unmatched()
    assert (unmatched["field"], unmatched["matched"], unmatched["of"]) == ("users.fields.last_activity", 0, 2)
    assert unmatched["suggestion"] == "last_login_at"
    assert {"last_login_at", "profile.last_login_at"} <= set(unmatched["keys_seen"])


def test_nothing_like_the_path_suggests_nothing():
    assert closest_key("lastLogin", {"id", "email"}) is None
