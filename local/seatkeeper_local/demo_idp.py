"""Identity providers of seatkeeper's own, answering in Okta's, Microsoft Graph's and Google's documented
shapes: the demo's IdP, and the tests' peers for "Usage from the identity provider".

Okta (developer.okta.com, Management API): `GET /api/v1/users`, `/api/v1/apps`,
`/api/v1/apps/{id}/users[?expand=user]` (AppUser: `scope` USER or GROUP, `_links.group.name`),
`DELETE /api/v1/apps/{id}/users/{userId}`, System Log `GET /api/v1/logs` (`since`, `until`,
`filter`, `limit`, `after`; LogEvent with `actor`, `target[]`, `published`, `outcome`); pages
by `Link: <...>; rel="next"`; errors as `{errorCode, errorSummary, errorLink, errorId,
errorCauses}`; `X-Rate-Limit-Limit/-Remaining/-Reset` on every answer, 429 E0000047 when over. An
OAuth service app: `POST /oauth2/v1/token` (client credentials, a `private_key_jwt` client assertion
checked against the app's registered public key), then `Authorization: Bearer` with okta.* scopes
(403 E0000006 and `WWW-Authenticate: ... error="insufficient_scope"` without the one needed).

Microsoft Entra ID (learn.microsoft.com, Graph v1.0): the client credentials token endpoint
`POST /{tenant}/oauth2/v2.0/token`, `GET /v1.0/users`, `/v1.0/servicePrincipals`,
`/v1.0/servicePrincipals/{id}/appRoleAssignedTo` (also by `(appId='...')`),
`DELETE /v1.0/servicePrincipals/{id}/appRoleAssignedTo/{appRoleAssignment-id}`,
`/v1.0/auditLogs/signIns` (`$filter` on appId and createdDateTime, newest first, at most 1,000
a page); pages by `@odata.nextLink`; errors as `{"error": {code, message, innerError}}`; 429
with `Retry-After`.

Google Workspace (developers.google.com): the service-account token endpoint (`POST /token`, grant
`urn:ietf:params:oauth:grant-type:jwt-bearer`, errors `invalid_grant` / `unauthorized_client`),
Directory `GET /admin/directory/v1/users` (`customer=my_customer`, `maxResults` up to 500),
Reports `GET /admin/reports/v1/activity/users/all/applications/saml` (`eventName`, `startTime`,
`endTime`, `filters=application_name==...`, newest first, up to 1,000 a page); pages by
`nextPageToken`/`pageToken`, an empty page without its list; errors as `{"error": {code, message,
errors[], status}}`, 429 `rateLimitExceeded` (domain `usageLimits`, no Retry-After). With OAuth instead
of a service account, the access token comes from the provider the administrator consented at (standing
in for accounts.google.com), which vouches for it at its userinfo endpoint.
"""

from __future__ import annotations

import base64
import bisect
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import jwt
import requests

from seatkeeper_local.demo_app import serving


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Person:
    id: str
    email: str
    name: str
    status: str = "ACTIVE"  # Okta: ACTIVE, SUSPENDED, DEPROVISIONED; Entra: accountEnabled = status == "ACTIVE"


@dataclass
class Assignment:
    person_id: str
    group: str | None = None  # the group the app is assigned through, when it is


@dataclass
class App:
    id: str
    label: str
    assignments: list[Assignment] = field(default_factory=list)
    # Sign-ins, oldest first: (when, person id).
    sign_ins: list[tuple[datetime, str]] = field(default_factory=list)
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))  # Entra: the service principal's id


