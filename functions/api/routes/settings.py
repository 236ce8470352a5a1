"""The API function's settings: its environment, read once, when the function starts (app.py asks first)."""

from __future__ import annotations

from functools import cache

from seatkeeper.network_guard import NetworkPolicy
from seatkeeper.settings import ApiSettings


@cache
def settings() -> ApiSettings:
    return ApiSettings.from_environment()


@cache
def network_policy() -> NetworkPolicy:
    return NetworkPolicy.from_entries(settings().allow_hosts.split(","))
