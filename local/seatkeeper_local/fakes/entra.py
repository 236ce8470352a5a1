"""A fake Microsoft Entra ID of seatkeeper's own (the tests' peer), in its documented shapes.

Microsoft Entra ID (learn.microsoft.com, Graph v1.0): the client credentials token endpoint
`POST /{tenant}/oauth2/v2.0/token`, `GET /v1.0/users`, `/v1.0/servicePrincipals`,
`/v1.0/servicePrincipals/{id}/appRoleAssignedTo` (also by `(appId='...')`),
`DELETE /v1.0/servicePrincipals/{id}/appRoleAssignedTo/{appRoleAssignment-id}`,
`/v1.0/auditLogs/signIns` (`$filter` on appId and createdDateTime, newest first, at most 1,000
a page); pages by `@odata.nextLink`; errors as `{"error": {code, message, innerError}}`; 429
with `Retry-After`. `GET /v1.0/users?$filter=id in ('...', ...)`: user `id` supports `$filter` with
`in`, at most 15 expressions by default (tests/vendor_specs/microsoft_graph/users_by_id.yaml); more is
a 400. `users_served` counts the user objects it answered with: what a sync cost the tenant.
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from seatkeeper_local.fakes.identity_provider import (
    App,
    Assignment,
    IdentityProviderHandler,
    IdentityProviderServer,
    Person,
    Population,
    parse_time,
    stamp,
)
from seatkeeper_local.fakes.serving import serving


@dataclass
class FakeEntra(IdentityProviderServer):
    tenant: str = "7d1f0b6a-2f39-4bd5-b8b5-2c4d8a1e9c11"
    client_id: str = "3f2b8e1c-0a4d-4c55-9e0f-6f1b2a7d9e10"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    tokens: set[str] = field(default_factory=set)
    users_served: int = 0  # user objects answered by GET /users, however filtered

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


class _EntraHandler(IdentityProviderHandler):
    idp: FakeEntra

    def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        inner = {
            "date": stamp(datetime.now(UTC)),
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
            self._users(path, query)
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

    def _users(self, path: str, query: dict[str, list[str]]) -> None:
        # Graph answers a default set of properties (accountEnabled is not among them) unless $select names some.
        chosen = query.get("$select", [",".join(USER_DEFAULT_PROPERTIES)])[0].split(",")
        text = query.get("$filter", [""])[0]
        listed = re.fullmatch(r"\s*(id|mail|userPrincipalName) in \((.*)\)\s*", text)
        if text and not listed:
            self._error(400, "Request_UnsupportedQuery", f"Unsupported query: {text[:80]}")
            return
        if listed:
            values = [v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'", listed.group(2))]
            if len(values) > 15:
                self._error(400, "Request_UnsupportedQuery", f"Too many expressions in the 'in' clause: {len(values)}")
                return
            found = {p.id: p for value in values for p in self._people_with(listed.group(1), value)}
            page = [{k: v for k, v in self._user(p).items() if k in chosen} for p in found.values()]
            self.idp.users_served += len(page)
            self._send(200, {"@odata.context": f"{self.idp.graph_url}/$metadata#users", "value": page})
            return
        # The whole tenant, a page at a time, made only as far as the page asks (a large tenant is generated).
        top = min(int(query.get("$top", ["999"])[0]), 999)
        start = int(query.get("$skiptoken", ["0"])[0])
        people = itertools.islice(self.idp.people.values(), start, start + top + 1)
        page = [{k: v for k, v in self._user(p).items() if k in chosen} for p in people]
        more = len(page) > top
        page = page[:top]
        self.idp.users_served += len(page)
        body: dict[str, Any] = {"@odata.context": f"{self.idp.graph_url}/$metadata#users", "value": page}
        if more:
            following = {**{k: v[0] for k, v in query.items()}, "$skiptoken": str(start + top)}
            body["@odata.nextLink"] = f"{self.idp.url}{path}?{urlencode(following)}"
        self._send(200, body)

    def _people_with(self, field: str, value: str) -> list[Person]:
        """The people whose id, mail or userPrincipalName is value; addresses compared whatever their case, as
        Entra does (Graph's pages state no case rule for these filters)."""
        if field == "id":
            person = self.idp.people.get(value)
            return [person] if person else []
        people = self.idp.people
        candidates = (
            people.with_address(value)
            if isinstance(people, Population)
            else [
                p
                for p in people.values()
                if value.casefold() in {p.email.casefold(), (p.principal_name or "").casefold()}
            ]
        )
        return [p for p in candidates if self._user(p)[field].casefold() == value.casefold()]

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
            "userPrincipalName": person.principal_name or person.email,
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
        low = parse_time(since.group(1)) if since else datetime.min.replace(tzinfo=UTC)
        high = parse_time(until.group(1)) if until else datetime.now(UTC)
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
            "userPrincipalName": person.principal_name or person.email,
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