@dataclass
class IdentityProviderServer:
    """What both fakes share: people, apps, and the requests they were sent."""

    url: str
    people: dict[str, Person] = field(default_factory=dict)
    apps: dict[str, App] = field(default_factory=dict)
    requests_seen: list[dict[str, Any]] = field(default_factory=list)
    unassigned: list[tuple[str, str]] = field(default_factory=list)  # (app id, person id)
    throttle_every: int | None = None  # every n-th request of the sign-in log answers 429
    throttle_next: int = 0  # this many of the next sign-in log requests answer 429
    log_requests: int = 0
    throttled: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    rendered: dict[tuple[str, str], str] = field(default_factory=dict)  # a sign-in event's JSON, per app and person

    def add_person(self, person: Person) -> Person:
        self.people[person.id] = person
        return person

    def add_app(self, app: App) -> App:
        self.apps[app.id] = app
        return app

    def sign_in(self, app_id: str, person_id: str, at: datetime) -> None:
        app = self.apps[app_id]
        bisect.insort(app.sign_ins, (at, person_id))

    def bulk_sign_ins(self, app_id: str, events: list[tuple[datetime, str]]) -> None:
        app = self.apps[app_id]
        app.sign_ins = sorted([*app.sign_ins, *events])

    def window(
        self, app_id: str | None, since: datetime, until: datetime, start: int, size: int, *, newest_first: bool
    ) -> tuple[list[tuple[datetime, str, App]], int]:
        """One page of the sign-ins between since and until (of one app, or of all), and how many there are."""
        apps = [self.apps[app_id]] if app_id in self.apps else [] if app_id else list(self.apps.values())
        if len(apps) == 1:  # the common case, at scale: slice the app's sorted list, build only the page
            app = apps[0]
            low = bisect.bisect_left(app.sign_ins, (since, ""))
            high = bisect.bisect_right(app.sign_ins, (until, "\uffff"))
            if newest_first:
                chosen = app.sign_ins[max(high - start - size, low) : max(high - start, low)][::-1]
            else:
                chosen = app.sign_ins[low + start : min(low + start + size, high)]
            return [(at, who, app) for at, who in chosen], high - low
        merged = sorted(
            ((at, who, app) for app in apps for at, who in app.sign_ins if since <= at <= until),
            key=lambda e: e[0],
            reverse=newest_first,
        )
        return merged[start : start + size], len(merged)

    def _throttle(self) -> bool:
        with self.lock:
            self.log_requests += 1
            if self.throttle_next > 0:
                self.throttle_next -= 1
                self.throttled += 1
                return True
            if self.throttle_every and self.log_requests % self.throttle_every == 0:
                self.throttled += 1
                return True
        return False


class _Handler(BaseHTTPRequestHandler):
    idp: Any

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = (body if isinstance(body, bytes) else json.dumps(body).encode()) if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, method: str) -> tuple[str, dict[str, list[str]]]:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        self.idp.requests_seen.append(
            {
                "method": method,
                "path": unquote(parts.path),
                "query": query,
                "authorization": self.headers.get("Authorization"),
                "at": time.time(),
            }
        )
        return unquote(parts.path), query


# --- Okta -----------------------------------------------------------------------------------


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


class _OktaHandler(_Handler):
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
        since = _parse(query["since"][0]) if "since" in query else datetime.now(UTC) - timedelta(days=7)
        until = _parse(query["until"][0]) if "until" in query else datetime.now(UTC)
        limit = min(int(query.get("limit", ["100"])[0]), 1000)
        start = int(query.get("after", ["0"])[0])
        chosen = wanted_app.group(1) if wanted_app else None
        events, total = self.idp.window(chosen, since, until, start, limit, newest_first=False)
        # One written event per person and app, with the time and uuid filled in: a test reads 100,000
        # events without the fake being the bottleneck.
        rendered = self.idp.rendered
        page = [
            (rendered.get((app.id, who)) or rendered.setdefault((app.id, who), json.dumps(self._event(who, app))))
            .replace("__PUBLISHED__", _stamp(at), 1)
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


# --- Microsoft Entra ID / Graph ---------------------------------------------------------------


@dataclass
class FakeEntra(IdentityProviderServer):
    tenant: str = "7d1f0b6a-2f39-4bd5-b8b5-2c4d8a1e9c11"
    client_id: str = "3f2b8e1c-0a4d-4c55-9e0f-6f1b2a7d9e10"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    tokens: set[str] = field(default_factory=set)

    @property
    def token_url(self) -> str:
        return f"{self.url}/{self.tenant}/oauth2/v2.0/token"

    @property
    def graph_url(self) -> str:
        return f"{self.url}/v1.0"


def assignment_id(app: App, assignment: Assignment) -> str:
    """An appRoleAssignment's id as Graph writes them: 43 characters of base64url."""
    principal = assignment.group or assignment.person_id
    seed = uuid.uuid5(uuid.NAMESPACE_URL, f"{app.id}/{principal}").bytes
    seed += uuid.uuid5(uuid.NAMESPACE_OID, principal).bytes
    return base64.urlsafe_b64encode(seed).decode().rstrip("=")


# What GET /users answers for each user without $select (Graph v1.0's documented default properties).
USER_DEFAULT_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)


