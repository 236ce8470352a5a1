"""A SaaS app of seatkeeper's own: lists N users with any pagination, takes licenses back, and
fails in the ways real apps do. The demo's second app, and the tests' and benchmarks' peer.

Paths: /<pagination>/users with pagination one of none, offset, page, cursor, next_url,
link_header. Behaviour is set on the `PagingApp` object: latency per page, a rate limit,
flaky or permanent failures at a page, malformed answers. It counts requests, connections
and the most requests it served at once, so tests can check concurrency and keep-alive.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from seatkeeper_local.fakes.serving import serving


def make_user(i: int, *, stamp: int = 0) -> dict[str, Any]:
    days_ago = (i * 7) % 200
    return {
        "id": f"u{i:06d}",
        "email": f"user{i}@example.com",
        "name": f"User {i}",
        "active": i % 10 != 0,
        "last_login": int(time.time()) - days_ago * 86400 - stamp if i % 13 else None,
        "created": "2023-01-01T00:00:00Z",
        "role": "admin" if i % 50 == 0 else "member",
    }


class Workers:
    """A server's k workers: a request waits, first come first served, until one is free (a
    threading.Semaphore is not fair: a request passed over again and again held up the pages behind it)."""

    def __init__(self, count: int) -> None:
        self.count, self.busy = count, 0
        self.queue: deque[object] = deque()
        self.turn = threading.Condition()

    def __enter__(self) -> None:
        me = object()
        with self.turn:
            self.queue.append(me)
            while self.queue[0] is not me or self.busy >= self.count:
                self.turn.wait()
            self.queue.popleft()
            self.busy += 1
            self.turn.notify_all()

    def __exit__(self, *_: object) -> None:
        with self.turn:
            self.busy -= 1
            self.turn.notify_all()


@dataclass
class PagingApp:
    url: str
    users: list[dict[str, Any]]
    latency: float = 0.0
    # A server of this many workers, each taking `latency` a request: those beyond wait their turn, so an
    # answer's latency rises with the requests in flight (None: every request is served at once).
    workers: int | None = None
    # failures, keyed by the 1-based page number
    flaky_pages: dict[int, int] = field(default_factory=dict)  # page -> how many times it fails with 502 first
    broken_page: int | None = None  # answers 500 forever
    malformed_page: int | None = None  # answers invalid JSON
    html_page: int | None = None  # answers an HTML error page with 200
    refused_redirect_page: int | None = None  # redirects to the metadata service
    foreign_next_url: bool = False  # next_url / Link point at another host
    loops_from_page: int | None = None  # from this page on, cursor / next_url / Link point back at page 2
    rate_limit: int | None = None  # this many requests per window, then 429 with Retry-After
    rate_window: float = 1.0
    quota_headers: bool = False  # X-RateLimit-Remaining / -Reset on every answer
    # Fixed windows that start at multiples of rate_window on the wall clock, as Okta's do
    # (developer.okta.com/docs/reference/rl-best-practices), announced on every answer in one style:
    # "okta" (X-Rate-Limit-*, reset in epoch seconds), "github" (x-ratelimit-*, docs.github.com
    # rest/using-the-rest-api/rate-limits-for-the-rest-api), "ietf" (RateLimit and RateLimit-Policy of
    # draft-ietf-httpapi-ratelimit-headers-10), or None: nothing announced until a request is refused.
    fixed_windows: bool = False
    quota_style: str | None = None
    retry_after: str | None = "seconds"  # a 429's Retry-After: "seconds", "date" (an HTTP date) or None
    window_index: int = -1
    most_in_window: int = 0  # the most requests one window saw, refused ones included
    records_key: str = "items"
    bearer_token: str | None = None  # when set, a list request without `Authorization: Bearer <it>` is 401
    cursor_key: str = "next"  # where a cursor page says the next cursor: a dotted path nests it (meta.next_cursor)
    requests: int = 0
    first_request_at: float | None = None  # time.perf_counter() of the first request since set to None
    connections: int = 0
    in_flight: int = 0
    most_in_flight: int = 0
    in_flight_seen: list[int] = field(default_factory=list)  # the requests in flight as each one arrived
    lock: threading.Lock = field(default_factory=threading.Lock)
    window_start: float = 0.0
    window_count: int = 0
    rate_limited: int = 0
    refused_windows: list[int] = field(default_factory=list)  # the fixed window of each refusal, in order
    first_window: int | None = None  # the fixed window the first request was counted in
    reclaim_requests: list[dict[str, Any]] = field(default_factory=list)  # every reclaim request received
    failing_reclaims: set[str] = field(default_factory=set)  # user ids whose reclaim answers 500
    redirect_reclaims_to: str | None = None  # reclaims answer 307 to this URL (the user's id appended)
    # User ids whose reclaim answers 204 No Content and changes nothing: accepted, never carried out
    ignored_reclaims: set[str] = field(default_factory=set)

    _workers: Workers | None = None

    def worker_pool(self) -> Workers:
        with self.lock:
            if self._workers is None:
                self._workers = Workers(self.workers or 1)
            return self._workers

    def window_resets_at(self) -> float:
        return (self.window_index + 1) * self.rate_window

    def announced(self) -> dict[str, str]:
        """The current fixed window's quota in the app's style (called under the lock)."""
        limit = self.rate_limit or 0
        remaining, reset_at = max(limit - self.window_count, 0), self.window_resets_at()
        if self.quota_style == "okta":
            return {
                "X-Rate-Limit-Limit": str(limit),
                "X-Rate-Limit-Remaining": str(remaining),
                "X-Rate-Limit-Reset": str(math.ceil(reset_at)),
            }
        if self.quota_style == "github":
            return {
                "x-ratelimit-limit": str(limit),
                "x-ratelimit-remaining": str(remaining),
                "x-ratelimit-used": str(min(self.window_count, limit)),
                "x-ratelimit-reset": str(math.ceil(reset_at)),
            }
        if self.quota_style == "ietf":
            window = max(1, math.ceil(self.rate_window))
            return {
                "RateLimit-Policy": f'"default";q={limit};w={window}',
                "RateLimit": f'"default";r={remaining};t={max(0, math.ceil(reset_at - time.time()))}',
            }
        return {}

    def retry_after_header(self) -> dict[str, str]:
        """A refusal's Retry-After (called under the lock, in the window that refused)."""
        if self.retry_after is None:
            return {}
        if not self.fixed_windows:
            return {"Retry-After": str(max(1, round(self.rate_window)))}
        reset_at = self.window_resets_at()
        if self.retry_after == "date":
            return {"Retry-After": formatdate(math.ceil(reset_at), usegmt=True)}
        return {"Retry-After": str(max(1, math.ceil(reset_at - time.time())))}

    def page_of(self, kind: str, query: dict[str, str]) -> tuple[int, list[dict[str, Any]], dict[str, Any], str | None]:
        """(page number, users, extra body fields, next page link) for one request."""
        size = int(query.get("limit") or query.get("per_page") or query.get("count") or 100)
        n = len(self.users)
        if kind == "none":
            return 1, self.users, {}, None
        if kind == "offset":
            start = int(query.get("offset", 0))
            return start // size + 1, self.users[start : start + size], {"total": n}, None
        if kind == "page":
            page = int(query.get("page", 1))
            return page, self.users[(page - 1) * size : page * size], {"total_pages": -(-n // size)}, None
        start = int(query.get("cursor") or query.get("start") or 0)
        chunk = self.users[start : start + size]
        following = start + size if start + size < n else None
        if self.loops_from_page is not None and start // size + 1 >= self.loops_from_page:
            following = size  # back at the second page, read already: a pointer that never ends the list
        host = "http://elsewhere.example.com" if self.foreign_next_url else self.url
        link = (
            f"{host}/{kind}/users?{urlencode({'start': following, 'limit': size})}" if following is not None else None
        )
        if kind == "cursor":
            *outer, name = self.cursor_key.split(".")
            extra: dict[str, Any] = {name: str(following) if following is not None else None}
            for key in reversed(outer):
                extra = {key: extra}
            return start // size + 1, chunk, extra, None
        if kind == "next_url":
            return start // size + 1, chunk, {"links": {"next": link}}, None
        return start // size + 1, chunk, {}, link


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real APIs do
    # Headers and body in one segment: written apart, Nagle's algorithm and delayed ACKs add
    # 40 ms to every kept-alive answer, which would measure the test server, not the client.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16
    app: PagingApp

    def log_message(self, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.app.lock:
            self.app.connections += 1

    def _send(
        self, status: int, data: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        app = self.app
        with app.lock:
            app.requests += 1
            if app.first_request_at is None:
                app.first_request_at = time.perf_counter()
            app.in_flight += 1
            app.most_in_flight = max(app.most_in_flight, app.in_flight)
            app.in_flight_seen.append(app.in_flight)
            if app.fixed_windows:
                index = int(time.time() // app.rate_window)
                if index != app.window_index:
                    app.window_index, app.window_count = index, 0
                if app.first_window is None:
                    app.first_window = index
            else:
                now = time.monotonic()
                if now - app.window_start >= app.rate_window:
                    app.window_start, app.window_count = now, 0
            app.window_count += 1
            app.most_in_window = max(app.most_in_window, app.window_count)
            limited = app.rate_limit is not None and app.window_count > app.rate_limit
            if limited:
                app.rate_limited += 1
                if app.fixed_windows:
                    app.refused_windows.append(app.window_index)
            quota = app.announced() if app.fixed_windows else {}
            refusal = {**quota, **app.retry_after_header()} if limited else {}
        try:
            self._answer(limited, quota, refusal)
        finally:
            with app.lock:
                app.in_flight -= 1

    def _reclaim(self) -> None:
        """PATCH/POST/DELETE /<kind>/users/<id>: take back a license or change its plan; remember being asked."""
        app = self.app
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        user_id = urlsplit(self.path).path.rstrip("/").split("/")[-1]
        with app.lock:
            app.reclaim_requests.append(
                {"method": self.command, "user_id": user_id, "body": body, "path": urlsplit(self.path).path}
            )
        if user_id in app.failing_reclaims:
            self._send(500, b'{"error": "could not update the user"}')
            return
        if app.redirect_reclaims_to:
            self._send(307, b"", headers={"Location": f"{app.redirect_reclaims_to}/{user_id}"})
            return
        if user_id in app.ignored_reclaims:
            self.send_response(204)
            self.end_headers()
            return
        for user in app.users:
            if user["id"] == user_id:
                # A body naming a plan moves the user to it (a downgrade); any other takes the license back.
                if isinstance(body, dict) and "plan" in body:
                    user["plan"] = body["plan"]
                else:
                    user["active"] = False
                self._send(200, json.dumps(user).encode())
                return
        self._send(404, b'{"error": "no such user"}')

    do_PATCH = do_POST = do_DELETE = _reclaim

    def _answer(self, limited: bool, quota: dict[str, str], refusal: dict[str, str]) -> None:
        app = self.app
        parts = urlsplit(self.path)
        kind = parts.path.strip("/").split("/")[0]
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if app.latency:
            if app.workers is None:
                time.sleep(app.latency)
            else:
                with app.worker_pool():
                    time.sleep(app.latency)
        if app.bearer_token is not None and self.headers.get("Authorization") != f"Bearer {app.bearer_token}":
            self._send(401, b'{"error": "invalid token"}')
            return
        if limited:
            self._send(429, b'{"error": "slow down"}', headers=refusal)
            return
        segments = parts.path.strip("/").split("/")
        if len(segments) == 3:  # /<kind>/users/<id>: one user, as per-user activity endpoints answer
            found = next((u for u in app.users if u["id"] == segments[2]), None)
            self._send(200 if found else 404, json.dumps(found or {"error": "no such user"}).encode())
            return
        page, users, extra, link = app.page_of(kind, query)
        with app.lock:
            if app.flaky_pages.get(page, 0) > 0:
                app.flaky_pages[page] -= 1
                self._send(502, b'{"error": "bad gateway"}')
                return
        if page == app.broken_page:
            self._send(500, b'{"error": "internal"}')
        elif page == app.malformed_page:
            self._send(200, b'{"items": [{"id": "u1", ')
        elif page == app.html_page:
            self._send(200, b"<html><body>Service temporarily unavailable</body></html>", "text/html")
        elif page == app.refused_redirect_page:
            self._send(302, b"", headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        else:
            headers = {"Link": f'<{link}>; rel="next"'} if link else {}
            headers |= quota
            if app.quota_headers:
                headers |= {"X-RateLimit-Remaining": "100", "X-RateLimit-Reset": str(int(time.time()) + 60)}
            self._send(200, json.dumps({app.records_key: users, **extra}).encode(), headers=headers)


PROFILE_PAGINATION = {
    "none": {"type": "none"},
    "offset": {
        "type": "offset",
        "offset_param": "offset",
        "limit_param": "limit",
        "first_offset": 0,
        "total_path": "total",
    },
    "page": {
        "type": "page",
        "page_param": "page",
        "size_param": "per_page",
        "first_page": 1,
        "total_pages_path": "total_pages",
    },
    "cursor": {"type": "cursor", "cursor_path": "next", "cursor_param": "cursor", "limit_param": "limit"},
    "next_url": {"type": "next_url", "next_url_path": "links.next", "limit_param": "limit"},
    "link_header": {"type": "link_header", "limit_param": "limit"},
}


def profile_fields(app: PagingApp, kind: str, *, page_size: int = 100, max_concurrency: int = 4) -> dict[str, Any]:
    """A profile's own fields for this app with the given pagination."""
    return {
        "base_url": f"{app.url}/{kind}",
        "auth": {"type": "bearer"},
        "users": {
            "path": "/users",
            "pagination": {**PROFILE_PAGINATION[kind], **({"page_size": page_size} if kind != "none" else {})},
            "records_path": app.records_key,
            "max_concurrency": max_concurrency,
            "fields": {
                "id": "id",
                "email": "email",
                "name": "name",
                "active": "active",
                "last_activity": "last_login",
                "created_at": "created",
                "role": "role",
            },
        },
    }


@contextmanager
def paging_app(count: int, **settings: Any) -> Iterator[PagingApp]:
    with serving(_Handler) as server:
        app = PagingApp(
            url=f"http://127.0.0.1:{server.server_address[1]}", users=[make_user(i) for i in range(count)], **settings
        )
        # Set before the URL is given out, so no request meets the handler without its app.
        server.RequestHandlerClass = type("Handler", (_Handler,), {"app": app})
        yield app
