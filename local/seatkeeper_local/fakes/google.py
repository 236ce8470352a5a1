"""A fake Google Workspace of seatkeeper's own (the tests' peer), in its documented shapes.

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

import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import jwt
import requests

from seatkeeper_local.fakes.identity_provider import (
    App,
    IdentityProviderHandler,
    IdentityProviderServer,
    Person,
    parse_time,
    stamp,
)
from seatkeeper_local.fakes.serving import serving


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


class _GoogleHandler(IdentityProviderHandler):
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
        since = parse_time(query["startTime"][0]) if "startTime" in query else datetime.now(UTC) - timedelta(days=180)
        until = parse_time(query["endTime"][0]) if "endTime" in query else datetime.now(UTC)
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
                "time": stamp(at),
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