class _EntraHandler(_Handler):
    idp: FakeEntra

    def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        inner = {
            "date": _stamp(datetime.now(UTC)),
            "request-id": str(uuid.uuid4()),
            "client-request-id": str(uuid.uuid4()),
        }
        self._send(status, {"error": {"code": code, "message": message, "innerError": inner}}, headers)

    def do_POST(self) -> None:
        path, _ = self._record("POST")
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if path != f"/{self.idp.tenant}/oauth2/v2.0/token":
            self._error(404, "Request_ResourceNotFound", "Resource not found")
            return
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("scope") != "https://graph.microsoft.com/.default"
        ):
            self._send(400, {"error": "invalid_request", "error_description": "AADSTS900144: bad request"})
            return
        if (form.get("client_id"), form.get("client_secret")) != (self.idp.client_id, self.idp.client_secret):
            self._send(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"})
            return
        token = secrets.token_urlsafe(32)
        self.idp.tokens.add(token)
        self._send(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})

    def _page(self, path: str, query: dict[str, list[str]], items: list[Any], size: int) -> None:
        top = min(int(query.get("$top", [str(size)])[0]), size)
        start = int(query.get("$skiptoken", ["0"])[0])
        body: dict[str, Any] = {"@odata.context": f"{self.idp.graph_url}/$metadata#{path.rsplit('/', 1)[-1]}"}
        body["value"] = items[start : start + top]
        if start + top < len(items):
            following = {**{k: v[0] for k, v in query.items()}, "$skiptoken": str(start + top)}
            body["@odata.nextLink"] = f"{self.idp.url}{path}?{urlencode(following)}"
        self._send(200, body)

    def do_GET(self) -> None:
        path, query = self._record("GET")
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self.idp.tokens:
            self._error(401, "InvalidAuthenticationToken", "Access token is empty.")
            return
        entra = self.idp
        by_object = {a.object_id: a for a in entra.apps.values()}
        assigned = re.fullmatch(r"/v1\.0/servicePrincipals(?:/([^/(]+)|\(appId='([^']+)'\))/appRoleAssignedTo", path)
        if path == "/v1.0/users":
            # Graph answers a default set of properties (accountEnabled is not among them) unless $select names some.
            chosen = query.get("$select", [",".join(USER_DEFAULT_PROPERTIES)])[0].split(",")
            people = [{k: v for k, v in self._user(p).items() if k in chosen} for p in entra.people.values()]
            self._page(path, query, people, 999)
        elif path == "/v1.0/servicePrincipals":
            self._page(path, query, [self._service_principal(a) for a in entra.apps.values()], 999)
        elif assigned and (by_object.get(assigned.group(1) or "") or entra.apps.get(assigned.group(2) or "")):
            app = by_object.get(assigned.group(1) or "") or entra.apps[assigned.group(2)]
            self._page(path, query, [self._assignment(app, a) for a in app.assignments], 999)
        elif path == "/v1.0/auditLogs/signIns":
            self._sign_ins(path, query)
        else:
            self._error(404, "Request_ResourceNotFound", f"Resource '{path}' does not exist.")

    def do_DELETE(self) -> None:
        path, _ = self._record("DELETE")
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self.idp.tokens:
            self._error(401, "InvalidAuthenticationToken", "Access token is empty.")
            return
        # DELETE /servicePrincipals/{resource-SP-id}/appRoleAssignedTo/{appRoleAssignment-id}: 204, no body.
        match = re.fullmatch(r"/v1\.0/servicePrincipals/([^/(]+)/appRoleAssignedTo/([^/]+)", path)
        app = next((a for a in self.idp.apps.values() if match and a.object_id == match.group(1)), None)
        found = [a for a in (app.assignments if app else []) if match and assignment_id(app, a) == match.group(2)]
        if not found:
            self._error(404, "Request_ResourceNotFound", f"Resource '{path.rsplit('/', 1)[-1]}' does not exist.")
            return
        assert app is not None
        app.assignments.remove(found[0])
        self.idp.unassigned.append((app.id, found[0].group or found[0].person_id))
        self._send(204)

    def _user(self, person: Person) -> dict[str, Any]:
        first, _, last = person.name.partition(" ")
        return {
            "businessPhones": [],
            "displayName": person.name,
            "givenName": first,
            "jobTitle": None,
            "mail": person.email,
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": None,
            "surname": last,
            "userPrincipalName": person.email,
            "id": person.id,
            "accountEnabled": person.status == "ACTIVE",
            "createdDateTime": "2024-01-02T09:00:00Z",
        }

    def _service_principal(self, app: App) -> dict[str, Any]:
        return {
            "id": app.object_id,
            "appId": app.id,
            "displayName": app.label,
            "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
        }

    def _assignment(self, app: App, assignment: Assignment) -> dict[str, Any]:
        person = self.idp.people[assignment.person_id]
        group = assignment.group
        return {
            "id": assignment_id(app, assignment),
            "deletedDateTime": None,
            "appRoleId": "00000000-0000-0000-0000-000000000000",
            "createdDateTime": "2024-01-02T09:00:00Z",
            "principalDisplayName": group or person.name,
            "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, group)) if group else person.id,
            "principalType": "Group" if group else "User",
            "resourceDisplayName": app.label,
            "resourceId": app.object_id,
        }

    def _sign_ins(self, path: str, query: dict[str, list[str]]) -> None:
        if self.idp._throttle():
            self._error(429, "TooManyRequests", "Too many requests.", {"Retry-After": "1"})
            return
        text = query.get("$filter", [""])[0]
        wanted = re.search(r"appId eq '([^']+)'", text)
        since = re.search(r"createdDateTime ge (\S+)", text)
        until = re.search(r"createdDateTime le (\S+)", text)
        low = _parse(since.group(1)) if since else datetime.min.replace(tzinfo=UTC)
        high = _parse(until.group(1)) if until else datetime.now(UTC)
        top = min(int(query.get("$top", ["1000"])[0]), 1000)
        start = int(query.get("$skiptoken", ["0"])[0])
        # Graph answers the most recent sign-ins first.
        events, total = self.idp.window(wanted.group(1) if wanted else None, low, high, start, top, newest_first=True)
        body: dict[str, Any] = {"@odata.context": f"{self.idp.graph_url}/$metadata#auditLogs/signIns"}
        body["value"] = [self._sign_in(at, who, app) for at, who, app in events]
        if start + top < total:
            following = {**{k: v[0] for k, v in query.items()}, "$skiptoken": str(start + top)}
            body["@odata.nextLink"] = f"{self.idp.url}{path}?{urlencode(following)}"
        self._send(200, body)

    def _sign_in(self, at: datetime, person_id: str, app: App) -> dict[str, Any]:
        person = self.idp.people[person_id]
        return {
            "id": str(uuid.uuid4()),
            "createdDateTime": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "userDisplayName": person.name,
            "userPrincipalName": person.email,
            "userId": person.id,
            "appId": app.id,
            "appDisplayName": app.label,
            "ipAddress": "198.51.100.7",
            "clientAppUsed": "Browser",
            "correlationId": str(uuid.uuid4()),
            "conditionalAccessStatus": "notApplied",
            "isInteractive": True,
            "riskDetail": "none",
            "riskLevelAggregated": "none",
            "riskLevelDuringSignIn": "none",
            "riskState": "none",
            "riskEventTypes_v2": [],
            "resourceDisplayName": app.label,
            "resourceId": app.object_id,
            "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None},
            "deviceDetail": {"deviceId": "", "displayName": "", "operatingSystem": "Windows 10", "browser": "Edge"},
            "location": {"city": "Redmond", "state": "Washington", "countryOrRegion": "US"},
            "appliedConditionalAccessPolicies": [],
        }


