"""In-memory stand-ins for the storage ports, with the same contracts as the DynamoDB module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from seatkeeper.core.errors import ProfileConflict, ProfileNotFound
from seatkeeper.profiles.records import ProfileRecord


class InMemoryProfiles:
    def __init__(self) -> None:
        self.records: dict[str, ProfileRecord] = {}

    def _name_taken(self, name: str, by_other_than: str | None = None) -> bool:
        return any(
            r.profile.name.casefold() == name.casefold() and r.id != by_other_than for r in self.records.values()
        )

    def add(self, record: ProfileRecord) -> None:
        if record.id in self.records or self._name_taken(record.profile.name):
            raise ProfileConflict(f"a profile named {record.profile.name!r} exists already")
        self.records[record.id] = record

    def get(self, profile_id: str) -> ProfileRecord:
        if profile_id not in self.records:
            raise ProfileNotFound(profile_id)
        return self.records[profile_id]

    def page(self, limit: int, after: dict[str, Any] | None) -> tuple[list[ProfileRecord], dict[str, Any] | None]:
        ordered = sorted(self.records.values(), key=lambda r: (r.created_at, r.id))
        if after:
            ordered = [r for r in ordered if (r.created_at.isoformat(), r.id) > (after["created_at"], after["id"])]
        page = ordered[:limit]
        more = len(ordered) > limit
        return page, ({"created_at": page[-1].created_at.isoformat(), "id": page[-1].id} if more else None)

    def every(self) -> Iterator[ProfileRecord]:
        return iter(sorted(self.records.values(), key=lambda r: (r.created_at, r.id)))

    def replace(self, record: ProfileRecord, *, previous: ProfileRecord) -> None:
        stored = self.get(record.id)
        if stored.version != previous.version or self._name_taken(record.profile.name, by_other_than=record.id):
            raise ProfileConflict("the profile changed meanwhile, or its new name is taken")
        self.records[record.id] = record

    def delete(self, profile_id: str) -> None:
        self.get(profile_id)
        del self.records[profile_id]


class InMemoryGrantStates:
    def __init__(self) -> None:
        self.states: dict[str, Any] = {}

    def put_grant_state(self, grant: Any) -> None:
        assert grant.state not in self.states
        self.states[grant.state] = grant

    def take_grant_state(self, state: str) -> Any:
        return self.states.pop(state, None)


class InMemorySecrets:
    def __init__(self, values: dict[str, dict[str, Any]] | None = None) -> None:
        self.values = values or {}
        self.reads = self.writes = 0

    def read(self, secret_id: str) -> dict[str, Any]:
        self.reads += 1
        return dict(self.values[secret_id])

    def write(self, secret_id: str, value: dict[str, Any]) -> None:
        self.writes += 1
        self.values[secret_id] = dict(value)


class InMemoryLock:
    """A lease per key, like the DynamoDB conditional write: taken, or not."""

    def __init__(self) -> None:
        import threading

        self._guard = threading.Lock()
        self.holders: dict[str, str] = {}

    def acquire(self, key: str, holder: str, seconds: int) -> bool:
        with self._guard:
            if key in self.holders:
                return False
            self.holders[key] = holder
            return True

    def release(self, key: str, holder: str) -> None:
        with self._guard:
            if self.holders.get(key) == holder:
                del self.holders[key]
