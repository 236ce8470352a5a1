"""The API function's settings: its environment, read once, when the function starts (app.py asks first)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from seatkeeper.core.settings import ApiSettings

if TYPE_CHECKING:
    from seatkeeper.saas.network_guard import NetworkPolicy


@cache
def settings() -> ApiSettings:
    return ApiSettings.from_environment()


@cache
def network_policy() -> NetworkPolicy:
    # Imported here: only the routes that call an app or an identity provider need the guard.
    from seatkeeper.saas.network_guard import NetworkPolicy

    return NetworkPolicy.from_entries(settings().allow_hosts.split(","))
