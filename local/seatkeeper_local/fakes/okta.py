"""A fake Okta of seatkeeper's own (the demo's identity provider, and the tests' peer), in its documented shapes.

Okta (developer.okta.com, Management API): `GET /api/v1/users`, `/api/v1/apps`,
`/api/v1/apps/{id}/users[?expand=user]` (AppUser: `scope` USER or GROUP, `_links.group.name`),
`DELETE /api/v1/apps/{id}/users/{userId}`, System Log `GET /api/v1/logs` (`since`, `until`,
`filter`, `limit`, `after`; LogEvent with `actor`, `target[]`, `published`, `outcome`); pages
by `Link: <...>; rel="next"`; errors as `{errorCode, errorSummary, errorLink, errorId,
errorCauses}`; `X-Rate-Limit-Limit/-Remaining/-Reset` on every answer, 429 E0000047 when over. An
OAuth service app: `POST /oauth2/v1/token` (client credentials, a `private_key_jwt` client assertion
checked against the app's registered public key), then `Authorization: Bearer` with okta.* scopes
(403 E0000006 and `WWW-Authenticate: ... error="insufficient_scope"` without the one needed).
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

import jwt

from seatkeeper_local.fakes.identity_provider import (
    App,
    Assignment,
    IdentityProviderHandler,
    IdentityProviderServer,
    Person,
    parse_time,
    stamp,
)
from seatkeeper_local.fakes.serving import serving


@dataclass
class FakeOkta(IdentityProviderServer):
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # An OAuth service app (client credentials, private_key_jwt): its registered public keys by kid
    # (None: a key registered without one), the okta.* scopes granted to it, and what it was given.
    service_app_id: str = "0oaservice000000app1"
    service_app_keys: dict[str | None, Any] = field(default_factory=dict)
    service_app_scopes: set[str] = field(default_factory=set)
    access_tokens: dict[str, set[str]] = field(default_factory=dict)
    assertions_seen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth2/v1/token"

    def okta_user(self, person: Person) -> dict[str, Any]:
        first, _, last = person.name.partition(" ")
        return {
            "id": person.id,
            "status": person.status,
            "created": "2024-01-02T09:00:00.000Z",
            "activated": "2024-01-02T09:00:00.000Z",
            "statusChanged": "2024-01-02T09:00:00.000Z",
            "lastLogin": None,
            "lastUpdated": "2024-01-02T09:00:00.000Z",
            "passwordChanged": None,
            "type": {"id": "oty1abcdefghijklmnop"},
            "profile": {
                "firstName": first,
                "lastName": last,
                "mobilePhone": None,
                "secondEmail": None,
                "login": person.email,
                "email": person.email,
            },
            "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
            "_links": {"self": {"href": f"{self.url}/api/v1/users/{person.id}"}},
        }


def _read_scope(path: str) -> str:
    """The okta.* scope a service app needs to read `path` (an app's assignments are the app's)."""
    if path == "/api/v1/logs":
        return "okta.logs.read"
    if path.startswith("/api/v1/users"):
        return "okta.users.read"
    return "okta.apps.read"


class _OktaHandler(IdentityProviderHandler):
    idp: FakeOkta

    def _error(self, status: int, code: str, summary: str, headers: dict[str, str] | None = None) -> None:
        self._send(
            status,
            {
                "errorCode": code,
                "errorSummary": summary,
                "errorLink": code,
                "errorId": uuid.uuid4().hex,
                "errorCauses": [],
            },
            headers,
        )

    def _quota(self, remaining: int = 599) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": "600",
            "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(int(time.time()) + 1),
        }

    def _page(self, path: str, query: dict[str, list[str]], items: list[Any], default_limit: int) -> None:
        limit = int(query.get("limit", [str(default_limit)])[0])
        start = int(query.get("after", ["0"])[0])
        page = items[start : start + limit]
        links = [f'<{self.idp.url}{path}?{urlencode({k: v[0] for k, v in query.items()})}>; rel="self"']
        if start + limit < len(items):
            following = {**{k: v[0] for k, v in query.items()}, "after": str(start + limit), "limit": str(limit)}
            links.append(f'<{self.idp.url}{path}?{urlencode(following)}>; rel="next"')
        self._send(200, page, {"Link": ", ".join(links), **self._quota()})

    def _authorized(self, scope: str) -> bool:
        """An API token, or a service app's access token that was granted `scope`."""
        header = self.headers.get("Authorization") or ""
        if header == f"SSWS {self.idp.token}":
            return True
        granted = self.idp.access_tokens.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if granted is None:
            self._error(401, "E0000011", "Invalid token provided")
            return False
        if scope not in granted:
            challenge = f'Bearer authorization_uri="{self.idp.token_url}", error="insufficient_scope", scope="{scope}"'
            self._error(
                403,
                "E0000006",
                "You do not have permission to perform the requested action",
                {"WWW-Authenticate": challenge},
            )
            return False
        return True

    def do_POST(self) -> None:
        """The org authorization server's token endpoint: client credentials, a private_key_jwt client only."""
        path, _ = self._record("POST")
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if path != "/oauth2/v1/token":
            self._error(404, "E0000022", "The endpoint does not support the provided HTTP method")
            return
        if form.get("grant_type") != "client_credentials":
            self._send(400, {"error": "unsupported_grant_type", "error_description": "The grant type is not supported"})
            return
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            self._send(401, {"error": "invalid_client", "error_description": "Client authentication failed."})
            return
        claims = self._verified_assertion(form.get("client_assertion", ""))
        if claims is None:
            self._send(401, {"error": "invalid_client", "error_description": "The client_assertion is invalid."})
            return
        asked = set(form.get("scope", "").split())
        if not asked or not asked <= self.idp.service_app_scopes:
            self._send(400, {"error": "invalid_scope", "error_description": "The requested scope is invalid."})
            return
        token = secrets.token_urlsafe(32)
        self.idp.access_tokens[token] = asked
        self._send(
            200, {"token_type": "Bearer", "expires_in": 3600, "access_token": token, "scope": " ".join(sorted(asked))}
        )

    def _verified_assertion(self, assertion: str) -> dict[str, Any] | None:
        """The assertion's claims when it is signed by the service app's registered key, for this token
        endpoint, about the app itself, unexpired, for at most an hour, and never seen before (jti)."""
        okta = self.idp
        try:
            kid = jwt.get_unverified_header(assertion).get("kid")
            key = okta.service_app_keys[kid]
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key,
                algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"],
                audience=okta.token_url,
                issuer=okta.service_app_id,
                options={"require": ["exp", "iat", "jti", "sub", "iss", "aud"]},
            )
        except (jwt.PyJWTError, KeyError):
            return None
        if claims["sub"] != okta.service_app_id or claims["exp"] - claims["iat"] > 3600:
            return None
        if any(seen["jti"] == claims["jti"] for seen in okta.assertions_seen):
            return None  # replayed
        okta.assertions_seen.append(claims)
        return claims

    def do_GET(self) -> None:
        path, query = self._record("GET")
        if not self._authorized(_read_scope(path)):
            return
        okta = self.idp
        if path == "/api/v1/users":
            # Without a search, Okta leaves deactivated people out; a search names the statuses it wants.
            wanted = set(re.findall(r'status eq "([A-Z_]+)"', query.get("search", [""])[0])) or None
            people = [
                okta.okta_user(p)
                for p in okta.people.values()
                if (p.status in wanted if wanted else p.status != "DEPROVISIONED")
            ]
            self._page(path, query, people, 200)
        elif path == "/api/v1/apps":
            apps = [self._app(a) for a in okta.apps.values()]
            self._page(path, query, apps, 20)
        elif (match := re.fullmatch(r"/api/v1/apps/([^/]+)/users", path)) and match.group(1) in okta.apps:
            app = okta.apps[match.group(1)]
            expand = query.get("expand") == ["user"]
            self._page(path, query, [self._app_user(app, a, expand=expand) for a in app.assignments], 50)
        elif path == "/api/v1/apps/" or path.startswith("/api/v1/apps/"):
            self._error(404, "E0000007", f"Not found: Resource not found: {path} (AppInstance)")
        elif path == "/api/v1/logs":
            self._logs(path, query)
        else:
            self._error(404, "E0000022", "The endpoint does not support the provided HTTP method")

    def do_DELETE(self) -> None:
        path, _ = self._record("DELETE")
        if not self._authorized("okta.apps.manage"):
            return
        match = re.fullmatch(r"/api/v1/apps/([^/]+)/users/([^/]+)", path)
        app = self.idp.apps.get(match.group(1)) if match else None
        found = [a for a in app.assignments if a.person_id == match.group(2)] if app and match else []
        if not found:
            self._error(404, "E0000007", "Not found: Resource not found (AppUser)")
        elif found[0].group is not None:
            self._error(403, "E0000149", "Cannot remove a user that is assigned to the app through a group")
        else:
            assert app is not None and match is not None
            app.assignments.remove(found[0])
            self.idp.unassigned.append((app.id, match.group(2)))
            self._send(204)

    def _app(self, app: App) -> dict[str, Any]:
        return {
            "id": app.id,
            "name": app.label.lower().replace(" ", ""),
            "label": app.label,
            "status": "ACTIVE",
            "signOnMode": "SAML_2_0",
            "created": "2024-01-02T09:00:00.000Z",
            "lastUpdated": "2024-01-02T09:00:00.000Z",
            "_links": {"users": {"href": f"{self.idp.url}/api/v1/apps/{app.id}/users"}},
        }

    def _app_user(self, app: App, assignment: Assignment, *, expand: bool) -> dict[str, Any]:
        person = self.idp.people[assignment.person_id]
        links: dict[str, Any] = {
            "app": {"href": f"{self.idp.url}/api/v1/apps/{app.id}"},
            "user": {"href": f"{self.idp.url}/api/v1/users/{person.id}"},
        }
        if assignment.group:
            links["group"] = {"name": assignment.group, "href": f"{self.idp.url}/api/v1/groups/00g{assignment.group}"}
        record: dict[str, Any] = {
            "id": person.id,
            "externalId": None,
            "created": "2024-01-02T09:00:00.000Z",
            "lastUpdated": "2024-01-02T09:00:00.000Z",
            "scope": "GROUP" if assignment.group else "USER",
            "status": "ACTIVE" if person.status == "ACTIVE" else "INACTIVE",
            "statusChanged": "2024-01-02T09:00:00.000Z",
            "passwordChanged": None,
            "syncState": "DISABLED",
            "credentials": {"userName": person.email},
            "profile": {},
            "_links": links,
        }
        if expand:
            record["_embedded"] = {"user": self.idp.okta_user(person)}
        return record

    def _logs(self, path: str, query: dict[str, list[str]]) -> None:
        if self.idp._throttle():
            self._error(429, "E0000047", "API call exceeded rate limit due to too many requests.", self._quota(0))
            return
        text = query.get("filter", [""])[0]
        wanted_app = re.search(r'target\.id eq "([^"]+)"', text)
        if 'eventType eq "user.authentication.sso"' not in text:
            self._send(200, [], self._quota())
            return
        since = parse_time(query["since"][0]) if "since" in query else datetime.now(UTC) - timedelta(days=7)
        until = parse_time(query["until"][0]) if "until" in query else datetime.now(UTC)
        limit = min(int(query.get("limit", ["100"])[0]), 1000)
        start = int(query.get("after", ["0"])[0])
        chosen = wanted_app.group(1) if wanted_app else None
        events, total = self.idp.window(chosen, since, until, start, limit, newest_first=False)
        # One written event per person and app, with the time and uuid filled in: a test reads 100,000
        # events without the fake being the bottleneck.
        rendered = self.idp.rendered
        page = [
            (rendered.get((app.id, who)) or rendered.setdefault((app.id, who), json.dumps(self._event(who, app))))
            .replace("__PUBLISHED__", stamp(at), 1)
            .replace("__UUID__", str(uuid.uuid4()), 1)
            for at, who, app in events
        ]
        headers = self._quota()
        if start + limit < total:
            following = {**{k: v[0] for k, v in query.items()}, "after": str(start + limit)}
            headers["Link"] = f'<{self.idp.url}{path}?{urlencode(following)}>; rel="next"'
        self._send(200, f"[{','.join(page)}]".encode(), headers)

    def _event(self, person_id: str, app: App) -> dict[str, Any]:
        person = self.idp.people[person_id]
        return {
            "actor": {
                "id": person.id,
                "type": "User",
                "alternateId": person.email,
                "displayName": person.name,
                "detailEntry": None,
            },
            "client": {"ipAddress": "198.51.100.7", "userAgent": {"browser": "CHROME", "os": "Mac OS X"}},
            "authenticationContext": {"authenticationStep": 0, "externalSessionId": "102abcdef"},
            "displayMessage": "User single sign on to app",
            "eventType": "user.authentication.sso",
            "outcome": {"result": "SUCCESS", "reason": None},
            "published": "__PUBLISHED__",
            "severity": "INFO",
            "legacyEventType": "app.auth.sso",
            "transaction": {"type": "WEB", "id": "Wabcdef", "detail": {}},
            "uuid": "__UUID__",
            "version": "0",
            "target": [
                {
                    "id": app.id,
                    "type": "AppInstance",
                    "alternateId": app.label,
                    "displayName": app.label,
                    "detailEntry": {"signOnModeType": "SAML_2_0"},
                },
                {
                    "id": f"0ua{person.id[3:]}",
                    "type": "AppUser",
                    "alternateId": person.email,
                    "displayName": person.name,
                },
            ],
        }


@contextmanager
def fake_okta(**settings: Any) -> Iterator[FakeOkta]:
    with serving(_OktaHandler) as server:
        okta = FakeOkta(url=f"http://127.0.0.1:{server.server_address[1]}", **settings)
        server.RequestHandlerClass = type("Handler", (_OktaHandler,), {"idp": okta})
        yield okta
