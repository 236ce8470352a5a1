"""Local JWTs: HS256, signed with SEATKEEPER_LOCAL_JWT_SECRET, carrying sub, exp and cognito:groups.

`verify` refuses what API Gateway's JWT authorizer refuses (its developer guide, "Control access to HTTP
APIs with JWT authorizers", the evaluation steps): a `kid` the issuer's keys do not hold, another algorithm,
an `exp` not after now, an `nbf` or `iat` not before now. Those claims are NumericDates (RFC 7519 section 2):
PyJWT would read `"exp": "9999999999"` as a number, so their type is checked here first. Local tokens are
signed with a shared secret, not RSA, so the algorithm is fixed to HS256 and the one key has the id LOCAL_KID.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

ROLES = ("admin", "sam_integrator", "sam_viewer")
LOCAL_KID = "seatkeeper-local-1"
ALGORITHM = "HS256"
NUMERIC_DATES = ("exp", "nbf", "iat")


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
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": LOCAL_KID})


def verify(secret: str, token: str) -> dict[str, Any]:
    """The token's claims; jwt.InvalidTokenError when API Gateway's JWT authorizer would refuse it."""
    header = jwt.get_unverified_header(token)
    if header.get("kid") != LOCAL_KID:
        raise jwt.InvalidTokenError("the token's kid names no key of the local issuer")
    if header.get("alg") != ALGORITHM:
        raise jwt.InvalidAlgorithmError(f"only {ALGORITHM} is accepted")
    claims: dict[str, Any] = jwt.decode(
        token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}, leeway=0
    )
    for name in NUMERIC_DATES:
        if name in claims and (isinstance(claims[name], bool) or not isinstance(claims[name], int | float)):
            raise jwt.InvalidTokenError(f"{name} must be a number of seconds (a NumericDate)")
    return claims
