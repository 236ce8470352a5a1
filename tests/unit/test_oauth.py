"""The OAuth client: PKCE, the authorization request, every kind of callback, refresh under a lock."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from seatkeeper.core.errors import (
    GrantFailed,
    GrantRefused,
    GrantRevoked,
    SaaSAuthenticationFailed,
    SaaSUnavailable,
)
from seatkeeper.profiles.model import OAuth2AuthorizationCodeAuth, OAuth2ClientCredentialsAuth, OAuth2JwtBearerAuth
from seatkeeper.saas import oauth

from .fakes import InMemoryGrantStates, InMemoryLock, InMemorySecrets

AUTH = OAuth2AuthorizationCodeAuth(
    type="oauth2_authorization_code",
    authorize_url="https://idp.example.com/authorize?tenant=acme",
    token_url="https://idp.example.com/token",
    scopes=["users:read", "users:write"],
    issuer="https://idp.example.com",
    authorize_params={"prompt": "consent"},
)
CLIENT = {"client_id": "seatkeeper", "client_secret": "s3cret-value"}


class TokenServer:
    """A token endpoint that rotates refresh tokens and counts what it was asked."""

    def __init__(self, *, status: int = 200, body: dict | None = None, rotate: bool = True, delay: float = 0) -> None:
        self.status, self.body, self.rotate, self.delay = status, body, rotate, delay
        self.calls: list[dict] = []
        self.lock = threading.Lock()

    def post(self, url, *, data, auth):
        with self.lock:
            self.calls.append({"url": url, "data": dict(data), "auth": auth})
            n = len(self.calls)
        time.sleep(self.delay)
        if self.body is not None:
            return self.status, self.body
        body = {"access_token": f"access-{n}", "token_type": "Bearer", "expires_in": 3600, "scope": "users:read"}
        if self.rotate:
            body["refresh_token"] = f"refresh-{n}"
        return self.status, body


def test_pkce_challenge_is_the_s256_of_the_verifier():
    verifier, challenge = oauth.pkce_pair()
    assert 43 <= len(verifier) <= 128 and set(verifier) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )
    assert challenge == base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    assert oauth.pkce_pair()[0] != verifier


def test_the_authorization_url_carries_every_parameter_and_keeps_the_endpoints_own():
    url = oauth.authorization_url(
        AUTH,
        client_id="seatkeeper",
        redirect_uri="https://api.example.com/oauth/callback",
        state="st",
        code_challenge="ch",
    )
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert url.startswith("https://idp.example.com/authorize?")
    assert query == {
        "tenant": "acme",
        "prompt": "consent",
        "response_type": "code",
        "client_id": "seatkeeper",
        "redirect_uri": "https://api.example.com/oauth/callback",
        "state": "st",
        "code_challenge": "ch",
        "code_challenge_method": "S256",
        "scope": "users:read users:write",
    }


def begin(states, timeout=900):
    url = oauth.begin_grant(
        AUTH,
        states,
        profile_id="prf_1",
        attempt_id="a1",
        client_id="seatkeeper",
        redirect_uri="https://api.example.com/oauth/callback",
        task_token="tt",
        timeout_seconds=timeout,
    )
    return parse_qs(urlsplit(url).query)["state"][0]


def test_each_grant_gets_its_own_unguessable_state_bound_to_the_attempt():
    states = InMemoryGrantStates()
    first, second = begin(states), begin(states)
    assert first != second and len(first) >= 40
    grant = states.states[first]
    assert (grant.profile_id, grant.attempt_id, grant.task_token, grant.issuer) == ("prf_1", "a1", "tt", AUTH.issuer)
    assert grant.expires_at > time.time() + 800


def never_called(grant, code):
    raise AssertionError("the code must not be exchanged")


def test_unknown_and_replayed_states_are_refused():
    states = InMemoryGrantStates()
    state = begin(states)
    with pytest.raises(GrantRefused):
        oauth.complete_grant(states, {"state": "guess", "code": "c"}, never_called)
    with pytest.raises(GrantRefused):
        oauth.complete_grant(states, {"code": "c"}, never_called)
    answer = {"state": state, "code": "c", "iss": AUTH.issuer}
    outcome = oauth.complete_grant(states, answer, lambda g, c: oauth.TokenSet(access_token="a"))
    assert outcome.error is None
    with pytest.raises(GrantRefused):
        oauth.complete_grant(states, answer, never_called)


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"error": "access_denied", "error_description": "no", "code": "c", "iss": AUTH.issuer}, "access_denied: no"),
        ({"iss": "https://evil.example.com", "code": "c"}, "mix-up"),
        ({"code": "c"}, "did not name the authorization server"),
        ({"iss": "", "code": "c"}, "mix-up"),
        ({"iss": AUTH.issuer}, "no code"),
    ],
)
def test_answers_that_fail_the_grant_without_an_exchange(params, says):
    states = InMemoryGrantStates()
    state = begin(states)
    outcome = oauth.complete_grant(states, {"state": state, **params}, never_called)
    assert outcome.error == "GrantFailed" and says in outcome.cause
    assert outcome.grant.task_token == "tt"


def test_a_late_answer_fails_the_grant():
    states = InMemoryGrantStates()
    state = begin(states, timeout=-1)
    assert "too late" in oauth.complete_grant(states, {"state": state, "code": "c"}, never_called).cause


def test_the_matching_issuer_is_accepted():
    states = InMemoryGrantStates()
    state = begin(states)
    outcome = oauth.complete_grant(
        states, {"state": state, "code": "c", "iss": AUTH.issuer}, lambda g, c: oauth.TokenSet(access_token="a")
    )
    assert outcome.error is None and outcome.tokens.access_token == "a"


def test_a_profile_that_names_no_issuer_accepts_an_answer_without_iss():
    states = InMemoryGrantStates()
    url = oauth.begin_grant(
        AUTH.model_copy(update={"issuer": None}),
        states,
        profile_id="prf_1",
        attempt_id="a1",
        client_id="seatkeeper",
        redirect_uri="https://api.example.com/oauth/callback",
        task_token="tt",
        timeout_seconds=900,
    )
    state = parse_qs(urlsplit(url).query)["state"][0]
    outcome = oauth.complete_grant(states, {"state": state, "code": "c"}, lambda g, c: oauth.TokenSet(access_token="a"))
    assert outcome.error is None


def test_client_secret_basic_sends_the_secret_in_the_header_only():
    server = TokenServer()
    tokens = oauth.exchange_code(server, AUTH, CLIENT, code="c", code_verifier="v", redirect_uri="https://r")
    call = server.calls[0]
    assert call["auth"] == ("seatkeeper", "s3cret-value")
    assert call["data"] == {
        "grant_type": "authorization_code",
        "code": "c",
        "redirect_uri": "https://r",
        "code_verifier": "v",
    }
    assert tokens.access_token == "access-1" and tokens.refresh_token == "refresh-1"


def test_client_secret_basic_form_encodes_the_id_and_secret_first():
    # RFC 6749 2.3.1: the server form-decodes both, so "+" would become a space and "%21" a "!".
    server = TokenServer()
    client = {"client_id": "app:one+two", "client_secret": "sk+odd/secret%21= é"}
    oauth.exchange_code(server, AUTH, client, code="c", code_verifier="v", redirect_uri="https://r")
    assert server.calls[0]["auth"] == ("app%3Aone%2Btwo", "sk%2Bodd%2Fsecret%2521%3D+%C3%A9")


def test_client_secret_post_sends_it_in_the_form():
    server = TokenServer()
    oauth.exchange_code(
        server,
        AUTH.model_copy(update={"client_auth": "client_secret_post"}),
        CLIENT,
        code="c",
        code_verifier="v",
        redirect_uri="https://r",
    )
    assert server.calls[0]["auth"] is None
    assert server.calls[0]["data"]["client_secret"] == "s3cret-value"


def test_a_refused_exchange_names_the_error_code_and_nothing_the_server_echoed():
    server = TokenServer(status=400, body={"error": "invalid_grant", "error_description": "code c for s3cret-value"})
    with pytest.raises(GrantFailed) as raised:
        oauth.exchange_code(server, AUTH, CLIENT, code="c", code_verifier="v", redirect_uri="https://r")
    assert "invalid_grant" in str(raised.value) and "s3cret" not in str(raised.value)
    with pytest.raises(SaaSUnavailable):
        oauth.exchange_code(
            TokenServer(status=503, body={}), AUTH, CLIENT, code="c", code_verifier="v", redirect_uri="r"
        )


def stored(expires_in: float, refresh: str | None = "refresh-0"):
    expires_at = (datetime.now(UTC) + timedelta(seconds=expires_in)).isoformat()
    return InMemorySecrets(
        {"cred": {**CLIENT, "tokens": {"access_token": "access-0", "refresh_token": refresh, "expires_at": expires_at}}}
    )


def test_a_token_that_is_still_good_is_used_as_it_is():
    server, secrets = TokenServer(), stored(3600)
    assert oauth.AccessToken(AUTH, "cred", store=secrets, lock=InMemoryLock(), endpoint=server)() == "access-0"
    assert server.calls == []


def test_a_client_reads_its_token_from_the_vault_once_while_it_is_good():
    # Given a client of a credential whose token is good for an hour
    server, secrets = TokenServer(), stored(3600)
    token = oauth.AccessToken(AUTH, "cred", store=secrets, lock=InMemoryLock(), endpoint=server)
    # When it sends many requests
    answers = {token() for _ in range(50)}
    # Then the vault was read once, and nothing refreshed
    assert answers == {"access-0"} and secrets.reads == 1 and server.calls == []


def test_a_client_whose_token_comes_to_expire_reads_the_vault_again_and_refreshes_once():
    # Given a client holding a token that is good for half a second more (the margin aside)
    server, secrets = TokenServer(), stored(oauth.REFRESH_MARGIN.total_seconds() + 0.5)
    token = oauth.AccessToken(AUTH, "cred", store=secrets, lock=InMemoryLock(), endpoint=server)
    assert token() == "access-0"
    # When it is about to expire
    time.sleep(0.6)
    # Then the client reads what is stored, refreshes it under the lock, and keeps what it wrote
    assert [token() for _ in range(5)] == ["access-1"] * 5
    assert len(server.calls) == 1 and secrets.writes == 1
    assert secrets.reads == 3  # the first read, then the read before the lock and the one under it


def test_an_expiring_token_is_refreshed_and_the_rotated_refresh_token_stored_in_one_write():
    server, secrets = TokenServer(), stored(30)
    assert oauth.AccessToken(AUTH, "cred", store=secrets, lock=InMemoryLock(), endpoint=server)() == "access-1"
    assert server.calls[0]["data"] == {"grant_type": "refresh_token", "refresh_token": "refresh-0"}
    assert secrets.writes == 1
    assert secrets.values["cred"]["tokens"]["refresh_token"] == "refresh-1"
    assert secrets.values["cred"]["client_secret"] == "s3cret-value"


def test_a_server_that_does_not_rotate_keeps_the_refresh_token_we_had():
    server, secrets = TokenServer(rotate=False), stored(0)
    oauth.AccessToken(AUTH, "cred", store=secrets, lock=InMemoryLock(), endpoint=server)()
    assert secrets.values["cred"]["tokens"]["refresh_token"] == "refresh-0"


def test_concurrent_refreshes_of_one_credential_make_one_request():
    server, secrets, lock = TokenServer(delay=0.3), stored(10), InMemoryLock()
    results: list[str] = []

    def use() -> None:
        results.append(oauth.AccessToken(AUTH, "cred", store=secrets, lock=lock, endpoint=server)())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(server.calls) == 1
    assert results == ["access-1"] * 8


def test_without_a_refresh_token_an_expired_token_is_an_authentication_failure():
    with pytest.raises(SaaSAuthenticationFailed, match="connect again"):
        oauth.AccessToken(AUTH, "cred", store=stored(-10, refresh=None), lock=InMemoryLock(), endpoint=TokenServer())()


def test_a_refused_refresh_is_an_authentication_failure():
    server = TokenServer(status=400, body={"error": "invalid_grant"})
    with pytest.raises(SaaSAuthenticationFailed, match="invalid_grant"):
        oauth.AccessToken(AUTH, "cred", store=stored(0), lock=InMemoryLock(), endpoint=server)()


# RFC 6749 5.2: "invalid_grant ... The provided authorization grant ... or refresh token is invalid, expired,
# revoked". Only that code means a person must grant again; the other refusals are the client's own fault.
def test_a_refresh_token_refused_with_invalid_grant_is_a_revoked_grant_told_once_to_the_owner():
    # Given a client whose access token expired, at a server that refuses its refresh token
    server, told = TokenServer(status=400, body={"error": "invalid_grant"}), []
    token = oauth.AccessToken(
        AUTH, "cred", store=stored(0), lock=InMemoryLock(), endpoint=server, on_revoked=told.append
    )
    # When it asks for a token
    with pytest.raises(GrantRevoked, match="needs_reconnect") as refused:
        token()
    # Then it asked the token endpoint once, says the grant is gone, and told whoever owns the connection
    assert len(server.calls) == 1
    assert told == [refused.value]
    assert "refresh-0" not in str(refused.value) and "s3cret" not in str(refused.value)


@pytest.mark.parametrize(
    ("status", "body", "raised"),
    [
        (503, {}, SaaSUnavailable),
        (429, {"error": "slow_down"}, SaaSUnavailable),
        (401, {"error": "invalid_client"}, SaaSAuthenticationFailed),
        (400, {"error": "invalid_request"}, SaaSAuthenticationFailed),
    ],
)
def test_other_refusals_and_outages_of_the_token_endpoint_are_no_revoked_grant(status, body, raised):
    # Given a token endpoint that is down, slow or refuses the client (not the grant)
    server, told = TokenServer(status=status, body=body), []
    token = oauth.AccessToken(
        AUTH, "cred", store=stored(0), lock=InMemoryLock(), endpoint=server, on_revoked=told.append
    )
    # When the client asks for a token
    with pytest.raises(raised) as failed:
        token()
    # Then the failure is what it is, and nobody is told the grant is gone
    assert not isinstance(failed.value, GrantRevoked)
    assert told == []


def test_a_token_endpoint_that_cannot_be_reached_is_no_revoked_grant():
    class Unreachable:
        def post(self, url, *, data, auth):
            raise SaaSUnavailable("cannot reach the token endpoint at idp.example.com")

    told: list = []
    token = oauth.AccessToken(
        AUTH, "cred", store=stored(0), lock=InMemoryLock(), endpoint=Unreachable(), on_revoked=told.append
    )
    with pytest.raises(SaaSUnavailable):
        token()
    assert told == []


SERVICE_APP = OAuth2ClientCredentialsAuth(
    type="oauth2_client_credentials",
    token_url="https://acme.okta.example/oauth2/v1/token",
    scopes=["okta.users.read", "okta.logs.read"],
    client_auth="private_key_jwt",
)


def test_a_private_key_jwt_client_sends_a_signed_assertion_and_no_secret():
    # Given a service app whose private key is an EC P-256 JWK with its own kid
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key)) | {"kid": "key-2026"}
    server = TokenServer()

    # When it asks for a token twice
    token = oauth.ClientCredentialsToken(
        SERVICE_APP, {"client_id": "0oa-service", "private_key": json.dumps(jwk)}, endpoint=server
    )
    token()
    token._tokens = None
    token()

    # Then each request carries a fresh assertion, signed ES256 under the JWK's kid, for the token endpoint only
    forms = [call["data"] for call in server.calls]
    assert all(call["auth"] is None for call in server.calls)
    assert {f["client_assertion_type"] for f in forms} == {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
    assert forms[0]["scope"] == "okta.users.read okta.logs.read" and "client_secret" not in forms[0]
    claims = [
        jwt.decode(f["client_assertion"], key.public_key(), algorithms=["ES256"], audience=SERVICE_APP.token_url)
        for f in forms
    ]
    assert {(c["iss"], c["sub"]) for c in claims} == {("0oa-service", "0oa-service")}
    assert claims[0]["jti"] != claims[1]["jti"] and claims[0]["exp"] - claims[0]["iat"] <= 300
    assert jwt.get_unverified_header(forms[0]["client_assertion"]) == {"alg": "ES256", "kid": "key-2026", "typ": "JWT"}


def test_a_key_that_cannot_sign_is_refused_without_saying_what_it_holds():
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = short.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption()).decode()
    with pytest.raises(oauth.UnusableSigningKey, match="1024 bits is too short"):
        oauth.signing_key(pem)
    with pytest.raises(oauth.UnusableSigningKey) as raised:
        oauth.signing_key("-----BEGIN PRIVATE KEY-----\nbm90LWEta2V5LXNlY3JldA==\n-----END PRIVATE KEY-----")
    assert "bm90LWEta2V5" not in str(raised.value)
    with pytest.raises(GrantFailed, match="cannot sign"):
        oauth.ClientCredentialsToken(SERVICE_APP, {"client_id": "c", "private_key": "x"}, endpoint=TokenServer())()


def test_a_jwt_bearer_grant_is_a_service_accounts_signed_claim_for_its_subject_and_scopes():
    # Given a Google service account's key and the administrator it acts for
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    auth = OAuth2JwtBearerAuth(
        type="oauth2_jwt_bearer",
        token_url="https://oauth2.googleapis.com/token",
        scopes=["https://www.googleapis.com/auth/admin.reports.audit.readonly"],
        subject="admin@corp.example",
        key_id="d1b2c3",
    )
    server = TokenServer()

    # When it gets a token
    oauth.ClientCredentialsToken(
        auth, {"client_email": "sk@p.iam.gserviceaccount.com", "private_key": pem}, endpoint=server
    )()

    # Then the grant is the signed JWT itself: no client secret, no client authentication
    call = server.calls[0]
    assert call["auth"] is None and set(call["data"]) == {"grant_type", "assertion"}
    assert call["data"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(call["data"]["assertion"], key.public_key(), algorithms=["RS256"], audience=auth.token_url)
    assert (claims["iss"], claims["sub"], claims["scope"]) == (
        "sk@p.iam.gserviceaccount.com",
        "admin@corp.example",
        "https://www.googleapis.com/auth/admin.reports.audit.readonly",
    )
    assert claims["exp"] - claims["iat"] == 3600
    assert jwt.get_unverified_header(call["data"]["assertion"])["kid"] == "d1b2c3"


def test_a_pem_whose_lines_a_form_flattened_or_a_json_key_file_escaped_still_signs():
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    for pasted in (pem.replace("\n", ""), pem.replace("\n", " "), pem.replace("\n", "\\n")):
        signing = oauth.signing_key(pasted)
        assert signing.algorithm == "ES256"
        assert signing.key.private_numbers() == key.private_numbers()
