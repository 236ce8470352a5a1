"""The one module that sends HTTP requests to SaaS apps.

Every connection passes the network guard on the address it is really made to:
`GuardedAdapter` resolves the host once, checks every address it resolves to, and connects
to the one it checked, keeping the host name for the Host header, SNI and certificate
checks (the technique of requests-hardened's IPFilterAdapter, whose fixed policy cannot
express our allow list, nor refuse a host when *any* of its addresses is internal).
Redirects go through the adapter again, so each hop is checked, and none leaves the origin it
started from: requests strips only `Authorization` on a cross-origin redirect, while our
credentials also travel in other headers and in query parameters. Response bodies are capped,
and every request, its redirects and its body included, has a total deadline.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import itertools
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit
from weakref import WeakKeyDictionary

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from seatkeeper.core.errors import (
    AddressRefused,
    AddressUnresolvable,
    ResponseTooLarge,
    SaaSAuthenticationFailed,
    SaaSRequestFailed,
    SaaSUnavailable,
    UnreadableResponse,
)
from seatkeeper.profiles.model import (
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    OAuth2AuthorizationCodeAuth,
    OAuth2ClientCredentialsAuth,
    OAuth2JwtBearerAuth,
    Profile,
    ReclaimRequest,
)
from seatkeeper.saas.network_guard import ALLOWED_SCHEMES, NetworkPolicy
from seatkeeper.saas.pacing import MAX_IN_FLIGHT, Pacer, told_to_slow_down, wait_requested
from seatkeeper.saas.templating import fill_in, fill_path, request_fields

DEFAULT_MAX_RESPONSE_BYTES = 20 * 1024 * 1024
DEFAULT_TIMEOUT = (5, 30)  # connect, read (seconds): each bounded by what is left of the deadline
DEFAULT_DEADLINE_SECONDS = 60.0
CHECKED_FOR = 30.0  # seconds a host's checked address is reused before it is looked up again
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


_sending = threading.local()  # `ends`: when the request this thread is sending, redirects included, must end


class _Deadlines:
    """One watchdog thread for every request's deadline: at a deadline, the socket is shut down.

    A `threading.Timer` per request was a thread started (and waited for) per page: py-spy put
    `Thread.start` and the timers' threads at a quarter of the fetch's samples, most of our own
    time a page. Here a request adds its deadline under a lock and takes it off when answered.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition(threading.Lock())
        self._due: list[tuple[float, int, socket.socket]] = []  # a heap by deadline
        self._watched: set[int] = set()
        self._count = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, ends: float, sock: socket.socket) -> int:
        with self._lock:
            token = next(self._count)
            heapq.heappush(self._due, (ends, token, sock))
            self._watched.add(token)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="saas-deadlines", daemon=True)
                self._thread.start()
            elif self._due[0][1] == token:
                self._lock.notify()  # sooner than the one the watchdog sleeps for
            return token

    def done(self, token: int) -> None:
        with self._lock:
            self._watched.discard(token)

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._due and self._due[0][1] not in self._watched:
                    heapq.heappop(self._due)  # answered in time
                if not self._due:
                    self._lock.wait()
                    continue
                ends, token, sock = self._due[0]
                if (left := ends - time.monotonic()) > 0:
                    self._lock.wait(left)
                    continue
                heapq.heappop(self._due)
                self._watched.discard(token)
                # Under the lock: once `done` returns, the socket (kept alive for the next request) is safe.
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already: nothing is waiting on it
        sock.shutdown(socket.SHUT_RDWR)


_deadlines = _Deadlines()


class _HeadersByTheDeadline:
    """A connection that stops waiting for the answer's headers at the request's deadline.

    Socket timeouts bound each receive, not the sum: an app sending its headers a byte at a
    time would outlast them. At the deadline the socket is shut down, which ends the wait
    (urllib3 then drops the connection, as after any error).
    """

    sock: socket.socket | None

    def getresponse(self) -> Any:
        ends, sock = getattr(_sending, "ends", None), self.sock
        if ends is None or sock is None:
            return super().getresponse()  # type: ignore[misc]
        token = _deadlines.watch(ends, sock)
        try:
            return super().getresponse()  # type: ignore[misc]
        finally:
            _deadlines.done(token)


class _HTTPConnection(_HeadersByTheDeadline, HTTPConnection):
    pass


