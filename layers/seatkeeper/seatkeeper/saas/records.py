"""Turns one page of a SaaS app's response into seatkeeper's users, as the profile maps them."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import jmespath
from jmespath.visitor import TreeInterpreter
from pydantic import BaseModel, ConfigDict

from seatkeeper.profiles.model import UserFields, UsersEndpoint

# Timestamps at or before this are placeholders for "never" (Google reports 1970-01-01).
_NEVER = datetime(1971, 1, 1, tzinfo=UTC)
_MILLISECONDS_FROM = 10**11  # an epoch value above this is in milliseconds (year 5138 in seconds)


class SaaSUser(BaseModel):
    # Built on first use, not at import: most functions import this module and never read a user.
    model_config = ConfigDict(defer_build=True)

    id: str
    email: str | None = None
    name: str | None = None
    active: bool = True
    last_activity: datetime | None = None
    created_at: datetime | None = None
    role: str | None = None
    tier: str | None = None
    # Usage from the identity provider (SPEC): a seat given through a group, a leaver, an account no
    # IdP person matches, and the latest sign-in to the app that the IdP's log shows.
    assigned_via_group: str | None = None
    orphaned: bool = False
    unmatched: bool = False
    last_sign_in: datetime | None = None
    # The IdP's assignment that gives the seat, for a reclaim request that removes it (Entra: the
    # appRoleAssignment's id and the service principal that holds it).
    assignment_id: str | None = None
    assignment_resource_id: str | None = None
    # The more list of seat holders that lists the user (users.also: GitHub's outside_collaborator); none for
    # the users list's own.
    kind: str | None = None


class UnreadableRecord(ValueError):
    """A record without an id, or with a value of the wrong kind."""


def _path(names: list[str]) -> Callable[[Any], Any]:
    def value_at(data: Any) -> Any:
        for name in names:
            data = data.get(name) if isinstance(data, dict) else None
            if data is None:
                return None
        return data

    return value_at


@lru_cache(maxsize=512)
def compiled(expression: str) -> Callable[[Any], Any]:
    """The expression as a function of the data, as jmespath answers it.

    A field or a dotted path of fields (what most profiles map) is read with dict lookups: jmespath
    makes an interpreter for every search, more than half of reading a user. Other expressions keep
    one interpreter, which holds no state between searches.
    """
    tree = jmespath.compile(expression).parsed
    fields = [tree] if tree["type"] == "field" else tree["children"] if tree["type"] == "subexpression" else []
    if fields and all(field["type"] == "field" for field in fields):
        return _path([field["value"] for field in fields])
    interpreter = TreeInterpreter()
    return lambda data: interpreter.visit(tree, data)


def search(expression: str, data: Any) -> Any:
    return compiled(expression)(data)


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 (date or date-time) or epoch seconds/milliseconds, as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise UnreadableRecord("a boolean is not a timestamp")
    if isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdigit():
        value = float(value)
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= _MILLISECONDS_FROM else value
        parsed = datetime.fromtimestamp(seconds, tz=UTC)
    elif isinstance(value, str):
        text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise UnreadableRecord(f"not an ISO 8601 timestamp or epoch value: {value[:40]!r}") from None
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    else:
        raise UnreadableRecord(f"not a timestamp: {type(value).__name__}")
    return None if parsed < _NEVER else parsed


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise UnreadableRecord(f"expected text, got {type(value).__name__}")


def read_user(fields: UserFields, record: Any) -> SaaSUser:
    user_id = _text(search(fields.id, record))
    if user_id is None:
        raise UnreadableRecord(f"record has no id at {fields.id!r}")
    active: Any = True if fields.active is None else search(fields.active, record)
    # Every value is read into its field's type here (text, a bool, an aware datetime), so validating them
    # is a type check in pydantic's core: 3.7 µs a user, where model_construct's Python loop took 17.5 µs.
    return SaaSUser.model_validate(
        {
            "id": user_id,
            "email": _text(search(fields.email, record)) if fields.email else None,
            "name": _text(search(fields.name, record)) if fields.name else None,
            "active": bool(active) if not isinstance(active, str) else active.lower() in {"true", "active", "1", "yes"},
            "last_activity": parse_timestamp(search(fields.last_activity, record)) if fields.last_activity else None,
            "created_at": parse_timestamp(search(fields.created_at, record)) if fields.created_at else None,
            "role": _text(search(fields.role, record)) if fields.role else None,
            "tier": _text(search(fields.tier, record)) if fields.tier else None,
            "assigned_via_group": _text(search(fields.group, record)) if fields.group else None,
            "orphaned": bool(search(fields.orphaned, record)) if fields.orphaned else False,
            "assignment_id": _text(search(fields.assignment_id, record)) if fields.assignment_id else None,
            "assignment_resource_id": _text(search(fields.assignment_resource_id, record))
            if fields.assignment_resource_id
            else None,
        }
    )


def records_in(records_path: str, body: Any, total: int | None = None) -> list[Any]:
    """The records of one page; nothing at the records path is an error, unless the app said there are none.

    SCIM leaves `Resources` out of a list with `totalResults` 0: an empty tenant.
    """
    records = search(records_path, body)
    if records is None and total == 0:
        return []
    if records is None:
        raise UnreadableRecord(f"the response has nothing at records_path {records_path!r}")
    if not isinstance(records, list):
        raise UnreadableRecord(f"records_path {records_path!r} does not select a list")
    return records


def read_page(users: UsersEndpoint, body: Any, total: int | None = None) -> list[SaaSUser]:
    """The users in one response body, `total` being the count the app reported, if any."""
    return [read_user(users.fields, record) for record in records_in(users.records_path, body, total)]


# --- how well a profile's paths fit the records: what a sync warns about, what a preview shows -----

KEYS_SEEN_MAX = 40  # the keys a warning lists: enough to spot the right one, short enough to read


def keys_in(data: Any, *, depth: int = 2, skip: str | None = None) -> set[str]:
    """The dotted paths of `data`'s keys, `depth` levels down (lists are not entered)."""
    found: set[str] = set()

    def walk(value: Any, prefix: str, level: int) -> None:
        if not isinstance(value, dict) or level == depth:
            return
        for name, inner in value.items():
            path = f"{prefix}{name}"
            if path == skip:
                continue
            found.add(path)
            walk(inner, f"{path}.", level + 1)

    walk(data, "", 0)
    return found


