"""How profiles refer to each other and to their credential: an app's identity-provider profile, the
profile whose connection its requests use, and the origins its credential is bound to."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from seatkeeper.core.errors import InvalidInput
from seatkeeper.profiles.model import (
    IdentityProviderKind,
    OAuth2AuthorizationCodeAuth,
    OAuth2ClientCredentialsAuth,
    OAuth2JwtBearerAuth,
    Profile,
    SsoActivity,
)
from seatkeeper.profiles.records import ProfileRecord

# How far back each IdP's log goes: Okta keeps 90 days, Entra ID (P1/P2) 30, Google's Reports 180.
RETENTION_DAYS: dict[str, int] = {"okta": 90, "entra": 30, "google": 180}


def sso_activity(profile: Profile) -> SsoActivity | None:
    return profile.activity if isinstance(profile.activity, SsoActivity) else None


def connection_owner(profile: ProfileRecord) -> str:
    """The profile whose connection this one's requests use: its IdP's, when its users come from the IdP."""
    sso = sso_activity(profile.profile)
    return sso.idp_profile_id if sso is not None and sso.users_from_idp else profile.id


def identity_provider_of(
    record: ProfileRecord, *, loc: tuple[str, ...] = ("body", "activity", "idp_profile_id")
) -> IdentityProviderKind:
    """The kind of an IdP profile; 422 at `loc` for a profile that is not one."""
    if record.profile.identity_provider is None:
        raise InvalidInput.at(
            loc,
            f"profile {record.id} is not an identity-provider profile (template okta_sso, entra_sso or google_sso)",
        )
    kind = record.profile.identity_provider.kind
    if kind not in RETENTION_DAYS:
        raise InvalidInput.at(loc, f"reading sign-ins from {kind} is not supported yet")
    return kind


def dependants(profiles: Iterable[ProfileRecord], idp_profile_id: str) -> list[ProfileRecord]:
    """The profiles that read sign-ins (and perhaps users) from this IdP profile, with its connection."""
    return [
        record
        for record in profiles
        if (sso := sso_activity(record.profile)) is not None and sso.idp_profile_id == idp_profile_id
    ]


def tracked_by(profiles: Iterable[ProfileRecord], idp_profile_id: str) -> dict[str, str]:
    """app id -> the profile that reads its sign-ins from this IdP."""
    found: dict[str, str] = {}
    for record in profiles:
        sso = sso_activity(record.profile)
        if sso is not None and sso.idp_profile_id == idp_profile_id:
            found.setdefault(sso.app_id, record.id)
    return found


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def credential_origins(profile: Profile) -> list[str]:
    """Where a credential entered for this profile may be sent: the app and, for OAuth, its token endpoint.

    Users, activity and reclaim requests are paths under base_url, so the app's origin covers them.
    """
    origins = [_origin(profile.base_url)]
    if isinstance(profile.auth, OAuth2AuthorizationCodeAuth | OAuth2ClientCredentialsAuth | OAuth2JwtBearerAuth):
        origins.append(_origin(profile.auth.token_url))
    return sorted(set(origins))


def credential_binding(profile: Profile) -> str:
    """A digest of the origins and the auth section a credential was entered for."""
    bound = {"origins": credential_origins(profile), "auth": profile.auth.model_dump(mode="json")}
    return hashlib.sha256(json.dumps(bound, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