class _HTTPSConnection(_HeadersByTheDeadline, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """Connects to the checked address of the host, keeping the host name for Host, SNI and TLS checks."""

    def __init__(self, policy: NetworkPolicy, *, https: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._policy = policy
        self._https = https
        self._checked: dict[tuple[str, int], tuple[float, Any]] = {}  # (host, port) -> (until, checked address)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        # types-requests lags requests 2.32's pool-key hook, which is what makes pinning possible.
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)  # type: ignore[misc]
        hostname: str = host_params["host"]
        port = host_params["port"] or (443 if self._https else 80)
        address = self._address(hostname, port)
        request.headers = CaseInsensitiveDict(request.headers or {})
        host_header = f"[{hostname}]" if ":" in hostname else hostname
        if host_params["port"] is not None:
            host_header += f":{host_params['port']}"
        request.headers["Host"] = host_header
        if self._https:
            pool_kwargs["assert_hostname"] = hostname
            pool_kwargs["server_hostname"] = hostname
        host_params["host"] = str(address)
        return host_params, pool_kwargs

    def _address(self, hostname: str, port: int) -> Any:
        # The pool key is built for every request, kept-alive connections' too: a look-up and its check
        # each time cost a page a DNS round trip (getaddrinfo in the fetch's profile). A checked address
        # is kept for CHECKED_FOR seconds; every new look-up is checked again.
        now = time.monotonic()
        until, address = self._checked.get((hostname, port), (0.0, None))
        if now < until:
            return address
        try:
            address = self._policy.resolve(hostname, port)[0]
        except AddressUnresolvable as exc:
            raise requests.ConnectionError(str(exc)) from exc
        self._checked[(hostname, port)] = (now + CHECKED_FOR, address)
        return address

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[no-untyped-call]
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - deprecated path
        raise NotImplementedError("use get_connection_with_tls_context")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(parts.scheme)


class GuardedSession(requests.Session):
    """A requests session whose every connection, redirects included, passes the guard.

    A redirect is followed only within the origin (scheme, host, port) it started from, and
    never when it would turn an unsafe request (a reclaim) into a GET. Each request, with its
    redirects and bodies, ends within `deadline_seconds`, else it fails as a timeout.
    """

    def __init__(
        self,
        policy: NetworkPolicy,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    ) -> None:
        super().__init__()
        self.policy = policy
        self.max_response_bytes = max_response_bytes
        self.deadline_seconds = deadline_seconds
        self.max_redirects = 5
        self.trust_env = False  # a proxy from the environment would bypass the address check
        # Identity bodies: the size cap counts what arrives, and a body is read as it comes.
        self.headers["Accept-Encoding"] = "identity"
        self.adapters.clear()
        # A kept-alive connection for every request the pacer may have in flight: with requests' 10,
        # a fetch of 16 pages at once opened a new connection for 6 of them each round.
        self.mount("http://", GuardedAdapter(policy, https=False, pool_maxsize=MAX_IN_FLIGHT))
        self.mount("https://", GuardedAdapter(policy, https=True, pool_maxsize=MAX_IN_FLIGHT))
        # A response hook reads every body, redirects' too (requests reads those itself, unbounded).
        self.hooks["response"].append(self._read_body)
        self._refused_hops: WeakKeyDictionary[requests.PreparedRequest, str] = WeakKeyDictionary()

    # requests builds each redirect hop with these two; a refused hop is marked here and refused
    # when it is about to be sent (requests also builds, and never sends, a hop it was told not to follow).

    def rebuild_method(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        method = prepared_request.method or "GET"
        super().rebuild_method(prepared_request, response)
        if method not in SAFE_METHODS and prepared_request.method != method:
            self._refused_hops[prepared_request] = (
                f"{urlsplit(response.url).hostname} answered {response.status_code} to {method}, "
                f"which would turn it into a {prepared_request.method}: not followed"
            )

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        target, source = prepared_request.url or "", response.request.url or ""
        if _origin(target) != _origin(source):
            where = urlsplit(target)
            self._refused_hops[prepared_request] = (
                f"{urlsplit(source).hostname} redirected {prepared_request.method} to {where.scheme}://{where.netloc}, "
                "another origin: not followed, so no credential goes there"
            )
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]

    def _left(self) -> float:
        return float(_sending.ends - time.monotonic())

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if urlsplit(request.url or "").scheme not in ALLOWED_SCHEMES:
            raise AddressRefused("only http and https URLs are allowed")
        if (refusal := self._refused_hops.pop(request, None)) is not None:
            self.policy.check_url(request.url or "")  # an internal address is the news that matters more
            raise SaaSRequestFailed(refusal)
        outermost = getattr(_sending, "ends", None) is None
        if outermost:
            _sending.ends = time.monotonic() + self.deadline_seconds
        try:
            left = self._left()
            if left <= 0:
                raise requests.Timeout(f"no answer within the deadline of {self.deadline_seconds:g} s")
            timeout = kwargs.get("timeout") or DEFAULT_TIMEOUT
            connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
            kwargs["timeout"] = (min(connect, left), min(read, left))
            kwargs["stream"] = True  # the body is read by _read_body, within the cap and the deadline
            return super().send(request, **kwargs)
        finally:
            if outermost:
                _sending.ends = None

    def _read_body(self, response: requests.Response, **_: Any) -> requests.Response:
        limit = self.max_response_bytes
        declared = response.headers.get("Content-Length")
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        try:
            if declared and declared.isdigit() and int(declared) > limit:
                raise ResponseTooLarge(f"response of {declared} bytes exceeds the limit of {limit}")
            if encoding != "identity":
                raise UnreadableResponse(f"the app answered with {encoding[:40]!r} content encoding, asked not to")
            body = bytearray()
            # http.client's read1 returns what one receive brings (urllib3's reads wait for a whole
            # chunk), so the deadline is checked however slowly the body drips.
            source: http.client.HTTPResponse = response.raw._original_response
            while piece := self._within_deadline(source.read1, response):
                body += piece
                if len(body) > limit:
                    raise ResponseTooLarge(f"response exceeds the limit of {limit} bytes")
                if self._left() <= 0:
                    raise requests.ReadTimeout(f"the body did not arrive within {self.deadline_seconds:g} s")
        except BaseException:
            response.close()
            raise
        source.close()  # read1 does not close a response whose Content-Length it has read in full
        response.raw.release_conn()
        response._content = bytes(body)
        return response

    def _within_deadline(self, read: Callable[[int], bytes], response: requests.Response) -> bytes:
        sock = getattr(response.raw.connection, "sock", None)
        if sock is not None:  # a kept-alive connection: no receive waits past the deadline
            sock.settimeout(max(self._left(), 0.001))
        try:
            return read(64 * 1024)
        except TimeoutError:
            raise requests.ReadTimeout(f"the body did not arrive within {self.deadline_seconds:g} s") from None
        except (http.client.HTTPException, OSError) as exc:
            raise requests.ConnectionError(f"the body was cut off: {type(exc).__name__}") from None


# --- retries (the pacing is saas.pacing's) -------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    budget_seconds: float = 120.0  # the most one request may wait in total across its retries

    @classmethod
    def from_environment(cls) -> RetryPolicy:
        """SEATKEEPER_SAAS_RETRY_ATTEMPTS and SEATKEEPER_SAAS_RETRY_BUDGET (seconds), when set."""
        return cls(
            max_attempts=int(os.environ.get("SEATKEEPER_SAAS_RETRY_ATTEMPTS") or cls.max_attempts),
            budget_seconds=float(os.environ.get("SEATKEEPER_SAAS_RETRY_BUDGET") or cls.budget_seconds),
        )

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS Architecture Blog)."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))  # noqa: S311


