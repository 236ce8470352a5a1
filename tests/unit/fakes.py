"""In-memory stand-ins for the storage ports, with the same contracts as the DynamoDB module."""

from __future__ import annotations

from typing import Any

from seatkeeper.errors import ProfileConflict, ProfileNotFound
from seatkeeper.profiles import ProfileRecord


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

    def replace(self, record: ProfileRecord, *, previous: ProfileRecord) -> None:
        stored = self.get(record.id)
        if stored.version != previous.version or self._name_taken(record.profile.name, by_other_than=record.id):
            raise ProfileConflict("the profile changed meanwhile, or its new name is taken")
        self.records[record.id] = record

    def delete(self, profile_id: str) -> None:
        self.get(profile_id)
        del self.records[profile_id]
