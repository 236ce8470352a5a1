"""The Slack and Teams channels as the Lambda functions assemble them, their secrets read from Secrets Manager.

`channel_for("slack" | "teams", settings, policy=...)` is what the notifier calls: the channel, or None
when its secret does not exist (the channel is not set up). E-mail is the notifier's own (SES).
A secret's values are read when first needed and kept five minutes, so that a rotated bot token or
signing secret is used within minutes without a call to Secrets Manager per message or per click.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from seatkeeper.aws.vault import SecretsManagerVault
from seatkeeper.notify.channels import ChannelUnavailable
from seatkeeper.saas.slack import SlackChannel
from seatkeeper.saas.teams import TeamsChannel

if TYPE_CHECKING:
    from seatkeeper.core.settings import ChannelSettings
    from seatkeeper.notify.channels import Channel
    from seatkeeper.saas.network_guard import NetworkPolicy

SECRET_MAX_AGE_SECONDS = 300.0

_kept: dict[str, tuple[float, dict[str, Any] | None]] = {}
_lock = threading.Lock()


class ChannelNotConfigured(ChannelUnavailable):
    """The channel's secret lacks a value it needs, or went away: another try works once an admin has fixed
    it. The message names the secret and the key, never a value."""


@dataclass(frozen=True)
class SlackSecret:
    # repr=False: a log line or a traceback that shows this object shows no credential.
    bot_token: str = field(repr=False)
    signing_secret: str = field(repr=False)


def read_secret(secret_id: str, vault: SecretsManagerVault | None = None) -> dict[str, Any] | None:
    """The secret's values, or None when it does not exist; kept for SECRET_MAX_AGE_SECONDS."""
    now = time.monotonic()
    with _lock:
        kept = _kept.get(secret_id)
    if kept is not None and now - kept[0] < SECRET_MAX_AGE_SECONDS:
        return kept[1]
    try:
        value: dict[str, Any] | None = (vault or SecretsManagerVault()).read(secret_id)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        value = None
    with _lock:
        _kept[secret_id] = (now, value)
    return value


def forget_secrets() -> None:
    """Read every secret again on next use (tests, and after a rotation that cannot wait five minutes)."""
    with _lock:
        _kept.clear()


def _value(secret_id: str, values: dict[str, Any], key: str) -> str:
    value = values.get(key)
    if not isinstance(value, str) or not value:
        raise ChannelNotConfigured(f"the secret {secret_id} has no {key}")
    return value


def slack_secret(settings: ChannelSettings, vault: SecretsManagerVault | None = None) -> SlackSecret | None:
    values = read_secret(settings.slack_secret, vault)
    if values is None:
        return None
    return SlackSecret(
        bot_token=_value(settings.slack_secret, values, "bot_token"),
        signing_secret=_value(settings.slack_secret, values, "signing_secret"),
    )


def slack_channel(
    settings: ChannelSettings, *, policy: NetworkPolicy, vault: SecretsManagerVault | None = None
) -> SlackChannel | None:
    if slack_secret(settings, vault) is None:
        return None

    def bot_token() -> str:
        secret = slack_secret(settings, vault)
        if secret is None:
            raise ChannelNotConfigured(f"the secret {settings.slack_secret} was deleted")
        return secret.bot_token

    return SlackChannel(bot_token, policy=policy, api_url=settings.slack_api_url)


def teams_channel(
    settings: ChannelSettings, *, policy: NetworkPolicy, vault: SecretsManagerVault | None = None
) -> TeamsChannel | None:
    if read_secret(settings.teams_secret, vault) is None:
        return None

    def webhook_url() -> str:
        values = read_secret(settings.teams_secret, vault)
        if values is None:
            raise ChannelNotConfigured(f"the secret {settings.teams_secret} was deleted")
        return _value(settings.teams_secret, values, "webhook_url")

    return TeamsChannel(webhook_url, policy=policy)


def channel_for(
    name: str, settings: ChannelSettings, *, policy: NetworkPolicy, vault: SecretsManagerVault | None = None
) -> Channel | None:
    """The channel called `name` ("slack" or "teams"), or None when it is not set up (or is not one of these)."""
    if name == "slack":
        return slack_channel(settings, policy=policy, vault=vault)
    if name == "teams":
        return teams_channel(settings, policy=policy, vault=vault)
    return None
