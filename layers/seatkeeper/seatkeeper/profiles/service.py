"""Creating, changing and deleting integration profiles: the checks that keep a stored profile usable."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from seatkeeper.core.cursors import decode_cursor, encode_cursor
from seatkeeper.core.errors import AddressRefused, InvalidInput, ProfileConflict, ProfileNotFound
from seatkeeper.profiles.links import (
    credential_binding,
    credential_origins,
    dependants,
    identity_provider_of,
    sso_activity,
)
from seatkeeper.profiles.model import (
    OAuth2AuthorizationCodeAuth,
    OAuth2ClientCredentialsAuth,
    OAuth2JwtBearerAuth,
    Profile,
)
from seatkeeper.profiles.records import ProfileRecord, ProfileRepository


class UrlPolicy(Protocol):
    """What the service asks of the network guard (saas.network_guard.NetworkPolicy, a layer above):
    would it refuse this URL? AddressRefused if so."""

    def check_url(self, url: str, *, resolve: bool = True) -> None: ...


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def check_urls(profile: Profile, policy: UrlPolicy) -> None:
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


# A template's blank for the customer's own value: "<org-id>", "<plan-id>", "<organization-uuid>". The
# hyphen tells it from anything a request or a JMESPath expression would hold on purpose.
_TEMPLATE_BLANK = re.compile(r"<[a-z0-9]+(?:[-_][a-z0-9]+)+>")
# What a profile names or says about itself, never sent to the app.
_NOT_SENT = frozenset({"name", "template", "subscription", "policy", "notifications"})


def _blanks(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        for match in _TEMPLATE_BLANK.finditer(value):
            yield loc, match.group()
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _blanks(key, loc)
            yield from _blanks(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _blanks(item, (*loc, index))


def check_template_blanks(profile: Profile) -> None:
    """Refuse a profile that still holds a template's blank (`<org-id>`) where a request is made from it.

    Stored, it would fail only at the connection test, or later at the first removal, with the app's 404.
    """
    dumped = profile.model_dump(mode="json", exclude_none=True)
    errors = [
        {
            "loc": ["body", *loc],
            "msg": f"fill in {blank}: the template leaves it for your own value (GET /templates/"
            f"{profile.template} says where it comes from)"
            if profile.template
            else f"fill in {blank} with your own value",
            "type": "template_blank",
        }
        for key, value in dumped.items()
        if key not in _NOT_SENT
        for loc, blank in _blanks(value, (key,))
    ]
    if errors:
        raise InvalidInput(errors)


DEPENDANTS_NAMED = 20  # in a refused delete's message


class ProfileService:
    def __init__(
        self,
        repository: ProfileRepository,
        policy: UrlPolicy,
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
        sso = sso_activity(profile)
        if sso is None:
            return
        try:
            identity_provider_of(self.repository.get(sso.idp_profile_id))
        except ProfileNotFound:
            raise InvalidInput.at(("body", "activity", "idp_profile_id"), f"no profile {sso.idp_profile_id}") from None

    def _refuse_if_depended_on(self, idp_profile_id: str) -> None:
        """An identity provider whose sign-ins or users other profiles read cannot go: their next sync would fail."""
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
        from seatkeeper.profiles.catalog import build_profile

        profile = build_profile(own)
        check_template_blanks(profile)
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
        # Cold start: the templates only where a profile is built.
        from seatkeeper.profiles.catalog import build_profile, merge_patch

        previous = self.repository.get(profile_id)
        own = merge_patch(previous.own, patch)
        profile = build_profile(own)
        check_template_blanks(profile)
        check_urls(profile, self.policy)
        self._check_identity_provider(profile)
        if previous.profile.identity_provider not in (None, profile.identity_provider):
            self._refuse_if_depended_on(profile_id)  # their next sync would read from what it no longer is
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
