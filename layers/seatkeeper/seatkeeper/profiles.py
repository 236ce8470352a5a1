"""Creating, reading, changing and deleting integration profiles.

Storage is a `ProfileRepository` passed in (DynamoDB in Lambda, a dict in unit tests), so
this module is plain Python.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from seatkeeper.errors import AddressRefused, InvalidInput, ProfileConflict
from seatkeeper.network_guard import NetworkPolicy
from seatkeeper.profile import OAuth2AuthorizationCodeAuth, OAuth2ClientCredentialsAuth, OAuth2JwtBearerAuth, Profile


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


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def check_urls(profile: Profile, policy: NetworkPolicy) -> None:
    """Refuse URLs that the network guard would refuse, pointing at the field."""
    urls: list[tuple[tuple[str, ...], str]] = [(("body", "base_url"), profile.base_url)]
    if isinstance(profile.auth, OAuth2AuthorizationCodeAuth):
        urls.append((("body", "auth", "token_url"), profile.auth.token_url))
        # The browser opens the authorize URL, not seatkeeper: only its form is checked.
        urls.append((("body", "auth", "authorize_url"), profile.auth.authorize_url))
    if isinstance(profile.auth, OAuth2ClientCredentialsAuth | OAuth2JwtBearerAuth):
        urls.append((("body", "auth", "token_url"), profile.auth.token_url))
    for loc, url in urls:
        try:
            policy.check_url(url, resolve=loc[-1] != "authorize_url")
        except AddressRefused as exc:
            raise InvalidInput.at(loc, str(exc), "url_refused") from None


def encode_cursor(position: dict[str, Any] | None) -> str | None:
    if position is None:
        return None
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        position = None
    if not isinstance(position, dict) or not all(isinstance(v, str) for v in position.values()):
        raise InvalidInput.at(("query", "cursor"), "not a cursor this API gave out", "cursor_invalid")
    return position


DEPENDANTS_NAMED = 20  # in a refused delete's message


class ProfileService:
    def __init__(
        self,
        repository: ProfileRepository,
        policy: NetworkPolicy,
        forget_connection: Callable[[str], None] | None = None,
        holds_credential: Callable[[str], bool] | None = None,
    ) -> None:
        self.repository = repository
        self.policy = policy
        # Deleting a profile deletes its connection first: records, secrets and a saga under way.
        self.forget_connection = forget_connection or (lambda _profile_id: None)
        # A credential is bound to the origins it was entered for: they cannot change under it.
        self.holds_credential = holds_credential or (lambda _profile_id: False)

    def _check_identity_provider(self, profile: Profile) -> None:
        """A profile with SSO activity names an identity-provider profile that exists: 422 otherwise."""
        from seatkeeper.errors import ProfileNotFound
        from seatkeeper.identity_provider import identity_provider_of, sso_activity

        sso = sso_activity(profile)
        if sso is None:
            return
        try:
            identity_provider_of(self.repository.get(sso.idp_profile_id))
        except ProfileNotFound:
            raise InvalidInput.at(("body", "activity", "idp_profile_id"), f"no profile {sso.idp_profile_id}") from None

    def _refuse_if_depended_on(self, idp_profile_id: str) -> None:
        """An identity provider whose sign-ins or users other profiles read cannot go: their next sync would fail."""
        from seatkeeper.identity_provider import dependants

        found = dependants(self.repository.every(), idp_profile_id)
        if found:
            named = ", ".join(f"{r.id} ({r.profile.name!r})" for r in found[:DEPENDANTS_NAMED])
            more = f" and {len(found) - DEPENDANTS_NAMED} more" if len(found) > DEPENDANTS_NAMED else ""
            raise ProfileConflict(
                f"profile {idp_profile_id} is the identity provider of {len(found)} profile(s): {named}{more}; "
                "delete them or change their activity first"
            )

    def create(self, own: dict[str, Any], *, created_by: str | None) -> ProfileRecord:
        # The templates only where a profile is built: the functions that only read profiles never load them.
        from seatkeeper.catalog import build_profile

        profile = build_profile(own)
        check_urls(profile, self.policy)
        self._check_identity_provider(profile)
        now = _now()
        record = ProfileRecord(
            id=f"prf_{uuid.uuid4().hex[:20]}",
            own={k: v for k, v in own.items() if v is not None},
            profile=profile,
            created_at=now,
            updated_at=now,
            created_by=created_by,
        )
        self.repository.add(record)
        return record

    def get(self, profile_id: str) -> ProfileRecord:
        return self.repository.get(profile_id)

    def page(self, *, limit: int, cursor: str | None) -> tuple[list[ProfileRecord], str | None]:
        records, after = self.repository.page(limit, decode_cursor(cursor))
        return records, encode_cursor(after)

    def patch(self, profile_id: str, patch: dict[str, Any]) -> ProfileRecord:
        """Apply an RFC 7396 merge patch to the profile's own fields and rebuild it from its template."""
        from seatkeeper.catalog import build_profile, merge_patch

        previous = self.repository.get(profile_id)
        own = merge_patch(previous.own, patch)
        profile = build_profile(own)
        check_urls(profile, self.policy)
        self._check_identity_provider(profile)
        if previous.profile.identity_provider not in (None, profile.identity_provider):
            self._refuse_if_depended_on(profile_id)  # their next sync would read from what it no longer is
        # Imported here: connections imports this module for ProfileRecord.
        from seatkeeper.connections import credential_binding, credential_origins

        if credential_binding(profile) != credential_binding(previous.profile) and self.holds_credential(profile_id):
            raise ProfileConflict(
                f"profile {profile_id} has a credential entered for {', '.join(credential_origins(previous.profile))}; "
                "its URLs and authentication cannot change under it: disconnect first"
            )
        record = previous.model_copy(
            update={"own": own, "profile": profile, "updated_at": _now(), "version": previous.version + 1}
        )
        self.repository.replace(record, previous=previous)
        return record

    def delete(self, profile_id: str) -> None:
        record = self.repository.get(profile_id)
        if record.profile.identity_provider is not None:
            self._refuse_if_depended_on(profile_id)
        self.forget_connection(profile_id)
        self.repository.delete(profile_id)
