"""The OAuth 2.0 client: authorization code grant with PKCE (RFC 6749, RFC 7636, RFC 9700), and the
client credentials grant with a client secret or a signed JWT client assertion (RFC 7523).

The saga's BeginGrant step calls `begin_grant`, the API's /oauth/callback calls
`complete_grant`, and every SaaS call gets its access token from an `AccessToken`, which
reads it from the vault once and refreshes it once, under a lock, when it is about to expire.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote_plus, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict

from seatkeeper.core.errors import (
    GrantFailed,
    GrantRefused,
    GrantRevoked,
    SaaSAuthenticationFailed,
    SaaSUnavailable,
)
from seatkeeper.profiles.model import OAuth2AuthorizationCodeAuth, OAuth2ClientCredentialsAuth, OAuth2JwtBearerAuth

REFRESH_MARGIN = timedelta(seconds=60)
LOCK_SECONDS = 30
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# A client assertion is good for one token request: minutes, far under the hour Okta allows.
ASSERTION_SECONDS = 300
EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


class GrantState(BaseModel):
    """What the authorization request's `state` stands for, kept until the callback uses it once."""

    model_config = ConfigDict(defer_build=True)

    state: str
    profile_id: str
    attempt_id: str
    task_token: str
    code_verifier: str
    redirect_uri: str
    issuer: str | None = None
    expires_at: int


class TokenRequestRefused(GrantFailed):
    """The token endpoint refused the request with an error code (RFC 6749 5.2), kept to tell them apart."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class GrantStates(Protocol):
    def put_grant_state(self, grant: GrantState) -> None: ...

    def take_grant_state(self, state: str) -> GrantState | None:
        """Remove and return the state's grant, once; None when unknown or already used."""


