"""The AWS SDK clients, made once per container and shared by every invocation and repository.

Making a client reads the SDK's service model and costs milliseconds and memory each time;
a Lambda container keeps this module between invocations, so one client per service does.
boto3 is imported on first use: a route that never calls AWS starts without it.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def aws_client(service: str) -> Any:
    """boto3's client of `service`, as its environment configures it (clients are thread-safe)."""
    import boto3

    return boto3.client(service)  # type: ignore[call-overload]