# --- the SaaS client ---------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One attempt at a request to the app, as a preview shows it: never the credential."""

    method: str
    url: str
    status: int | None
    elapsed_ms: int
    problem: str | None = None


class SaaSClient:
    """Requests to one SaaS app as its profile describes: auth, base URL, headers, errors.

    `credential` holds the values from the vault; `access_token` gives a current OAuth
    access token (refreshing it when needed) for OAuth profiles.
    """

    def __init__(
        self,
        profile: Profile,
        credential: dict[str, Any],
        *,
        policy: NetworkPolicy,
        access_token: Callable[[], str] | None = None,
        retries: RetryPolicy | None = None,
    ) -> None:
        self.profile = profile
        self.credential = credential
        self.access_token = access_token
        # One session per run: keep-alive connections to the app, shared by the run's workers.
        self.session = GuardedSession(policy, deadline_seconds=profile.request_deadline_seconds)
        self.retries = retries or RetryPolicy.from_environment()
        # Every request of the connection takes its turn from one pacer: pages in flight, activity, reclaims.
        self.pacer = Pacer(profile.rate_limit)
        # Told of every attempt (a preview lists them): method, URL without the credential, status or problem, ms.
        self.on_exchange: Callable[[Exchange], None] | None = None

    def url(self, path: str) -> str:
        return self.profile.base_url.rstrip("/") + path

    def _authorize(self, headers: dict[str, str], params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        auth = self.profile.auth
        if isinstance(auth, ApiKeyAuth):
            value = auth.prefix + self.credential["api_key"]
            if auth.location == "header":
                headers[auth.name] = value
            else:
                params = {**params, auth.name: value}
        elif isinstance(auth, BasicAuth):
            return (self.credential["username"], self.credential["api_key"]), params
        elif isinstance(auth, BearerAuth):
            headers[auth.header] = f"{auth.scheme} {self.credential['token']}".strip()
        elif isinstance(auth, OAuth2AuthorizationCodeAuth | OAuth2ClientCredentialsAuth | OAuth2JwtBearerAuth):
            if self.access_token is None:
                raise SaaSAuthenticationFailed("the connection has no access token yet")
            headers["Authorization"] = f"Bearer {self.access_token()}"
            if isinstance(auth, OAuth2ClientCredentialsAuth) and auth.client_id_header:
                headers[auth.client_id_header] = self.credential["client_id"]
        return None, params

    def send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        retry: bool = True,
    ) -> requests.Response:
        """One request with the profile's auth, retried while the app is busy or down.

        Each attempt takes its turn from the connection's pacer (saas.pacing), which spends the
        quota the app announces; 429, 503 and a 403 that is a rate limit (GitHub, Google) wait as
        Retry-After or the quota's reset say, and every request of the connection waits with them;
        other server errors, timeouts and lost connections
        back off exponentially with full jitter; the total wait is bounded. SaaS* errors for
        answers that stay bad. `retry=False` for requests that must not be sent twice.
        """
        all_headers = {"Accept": "application/json", **self.profile.headers, **(headers or {})}
        basic, all_params = self._authorize(all_headers, dict(params or {}))
        host, path = urlsplit(url).hostname, urlsplit(url).path
        waited = 0.0
        for attempt in range(1, self.retries.max_attempts + 1):
            turn = self.pacer.acquire()
            started = time.monotonic()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=all_params,
                    json=body,
                    headers=all_headers,
                    auth=basic,
                    allow_redirects=True,
                )
            except requests.Timeout:
                problem, delay = f"{host} did not answer in time", self.retries.backoff(attempt)
                self._unanswered(turn, (method, url, params, started), problem)
            except requests.ConnectionError:
                problem, delay = f"cannot connect to {host}", self.retries.backoff(attempt)
                self._unanswered(turn, (method, url, params, started), problem)
            except requests.RequestException as exc:
                self._unanswered(turn, (method, url, params, started), type(exc).__name__)
                raise SaaSRequestFailed(f"the request to {host} failed: {type(exc).__name__}") from exc
            except BaseException:
                self.pacer.release(turn, None)
                raise
            else:
                status = response.status_code
                self._told(method, url, params, started, status=status)
                where = f"{host} answered {status} to {method} {path}"
                slow_down = status == 429 or (status == 403 and told_to_slow_down(response))
                # The app's own time: to its answer's headers, without our reading of the body or a wait for a turn.
                latency = response.elapsed.total_seconds()
                self.pacer.release(turn, status, response.headers, refused=slow_down, latency=latency)
                if status < 400:
                    return response
                if status == 401 or (status == 403 and not slow_down):
                    raise SaaSAuthenticationFailed(where)
                if status in (403, 429, 503):
                    asked = wait_requested(response.headers)
                    # The pacer holds every request for what the app asked, and after a refusal that says
                    # nothing it holds them all for its own probe: a backoff of our own on top of either
                    # only idled a page in flight (a wait longer than the retry budget fails the request now).
                    delay = self.retries.backoff(attempt) if asked is None and not slow_down else 0.0
                    if asked is not None:
                        waited += asked
                        if waited > self.retries.budget_seconds:
                            raise SaaSUnavailable(f"{where}: asked to wait {asked:.0f} s, longer than the retries may")
                elif status >= 500:
                    delay = self.retries.backoff(attempt)
                else:
                    raise SaaSRequestFailed(where)
                problem = where
            if not retry or attempt == self.retries.max_attempts or waited + delay > self.retries.budget_seconds:
                raise SaaSUnavailable(f"{problem} (after {attempt} attempt{'s' if attempt > 1 else ''})")
            time.sleep(min(delay, self.retries.max_delay))
            waited += delay
        raise AssertionError("unreachable")  # pragma: no cover

    def _unanswered(self, turn: float, attempt: tuple[str, str, dict[str, Any] | None, float], problem: str) -> None:
        """An attempt that got no answer: its turn goes back to the pacer, and a preview is told why."""
        self.pacer.release(turn, None)
        self._told(*attempt, problem=problem)

    def _told(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        started: float,
        *,
        status: int | None = None,
        problem: str | None = None,
    ) -> None:
        if self.on_exchange is None:
            return
        # The caller's parameters only: the auth's own (an API key in the query) are added in send.
        shown = f"{url}?{urlencode(params, doseq=True)}" if params else url
        # And should the app put a credential in its own next-page URL, it is not shown either.
        for value in self.credential.values():
            if isinstance(value, str) and len(value) >= 4:
                shown = shown.replace(value, "[redacted]")
        elapsed = round((time.monotonic() - started) * 1000)
        self.on_exchange(Exchange(method=method, url=shown, status=status, elapsed_ms=elapsed, problem=problem))

    def json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise UnreadableResponse(f"the app answered {kind}, not JSON") from None

    def take_back(self, candidate: Any) -> tuple[int, str]:
        """Send the profile's reclaim request for one user, once: it is never retried. A user of a more list
        (users.also) is removed by that list's own request, where it has one."""
        request = self.reclaim_request(getattr(candidate, "kind", None))
        if request is None:
            raise SaaSRequestFailed("the profile has no reclaim request")
        return self._send_for(request, candidate, tier=None)

    def reclaim_request(self, kind: str | None) -> ReclaimRequest | None:
        """The request that takes back a seat of that kind (none: the users list's)."""
        if kind is None:
            return self.profile.reclaim
        listing = self.profile.users.listing(kind)
        if listing is None:  # never the other lists' removal for a user it may not fit
            raise SaaSRequestFailed(f"the profile lists no {kind!r} users any more: their removal is unknown")
        return listing.reclaim or self.profile.reclaim

    def move_to_tier(self, candidate: Any, tier: str) -> tuple[int, str]:
        """Send the profile's downgrade request for one user, once: it is never retried."""
        if self.profile.downgrade is None:
            raise SaaSRequestFailed("the profile has no downgrade request")
        return self._send_for(self.profile.downgrade, candidate, tier=tier)

    @staticmethod
    def rendered(request: ReclaimRequest, candidate: Any, *, tier: str | None = None) -> tuple[str, Any]:
        """The path and body of a reclaim or downgrade request for one user, as it is sent."""
        path = fill_path(request.path, request_fields(candidate, tier=tier))
        return path, fill_in(request.body, candidate, tier=tier) if request.body is not None else None

    def _send_for(self, request: ReclaimRequest, candidate: Any, *, tier: str | None) -> tuple[int, str]:
        # A request that changes a seat is never retried and, like every request, never follows
        # a redirect to another origin (nor turns into a GET on a 301/302/303).
        path, body = self.rendered(request, candidate, tier=tier)
        response = self.send(request.method, self.url(path), body=body, headers=request.headers, retry=False)
        if request.succeeded_when is not None:
            from jmespath.exceptions import JMESPathError

            from seatkeeper.saas.records import search  # on first use, as jmespath is

            try:
                done = search(request.succeeded_when, self.json(response))
            except JMESPathError:
                done = False
            if done is not True:
                raise SaaSRequestFailed(
                    f"{urlsplit(self.profile.base_url).hostname} answered {response.status_code} to"
                    f" {request.method} {path} without doing it ({request.succeeded_when} is not true)"
                )
        return response.status_code, f"{request.method} {path}"


class GuardedTokenEndpoint:
    """OAuth token requests through the guarded session (the token URL comes from a profile too)."""

    def __init__(self, policy: NetworkPolicy) -> None:
        self.session = GuardedSession(policy)

    def post(self, url: str, *, data: dict[str, str], auth: tuple[str, str] | None) -> tuple[int, dict[str, Any]]:
        try:
            response = self.session.post(
                url, data=data, auth=auth, headers={"Accept": "application/json"}, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise SaaSUnavailable(f"cannot reach the token endpoint at {urlsplit(url).hostname}") from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        return response.status_code, body if isinstance(body, dict) else {}
