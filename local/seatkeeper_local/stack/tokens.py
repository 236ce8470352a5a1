"""Local JWTs: HS256, signed with SEATKEEPER_LOCAL_JWT_SECRET, carrying sub, exp and cognito:groups."""

from __future__ import annotations

import time
from typing import Any

import jwt

ROLES = ("admin", "sam_integrator", "sam_viewer")


def mint(secret: str, role: str, *, subject: str | None = None, ttl_seconds: int = 3600) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    now = int(time.time())
    claims = {
        "sub": subject or f"local-{role}",
        "cognito:groups": [role],
        "iat": now,
        "exp": now + ttl_seconds,
        "token_use": "id",
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify(secret: str, token: str) -> dict[str, Any]:
    """The token's claims; jwt.InvalidTokenError when it is not valid (bad signature, expired, no sub)."""
    return jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]})
