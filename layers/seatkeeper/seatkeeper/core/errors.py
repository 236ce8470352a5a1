"""Domain errors. Their messages are shown to clients, so they never carry a credential value."""

from __future__ import annotations

from typing import Any


class SeatkeeperError(Exception):
    """Base of every error the domain raises on purpose."""


class InvalidInput(SeatkeeperError):
    """Input that breaks a rule; `errors` are pydantic-style {loc, msg, type} entries."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self.errors = errors

    @classmethod
    def at(cls, loc: tuple[str | int, ...], msg: str, type_: str = "value_error") -> InvalidInput:
        return cls([{"loc": list(loc), "msg": msg, "type": type_}])


class NotFound(SeatkeeperError):
    """An id that names nothing."""


class ProfileNotFound(NotFound):
    def __init__(self, profile_id: str) -> None:
        super().__init__(f"profile {profile_id} not found")


class TemplateNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"template {name!r} not found")
        self.name = name


class Gone(SeatkeeperError):
    """Something that existed and can no longer be used: a keep link used already or past its deadline."""


class Conflict(SeatkeeperError):
    """The request does not fit the current state (a duplicate name, a concurrent change)."""


class ProfileConflict(Conflict):
    pass


class AddressRefused(SeatkeeperError):
    """The network guard refused a URL or an address."""


class AddressUnresolvable(SeatkeeperError):
    """A host name that does not resolve (now)."""


class ResponseTooLarge(SeatkeeperError):
    """A SaaS app answered with more bytes than seatkeeper reads."""


class ConnectionNotFound(NotFound):
    def __init__(self, profile_id: str) -> None:
        super().__init__(f"profile {profile_id} has no connection")


class ConnectionConflict(Conflict):
    """The profile is connected, or a connection is being made."""


class GrantRefused(SeatkeeperError):
    """An OAuth callback that cannot be accepted (unknown, used or expired state)."""


# --- errors of calls to SaaS apps: their class names are the error names the state machines catch ---


class SaaSRequestFailed(SeatkeeperError):
    """The app refused the request for a reason that a retry will not change."""


class SaaSAuthenticationFailed(SaaSRequestFailed):
    """The app did not accept the credential (401/403)."""


class GrantRevoked(SaaSAuthenticationFailed):
    """The authorization server refused the refresh token (invalid_grant, RFC 6749 5.2): the grant expired
    or was revoked, and only a person granting access again brings the connection back."""


class SaaSUnavailable(SeatkeeperError):
    """The app is down, slow or rate-limiting: worth retrying later."""


class UnreadableResponse(SaaSRequestFailed):
    """The app answered with something that is not what the profile describes."""


class GrantFailed(SeatkeeperError):
    """The authorization server did not grant access (denied, mix-up, failed exchange)."""


class RunNotFound(NotFound):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id} not found")
