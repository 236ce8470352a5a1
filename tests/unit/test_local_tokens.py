"""The local gateway refuses the tokens API Gateway's JWT authorizer refuses, so that tests prove what production does.

The rules follow Amazon API Gateway's developer guide, "Control access to HTTP APIs with JWT authorizers"
(the evaluation steps: kid must match a key of the issuer, exp after now, nbf and iat before now), with
RFC 7519 section 2's NumericDate for exp, nbf and iat.
"""

from __future__ import annotations

import time

import jwt
import pytest

from seatkeeper_local.stack.tokens import LOCAL_KID, mint, verify

SECRET = "a-local-secret-of-at-least-32-bytes-long"


def signed(claims: dict, *, headers: dict | None = None, algorithm: str = "HS256", key: str = SECRET) -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": LOCAL_KID, **(headers or {})})


def claims(**changes) -> dict:
    now = int(time.time())
    found = {"sub": "mallory", "cognito:groups": ["admin"], "iat": now, "exp": now + 600, **changes}
    return {k: v for k, v in found.items() if v is not None}


NOW = int(time.time())
FORGED = {
    "exp as a string": signed(claims(exp=str(NOW + 10**9))),
    "exp as a boolean": signed(claims(exp=True)),
    "iat as a string": signed(claims(iat=str(NOW))),
    "nbf as a string": signed(claims(nbf=str(NOW - 10))),
    "iat in the future": signed(claims(iat=NOW + 3600)),
    "nbf in the future": signed(claims(nbf=NOW + 3600)),
    "no exp": signed(claims(exp=None)),
    "an unknown kid": signed(claims(), headers={"kid": "someone-elses-key"}),
    "no kid": jwt.encode(claims(), SECRET, algorithm="HS256"),
    "another algorithm with the same secret": signed(claims(), algorithm="HS512"),
    "alg none": jwt.encode(claims(), None, algorithm="none", headers={"kid": LOCAL_KID}),
    "another secret": signed(claims(), key="another-secret-of-at-least-32-bytes-long"),
}


@pytest.mark.parametrize("name", sorted(FORGED))
def test_a_token_api_gateway_would_refuse_is_refused(name):
    # Given a token that API Gateway's JWT authorizer refuses, When the local gateway verifies it, Then it is refused
    with pytest.raises(jwt.InvalidTokenError):
        verify(SECRET, FORGED[name])


def test_a_minted_token_is_accepted_with_its_claims():
    # Given a token `seatkeeper token` would print, When it is verified, Then its claims come back as minted
    token = mint(SECRET, "sam_viewer", subject="vera")
    assert jwt.get_unverified_header(token)["kid"] == LOCAL_KID
    found = verify(SECRET, token)
    assert (found["sub"], found["cognito:groups"]) == ("vera", ["sam_viewer"])
    assert isinstance(found["exp"], int) and isinstance(found["iat"], int)
