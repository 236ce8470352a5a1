"""Each Lambda function's settings: the environment variables it reads, checked once at cold start.

A function reads its settings when its module is imported, so a missing or empty variable stops
it at start, naming the variable; nothing falls back to another value (an empty state machine
ARN once let the API start the connection saga where it meant to start a sync).

These are frozen dataclasses rather than pydantic models on purpose: the first pydantic model a
process validates costs about 35 ms of cold start, and a function's settings are a few strings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Self


class SettingsError(RuntimeError):
    """The function's environment lacks a variable it needs, or holds one it cannot read."""


def env(name: str, *, default: Any = MISSING, parse: Callable[[str], Any] = str) -> Any:
    """A setting read from the environment variable `name`; without a default, it must be set and not empty."""
    return field(default=default, metadata={"env": name, "parse": parse})


def _positive(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a positive number")
    return number


def _seconds(value: str) -> int:
    seconds = int(value)
    if seconds <= 0:
        raise ValueError("must be a positive number of seconds")
    return seconds


# A function reads its settings once and never compares them: eq=False spares each class two
# generated methods (__eq__, __hash__), compiled at every cold start of every function.
@dataclass(frozen=True, kw_only=True, eq=False)
class Settings:
    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Self:
        source = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        problems: list[str] = []
        for setting in fields(cls):
            name, parse = setting.metadata["env"], setting.metadata["parse"]
            raw = source.get(name, "")
            if raw == "":
                if setting.default is MISSING:
                    problems.append(f"{name} is not set")
                continue
            try:
                values[setting.name] = parse(raw)
            except ValueError as exc:
                problems.append(f"{name} is not valid: {exc}")
        if problems:
            raise SettingsError(f"{cls.__name__}: {'; '.join(problems)}")
        return cls(**values)


@dataclass(frozen=True, kw_only=True, eq=False)
class TableSettings(Settings):
    table_name: str = env("TABLE_NAME")


@dataclass(frozen=True, kw_only=True, eq=False)
class SaaSCallerSettings(TableSettings):
    """Functions that call SaaS apps: the network guard's allow list (empty allows nothing internal)."""

    allow_hosts: str = env("SEATKEEPER_ALLOW_HOSTS", default="")


@dataclass(frozen=True, kw_only=True, eq=False)
class ChannelSettings(Settings):
    """Where the Slack and Teams channels find their secrets (README, "Slack and Teams"): a channel whose
    secret does not exist is not configured, and is not used."""

    # {"bot_token": "xoxb-…", "signing_secret": "…"}: the Slack app's bot token and its request signing secret.
    slack_secret: str = env("SLACK_SECRET", default="seatkeeper/slack")
    slack_api_url: str = env("SLACK_API_URL", default="https://slack.com/api")
    # {"webhook_url": "https://…"}: the URL of the Teams workflow's webhook trigger, signature included.
    teams_secret: str = env("TEAMS_SECRET", default="seatkeeper/teams")


@dataclass(frozen=True, kw_only=True, eq=False)
class ApiSettings(ChannelSettings, TableSettings):
    data_key_arn: str = env("DATA_KEY_ARN")
    connection_state_machine_arn: str = env("CONNECTION_STATE_MACHINE_ARN")
    sync_state_machine_arn: str = env("SYNC_STATE_MACHINE_ARN")
    reconcile_state_machine_arn: str = env("RECONCILE_STATE_MACHINE_ARN")
    reclaim_state_machine_arn: str = env("RECLAIM_STATE_MACHINE_ARN")
    allow_hosts: str = env("SEATKEEPER_ALLOW_HOSTS", default="")
    grant_timeout_seconds: int = env("GRANT_TIMEOUT_SECONDS", default=900, parse=_seconds)
    # Where the API is reached from outside, for the OAuth redirect URI; unset: the request's own host.
    public_api_url: str | None = env("PUBLIC_API_URL", default=None)
    # Cognito's hosted UI for the dashboard; both unset on the local stack, which signs its own tokens.
    dashboard_sign_in_url: str | None = env("DASHBOARD_SIGN_IN_URL", default=None)
    dashboard_client_id: str | None = env("DASHBOARD_CLIENT_ID", default=None)

    def __post_init__(self) -> None:
        if (self.dashboard_sign_in_url is None) != (self.dashboard_client_id is None):
            raise SettingsError(
                "ApiSettings: DASHBOARD_SIGN_IN_URL and DASHBOARD_CLIENT_ID are set together or not at all"
            )


@dataclass(frozen=True, kw_only=True, eq=False)
class ConnectionSagaSettings(SaaSCallerSettings):
    pass


@dataclass(frozen=True, kw_only=True, eq=False)
class SyncSettings(SaaSCallerSettings):
    staging_bucket: str = env("STAGING_BUCKET")
    # seatkeeper.sync.MAX_APP_USERS says why 500,000; lowering it is for a smaller function or a test.
    max_app_users: int = env("SEATKEEPER_MAX_APP_USERS", default=500_000, parse=_positive)


@dataclass(frozen=True, kw_only=True, eq=False)
class ReconcileSettings(TableSettings):
    sync_state_machine_arn: str = env("SYNC_STATE_MACHINE_ARN")
    # Reconcile-all's syncs run as Express executions, handing a long run over to the Standard sync.
    sync_express_state_machine_arn: str = env("SYNC_EXPRESS_STATE_MACHINE_ARN")


@dataclass(frozen=True, kw_only=True, eq=False)
class ReclaimSettings(SaaSCallerSettings):
    # The keep links' key is a secret of seatkeeper's own, made on first use with the stack's key.
    data_key_arn: str = env("DATA_KEY_ARN")


@dataclass(frozen=True, kw_only=True, eq=False)
class EndedRunSettings(TableSettings):
    reclaim_state_machine_arn: str = env("RECLAIM_STATE_MACHINE_ARN")
    sync_state_machine_arn: str = env("SYNC_STATE_MACHINE_ARN")


def _names(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))


@dataclass(frozen=True, kw_only=True, eq=False)
class NotifySettings(TableSettings):
    """The notifier's settings (SPEC "Notifications"): settings' `notifications.*` as the stack sets them."""

    # notifications.from: a verified SES identity; unset, e-mails are recorded as skipped, saying so.
    sender: str | None = env("NOTIFICATIONS_FROM", default=None)
    channels: tuple[str, ...] = env("NOTIFICATIONS_CHANNELS", default=("email",), parse=_names)
    # Told when a profile names no approver, and sent the digest.
    admins: tuple[str, ...] = env("NOTIFICATIONS_ADMINS", default=(), parse=_names)
    company_name: str = env("COMPANY_NAME", default="seatkeeper")
    dashboard_url: str | None = env("DASHBOARD_URL", default=None)
    # Tries of a channel within one invocation before the function's own retries take over.
    channel_attempts: int = env("NOTIFY_CHANNEL_ATTEMPTS", default=3, parse=_positive)