@contextmanager
def fake_entra(**settings: Any) -> Iterator[FakeEntra]:
    with serving(_EntraHandler) as server:
        entra = FakeEntra(url=f"http://127.0.0.1:{server.server_address[1]}", **settings)
        server.RequestHandlerClass = type("Handler", (_EntraHandler,), {"idp": entra})
        yield entra


# --- Google Workspace -----------------------------------------------------------------------


@dataclass
class FakeGoogle(IdentityProviderServer):
    """Google's OAuth token endpoint for service accounts (JWT bearer grant), Directory users and the
    Reports API's SAML log. An app is known by its SAML application name (App.id == App.label)."""

    service_account: str = "seatkeeper@acme-project.iam.gserviceaccount.com"
    admin: str = "admin@corp.example"  # the administrator the service account may act for
    service_account_keys: dict[str | None, Any] = field(default_factory=dict)  # kid (private_key_id) -> public key
    delegated_scopes: set[str] = field(default_factory=set)  # domain-wide delegation of the service account
    access_tokens: dict[str, set[str]] = field(default_factory=dict)
    grants_seen: list[dict[str, Any]] = field(default_factory=list)
    aliases: dict[str, list[str]] = field(default_factory=dict)  # person id -> alias addresses
    # OAuth instead of a service account: an administrator consented at this provider (standing in for
    # accounts.google.com) to these scopes; a token it vouches for at its userinfo endpoint carries them.
    userinfo_url: str | None = None
    consented_scopes: set[str] = field(default_factory=set)

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"


