"""A stored profile (its author's own fields and the complete profile built from them), how the API shows
it, and the repository that stores profiles (DynamoDB in Lambda, a dict in unit tests)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from seatkeeper.profiles.model import Profile


class ProfileRecord(BaseModel):
    """A stored profile: the fields its author gave (`own`) and the complete profile built from them."""

    model_config = ConfigDict(defer_build=True)

    id: str
    own: dict[str, Any]
    profile: Profile
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None
    version: int = 1


class ProfileView(Profile):
    """A profile as the API shows it."""

    id: str
    created_at: datetime
    updated_at: datetime
    created_by: str | None = None
    version: int = Field(description="Increases with every change")

    @classmethod
    def of(cls, record: ProfileRecord) -> ProfileView:
        return cls(
            **dict(record.profile),
            id=record.id,
            created_at=record.created_at,
            updated_at=record.updated_at,
            created_by=record.created_by,
            version=record.version,
        )


class ProfilePage(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[ProfileView]
    next_cursor: str | None = None


class ProfileRepository(Protocol):
    def add(self, record: ProfileRecord) -> None:
        """Store a new profile; ProfileConflict when its name is taken."""

    def get(self, profile_id: str) -> ProfileRecord:
        """ProfileNotFound when there is none."""

    def page(self, limit: int, after: dict[str, Any] | None) -> tuple[list[ProfileRecord], dict[str, Any] | None]:
        """Profiles in creation order, and where the next page starts."""

    def replace(self, record: ProfileRecord, *, previous: ProfileRecord) -> None:
        """Store `record` if `previous` is still the stored version; ProfileConflict otherwise."""

    def delete(self, profile_id: str) -> None:
        """Delete the profile and every record that belongs to it; ProfileNotFound when there is none."""

    def every(self) -> Iterator[ProfileRecord]:
        """Every profile, page by page."""
