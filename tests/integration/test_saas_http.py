"""The guarded HTTP session against real local HTTP servers: pinning, redirects, size caps."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import pytest
import requests

from seatkeeper.errors import AddressRefused, ResponseTooLarge
from seatkeeper.network_guard import NetworkPolicy
from seatkeeper.saas_http import GuardedSession

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