class TokenEndpoint(Protocol):
    def post(self, url: str, *, data: dict[str, str], auth: tuple[str, str] | None) -> tuple[int, dict[str, Any]]: ...


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorization_url(
    auth: OAuth2AuthorizationCodeAuth, *, client_id: str, redirect_uri: str, state: str, code_challenge: str
) -> str:
    params = {
        **auth.authorize_params,
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    if auth.scopes:
        params["scope"] = " ".join(auth.scopes)
    separator = "&" if urlsplit(auth.authorize_url).query else "?"
    return f"{auth.authorize_url}{separator}{urlencode(params)}"


def begin_grant(
    auth: OAuth2AuthorizationCodeAuth,
    states: GrantStates,
    *,
    profile_id: str,
    attempt_id: str,
    client_id: str,
    redirect_uri: str,
    task_token: str,
    timeout_seconds: int,
) -> str:
    """Remember a fresh state and PKCE verifier for this attempt; the URL to send the person to."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(32)
    states.put_grant_state(
        GrantState(
            state=state,
            profile_id=profile_id,
            attempt_id=attempt_id,
            task_token=task_token,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            issuer=auth.issuer,
            expires_at=int(time.time()) + timeout_seconds,
        )
    )
    return authorization_url(
        auth, client_id=client_id, redirect_uri=redirect_uri, state=state, code_challenge=challenge
    )


class TokenSet(BaseModel):
    model_config = ConfigDict(defer_build=True)

    access_token: str
    refresh_token: str | None = None
    token_type: str = "Bearer"
    expires_at: str | None = None
    scope: str | None = None

    def expires_soon(self, now: datetime) -> bool:
        return self.expires_at is not None and datetime.fromisoformat(self.expires_at) - REFRESH_MARGIN <= now

    def good_for_now(self) -> bool:
        return bool(self.access_token) and not self.expires_soon(datetime.now(UTC))


class UnusableSigningKey(ValueError):
    """A private_key that is not a private RSA or EC key in PEM or JWK form. Never says what it holds."""


@dataclass(frozen=True)
class SigningKey:
    key: Any  # cryptography's private key object
    algorithm: str
    key_id: str | None = None

    def sign(self, claims: dict[str, Any], key_id: str | None) -> str:
        # Cold start: JWT signing (cryptography) only for the grants that sign an assertion.
        import jwt

        kid = key_id or self.key_id
        return jwt.encode(claims, self.key, algorithm=self.algorithm, headers={"kid": kid} if kid else None)


def signing_key(text: str) -> SigningKey:
    """The private key of a private_key_jwt client, from PEM (PKCS#8 or PKCS#1) or a JWK, with its algorithm."""
    # Only the few functions that sign pay for cryptography at their first grant, not every cold start.
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key_id = None
    try:
        if text.lstrip().startswith("{"):
            jwk = json.loads(text)
            if not isinstance(jwk, dict) or "d" not in jwk:
                raise UnusableSigningKey("the JWK is not a private key (it has no 'd')")
            key: Any = jwt.PyJWK(jwk).key
            key_id = jwk["kid"] if isinstance(jwk.get("kid"), str) else None
        else:
            key = load_pem_private_key(_pem_lines(text).encode(), password=None)
    except UnusableSigningKey:
        raise
    except (ValueError, TypeError, jwt.PyJWKError):
        # The parser's message may quote the input: say only what was expected.
        raise UnusableSigningKey("not a private key: give an unencrypted PEM (PKCS#8 or PKCS#1) or a JWK") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise UnusableSigningKey(f"an RSA key of {key.key_size} bits is too short: at least 2048")
        return SigningKey(key, "RS256", key_id)
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in EC_ALGORITHMS:
        return SigningKey(key, EC_ALGORITHMS[key.curve.name], key_id)
    raise UnusableSigningKey("only RSA and EC (P-256, P-384, P-521) private keys can sign a client assertion")


def _pem_lines(text: str) -> str:
    """A PEM as its parser wants it, also when a form flattened its lines or the key came from a JSON key
    file with its newlines still escaped (Google's service account keys)."""
    text = text.strip().replace("\\n", "\n")
    found = re.fullmatch(r"(-----BEGIN [A-Z ]+-----)(.+?)(-----END [A-Z ]+-----)", text, re.DOTALL)
    if found is None:
        return text
    body = "".join(found.group(2).split())
    return "\n".join([found.group(1), *(body[i : i + 64] for i in range(0, len(body), 64)), found.group(3), ""])


def client_assertion(client_id: str, private_key: str, *, audience: str, key_id: str | None) -> str:
    """A JWT that authenticates the client at the token endpoint (RFC 7523 2.2): issued by and about the
    client, for that endpoint only, once (jti), for a few minutes."""
    try:
        signing = signing_key(private_key)
    except UnusableSigningKey as exc:
        raise GrantFailed(f"the client's private key cannot sign: {exc}") from None
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + ASSERTION_SECONDS,
        "jti": secrets.token_urlsafe(24),
    }
    return signing.sign(claims, key_id)


def _token_request(
    endpoint: TokenEndpoint,
    auth: OAuth2AuthorizationCodeAuth | OAuth2ClientCredentialsAuth,
    client: dict[str, str],
    form: dict[str, str],
    *,
    previous_refresh: str | None = None,
) -> TokenSet:
    credentials = None
    if isinstance(auth, OAuth2ClientCredentialsAuth) and auth.client_auth == "private_key_jwt":
        assertion = client_assertion(
            client["client_id"], client["private_key"], audience=auth.token_url, key_id=auth.key_id
        )
        form = {**form, "client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion}
    elif auth.client_auth == "client_secret_basic":
        # RFC 6749 2.3.1: each is form-urlencoded before it goes into the Basic header, so a
        # secret with "+", "%", ":" or "/" reaches the server as it was issued.
        credentials = (quote_plus(client["client_id"], safe=""), quote_plus(client["client_secret"], safe=""))
    else:
        form = {**form, "client_id": client["client_id"], "client_secret": client["client_secret"]}
    status, body = endpoint.post(auth.token_url, data=form, auth=credentials)
    return _token_answer(status, body, previous_refresh=previous_refresh)


def _jwt_bearer_request(endpoint: TokenEndpoint, auth: OAuth2JwtBearerAuth, client: dict[str, str]) -> TokenSet:
    """RFC 7523 2.1: the signed JWT is the grant; Google's service accounts name their scopes in it."""
    try:
        signing = signing_key(client["private_key"])
    except UnusableSigningKey as exc:
        raise GrantFailed(f"the service account's private key cannot sign: {exc}") from None
    now = int(time.time())
    claims: dict[str, Any] = {"iss": client["client_email"], "aud": auth.token_url, "iat": now, "exp": now + 3600}
    if auth.subject:
        claims["sub"] = auth.subject
    if auth.scopes:
        claims["scope"] = " ".join(auth.scopes)
    grant = signing.sign(claims, auth.key_id)
    form = {"grant_type": JWT_BEARER_GRANT, "assertion": grant}
    status, body = endpoint.post(auth.token_url, data=form, auth=None)
    return _token_answer(status, body)


def _token_answer(status: int, body: dict[str, Any], *, previous_refresh: str | None = None) -> TokenSet:
    if status >= 500 or status == 429:
        raise SaaSUnavailable(f"the token endpoint answered {status}")
    if status != 200 or not isinstance(body.get("access_token"), str):
        # The error code is safe to show (RFC 6749 5.2); the body may echo what was sent, so no more of it.
        error = body.get("error")
        code = error[:100] if isinstance(error, str) else "no access_token"
        raise TokenRequestRefused(f"the token endpoint answered {status} ({code})", code)
    expires_in = body.get("expires_in")
    expires_at = None
    if isinstance(expires_in, int | float) or (isinstance(expires_in, str) and expires_in.isdigit()):
        expires_at = (datetime.now(UTC) + timedelta(seconds=int(expires_in))).isoformat(timespec="seconds")
    return TokenSet(
        access_token=body["access_token"],
        # A server that does not rotate refresh tokens sends none back: keep the one we had.
        refresh_token=body.get("refresh_token") or previous_refresh,
        token_type=str(body.get("token_type") or "Bearer"),
        expires_at=expires_at,
        scope=body.get("scope") if isinstance(body.get("scope"), str) else None,
    )


def exchange_code(
    endpoint: TokenEndpoint,
    auth: OAuth2AuthorizationCodeAuth,
    client: dict[str, str],
    *,
    code: str,
    code_verifier: str,
    redirect_uri: str,
) -> TokenSet:
    return _token_request(
        endpoint,
        auth,
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        },
    )


class CallbackOutcome(BaseModel):
    """What the callback did: the task token to resume and how, or a refusal that touches no saga."""

    model_config = ConfigDict(defer_build=True)

    grant: GrantState
    error: str | None = None
    cause: str | None = None
    tokens: TokenSet | None = None


def complete_grant(states: GrantStates, params: dict[str, str], exchange: Any) -> CallbackOutcome:
    """Check an authorization response and, when it is good, exchange its code.

    `exchange(grant, code)` performs the token request. An unknown, replayed or expired
    state raises GrantRefused and touches no saga; anything else wrong fails the grant.
    """
    state = params.get("state") or ""
    grant = states.take_grant_state(state) if state else None
    if grant is None:
        raise GrantRefused("this authorization response is unknown or was already used")
    if grant.expires_at < time.time():
        return CallbackOutcome(grant=grant, error="GrantFailed", cause="the authorization response came too late")
    if grant.issuer is not None and params.get("iss") != grant.issuer:
        # A server we expect `iss` from always sends it (RFC 9207 2.4): without it, this answer
        # may come from another server the person also uses, so it is refused like a wrong one.
        cause = (
            "the response did not name the authorization server it came from (possible mix-up)"
            if "iss" not in params
            else "the response came from another authorization server than expected (mix-up)"
        )
        return CallbackOutcome(grant=grant, error="GrantFailed", cause=cause)
    if "error" in params:
        # Never exchange a code that comes with an error (RFC 9700 4.4).
        described = params.get("error_description") or ""
        cause = f"{params['error'][:100]}: {described[:300]}" if described else params["error"][:100]
        return CallbackOutcome(grant=grant, error="GrantFailed", cause=f"access was not granted ({cause})")
    code = params.get("code")
    if not code:
        return CallbackOutcome(grant=grant, error="GrantFailed", cause="the authorization response has no code")
    try:
        tokens = exchange(grant, code)
    except (GrantFailed, SaaSUnavailable) as exc:
        return CallbackOutcome(grant=grant, error="GrantFailed", cause=f"the code exchange failed: {exc}")
    return CallbackOutcome(grant=grant, tokens=tokens)


# --- refresh ----------------------------------------------------------------------------


class RefreshLock(Protocol):
    def acquire(self, key: str, holder: str, seconds: int) -> bool: ...

    def release(self, key: str, holder: str) -> None: ...


class SecretStore(Protocol):
    def read(self, secret_id: str) -> dict[str, Any]: ...

    def write(self, secret_id: str, value: dict[str, Any]) -> None: ...


def _stored_tokens(store: SecretStore, secret_id: str) -> tuple[dict[str, Any], TokenSet, bool]:
    """The credential's stored value, its tokens, and whether the access token is good for now."""
    value = store.read(secret_id)
    tokens = TokenSet.model_validate(value.get("tokens") or {"access_token": ""})
    return value, tokens, tokens.good_for_now()


def current_tokens(
    auth: OAuth2AuthorizationCodeAuth,
    secret_id: str,
    *,
    store: SecretStore,
    lock: RefreshLock,
    endpoint: TokenEndpoint,
    wait_seconds: float = 10.0,
) -> TokenSet:
    """The credential's tokens as stored, refreshed first when the access token is about to expire.

    Refreshes are serialized per credential: many servers revoke the whole token family
    when a rotated refresh token is used twice. Whoever holds the lock refreshes and
    stores the new tokens in one write; the others wait and read what it stored.
    """
    _, tokens, usable = _stored_tokens(store, secret_id)
    if usable:
        return tokens
    holder = secrets.token_hex(8)
    deadline = time.monotonic() + wait_seconds
    while not lock.acquire(secret_id, holder, LOCK_SECONDS):
        if time.monotonic() > deadline:
            raise SaaSUnavailable("another refresh of this credential did not finish in time")
        time.sleep(0.2)
        _, tokens, usable = _stored_tokens(store, secret_id)
        if usable:
            return tokens
    try:
        value, tokens, usable = _stored_tokens(store, secret_id)  # someone may have refreshed meanwhile
        if usable:
            return tokens
        if not tokens.refresh_token:
            raise SaaSAuthenticationFailed("the access token expired and there is no refresh token; connect again")
        try:
            fresh = _token_request(
                endpoint,
                auth,
                value,
                {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
                previous_refresh=tokens.refresh_token,
            )
        except TokenRequestRefused as exc:
            if exc.code == "invalid_grant":
                # Expired or revoked (RFC 6749 5.2): asking again gets the same answer, a person must grant again.
                raise GrantRevoked(
                    f"needs_reconnect: the authorization server refused the refresh token ({exc.code}); "
                    "reconnect the profile to grant access again"
                ) from None
            raise SaaSAuthenticationFailed(f"refreshing the access token failed: {exc}") from None
        except GrantFailed as exc:
            raise SaaSAuthenticationFailed(f"refreshing the access token failed: {exc}") from None
        store.write(secret_id, {**value, "tokens": fresh.model_dump()})
        return fresh
    finally:
        lock.release(secret_id, holder)


class AccessToken:
    """One credential's access token for the lifetime of one SaaS client (an invocation).

    It reads the vault on first use and again only when the token it holds is about to
    expire, then refreshes as `current_tokens` does, under the same lock: a sync of many
    pages reads the secret once, not once a page. The tokens it holds are the ones it read
    or wrote last, so a refresh of its own needs no invalidation.
    """

    def __init__(
        self,
        auth: OAuth2AuthorizationCodeAuth,
        secret_id: str,
        *,
        store: SecretStore,
        lock: RefreshLock,
        endpoint: TokenEndpoint,
        on_revoked: Callable[[GrantRevoked], None] | None = None,
    ) -> None:
        self.auth, self.secret_id = auth, secret_id
        self.store, self.lock, self.endpoint = store, lock, endpoint
        # Told once the server refuses the grant, before the error goes on to whoever made the call.
        self.on_revoked = on_revoked
        self._tokens: TokenSet | None = None
        # The client's page workers share it: the first of them reads (or refreshes), the others wait.
        self._reading = threading.Lock()

    def __call__(self) -> str:
        with self._reading:
            if self._tokens is None or not self._tokens.good_for_now():
                try:
                    self._tokens = current_tokens(
                        self.auth, self.secret_id, store=self.store, lock=self.lock, endpoint=self.endpoint
                    )
                except GrantRevoked as exc:
                    if self.on_revoked is not None:
                        self.on_revoked(exc)
                    raise
            return self._tokens.access_token


class ClientCredentialsToken:
    """An app-only access token (client credentials grant, or a JWT bearer grant) for the lifetime of one
    SaaS client.

    Nothing to refresh or store: the credential from the vault gets a new token when the one held
    is about to expire.
    """

    def __init__(
        self,
        auth: OAuth2ClientCredentialsAuth | OAuth2JwtBearerAuth,
        credential: dict[str, str],
        *,
        endpoint: TokenEndpoint,
    ) -> None:
        self.auth, self.credential, self.endpoint = auth, credential, endpoint
        self._tokens: TokenSet | None = None
        self._reading = threading.Lock()

    def __call__(self) -> str:
        with self._reading:
            if self._tokens is None or not self._tokens.good_for_now():
                if isinstance(self.auth, OAuth2JwtBearerAuth):
                    self._tokens = _jwt_bearer_request(self.endpoint, self.auth, self.credential)
                else:
                    form = {"grant_type": "client_credentials"}
                    if self.auth.scopes:
                        form["scope"] = " ".join(self.auth.scopes)
                    self._tokens = _token_request(self.endpoint, self.auth, self.credential, form)
            return self._tokens.access_token
