"""The guarded HTTP session against real local HTTP servers: pinning, redirects, size caps."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests

from seatkeeper.core.errors import AddressRefused, InvalidInput, ResponseTooLarge, SaaSRequestFailed, SaaSUnavailable
from seatkeeper.licensing.reclamation import Candidate
from seatkeeper.profiles.catalog import build_profile
from seatkeeper.saas.http import GuardedSession, GuardedTokenEndpoint, RetryPolicy, SaaSClient
from seatkeeper.saas.network_guard import NetworkPolicy
from seatkeeper.saas.paging import fetch_users, first_page_of_users
from seatkeeper.sync.fetch import fetch_step
from seatkeeper_local.fakes.serving import serving

LOOPBACK = NetworkPolicy.from_entries(["127.0.0.0/8"])


class Handler(BaseHTTPRequestHandler):
    seen_hosts: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        Handler.seen_hosts.append(self.headers["Host"])
        if self.path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("Location", unquote(self.path.split("=", 1)[1]))
            self.end_headers()
        elif self.path == "/big-redirect":
            self.send_response(302)
            self.send_header("Location", "/")
            self.send_header("Content-Length", str(2 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"x" * 2 * 1024 * 1024)
        elif self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(2 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(b"x" * 2 * 1024 * 1024)
        elif self.path == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(40):
                chunk = b"y" * 65536
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_loopback_is_refused_unless_allowed(server):
    with pytest.raises(AddressRefused):
        GuardedSession(NetworkPolicy()).get(f"http://{server}/")
    assert GuardedSession(LOOPBACK).get(f"http://{server}/").json() == {"ok": True}


def test_the_connection_goes_to_the_checked_address_with_the_original_host_name(server):
    port = int(server.rsplit(":", 1)[1])
    lookups: list[str] = []

    def resolver(host, port_, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port_))]

    policy = NetworkPolicy.from_entries(["saas.test"], resolver=resolver)
    response = GuardedSession(policy).get(f"http://saas.test:{port}/users")
    assert response.status_code == 200
    assert Handler.seen_hosts[-1] == f"saas.test:{port}"
    assert lookups == ["saas.test"]  # resolved once, by the guard; no second look-up to rebind


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::ffff:127.0.0.2]/",
        "http://0x7f000002/",
        "http://2130706434/",
        # IPv4-compatible IPv6 (::/96): metadata and private addresses in another dress.
        "http://[::169.254.169.254]/latest/meta-data/",
        "http://[::a9fe:a9fe]/latest/meta-data/",
        "http://[::10.0.0.1]/",
    ],
)
def test_a_redirect_to_a_refused_address_is_refused(server, target):
    policy = NetworkPolicy.from_entries(["127.0.0.1/32"])
    with pytest.raises(AddressRefused):
        GuardedSession(policy).get(f"http://{server}/redirect?to={target}")


def test_a_redirect_to_another_scheme_is_refused(server):
    with pytest.raises((AddressRefused, requests.exceptions.InvalidSchema)):
        GuardedSession(LOOPBACK).get(f"http://{server}/redirect?to=file:///etc/passwd")


def test_responses_over_the_cap_are_refused_declared_or_chunked(server):
    session = GuardedSession(LOOPBACK, max_response_bytes=1024 * 1024)
    with pytest.raises(ResponseTooLarge):
        session.get(f"http://{server}/big")
    with pytest.raises(ResponseTooLarge):
        session.get(f"http://{server}/big-chunked")
    assert (
        len(GuardedSession(LOOPBACK, max_response_bytes=4 * 1024 * 1024).get(f"http://{server}/big").content)
        == 2 * 1024 * 1024
    )


def test_a_proxy_from_the_environment_cannot_route_around_the_guard(server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    assert GuardedSession(LOOPBACK).get(f"http://{server}/").status_code == 200


# --- credentials never leave the app's origin --------------------------------------------

KEY = "sk-live-7f3a9c2e41"
BASIC = base64.b64encode(f"admin:{KEY}".encode()).decode()  # the key as basic auth sends it


@dataclass
class Recorder:
    """What one of our servers was asked, and how the app one answers."""

    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)
    redirect: Callable[[str, str], str | None] = lambda method, path: None  # where to send a request, if anywhere
    status: int = 302
    users: list[dict[str, Any]] = field(default_factory=lambda: [{"id": "u1"}, {"id": "u2"}])


class RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorder: Recorder

    def log_message(self, *args: object) -> None:
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode(errors="replace") if length else ""
        self.recorder.seen.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers.items()), "body": body}
        )
        path = urlsplit(self.path).path
        if (target := self.recorder.redirect(self.command, self.path)) is not None:
            self.send_response(self.recorder.status)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = json.dumps(
            {"last": "2024-01-01T00:00:00Z"} if path.endswith("/activity") else self.recorder.users
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any


@contextmanager
def recording() -> Iterator[Recorder]:
    with serving(RecordingHandler) as server:
        recorder = Recorder(url=f"http://127.0.0.1:{server.server_address[1]}")
        server.RequestHandlerClass = type("Handler", (RecordingHandler,), {"recorder": recorder})
        yield recorder


@pytest.fixture(scope="module")
def two_servers() -> Iterator[tuple[Recorder, Recorder]]:
    with recording() as first, recording() as second:
        yield first, second


@pytest.fixture
def app(two_servers) -> Recorder:
    """The SaaS app, fresh for each test (the servers live for the module: stopping one takes 0.5 s)."""
    two_servers[0].__init__(url=two_servers[0].url)
    return two_servers[0]


@pytest.fixture
def elsewhere(two_servers) -> Recorder:
    """A server of another origin (another port)."""
    two_servers[1].__init__(url=two_servers[1].url)
    return two_servers[1]


AUTHS = {
    "api_key header": ({"type": "api_key"}, {"api_key": KEY}),
    "api_key query": ({"type": "api_key", "location": "query", "name": "api_token"}, {"api_key": KEY}),
    "bearer custom header": ({"type": "bearer", "header": "X-Auth-Token"}, {"token": KEY}),
    "basic": ({"type": "basic"}, {"username": "admin", "api_key": KEY}),
}


def client_of(app: Recorder, auth: str, **own: Any) -> SaaSClient:
    kind, credential = AUTHS[auth]
    profile = build_profile(
        {
            "name": "t",
            "base_url": f"{app.url}/v1",
            "auth": kind,
            "users": {"path": "/users", "fields": {"id": "id"}},
            "activity": {"mode": "per_user", "path": "/users/{id}/activity", "fields": {"last_activity": "last"}},
            "reclaim": {"method": "DELETE", "path": "/users/{id}"},
            "subscription": {"licenses_purchased": 1},
            **own,
        }
    )
    return SaaSClient(profile, credential, policy=LOOPBACK, retries=RetryPolicy(max_attempts=1))


class Rows:
    def put_chunk(self, run_id: str, kind: str, number: int, rows: list[dict[str, Any] | str]) -> None:
        pass


CALLS: dict[str, tuple[Callable[[str, str], bool], Callable[[SaaSClient], Any]]] = {
    # which of the app's answers redirects, and the call that meets it
    "connection test": (lambda method, path: urlsplit(path).path == "/v1/users", first_page_of_users),
    "sync's user list": (
        lambda method, path: urlsplit(path).path == "/v1/users",
        lambda client: [page for page, _ in fetch_users(client)],
    ),
    "per-user activity": (
        lambda method, path: urlsplit(path).path.endswith("/activity"),
        lambda client: fetch_step(client, Rows(), "run", None, out_of_time=lambda: False),
    ),
    "reclaim": (lambda method, path: method == "DELETE", lambda client: client.take_back(Candidate(id="u1"))),
}


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("auth", AUTHS)
def test_no_credential_follows_a_redirect_to_another_origin(app, elsewhere, auth, call, status):
    # Given an app that redirects one of its answers to a server on another port (another origin),
    # keeping the path and query string it was asked for, as many redirects do
    redirects, make_the_call = CALLS[call]
    app.status = status
    app.redirect = lambda method, path: f"{elsewhere.url}{path}" if redirects(method, path) else None
    client = client_of(app, auth)
    # When the call meets the redirect
    with pytest.raises(SaaSRequestFailed) as refused:
        make_the_call(client)
    # Then it is refused, saying where it was sent, and the other origin never heard of the credential
    assert "another origin" in str(refused.value) and elsewhere.url.removeprefix("http://") in str(refused.value)
    assert KEY not in str(refused.value)
    assert elsewhere.seen == []
    assert any(KEY in json.dumps(request) or BASIC in json.dumps(request) for request in app.seen)  # the app did


def test_a_redirect_within_the_origin_is_followed_with_the_credential(app):
    app.redirect = lambda method, path: path.replace("/v1/", "/v2/") if path.startswith("/v1/users") else None
    users = first_page_of_users(client_of(app, "api_key header"))
    assert [u.id for u in users] == ["u1", "u2"]
    assert [(r["path"], r["headers"].get("X-API-Key")) for r in app.seen] == [("/v1/users", KEY), ("/v2/users", KEY)]


def test_a_reclaim_is_never_turned_into_a_get_by_a_redirect(app):
    # Given an app that answers the reclaim's DELETE with 302 to a path of its own
    app.redirect = lambda method, path: "/v1/users" if method == "DELETE" else None
    # When the reclaim is sent, Then it fails rather than "succeed" as a GET of the list
    with pytest.raises(SaaSRequestFailed, match="would turn it into a GET"):
        client_of(app, "bearer custom header").take_back(Candidate(id="u1"))
    assert [r["method"] for r in app.seen] == ["DELETE"]


def test_a_307_within_the_origin_keeps_the_reclaim_a_delete(app):
    app.status = 307
    app.redirect = lambda method, path: path.replace("/v1/", "/v2/") if path.startswith("/v1/") else None
    status, _ = client_of(app, "api_key header").take_back(Candidate(id="u1"))
    assert status == 200 and [(r["method"], r["path"]) for r in app.seen] == [
        ("DELETE", "/v1/users/u1"),
        ("DELETE", "/v2/users/u1"),
    ]


@pytest.mark.parametrize("status", [302, 307, 308])
def test_an_oauth_token_request_is_not_redirected(app, elsewhere, status):
    app.status = status
    app.redirect = lambda method, path: f"{elsewhere.url}{path}"
    answer, _ = GuardedTokenEndpoint(LOOPBACK).post(
        f"{app.url}/token",
        data={"grant_type": "refresh_token", "refresh_token": KEY, "client_secret": KEY},
        auth=("client", KEY),
    )
    assert answer == status and elsewhere.seen == []


# --- every request ends by its deadline ---------------------------------------------------


class SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        try:
            if self.path.startswith("/slow-headers"):
                for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"x" * 60:
                    self.wfile.write(bytes([byte]))  # a byte every 0.2 s: no single read ever waits long
                    self.wfile.flush()
                    time.sleep(0.2)
                return
            if self.path.startswith("/late"):
                time.sleep(3)
            self.send_response(302 if self.path.startswith("/drip-redirect") else 200)
            self.send_header("Location", "/ok")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100")
            self.end_headers()
            if self.path.startswith("/late"):
                self.wfile.write(b"[" + b" " * 98 + b"]")
                return
            for _ in range(100):  # a byte every 0.2 s: no single read ever waits long
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass  # the client gave up, as it should


@pytest.mark.parametrize("path", ["/drip", "/late", "/drip-redirect", "/slow-headers"])
def test_a_request_ends_by_its_deadline_as_a_transient_failure(path):
    # Given an app that drips its body or its headers a byte at a time, or answers late, and a deadline of 1 s
    with serving(SlowHandler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        profile = build_profile(
            {
                "name": "t",
                "base_url": url,
                "auth": {"type": "bearer"},
                "request_deadline_seconds": 1,
                "users": {"path": path, "fields": {"id": "id"}},
                "subscription": {"licenses_purchased": 1},
            }
        )
        client = SaaSClient(profile, {"token": KEY}, policy=LOOPBACK, retries=RetryPolicy(max_attempts=1))
        started = time.monotonic()
        # When the client asks for the users, Then it gives up by the deadline, as a retryable failure
        with pytest.raises(SaaSUnavailable):
            first_page_of_users(client)
        assert time.monotonic() - started < 1.6


def test_the_deadline_is_a_bounded_profile_setting():
    base = {
        "name": "t",
        "base_url": "https://a.example.com",
        "auth": {"type": "bearer"},
        "users": {"path": "/u", "fields": {"id": "id"}},
        "subscription": {"licenses_purchased": 1},
    }
    assert build_profile(base).request_deadline_seconds == 60
    for out_of_bounds in (0, 301):
        with pytest.raises(InvalidInput, match="request_deadline_seconds"):
            build_profile({**base, "request_deadline_seconds": out_of_bounds})


def test_a_redirects_body_is_capped_too(server):
    # requests reads a redirect's body itself before it follows it; that body gets the same cap
    with pytest.raises(ResponseTooLarge):
        GuardedSession(LOOPBACK, max_response_bytes=1024 * 1024).get(f"http://{server}/big-redirect")


MORE_LISTS = {
    "also": [
        {"kind": "guest", "path": "/guests", "reclaim": {"method": "DELETE", "path": "/guests/{id}"}},
        {"kind": "contractor", "path": "/contractors"},
    ]
}


@pytest.mark.parametrize(
    ("kind", "sent"),
    [
        (None, ["DELETE /v1/users/u1"]),  # the users list's own: the profile's reclaim
        ("guest", ["DELETE /v1/guests/u1"]),  # its list's own removal
        ("contractor", ["DELETE /v1/users/u1"]),  # a list without one: the profile's reclaim
    ],
)
def test_a_seat_goes_back_by_the_removal_of_the_list_that_lists_its_user(app, kind, sent):
    # Given a profile with more lists of seat holders, one with a removal of its own
    client = client_of(app, "bearer custom header", users={"path": "/users", "fields": {"id": "id"}, **MORE_LISTS})
    # When a candidate of each kind is reclaimed
    client.take_back(Candidate(id="u1", kind=kind))
    # Then the request sent is its list's
    assert [f"{r['method']} {urlsplit(r['path']).path}" for r in app.seen] == sent


def test_a_seat_of_a_kind_the_profile_no_longer_lists_is_not_sent_another_list_s_removal(app):
    # Given a candidate planned as a guest, and the profile patched since to list no guests
    client = client_of(app, "bearer custom header", users={"path": "/users", "fields": {"id": "id"}})
    # When it is reclaimed, Then it fails saying why, and nothing reaches the app
    with pytest.raises(SaaSRequestFailed, match="lists no 'guest' users any more"):
        client.take_back(Candidate(id="u1", kind="guest"))
    assert app.seen == []