def _adds_no_key(record: Any, seen: set[str]) -> bool:
    """Whether `keys_in(record)` is all in `seen` already, told without walking it: a flat record whose keys
    are seen. An app's records mostly share their keys, and the walk was three quarters of a tally."""
    if not isinstance(record, dict) or not seen.issuperset(record):
        return False
    return not any(isinstance(value, dict) for value in record.values())


def closest_key(path: str, keys: set[str]) -> str | None:
    """The key most like `path`, compared without case or separators (`lastLogin` ~ `last_login_at`)."""

    def plain(text: str) -> str:
        return text.lower().replace("_", "").replace("-", "")

    by_plain = {plain(key): key for key in sorted(keys)}
    found = difflib.get_close_matches(plain(path), list(by_plain), n=1, cutoff=0.6)
    return by_plain[found[0]] if found else None


class FieldTally(BaseModel):
    """How many records each mapped field's path found a value in, and which keys the records had."""

    model_config = ConfigDict(defer_build=True)

    paths: dict[str, str] = {}  # the field's place in the profile -> its JMESPath
    matched: dict[str, int] = {}
    of: int = 0
    keys_seen: list[str] = []

    @classmethod
    def of_fields(cls, fields: BaseModel, prefix: str = "users.fields") -> FieldTally:
        mapped = fields.model_dump(exclude_none=True)
        paths = {f"{prefix}.{name}": path for name, path in mapped.items() if isinstance(path, str)}
        return cls(paths=paths, matched=dict.fromkeys(paths, 0))

    def count(self, records: list[Any]) -> None:
        seen = set(self.keys_seen)
        for record in records:
            self.of += 1
            for field, path in self.paths.items():
                value = search(path, record)
                self.matched[field] += value is not None and value not in ("", [])
            if len(seen) < KEYS_SEEN_MAX and not _adds_no_key(record, seen):
                seen |= keys_in(record)
        self.keys_seen = sorted(seen)[:KEYS_SEEN_MAX]

    def unmatched(self) -> list[dict[str, Any]]:
        """Each field whose path found nothing in any record, with the keys there were and the closest."""
        if not self.of:
            return []
        return [
            {
                "field": field,
                "path": path,
                "matched": 0,
                "of": self.of,
                "keys_seen": self.keys_seen,
                "suggestion": closest_key(path, set(self.keys_seen)),
            }
            for field, path in self.paths.items()
            if self.matched[field] == 0
        ]
