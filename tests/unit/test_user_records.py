"""Reading users out of a page: timestamps in every form the SaaS apps send, ids and records paths."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jmespath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seatkeeper.profiles.model import UserFields, UsersEndpoint
from seatkeeper.saas.records import (
    KEYS_SEEN_MAX,
    FieldTally,
    SaaSUser,
    UnreadableRecord,
    closest_key,
    keys_in,
    parse_timestamp,
    read_page,
    read_user,
    search,
)
from seatkeeper.sync.runs import fingerprint

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


# --- the fast paths, against what they replace (hypothesis) ---------------------------------------

NAMES = st.sampled_from(["id", "email", "profile", "a", "b", "user-name", "0", ""])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=4),
    max_leaves=12,
)


def quoted(name: str) -> str:
    return name if name.isidentifier() else json.dumps(name)


@settings(max_examples=400, deadline=None)
@given(st.lists(NAMES, min_size=1, max_size=4), JSON)
def test_a_plain_key_or_dotted_path_reads_what_a_jmespath_search_reads(names, data):
    # Given a field or a dotted path of fields (read by dict lookups, not by jmespath's interpreter),
    # and any JSON at all: missing keys, nulls, lists and scalars where a map was expected
    expression = ".".join(quoted(name) for name in names)
    # Then it reads what jmespath reads, the same value or the same None
    assert search(expression, data) == jmespath.search(expression, data)
    assert type(search(expression, data)) is type(jmespath.search(expression, data))


def every_key_of(records):
    """The tally's keys as it gathered them before it skipped the records that add none."""
    seen: set[str] = set()
    for record in records:
        if len(seen) < KEYS_SEEN_MAX:
            seen |= keys_in(record)
    return sorted(seen)[:KEYS_SEEN_MAX]


@settings(max_examples=300, deadline=None)
@given(st.lists(JSON | st.dictionaries(NAMES, JSON, max_size=4), max_size=8))
def test_a_tally_sees_the_keys_it_saw_when_it_walked_every_record(records):
    # Given pages of records alike and unlike (flat, nested, not maps at all)
    tally = FieldTally.of_fields(UserFields(id="id", email="profile.email"))
    # When they are counted
    tally.count(records)
    # Then the keys seen are those a walk of every record finds
    assert tally.keys_seen == every_key_of(records)


RECORD = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=8) | st.integers()},
    optional={
        "email": st.none() | st.text(max_size=8),
        "name": st.text(max_size=8),
        "active": st.booleans() | st.sampled_from(["Active", "disabled", "yes"]),
        "last_login": st.none() | st.integers(0, 4_000_000_000_000) | st.sampled_from(["2026-01-02T03:04:05.123Z", ""]),
        "created": st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
        "role": st.sampled_from(["admin", "member"]),
    },
)
PLAIN = UserFields(
    id="id", email="email", name="name", active="active", last_activity="last_login", created_at="created", role="role"
)


@settings(max_examples=300, deadline=None)
@given(RECORD)
def test_a_user_read_from_a_record_is_the_user_pydantic_validates_from_its_json(record):
    # Given any record of a plain profile's fields
    user = read_user(PLAIN, record)
    # Then it is the user its JSON validates as (what the commit reads back), fingerprint and all
    again = SaaSUser.model_validate_json(user.model_dump_json())
    assert again == user and fingerprint(again) == fingerprint(user)
