"""SaaS apps for the tests: scim2-server (third party) and a small app of our own.

Our app speaks SCIM's list format, so that the built-in scim2 template reads it, and covers
what scim2-server does not: basic auth, API keys, OAuth access tokens checked against the
OIDC provider's userinfo endpoint, and the ways real apps fail.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from seatkeeper_local.fakes.scim_server import ScimServer, scim_server, scim_user
from seatkeeper_local.fakes.serving import serving

__all__ = ["FakeSaaS", "ScimServer", "fake_saas", "scim_server", "scim_user"]


@dataclass
class FakeSaaS:
    """Our own SaaS app: routes by the first path segment, records what it was asked."""

    url: str
    username: str = "admin@acme.example.com"
    api_key: str = "fake-api-key-9d41"
    userinfo_url: str | None = None
    users: list[dict[str, Any]] = field(default_factory=lambda: [scim_user(i) | {"id": str(i)} for i in range(3)])
    requests_seen: list[dict[str, Any]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    app: FakeSaaS

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/scim+json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _list(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": len(self.app.users),
            "startIndex": 1,
            "itemsPerPage": len(self.app.users),
        }
        # RFC 7644 §3.4.2 requires Resources only when totalResults is not 0; scim2-server always sends it.
        return answer | {"Resources": self.app.users} if self.app.users else answer

    def _authorized(self, kind: str, query: dict[str, list[str]]) -> bool:
        header = self.headers.get("Authorization", "")
        if kind == "basic":
            expected = base64.b64encode(f"{self.app.username}:{self.app.api_key}".encode()).decode()
            return header == f"Basic {expected}"
        if kind == "apikey":
            return query.get("api_token") == [self.app.api_key]
        if kind == "oauth":
            if not header.startswith("Bearer ") or not self.app.userinfo_url:
                return False
            # A resource server asks the authorization server who the token belongs to.
            return requests.get(self.app.userinfo_url, headers={"Authorization": header}, timeout=5).status_code == 200
        return True

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        kind = parts.path.strip("/").split("/")[0]
        self.app.requests_seen.append(
            {"method": "GET", "path": parts.path, "query": query, "authorization": self.headers.get("Authorization")}
        )
        if kind == "broken":
            self._send(503, {"detail": "maintenance"})
        elif kind == "metadata-redirect":
            self._send(302, headers={"Location": "http://169.254.169.254/latest/meta-data/iam/"})
        elif kind == "html":
            data = b"<html><body>Please sign in</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif not self._authorized(kind, query):
            self._send(401, {"detail": "unauthorized"})
        else:
            self._send(200, self._list())


@contextmanager
def fake_saas(**settings: Any) -> Iterator[FakeSaaS]:
    with serving(_Handler) as server:
        app = FakeSaaS(url=f"http://127.0.0.1:{server.server_address[1]}", **settings)
        server.RequestHandlerClass = type("Handler", (_Handler,), {"app": app})
        yield app