GOOGLE_DIRECTORY_SCOPE = "https://www.googleapis.com/auth/admin.directory.user.readonly"
GOOGLE_REPORTS_SCOPE = "https://www.googleapis.com/auth/admin.reports.audit.readonly"


class _GoogleHandler(_Handler):
    idp: FakeGoogle

    def _error(self, status: int, reason: str, message: str, state: str, domain: str = "global") -> None:
        self._send(
            status,
            {
                "error": {
                    "code": status,
                    "message": message,
                    "errors": [{"message": message, "domain": domain, "reason": reason}],
                    "status": state,
                }
            },
        )

    def do_POST(self) -> None:
        path, _ = self._record("POST")
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if path != "/token":
            self._error(404, "notFound", "Not Found", "NOT_FOUND")
            return
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            self._send(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
            return
        google = self.idp
        try:
            kid = jwt.get_unverified_header(form.get("assertion", "")).get("kid")
            claims: dict[str, Any] = jwt.decode(
                form.get("assertion", ""),
                google.service_account_keys[kid],
                algorithms=["RS256"],
                audience=google.token_url,
                issuer=google.service_account,
                options={"require": ["exp", "iat", "iss", "aud", "scope"]},
            )
        except (jwt.PyJWTError, KeyError):
            self._send(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
            return
        asked = set(str(claims["scope"]).split())
        if claims["exp"] - claims["iat"] > 3600 or claims.get("sub") != google.admin:
            self._send(
                400, {"error": "invalid_grant", "error_description": "Invalid JWT: Token must be a short-lived token"}
            )
            return
        if not asked <= google.delegated_scopes:
            self._send(
                401,
                {
                    "error": "unauthorized_client",
                    "error_description": "Client is unauthorized to retrieve access tokens using this method, or client"
                    " not authorized for any of the scopes requested.",
                },
            )
            return
        google.grants_seen.append(claims)
        token = f"ya29.{secrets.token_urlsafe(32)}"
        google.access_tokens[token] = asked
        self._send(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _authorized(self, scope: str) -> bool:
        header = self.headers.get("Authorization") or ""
        granted = self.idp.access_tokens.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if granted is None and header.startswith("Bearer ") and self._vouched_for(header):
            granted = self.idp.consented_scopes
        if granted is None:
            self._error(401, "authError", "Request had invalid authentication credentials.", "UNAUTHENTICATED")
            return False
        if scope not in granted:
            self._error(
                403, "insufficientPermissions", "Request had insufficient authentication scopes.", "PERMISSION_DENIED"
            )
            return False
        return True

    def _vouched_for(self, header: str) -> bool:
        """Whether the OAuth provider the administrator consented at says the access token is its own."""
        if not self.idp.userinfo_url:
            return False
        return requests.get(self.idp.userinfo_url, headers={"Authorization": header}, timeout=5).status_code == 200

    def _page(self, query: dict[str, list[str]], kind: str, key: str, items: list[Any], most: int) -> None:
        size = min(int(query.get("maxResults", [str(most)])[0]), most)
        start = int(query.get("pageToken", ["0"])[0])
        body: dict[str, Any] = {"kind": kind, "etag": f'"{uuid.uuid4().hex}"'}
        if items[start : start + size]:  # Google leaves the list out of an empty page
            body[key] = items[start : start + size]
        if start + size < len(items):
            body["nextPageToken"] = str(start + size)
        self._send(200, body)

    def do_GET(self) -> None:
        path, query = self._record("GET")
        google = self.idp
        if path == "/admin/directory/v1/users":
            if not self._authorized(GOOGLE_DIRECTORY_SCOPE):
                return
            if query.get("customer") != ["my_customer"]:
                self._error(400, "badRequest", "Bad Request", "INVALID_ARGUMENT")
                return
            people = [self._user(p) for p in google.people.values()]
            self._page(query, "admin#directory#users", "users", people, 500)
        elif path == "/admin/reports/v1/activity/users/all/applications/saml":
            if not self._authorized(GOOGLE_REPORTS_SCOPE):
                return
            if google._throttle():
                self._error(
                    429,
                    "rateLimitExceeded",
                    "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'.",
                    "RESOURCE_EXHAUSTED",
                    domain="usageLimits",
                )
                return
            self._activities(query)
        else:
            self._error(404, "notFound", "Not Found", "NOT_FOUND")

    def _user(self, person: Person) -> dict[str, Any]:
        first, _, last = person.name.partition(" ")
        addresses = [{"address": person.email, "primary": True}]
        addresses += [{"address": alias} for alias in self.idp.aliases.get(person.id, [])]
        return {
            "kind": "admin#directory#user",
            "id": person.id,
            "primaryEmail": person.email,
            "name": {"givenName": first, "familyName": last, "fullName": person.name},
            "isAdmin": False,
            "lastLoginTime": "2026-01-05T10:30:03.000Z",
            "creationTime": "2024-01-02T09:00:00.000Z",
            "suspended": person.status == "SUSPENDED",
            "archived": person.status == "ARCHIVED",
            "emails": addresses,
            "customerId": "C03az79cb",
            "orgUnitPath": "/",
        }

    def _activities(self, query: dict[str, list[str]]) -> None:
        if query.get("eventName", ["login_success"]) != ["login_success"]:
            self._page(query, "admin#reports#activities", "items", [], 1000)
            return
        wanted = re.fullmatch(r"application_name==(.+)", query.get("filters", [""])[0])
        since = _parse(query["startTime"][0]) if "startTime" in query else datetime.now(UTC) - timedelta(days=180)
        until = _parse(query["endTime"][0]) if "endTime" in query else datetime.now(UTC)
        size = min(int(query.get("maxResults", ["1000"])[0]), 1000)
        start = int(query.get("pageToken", ["0"])[0])
        app = wanted.group(1) if wanted else None
        # Newest first, as the Reports API answers.
        events, total = self.idp.window(app, since, until, start, size, newest_first=True)
        body: dict[str, Any] = {"kind": "admin#reports#activities", "etag": f'"{uuid.uuid4().hex}"'}
        if events:
            body["items"] = [self._activity(at, who, app) for at, who, app in events]
        if start + size < total:
            body["nextPageToken"] = str(start + size)
        self._send(200, body)

    def _activity(self, at: datetime, person_id: str, app: App) -> dict[str, Any]:
        person = self.idp.people[person_id]
        return {
            "kind": "admin#reports#activity",
            "id": {
                "time": _stamp(at),
                "uniqueQualifier": str(uuid.uuid4().int >> 64),
                "applicationName": "saml",
                "customerId": "C03az79cb",
            },
            "etag": f'"{uuid.uuid4().hex}"',
            "actor": {"callerType": "USER", "email": person.email, "profileId": person.id},
            "ipAddress": "198.51.100.7",
            "events": [
                {
                    "type": "login",
                    "name": "login_success",
                    "parameters": [
                        {"name": "application_name", "value": app.label},
                        {"name": "initiated_by", "value": "sp"},
                        {"name": "orgunit_path", "value": "/"},
                        {"name": "saml_status_code", "value": "SUCCESS_URI"},
                    ],
                }
            ],
        }


@contextmanager
def fake_google(**settings: Any) -> Iterator[FakeGoogle]:
    with serving(_GoogleHandler) as server:
        google = FakeGoogle(url=f"http://127.0.0.1:{server.server_address[1]}", **settings)
        server.RequestHandlerClass = type("Handler", (_GoogleHandler,), {"idp": google})
        yield google
