"""Fake SaaS apps of our own that answer like each template's vendor: its documented record shape,
its own pagination, its error and rate-limit answers, and the reclaim request it expects.

One `Vendor` per template. The fake keeps neutral users (`Person`) and shows them in the vendor's
shape; it answers the first request of the second page with the vendor's 429, once, as real APIs
do under load; it answers the reclaim of one chosen user with the vendor's documented error
format; and it records every reclaim request as it arrived, so a test can check its shape.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from seatkeeper_local.fakes.serving import serving

NOW = datetime.now(UTC).replace(microsecond=0)
CREATED = datetime(2023, 1, 1, tzinfo=UTC)


@dataclass
class Person:
    """A user as the test thinks of them; each vendor shows them in its own shape."""

    i: int
    seat: bool  # holds a paid seat
    last: datetime | None  # last activity
    admin: bool
    gone: bool = False  # removed from the app altogether

    @property
    def email(self) -> str:
        return f"user{self.i}@example.com"

    @property
    def name(self) -> str:
        return f"User {self.i}"


def people(count: int) -> list[Person]:
    return [
        Person(
            i=i,
            seat=i % 10 != 0,
            last=None if i % 13 == 0 else NOW - timedelta(days=(i * 7) % 200, hours=1),
            admin=i % 50 == 0,
        )
        for i in range(count)
    ]


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def token(position: int) -> str:
    """An opaque cursor, as vendors hand them out."""
    return base64.urlsafe_b64encode(json.dumps({"p": position}).encode()).decode().rstrip("=")


def position_of(cursor: str | None) -> int:
    if not cursor:
        return 0
    return int(json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["p"])


@dataclass
class Request:
    method: str
    path: str  # after the vendor's prefix
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any

    def one(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name, [default])[0]


Answer = tuple[int, Any, dict[str, str]]


@dataclass
class Vendor:
    """How one vendor's API lists users, pages, fails and takes a license back."""

    template: str
    prefix: str  # base_url = the fake's URL + prefix
    page_size: int
    record: Callable[[Person], dict[str, Any]]
    page: Callable[[Vendor, Request, list[dict[str, Any]]], Answer]
    user_id: Callable[[Person], str]
    error: Callable[[int, str], Any]  # the vendor's error body for a status and a message
    reclaim: Callable[[Vendor, Request], str | None] | None = None  # the user id a reclaim request names
    activity: Callable[[Person], Any] | None = None  # the per-user activity answer
    expects_auth: str = "Bearer t"
    is_users_request: Callable[[Request], bool] = lambda r: r.method == "GET"
    rate_limit_headers: dict[str, str] = field(default_factory=lambda: {"Retry-After": "0"})
    rate_limit: Callable[[Vendor], Answer] | None = None  # how it says slow down, when not with a plain 429
    reclaim_answer: Callable[[Person], Answer] = lambda _: (204, None, {})
    removes: bool = False  # reclaiming removes the user from the list, rather than taking their seat
    seat_always: bool = False  # the template counts every listed user as holding a seat
    needs_activity_from_sso: bool = False  # the API has none: the test maps a stand-in field
    needs: dict[str, Any] = field(default_factory=dict)  # a value for each of the template's `needs` (dotted)
    expects_headers: dict[str, str] = field(default_factory=dict)  # besides Authorization, on every request
    refusal: Callable[[Vendor], Answer] | None = None  # how it refuses a reclaim, when not with a 400
    token: Callable[[Request], Answer] | None = None  # its OAuth token endpoint, at /ims/token/v3 or the like
    # A vendor with more lists of seat holders (users.also): each person's kind (None: the users list's), and
    # the path each kind is listed at and removed under; a removal under another list's path is refused.
    kind: Callable[[Person], str | None] = lambda _: None
    lists: dict[str | None, str] = field(default_factory=dict)
    # Whom the template's request lists of the vendor's users, where it filters (Zendesk's role[]=agent,admin
    # leaves its end users out): the contract test expects exactly these, so a template that drops its filter fails.
    listed: Callable[[Person], bool] = lambda _: True

    def holds_seat(self, person: Person) -> bool:
        return not person.gone and (self.seat_always or person.seat)


@dataclass
class FakeVendorApp:
    vendor: Vendor
    url: str
    people: list[Person]
    refuse_reclaim_of: str | None = None  # this user's reclaim answers the vendor's error
    refuse_list_at: str | None = None  # a list read at this path answers 403, as to a token that may not read it
    reclaim_requests: list[Request] = field(default_factory=list)
    list_requests: int = 0
    listed_at: set[str] = field(default_factory=set)  # the paths lists were read at
    rate_limited: int = 0
    unauthorized: int = 0
    tokens_issued: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return self.url + self.vendor.prefix

    def records(self, path: str | None = None) -> list[dict[str, Any]]:
        shown = []
        listed = {at: kind for kind, at in self.vendor.lists.items()}.get(path) if self.vendor.lists else None
        for person in (p for p in self.people if not p.gone):
            if self.vendor.lists and self.vendor.kind(person) != listed:
                continue
            record = self.vendor.record(person)
            if self.vendor.needs_activity_from_sso:
                record["x_last_seen"] = iso(person.last)  # stands in for activity an SSO profile gives
            shown.append(record)
        return shown

    def by_id(self, user_id: str | None) -> Person | None:
        return next((p for p in self.people if self.vendor.user_id(p) == user_id), None)

    def answer(self, request: Request) -> Answer:
        vendor = self.vendor
        if vendor.token is not None and request.path.endswith("/token/v3"):
            with self.lock:
                self.tokens_issued += 1
            return vendor.token(request)
        sent = {k: request.headers.get(k) for k in vendor.expects_headers}
        if request.headers.get("Authorization") != vendor.expects_auth or sent != vendor.expects_headers:
            with self.lock:
                self.unauthorized += 1
            return 401, vendor.error(401, "invalid credentials"), {}
        if vendor.activity is not None and request.path.endswith("/last-active-dates"):
            person = self.by_id(request.path.split("/")[-2])
            return (200, vendor.activity(person), {}) if person else (404, vendor.error(404, "not found"), {})
        if vendor.is_users_request(request):
            with self.lock:
                self.list_requests += 1
                self.listed_at.add(request.path)
                limited = self.list_requests == 2 and not self.rate_limited
                self.rate_limited += limited
            if request.path == self.refuse_list_at:
                return 403, vendor.error(403, "Resource not accessible by personal access token"), {}
            if limited and vendor.rate_limit is not None:
                return vendor.rate_limit(vendor)
            if limited:
                return 429, vendor.error(429, "rate limit exceeded"), vendor.rate_limit_headers
            return vendor.page(vendor, request, self.records(request.path))
        if vendor.reclaim is None:
            return 404, vendor.error(404, "not found"), {}
        user_id = vendor.reclaim(vendor, request)
        with self.lock:
            self.reclaim_requests.append(request)
        person = self.by_id(user_id)
        if person is None:
            return 400, vendor.error(400, "the request does not name a user of this account"), {}
        if vendor.lists and request.path.rsplit("/", 1)[0] != vendor.lists[vendor.kind(person)]:
            return 422, vendor.error(422, "the user is not on the list this request removes from"), {}
        if user_id == self.refuse_reclaim_of:
            return vendor.refusal(vendor) if vendor.refusal else (400, vendor.error(400, "cannot be changed"), {})
        if vendor.removes:
            person.gone = True
        else:
            person.seat = False
        return vendor.reclaim_answer(person)


def _handler(app: FakeVendorApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            form = self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
            prefix = urlsplit(app.base_url).path
            request = Request(
                method=self.command,
                path=parts.path[len(prefix) :] if parts.path.startswith(prefix) else parts.path,
                query=parse_qs(parts.query),
                headers=dict(self.headers.items()),
                body=dict(parse_qsl(raw.decode())) if form else json.loads(raw) if raw else None,
            )
            status, body, headers = app.answer(request)
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler


@contextmanager
def vendor_app(template: str, count: int) -> Iterator[FakeVendorApp]:
    """The template's vendor, answering on a free loopback port with `count` users."""
    with serving(BaseHTTPRequestHandler) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        app = FakeVendorApp(vendors(url)[template], url, people(count))
        # Set before the URL is given out, so no request meets the handler without its app.
        server.RequestHandlerClass = _handler(app)
        yield app


# --- the vendors' pagination, as each documents it ------------------------------------------


def scim_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    """RFC 7644 section 3.4.2.4: startIndex counts from 1, count is the page size."""
    start, count = int(request.one("startIndex", "1") or 1), int(request.one("count", "100") or 100)
    chunk = records[start - 1 : start - 1 + count]
    return (
        200,
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": len(records),
            "startIndex": start,
            "itemsPerPage": len(chunk),
            **({"Resources": chunk} if chunk else {}),
        },
        {},
    )


def cursor_page(
    request: Request, records: list[dict[str, Any]], *, cursor: str, limit: str
) -> tuple[list[dict[str, Any]], str | None]:
    start, size = position_of(request.one(cursor)), int(request.one(limit, "100") or 100)
    following = start + size
    return records[start:following], token(following) if following < len(records) else None


def numbered_page(request: Request, records: list[dict[str, Any]], *, page: str, size: str, first: int = 1) -> Any:
    number, per = int(request.one(page, str(first)) or first), int(request.one(size, "100") or 100)
    return records[(number - first) * per : (number - first + 1) * per], per


def link_header_page(
    vendor: Vendor, request: Request, records: list[dict[str, Any]], app_url: str, size: str
) -> Answer:
    start, per = position_of(request.one("after")), int(request.one(size, "100") or 100)
    chunk, following = records[start : start + per], start + per
    headers = {}
    if following < len(records):
        query = urlencode({size: per, "after": token(following)})
        headers["Link"] = f'<{app_url}{request.path}?{query}>; rel="next"'
    return 200, chunk, headers


def items_page(answer: Answer) -> Answer:
    """Webex pages with a Link header too, but wraps the records in "items"."""
    status, records, headers = answer
    return status, {"items": records}, headers


# --- the vendors ---------------------------------------------------------------------------


def scim_user(person: Person, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": f"{person.i:08d}-scim",
        "userName": person.email,
        "displayName": person.name,
        "name": {"formatted": person.name},
        "emails": [{"value": person.email, "type": "work", "primary": True}],
        "active": person.seat,
        "meta": {"resourceType": "User", "created": iso(CREATED), "lastModified": iso(CREATED)},
        **extra,
    }


FIGMA_BILLED_SEATS = ("Full", "Dev", "Collab")


def figma_user(person: Person) -> dict[str, Any]:
    """A SCIM user with the seatType role Figma's supported schemas name (tests/vendor_specs/figma/scim-docs.yaml).

    Seat holders have each of the seats Figma bills (Full, Dev, Collab); one in twenty of the others is an active
    user on a View seat, which Figma's billing guide does not bill; the rest are deactivated.
    """
    seat = FIGMA_BILLED_SEATS[person.i % 3] if person.seat else "View"
    return {
        **scim_user(person, roles=[{"type": "seatType", "value": seat}]),
        "active": person.seat or person.i % 20 == 0,
    }


SLACK_GUEST = "urn:ietf:params:scim:schemas:extension:slack:guest:2.0:User"


def slack_single_channel_guest(person: Person) -> bool:
    """One in twenty of the people without a seat: listed as active, yet not billed."""
    return person.i % 20 == 0


def slack_user(person: Person) -> dict[str, Any]:
    """A user in the shape of GET /scim/v2/Users in Slack's SCIM reference (tests/vendor_specs/slack/scim-users.yaml).

    A full member carries no guest extension; a Multi-Channel Guest carries it with type "multi", the only type Slack
    documents. How SCIM v2 shows a Single-Channel Guest Slack does not say: here an active user whose extension has
    another type ("single"), which the template must not count, whatever that type is called.
    """
    single, multi = slack_single_channel_guest(person), person.i % 7 == 3
    guest = {"type": "single"} if single else {"type": "multi", "expiration": "2027-11-30T23:59:59Z"} if multi else None
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", *([SLACK_GUEST] if guest else [])],
        "id": f"{person.i:08d}-scim",
        "externalId": "",
        "meta": {
            "created": "2023-01-01T00:00:00-08:00",
            "location": f"https://api.slack.com/scim/v2/Users/{person.i:08d}-scim",
        },
        "userName": f"user{person.i}",
        "nickName": f"user{person.i}",
        "name": {"givenName": "User", "familyName": str(person.i)},
        "displayName": person.name,
        "profileUrl": f"https://acme.enterprise.slack.com/team/user{person.i}",
        "title": "Engineer",
        "timezone": "America/New_York",
        # A deactivated member is active false; a Single-Channel Guest is an active account Slack does not bill.
        "active": person.seat or single,
        "emails": [{"value": person.email, "primary": True}, {"value": f"u{person.i}@home.example", "primary": False}],
        "groups": [],
        **({SLACK_GUEST: guest} if guest else {}),
    }


def scim_error(status: int, detail: str) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": str(status), "detail": detail}


def scim_patch_active_false(vendor: Vendor, request: Request) -> str | None:
    body = request.body or {}
    ok = (
        request.method == "PATCH"
        and body.get("schemas") == ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]
        and body.get("Operations") == [{"op": "replace", "path": "active", "value": False}]
    )
    return request.path.removeprefix("/Users/") if ok else None


def scim_delete(vendor: Vendor, request: Request) -> str | None:
    return request.path.removeprefix("/Users/") if request.method == "DELETE" and request.body is None else None


def scim_vendor(template: str, prefix: str, reclaim: Callable[[Vendor, Request], str | None], **extra: Any) -> Vendor:
    return Vendor(
        template=template,
        prefix=prefix,
        page_size=40,
        record=extra.pop("record", scim_user),
        page=scim_page,
        user_id=lambda p: f"{p.i:08d}-scim",
        error=scim_error,
        reclaim=reclaim,
        needs_activity_from_sso=True,
        **extra,
    )


def github_user(login: str, user_id: int, **extra: Any) -> dict[str, Any]:
    """A Simple User with every property GitHub's description requires (npm:@octokit/openapi 23.0.2)."""
    api = f"https://api.github.com/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": f"MDQ6VXNlcj{user_id}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "User",
        "site_admin": False,
        **extra,
    }


def _copilot_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    chunk, _ = numbered_page(request, records, page="page", size="per_page")
    return 200, {"total_seats": len(records), "seats": chunk}, {}


def _copilot_reclaim(vendor: Vendor, request: Request) -> str | None:
    names = (request.body or {}).get("selected_usernames")
    ok = request.method == "DELETE" and request.path == "/copilot/billing/selected_users" and isinstance(names, list)
    return names[0] if ok and len(names) == 1 else None


def github_enterprise_server_only(person: Person) -> bool:
    """A user of a connected Enterprise Server instance alone: no GitHub.com login (the second user of the
    example answer of GET /enterprises/{enterprise}/consumed-licenses, npm:@octokit/openapi 23.0.2 ghec.json)."""
    return person.i % 25 == 12


def github_enterprise_only_invited(person: Person) -> bool:
    """A user with a pending invitation to an organization and no membership: GitHub bills "Anyone with a
    pending invitation to become an organization owner or member" (tests/vendor_specs/github/enterprise-license-users.yaml)."""
    return person.i % 7 == 3 and not github_enterprise_server_only(person)


def github_enterprise_user_id(person: Person) -> str:
    return f"ghes.example.com:{person.i}" if github_enterprise_server_only(person) else f"octo{person.i}"


def github_consumed_license(person: Person) -> dict[str, Any]:
    """A user of GET /enterprises/{enterprise}/consumed-licenses, with the properties GitHub's schema declares
    (npm:@octokit/openapi 23.0.2 generated/ghec.json, cut into tests/vendor_specs/github/enterprise-consumed-licenses.yaml)."""
    server_only, invited = github_enterprise_server_only(person), github_enterprise_only_invited(person)
    login = "" if server_only else f"octo{person.i}"
    roles = [] if server_only or invited else ["acme-web:Owner" if person.admin else "acme-web:Member"]
    return {
        "github_com_login": login,
        "github_com_name": "" if server_only else person.name,
        "enterprise_server_user_ids": [f"ghes.example.com:{person.i}"] if server_only else [],
        "github_com_user": not server_only,
        "enterprise_server_user": server_only,
        "visual_studio_subscription_user": False,
        "license_type": "enterprise",
        "github_com_profile": "" if server_only else f"https://github.com/{login}",
        "github_com_member_roles": roles,
        "github_com_enterprise_roles": ["owner"] if person.admin and not server_only else [],
        "github_com_verified_domain_emails": [] if server_only else [person.email],
        "github_com_saml_name_id": None if server_only else login,
        "github_com_orgs_with_pending_invites": ["acme-web"] if invited else [],
        "github_com_two_factor_auth": None if server_only else True,
        "enterprise_server_emails": [person.email] if server_only else [],
        "visual_studio_license_status": None,
        "visual_studio_subscription_email": None,
        "total_user_accounts": 1,
    }


def _github_enterprise_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    # GitHub declares per_page "(max 100)": more is not served
    chunk, per = numbered_page(request, records, page="page", size="per_page")
    if per > 100:
        return 422, vendor.error(422, "per_page must be at most 100"), {}
    body = {"total_seats_consumed": len(records), "total_seats_purchased": 300, "users": chunk}
    return 200, body, {}


def zoom_type(person: Person) -> int:
    """A user's type, of each the SDK's 1 | 2 | 4 | 99 (tests/vendor_specs/zoom/users.yaml): 2, Licensed, is the seat."""
    if person.seat:
        return 2
    return 4 if person.i % 20 == 0 else 99 if person.i % 40 == 10 else 1


def _zoom_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    chunk, following = cursor_page(request, records, cursor="next_page_token", limit="page_size")
    body = {"page_size": len(chunk), "total_records": len(records), "next_page_token": following or "", "users": chunk}
    return 200, body, {}


def _github_primary_rate_limit(_: Vendor) -> Answer:
    """https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api: 403 (or 429) with
    x-ratelimit-remaining 0, to wait until x-ratelimit-reset (UTC epoch seconds)."""
    body = {
        "message": "API rate limit exceeded for installation ID 1.",
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
    }
    headers = {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Used": "5000",
        "X-RateLimit-Reset": str(int(time.time()) + 1),
        "X-RateLimit-Resource": "core",
    }
    return 403, body, headers


def _google_quota_error() -> dict[str, Any]:
    message = "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'"
    return {
        "error": {
            "code": 403,
            "message": message,
            "errors": [{"message": message, "domain": "usageLimits", "reason": "userRateLimitExceeded"}],
        }
    }


def _google_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    if request.one("customer") != "my_customer":
        return 400, {"error": {"code": 400, "message": "Bad Request", "status": "INVALID_ARGUMENT"}}, {}
    chunk, following = cursor_page(request, records, cursor="pageToken", limit="maxResults")
    return (
        200,
        {"kind": "admin#directory#users", "users": chunk, **({"nextPageToken": following} if following else {})},
        {},
    )


def graph_blocked(person: Person) -> bool:
    """A Microsoft 365 user blocked from signing in (accountEnabled false), licensed or not."""
    return person.i % 3 == 1


def _graph_page(app_url: str) -> Callable[[Vendor, Request, list[dict[str, Any]]], Answer]:
    def page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
        start, size = position_of(request.one("$skiptoken")), int(request.one("$top", "100") or 100)
        # List users: "The default and maximum page sizes are 100 and 999 user objects", 500 when
        # signInActivity is selected (tests/vendor_specs/microsoft_graph/users-list.yaml). The error's
        # words are Graph's for 999, as Microsoft Q&A quotes them; for 500 they are the fake's.
        maximum = 500 if "signInActivity" in (request.one("$select") or "").split(",") else 999
        if not 1 <= size <= maximum:
            message = f"Invalid page size specified: '{size}'. Must be between 1 and {maximum} inclusive."
            return 400, {"error": {"code": "Request_UnsupportedQuery", "message": message}}, {}
        chunk = records[start : start + size]
        body: dict[str, Any] = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": chunk}
        if start + size < len(records):
            body["@odata.nextLink"] = f"{app_url}/v1.0/users?" + urlencode(
                {"$top": size, "$skiptoken": token(start + size)}
            )
        return 200, body, {}

    return page


def _atlassian_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    # The organization API pages with a cursor in links.next and a page size of its own choosing.
    chunk = records[position_of(request.one("cursor")) :][: vendor.page_size]
    start = position_of(request.one("cursor"))
    following = token(start + vendor.page_size) if start + vendor.page_size < len(records) else None
    return 200, {"data": chunk, "links": {"self": token(start), "next": following}}, {}


def atlassian_user(person: Person) -> dict[str, Any]:
    return {
        "account_id": f"5b10ac8d82e05b22cc7d{person.i:04d}",
        "account_type": "atlassian",
        "account_status": "active",
        "name": person.name,
        "email": person.email,
        "access_billable": person.seat,
        "last_active": person.last.date().isoformat() if person.last else None,
    }


def atlassian_error(status: int, message: str) -> dict[str, Any]:
    return {"errors": [{"status": str(status), "code": "error", "title": message}]}


def fill_need(own: dict[str, Any], dotted: str, value: Any) -> None:
    """Put a value for one of a template's `needs` ("users.params.planId") into a profile's own fields,
    as the dashboard's form does."""
    *parents, leaf = dotted.split(".")
    section = own
    for key in parents:
        section = section.setdefault(key, {})
    section[leaf] = value


ATLASSIAN_ORG = "0ff4a05c"
ATLASSIAN_DIRECTORY = "d7a3e1b2"
# What the templates' `needs` are filled in with: the organization's paths (v1 lists, v2 suspends).
ATLASSIAN_NEEDS = {
    "users.path": f"/v1/orgs/{ATLASSIAN_ORG}/users",
    "reclaim.path": f"/v2/orgs/{ATLASSIAN_ORG}/directories/{ATLASSIAN_DIRECTORY}/users/{{id}}/suspend",
}


def atlassian_suspend(vendor: Vendor, request: Request) -> str | None:
    # Only the v2 suspend: the v1 .../directory/users/{id}/suspend-access stopped after 2026-06-30
    # (https://developer.atlassian.com/cloud/admin/changelog/), so this fake refuses it as Atlassian does.
    prefix = f"/v2/orgs/{ATLASSIAN_ORG}/directories/{ATLASSIAN_DIRECTORY}/users/"
    ok = request.method == "POST" and request.path.startswith(prefix) and request.path.endswith("/suspend")
    return request.path.split("/")[-2] if ok else None


def _atlassian_users_request(request: Request) -> bool:
    return request.method == "GET" and request.path == f"/v1/orgs/{ATLASSIAN_ORG}/users"


def atlassian_product(template: str, product: str) -> Vendor:
    def activity(person: Person) -> dict[str, Any]:
        access = [{"id": "a1b2", "key": product, "last_active": person.last.date().isoformat()}] if person.last else []
        return {"data": {"product_access": access, "added_to_org": "2023-01-01"}, "links": {"next": None}}

    return Vendor(
        template=template,
        prefix="/admin",
        page_size=50,
        record=atlassian_user,
        page=_atlassian_page,
        user_id=lambda p: f"5b10ac8d82e05b22cc7d{p.i:04d}",
        error=atlassian_error,
        reclaim=atlassian_suspend,
        activity=activity,
        is_users_request=_atlassian_users_request,
        reclaim_answer=lambda _: (200, {"message": "User access suspended"}, {}),
        needs={
            **ATLASSIAN_NEEDS,
            "activity.path": f"/v1/orgs/{ATLASSIAN_ORG}/directory/users/{{id}}/last-active-dates",
        },
    )


# The SOQL the fake answers: what the salesforce template's query uses, and no more (anything else is Salesforce's
# MALFORMED_QUERY). A subset honest enough that the contract test fails when the template's query changes: its
# WHERE picks the users (the User object's UserType, tests/vendor_specs/salesforce/user-object.yaml), its SELECT the
# fields an answer has (a field the records lack is Salesforce's INVALID_FIELD).
_SOQL = re.compile(r"SELECT (?P<fields>[\w.]+(?:, [\w.]+)*) FROM User(?: WHERE (?P<where>.+))?")
_SOQL_CONDITION = re.compile(r"(?P<field>\w+) (?P<op>=|!=) '(?P<value>[^'\\]*)'")


def _soql(query: str) -> tuple[list[str], list[tuple[str, str, str]]] | None:
    """The SELECT's fields and the WHERE's conditions (ANDed), or None for SOQL outside the subset."""
    found = _SOQL.fullmatch(query.strip())
    if found is None:
        return None
    conditions = []
    for part in found["where"].split(" AND ") if found["where"] else []:
        condition = _SOQL_CONDITION.fullmatch(part.strip())
        if condition is None:
            return None
        conditions.append((condition["field"], condition["op"], condition["value"]))
    return found["fields"].split(", "), conditions


def _soql_answer(query: str, records: list[dict[str, Any]]) -> list[dict[str, Any]] | Answer:
    """The records the query selects, each with only the fields it names (and its attributes), or the error."""
    parsed = _soql(query)
    if parsed is None:
        return 400, [{"message": "unexpected token", "errorCode": "MALFORMED_QUERY"}], {}
    fields, conditions = parsed
    for name in [*fields, *(named for named, _, _ in conditions)]:
        head, _, tail = name.partition(".")
        if any(head not in r or (tail and tail not in (r[head] or {})) for r in records):
            return 400, [{"message": f"No such column '{name}' on entity 'User'", "errorCode": "INVALID_FIELD"}], {}
    chosen = [r for r in records if all((r[f] == v) is (op == "=") for f, op, v in conditions)]
    shown = []
    for record in chosen:
        row: dict[str, Any] = {"attributes": record["attributes"]}
        for name in fields:
            head, _, tail = name.partition(".")
            if tail:
                row.setdefault(head, {"attributes": record[head]["attributes"]})[tail] = record[head][tail]
            else:
                row[head] = record[head]
        shown.append(row)
    return shown


def _salesforce_user_type(person: Person) -> str:
    return "CsnOnly" if person.i % 15 == 7 else "PowerPartner" if person.i % 15 == 11 else "Standard"


def _salesforce_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    options = request.headers.get("Sforce-Query-Options", "batchSize=2000")
    size = int(options.split("=")[1])
    if request.path == "/services/data/v62.0/query":
        query, start = request.one("q") or "", 0
    else:
        # The next batch's locator: opaque to the client, here the position and the query it continues.
        _, position, encoded = request.path.rsplit("-", 2)
        query, start = bytes.fromhex(encoded).decode(), int(position)
    selected = _soql_answer(query, records)
    if not isinstance(selected, list):  # Salesforce's error
        return selected
    chunk, following = selected[start : start + size], start + size
    body: dict[str, Any] = {"totalSize": len(selected), "done": following >= len(selected), "records": chunk}
    if following < len(selected):
        locator = query.encode().hex()
        body["nextRecordsUrl"] = f"/services/data/v62.0/query/01gRO0000016PIAYA2-{following}-{locator}"
    return 200, body, {}


def _box_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    if request.one("usemarker") != "true":
        return 400, {"type": "error", "status": 400, "code": "bad_request", "message": "offset paging"}, {}
    chunk, following = cursor_page(request, records, cursor="marker", limit="limit")
    return 200, {"entries": chunk, "limit": len(chunk), **({"next_marker": following} if following else {})}, {}


def box_error(status: int, message: str) -> dict[str, Any]:
    code = {400: "user_not_deletable", 404: "not_found", 429: "rate_limit_exceeded"}.get(status, "error")
    return {"type": "error", "status": status, "code": code, "message": message, "request_id": "abcdef123456"}


def _asana_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    chunk, following = cursor_page(request, records, cursor="offset", limit="limit")
    next_page = (
        {"offset": following, "path": f"/workspace_memberships?offset={following}", "uri": ""} if following else None
    )
    return 200, {"data": chunk, "next_page": next_page}, {}


def _hubspot_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    chunk, following = cursor_page(request, records, cursor="after", limit="limit")
    paging = {"paging": {"next": {"after": following, "link": f"?after={following}"}}} if following else {}
    return 200, {"results": chunk, **paging}, {}


def _zendesk_quota() -> Callable[[], dict[str, str]]:
    """The account's quota on a list endpoint's answer, as Zendesk's best practices page shows it
    (tests/vendor_specs/zendesk/docs.yaml, rate_limit.list_endpoints_quote): the limit and what is left of the
    current minute under two names, the seconds to its end under one."""
    spent: dict[int, int] = {}

    def headers() -> dict[str, str]:
        now = time.time()
        minute = int(now // 60)
        spent[minute] = spent.get(minute, 0) + 1
        left, reset = str(700 - spent[minute]), str(60 - int(now % 60))
        return {
            "x-rate-limit": "700",
            "ratelimit-limit": "700",
            "x-rate-limit-remaining": left,
            "ratelimit-remaining": left,
            "ratelimit-reset": reset,
        }

    return headers


def _zendesk_page(app_url: str) -> Callable[[Vendor, Request, list[dict[str, Any]]], Answer]:
    quota = _zendesk_quota()

    def page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
        # GET /api/v2/users (tests/vendor_specs/zendesk/docs.yaml, list_users): "role ... Filters the results by
        # role", "role[] ... by more than one role using the format role[]={role}&role[]={role}"; without either,
        # every user is listed, end users too.
        roles = request.query.get("role[]", []) + request.query.get("role", [])
        if roles:
            records = [record for record in records if record["role"] in roles]
        chunk, following = cursor_page(request, records, cursor="page[after]", limit="page[size]")
        size = int(request.one("page[size]", "100") or 100)
        filters = {name: request.query[name] for name in ("role[]", "role") if name in request.query}
        query = urlencode({"page[size]": size, "page[after]": following or "", **filters}, doseq=True)
        body = {
            "users": chunk,
            "meta": {"has_more": following is not None, "after_cursor": following, "before_cursor": None},
            # Zendesk keeps a next link on the last page; has_more says whether to follow it.
            "links": {"next": f"{app_url}/api/v2/users.json?{query}", "prev": None},
        }
        return 200, body, quota()

    return page


def zendesk_user(person: Person) -> dict[str, Any]:
    """A user with the Users API's role and role_type (tests/vendor_specs/zendesk/docs.yaml), in each kind Zendesk names.

    Of the people without a seat, some are light agents (role_type 1) and the rest end users; of those with one, some
    are suspended agents ("Suspended agents take up a seat"), chat agents (2), contributors (3) or custom agents (0).
    """
    light = not person.seat and person.i % 20 == 0
    role_type = (
        1
        if light
        else None
        if not person.seat
        else 4
        if person.admin
        else 2
        if person.i % 11 == 0
        else 3
        if person.i % 13 == 1
        else 0
        if person.i % 3 == 0
        else None
    )
    return {
        "id": 35436 + person.i,
        "url": f"https://acme.zendesk.com/api/v2/users/{35436 + person.i}.json",
        "name": person.name,
        "email": person.email,
        "role": "admin" if person.seat and person.admin else "agent" if person.seat or light else "end-user",
        "role_type": role_type,
        "active": True,
        "suspended": person.seat and person.i % 7 == 0,
        "last_login_at": iso(person.last),
        "created_at": iso(CREATED),
    }


MIRO_UNPAID = ("free", "free_restricted", "free", "advanced", "free_restricted", "standard", "basic", "full_trial")


def miro_license(person: Person) -> str:
    if person.seat:
        return "occasional" if person.i % 3 == 0 else "full"
    return MIRO_UNPAID[(person.i // 10) % len(MIRO_UNPAID)]


def _miro_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    chunk, following = cursor_page(request, records, cursor="cursor", limit="limit")
    return (
        200,
        {"limit": len(chunk), "size": len(chunk), "data": chunk, **({"cursor": following} if following else {})},
        {},
    )


def _docusign_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    start, count = int(request.one("start_position", "0") or 0), int(request.one("count", "100") or 100)
    chunk = records[start : start + count]
    body = {
        "users": chunk,
        "resultSetSize": str(len(chunk)),
        "totalSetSize": str(len(records)),
        "startPosition": str(start),
        "endPosition": str(start + len(chunk) - 1),
    }
    return 200, body, {}


SMARTSHEET_FIRST_ID = 94094820842


def _smartsheet_user(person: Person) -> dict[str, Any]:
    """A Smartsheet user as List users answers it (both models; the user subscription model adds seatType)."""
    return {
        "id": SMARTSHEET_FIRST_ID + person.i,
        "email": person.email,
        "name": person.name,
        "firstName": "User",
        "lastName": str(person.i),
        "status": "ACTIVE",
        "admin": person.admin,
        "licensedSheetCreator": person.seat,
        "groupAdmin": False,
        "resourceViewer": False,
        "lastLogin": iso(person.last),
    }


def _smartsheet_user_id(person: Person) -> str:
    return f"{SMARTSHEET_FIRST_ID + person.i}"


def _smartsheet_error(status: int, message: str) -> dict[str, Any]:
    return {"errorCode": 4003 if status == 429 else 1006, "message": message, "refId": "123abc"}


def _smartsheet_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    if request.one("include") != "lastLogin":
        return 400, {"errorCode": 1018, "message": "lastLogin not included", "refId": "x1"}, {}
    chunk, per = numbered_page(request, records, page="page", size="pageSize")
    body = {
        "pageNumber": int(request.one("page", "1") or 1),
        "pageSize": per,
        "totalPages": -(-len(records) // per),
        "totalCount": len(records),
        "data": chunk,
    }
    return 200, body, {}


# The plan a Smartsheet user subscription model fake knows, and what its template's `needs` are filled in with.
SMARTSHEET_PLAN = "6914527432255364"
SMARTSHEET_UBM_NEEDS = {
    "users.params.planId": SMARTSHEET_PLAN,
    "reclaim.path": f"/users/{{id}}/plans/{SMARTSHEET_PLAN}/downgrade",
}


def smartsheet_seat_type(person: Person) -> str:
    # tests/vendor_specs/smartsheet/ubm-docs.yaml: Members are the paid seat; a Provisional Member is "at no cost";
    # CONTRIBUTOR replaced VIEWER for internal free-tier users at its 2026-10-30 sunset.
    if person.seat:
        return "MEMBER"
    return "PROVISIONAL_MEMBER" if person.i % 20 == 0 else "CONTRIBUTOR"


def _smartsheet_ubm_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    # Smartsheet's List users: seatType "Shows when you specify either or both the planId and seatType query
    # parameters" (developers.smartsheet.com list-users, read 2026-12-07): without the plan, no seat type.
    status, body, headers = _smartsheet_page(vendor, request, records)
    if status == 200 and request.one("planId") != SMARTSHEET_PLAN:
        body["data"] = [{k: v for k, v in record.items() if k != "seatType"} for record in body["data"]]
    return status, body, headers


def smartsheet_downgrade(vendor: Vendor, request: Request) -> str | None:
    # Smartsheet's Downgrade user: POST /users/{userId}/plans/{planId}/downgrade with a required seatType; since
    # 2026-10-30 "The 'seatType': 'VIEWER' request body parameter in downgrade requests is no longer accepted".
    match = re.fullmatch(rf"/users/(\d+)/plans/{SMARTSHEET_PLAN}/downgrade", request.path)
    ok = request.method == "POST" and match is not None and request.body == {"seatType": "CONTRIBUTOR"}
    return match.group(1) if ok and match else None


def _calendly_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    if not (request.one("organization") or "").startswith("https://api.calendly.com/organizations/"):
        return 400, {"title": "Invalid Argument", "message": "organization is required"}, {}
    chunk, following = cursor_page(request, records, cursor="page_token", limit="count")
    # Calendly's Pagination requires all five, and gives the next page as a URI besides its token.
    next_page = f"https://api.calendly.com/organization_memberships?page_token={following}" if following else None
    pagination = {
        "count": len(chunk),
        "next_page": next_page,
        "previous_page": None,
        "next_page_token": following,
        "previous_page_token": None,
    }
    return 200, {"collection": chunk, "pagination": pagination}, {}


def monday_user(person: Person) -> dict[str, Any]:
    """A user of the users query (API version 2026-07's status and kind), of each kind monday.com names.

    Seat holders are admins and members; of the others, active viewers ("Viewers do not count toward billing"),
    active guests (free on the Pro and Enterprise plans) and deactivated members
    (tests/vendor_specs/monday/docs.yaml, billing).
    """
    kind = "admin" if person.i % 50 == 1 else "member"  # (Person.admin falls on people without a seat)
    if not person.seat:
        kind = "viewer" if person.i % 20 == 0 else "guest" if person.i % 40 == 10 else "member"
    return {
        "id": f"{4012689 + person.i}",
        "name": person.name,
        "email": person.email,
        "status": "ACTIVE" if person.seat or kind != "member" else "INACTIVE",
        "kind": kind,
        "created_at": iso(CREATED),
        "last_activity": iso(person.last),
    }


def _monday_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    variables = (request.body or {}).get("variables") or {}
    page, limit = variables.get("page"), variables.get("limit")
    if not isinstance(page, int) or not isinstance(limit, int):
        error = {"message": "Variable $page of type Int! was provided invalid value", "extensions": {"code": "INVALID"}}
        return 200, {"errors": [error], "account_id": 1}, {}
    return 200, {"data": {"users": records[(page - 1) * limit : page * limit]}, "account_id": 1}, {}


def _monday_reclaim(vendor: Vendor, request: Request) -> str | None:
    body = request.body or {}
    ids = (body.get("variables") or {}).get("ids")
    ok = "deactivate_users" in body.get("query", "") and isinstance(ids, list) and len(ids) == 1
    return ids[0] if ok else None


def _dropbox_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    # The list starts at list_v2 with a limit and goes on at list/continue_v2 with the cursor alone;
    # the cursor stays in every answer, and only has_more says whether to go on.
    body = request.body or {}
    if request.path == "/team/members/list_v2" and isinstance(body.get("limit"), int):
        start, limit = 0, body["limit"]
    elif request.path == "/team/members/list/continue_v2" and set(body) == {"cursor"}:
        start, limit = divmod(position_of(body["cursor"]), 10_000)
    else:
        return 400, "Error in call to API function: request body: unexpected arguments", {}
    following = min(start + limit, len(records))
    answer = {
        "members": records[start:following],
        "cursor": token(following * 10_000 + limit),
        "has_more": following < len(records),
    }
    return 200, answer, {}


def dropbox_member(person: Person) -> dict[str, Any]:
    return {
        "profile": {
            "team_member_id": f"dbmid:AAHhy7WsR0x-u4ZCqiDl5Fz5zvuL3kmspwU{person.i:04d}",
            "account_id": f"dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc{person.i:04d}",
            "email": person.email,
            "email_verified": True,
            "status": {".tag": "active"},
            "name": {
                "given_name": "User",
                "surname": str(person.i),
                "familiar_name": "User",
                "display_name": person.name,
                "abbreviated_name": "U",
            },
            # A limited member uses no license (team.stone: TeamMembershipType).
            "membership_type": {".tag": "full" if person.seat else "limited"},
            "joined_on": iso(CREATED),
            "groups": [],
            "member_folder_id": "20",
            "root_folder_id": "30",
        },
        "roles": [{"role_id": "pid_dbtmr:2345", "name": "Team admin", "description": "..."}] if person.admin else [],
    }


def dropbox_error(status: int, message: str) -> dict[str, Any]:
    tag = {401: "invalid_access_token", 409: "remove_last_admin"}.get(status, "other")
    if status == 429:
        return {
            "error_summary": "too_many_requests/..",
            "error": {"reason": {".tag": "too_many_requests"}, "retry_after": 1},
        }
    return {"error_summary": f"{tag}/...", "error": {".tag": tag}}


def _dropbox_remove(vendor: Vendor, request: Request) -> str | None:
    body = request.body or {}
    user = body.get("user") or {}
    ok = (
        request.method == "POST"
        and request.path == "/team/members/remove"
        and user.get(".tag") == "team_member_id"
        and body.get("wipe_data") is False
        and body.get("keep_account") is False
    )
    return user.get("team_member_id") if ok else None


ADOBE_ORG = "12345ABC@AdobeOrg"
ADOBE_CLIENT_ID = "88ce03094fe74f4d91c2538217d007fe"


def _adobe_page(vendor: Vendor, request: Request, records: list[dict[str, Any]]) -> Answer:
    # The page number is the path's last segment, from 0; a page past the end answers the last page again.
    head, _, number = request.path.rpartition("/")
    if head != f"/users/{ADOBE_ORG}" or not number.isdigit() or request.query:
        return 400, {"result": "error.organization.invalid_id", "message": "Bad organization Id"}, {}
    pages = max(1, -(-len(records) // vendor.page_size))
    page = min(int(number), pages - 1)
    chunk = records[page * vendor.page_size : (page + 1) * vendor.page_size]
    headers = {"X-Current-Page": str(page), "X-Page-Count": str(pages), "X-Total-Count": str(len(records))}
    return 200, {"lastPage": page == pages - 1, "result": "success", "users": chunk}, headers


def adobe_user(person: Person) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": f"{person.i:024X}@AdobeID",
        "email": person.email,
        "status": "active",
        "username": f"user{person.i}",
        "domain": "example.com",
        "firstname": "User",
        "lastname": str(person.i),
        "country": "US",
        "type": "federatedID",
    }
    # Properties that are not populated are left out (getUsersWithPage.md).
    if person.seat:
        user["groups"] = ["Creative Cloud 1", "Document Cloud 1"]
    if person.admin:
        user["adminRoles"] = ["org"]
    return user


def _adobe_remove(vendor: Vendor, request: Request) -> str | None:
    commands = request.body if isinstance(request.body, list) else []
    ok = (
        request.method == "POST"
        and request.path == f"/action/{ADOBE_ORG}"
        and len(commands) == 1
        and commands[0].get("do") == [{"removeFromOrg": {"deleteAccount": False}}]
    )
    return commands[0].get("user") if ok else None


def _adobe_refusal(vendor: Vendor) -> Answer:
    # The action API answers 200 to a command it did not carry out (ActionsRef.md, "Error status").
    error = {
        "index": 0,
        "step": 0,
        "message": "User is not a member of the organization",
        "errorCode": "error.user.not_in_org",
    }
    return 200, {"completed": 0, "notCompleted": 1, "completedInTestMode": 0, "errors": [error], "result": "error"}, {}


def _adobe_token(request: Request) -> Answer:
    # IMS: client_credentials, the credential in the form, the scopes comma-separated.
    expected = {
        "grant_type": "client_credentials",
        "client_id": ADOBE_CLIENT_ID,
        "client_secret": "s",
        "scope": "openid,AdobeID,user_management_sdk",
    }
    if request.method != "POST" or request.body != expected:
        return 400, {"error": "invalid_client", "error_description": "invalid client credentials"}, {}
    return 200, {"access_token": "t", "token_type": "bearer", "expires_in": 86399}, {}


def vendors(app_url: str) -> dict[str, Vendor]:
    """Every template's vendor; `app_url` is where the fake answers (for next-page links)."""
    all_vendors = [
        scim_vendor("scim2", "/scim/v2", scim_patch_active_false, reclaim_answer=lambda p: (200, scim_user(p), {})),
        scim_vendor("slack", "/scim/v2", scim_delete, record=slack_user),
        scim_vendor("notion", "/scim/v2", scim_delete, removes=True),
        scim_vendor(
            "figma",
            "/scim/v2/1401286822445493852",
            scim_patch_active_false,
            record=figma_user,
            reclaim_answer=lambda p: (200, scim_user(p), {}),
        ),
        # 1Password's SCIM bridge serves the SCIM protocol at /scim (its endpoints page lists /scim/Users).
        scim_vendor("onepassword", "/scim", scim_patch_active_false, reclaim_answer=lambda p: (200, scim_user(p), {})),
        Vendor(
            template="github_copilot",
            prefix="/orgs/acme",
            page_size=50,
            record=lambda p: {
                "created_at": iso(CREATED),
                "pending_cancellation_date": None if p.seat else "2030-01-01",
                "last_activity_at": iso(p.last),
                "last_activity_editor": "vscode/1.77.3/copilot/1.86.82" if p.last else None,
                "plan_type": "business",
                "assignee": github_user(f"octo{p.i}", p.i, email=p.email, name=p.name),
            },
            page=_copilot_page,
            user_id=lambda p: f"octo{p.i}",
            error=lambda s, m: {"message": m, "documentation_url": "https://docs.github.com/rest", "status": str(s)},
            reclaim=_copilot_reclaim,
            rate_limit=_github_primary_rate_limit,
            reclaim_answer=lambda _: (200, {"seats_cancelled": 1}, {}),
        ),
        Vendor(
            template="zoom",
            prefix="/v2",
            page_size=50,
            record=lambda p: {
                "id": f"z8yCqR4hRIGyqyxw{p.i:06d}",
                "first_name": "User",
                "last_name": str(p.i),
                "display_name": p.name,
                "email": p.email,
                "type": zoom_type(p),
                "status": "active",
                "role_id": "0" if p.admin else "2",
                "last_login_time": iso(p.last),
                "user_created_at": iso(CREATED),
                "created_at": iso(CREATED),
            },
            page=_zoom_page,
            user_id=lambda p: f"z8yCqR4hRIGyqyxw{p.i:06d}",
            error=lambda s, m: {
                "code": 1001 if s == 404 else 124 if s == 401 else 429 if s == 429 else 300,
                "message": m,
            },
            reclaim=lambda v, r: (
                r.path.removeprefix("/users/") if r.method == "PATCH" and r.body == {"type": 1} else None
            ),
        ),
        Vendor(
            template="okta",
            prefix="",
            page_size=60,
            record=lambda p: {
                "id": f"00ub0oNGTSWTBKOLGLNR{p.i:04d}",
                # listUsers "omits users that have a status of `DEPROVISIONED`" (okta-management-openapi-spec
                # 2026.06.3, management-minimal.yaml): a user without a seat here is a suspended one.
                "status": "ACTIVE" if p.seat else "SUSPENDED",
                "created": iso(CREATED),
                "lastLogin": iso(p.last),
                "profile": {"firstName": "User", "lastName": str(p.i), "email": p.email, "login": p.email},
            },
            page=lambda v, r, recs: link_header_page(v, r, recs, app_url, "limit"),
            user_id=lambda p: f"00ub0oNGTSWTBKOLGLNR{p.i:04d}",
            error=lambda s, m: {
                "errorCode": "E0000047" if s == 429 else "E0000011",
                "errorSummary": m,
                "errorId": "oae1",
            },
            reclaim=lambda v, r: (
                r.path.split("/")[-3] if r.method == "POST" and r.path.endswith("/lifecycle/deactivate") else None
            ),
            expects_auth="SSWS t",
            rate_limit_headers={"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "0"},
            reclaim_answer=lambda _: (200, {}, {}),
            removes=True,  # deactivated, hence DEPROVISIONED, hence gone from the default list
        ),
        Vendor(
            template="google_workspace",
            prefix="/admin/directory/v1",
            page_size=100,
            record=lambda p: {
                "kind": "admin#directory#user",
                "id": f"1{p.i:020d}",
                "primaryEmail": p.email,
                "name": {"fullName": p.name},
                "isAdmin": p.admin,
                "suspended": not p.seat,
                "archived": False,
                "lastLoginTime": iso(p.last) or "1970-01-01T00:00:00.000Z",
                "creationTime": iso(CREATED),
            },
            page=_google_page,
            user_id=lambda p: f"1{p.i:020d}",
            error=lambda s, m: {
                "error": {"code": s, "message": m, "status": "RESOURCE_EXHAUSTED" if s == 429 else "ERROR"}
            },
            # https://developers.google.com/admin-sdk/directory/v1/limits: quota errors are 403s with a reason
            rate_limit=lambda _: (403, _google_quota_error(), {}),
        ),
        Vendor(
            template="microsoft_graph",
            prefix="/v1.0",
            page_size=100,
            record=lambda p: {
                "id": f"87d349ed-44d7-43e1-9a83-{p.i:012d}",
                "displayName": p.name,
                "mail": p.email,
                "userPrincipalName": p.email,
                # Some license holders are blocked from signing in: Microsoft still counts their licenses
                # (tests/vendor_specs/microsoft_graph/licensing.yaml), so they hold seats all the same.
                "accountEnabled": not graph_blocked(p),
                "createdDateTime": iso(CREATED),
                "jobTitle": None,
                "assignedLicenses": [{"skuId": "c7df2760-2c81-4ef7-b578-5b5392b571df", "disabledPlans": []}]
                if p.seat
                else [],
                "signInActivity": {"lastSignInDateTime": iso(p.last), "lastSuccessfulSignInDateTime": iso(p.last)},
            },
            page=_graph_page(app_url),
            user_id=lambda p: f"87d349ed-44d7-43e1-9a83-{p.i:012d}",
            error=lambda s, m: {
                "error": {"code": "TooManyRequests" if s == 429 else "Request_BadRequest", "message": m}
            },
        ),
        Vendor(
            template="atlassian",
            prefix="/admin",
            page_size=50,
            record=atlassian_user,
            page=_atlassian_page,
            user_id=lambda p: f"5b10ac8d82e05b22cc7d{p.i:04d}",
            error=atlassian_error,
            reclaim=atlassian_suspend,
            is_users_request=_atlassian_users_request,
            needs=ATLASSIAN_NEEDS,
            reclaim_answer=lambda _: (200, {"message": "User access suspended"}, {}),
        ),
        atlassian_product("jira", "jira-software"),
        atlassian_product("confluence", "confluence"),
        Vendor(
            template="salesforce",
            prefix="",
            page_size=200,
            record=lambda p: {
                "attributes": {"type": "User", "url": f"/services/data/v62.0/sobjects/User/005D{p.i:011d}"},
                "Id": f"005D{p.i:011d}",
                "Email": p.email,
                "Name": p.name,
                "IsActive": p.seat,
                # Of the User object's UserType values, some users of other licenses the template's WHERE leaves out.
                "UserType": _salesforce_user_type(p),
                "LastLoginDate": p.last.strftime("%Y-%m-%dT%H:%M:%S.000+0000") if p.last else None,
                "CreatedDate": "2023-01-01T00:00:00.000+0000",
                "Profile": {
                    "attributes": {"type": "Profile"},
                    "Name": "System Administrator" if p.admin else "Standard User",
                },
            },
            page=_salesforce_page,
            user_id=lambda p: f"005D{p.i:011d}",
            listed=lambda p: _salesforce_user_type(p) == "Standard",
            error=lambda s, m: [{"message": m, "errorCode": "REQUEST_LIMIT_EXCEEDED" if s == 429 else "INVALID_FIELD"}],
            reclaim=lambda v, r: (
                r.path.removeprefix("/services/data/v62.0/sobjects/User/")
                if r.method == "PATCH" and r.body == {"IsActive": False}
                else None
            ),
        ),
        Vendor(
            template="box",
            prefix="/2.0",
            page_size=50,
            record=lambda p: {
                "type": "user",
                "id": f"{11446498 + p.i}",
                "name": p.name,
                "login": p.email,
                "status": "active" if p.seat else "inactive",
                "role": "admin" if p.admin else "user",
                "created_at": "2023-01-01T00:00:00-08:00",
            },
            page=_box_page,
            user_id=lambda p: f"{11446498 + p.i}",
            error=box_error,
            reclaim=lambda v, r: (
                r.path.removeprefix("/users/") if r.method == "DELETE" and "force" not in r.query else None
            ),
            needs_activity_from_sso=True,
            removes=True,
        ),
        Vendor(
            template="asana",
            prefix="/api/1.0/workspaces/1331",
            page_size=50,
            record=lambda p: {
                "gid": f"9{p.i:012d}",
                "resource_type": "workspace_membership",
                "user": {"gid": f"1{p.i:012d}", "resource_type": "user", "name": p.name, "email": p.email},
                "is_active": p.seat,
                "is_admin": p.admin,
                "is_guest": False,
                "created_at": iso(CREATED),
            },
            page=_asana_page,
            user_id=lambda p: f"1{p.i:012d}",
            error=lambda s, m: {"errors": [{"message": m, "help": "For more information on API status codes"}]},
            reclaim=lambda v, r: (
                ((r.body or {}).get("data") or {}).get("user")
                if r.method == "POST" and r.path == "/removeUser"
                else None
            ),
            reclaim_answer=lambda _: (200, {"data": {}}, {}),
            needs_activity_from_sso=True,
            removes=True,
        ),
        Vendor(
            template="hubspot",
            prefix="",
            page_size=50,
            # HubSpot's PublicUser (User Provisioning v3): email, id, roleIds and superAdmin always;
            # roleId and primaryTeamId are strings, left out rather than null when there is none.
            record=lambda p: {
                "id": f"{1000 + p.i}",
                "email": p.email,
                "firstName": "User",
                "lastName": str(p.i),
                "roleIds": ["100"] if p.admin else [],
                **({"roleId": "100"} if p.admin else {}),
                "superAdmin": p.admin,
            },
            page=_hubspot_page,
            user_id=lambda p: f"{1000 + p.i}",
            error=lambda s, m: {
                "status": "error",
                "message": m,
                "correlationId": "aeb5f871",
                "category": "RATE_LIMITS" if s == 429 else "VALIDATION_ERROR",
            },
            reclaim=lambda v, r: r.path.removeprefix("/settings/v3/users/") if r.method == "DELETE" else None,
            needs_activity_from_sso=True,
            removes=True,
            seat_always=True,
        ),
        Vendor(
            template="zendesk",
            prefix="",
            page_size=50,
            record=zendesk_user,
            page=_zendesk_page(app_url),
            user_id=lambda p: f"{35436 + p.i}",
            error=lambda s, m: {"error": "RecordInvalid" if s == 400 else "TooManyRequests", "description": m},
            reclaim=lambda v, r: (
                r.path.removeprefix("/api/v2/users/")
                if r.method == "PUT" and r.body == {"user": {"role": "end-user"}}
                else None
            ),
            expects_auth="Basic " + base64.b64encode(b"admin@example.com/token:t").decode(),
            is_users_request=lambda r: (
                r.method == "GET"
                and r.path.startswith("/api/v2/users")
                and not r.path[len("/api/v2/users/") :].isdigit()
            ),
            reclaim_answer=lambda p: (200, {"user": {"id": 35436 + p.i, "role": "end-user"}}, {}),
            listed=lambda p: zendesk_user(p)["role"] in ("agent", "admin"),
        ),
        Vendor(
            template="miro",
            prefix="/v2/orgs/3074457345821140934",
            page_size=50,
            record=lambda p: {
                "id": f"30744573{p.i:010d}",
                "type": "organization-member",
                "email": p.email,
                "role": "organization_internal_admin" if p.admin else "organization_internal_user",
                # The licenses Miro's help center says are paid (full; occasional, by Day Passes), the free ones
                # (free, free_restricted), and those Miro's REST API v2 description lists whose billing no Miro
                # page states (advanced, standard, basic, full_trial), shown as the template's unverified rule
                # counts them (tests/vendor_specs/miro/licenses.yaml).
                "license": miro_license(p),
                "active": True,
                # A string in Miro's OrganizationMember, "empty" for a user who never logged in: left out.
                **({"lastActivityAt": iso(p.last)} if p.last else {}),
            },
            page=_miro_page,
            user_id=lambda p: f"30744573{p.i:010d}",
            error=lambda s, m: {
                "status": s,
                "code": "tooManyRequests" if s == 429 else "error",
                "message": m,
                "type": "error",
            },
        ),
        Vendor(
            template="github_enterprise",
            prefix="/enterprises/acme",
            page_size=40,
            record=github_consumed_license,
            page=_github_enterprise_page,
            user_id=github_enterprise_user_id,
            error=lambda s, m: {"message": m, "documentation_url": "https://docs.github.com/rest", "status": str(s)},
            rate_limit=_github_primary_rate_limit,
            seat_always=True,  # GitHub's list is who consumes a license
            needs_activity_from_sso=True,
            expects_headers={"X-GitHub-Api-Version": "2022-11-28"},
        ),
        Vendor(
            template="github_org",
            prefix="/orgs/acme",
            page_size=40,
            record=lambda p: github_user(f"octo{p.i}", p.i),
            page=lambda v, r, recs: link_header_page(v, r, recs, app_url + "/orgs/acme", "per_page"),
            user_id=lambda p: f"octo{p.i}",
            error=lambda s, m: {"message": m, "documentation_url": "https://docs.github.com/rest", "status": str(s)},
            reclaim=lambda v, r: r.path.rsplit("/", 1)[-1] if r.method == "DELETE" else None,
            rate_limit=_github_primary_rate_limit,
            seat_always=True,
            removes=True,
            needs_activity_from_sso=True,
            # npm:@octokit/openapi 23.0.2: GET /orgs/{org}/outside_collaborators lists them, DELETE
            # /orgs/{org}/outside_collaborators/{username} removes them ("422 ... if user is a member").
            kind=lambda p: "outside_collaborator" if p.i % 4 == 1 else None,
            lists={None: "/members", "outside_collaborator": "/outside_collaborators"},
        ),
        Vendor(
            template="docusign",
            prefix="/restapi/v2.1/accounts/f0f1c2d3",
            page_size=50,
            record=lambda p: {
                "userId": f"4c9b2e21-{p.i:012d}",
                "userName": p.name,
                "email": p.email,
                # DocuSign's userInformation (eSignature v2.1 description): the statuses as its status filter
                # spells them, and lastLogin a string, left out for a user who never signed in.
                "userStatus": "Active" if p.seat else "Closed",
                "permissionProfileName": "Account Administrator" if p.admin else "DocuSign Sender",
                **({"lastLogin": p.last.strftime("%Y-%m-%dT%H:%M:%S.3730000Z")} if p.last else {}),
                "createdDateTime": "2023-01-01T00:00:00.0000000Z",
            },
            page=_docusign_page,
            user_id=lambda p: f"4c9b2e21-{p.i:012d}",
            error=lambda s, m: {
                "errorCode": "HOURLY_APIINVOCATION_LIMIT_EXCEEDED" if s == 429 else "INVALID_USERID",
                "message": m,
            },
            reclaim=lambda v, r: (
                (((r.body or {}).get("users") or [{}])[0]).get("userId")
                if r.method == "DELETE" and r.path == "/users"
                else None
            ),
            reclaim_answer=lambda p: (200, {"users": [{"userId": f"4c9b2e21-{p.i:012d}", "userStatus": "Closed"}]}, {}),
        ),
        Vendor(
            template="smartsheet",
            prefix="/2.0",
            page_size=100,
            record=_smartsheet_user,
            page=_smartsheet_page,
            user_id=_smartsheet_user_id,
            error=_smartsheet_error,
            reclaim=lambda v, r: (
                r.path.removeprefix("/users/")
                if r.method == "PUT" and r.body == {"licensedSheetCreator": False}
                else None
            ),
            reclaim_answer=lambda p: (
                200,
                {"message": "SUCCESS", "resultCode": 0, "result": {"id": SMARTSHEET_FIRST_ID + p.i}},
                {},
            ),
        ),
        Vendor(
            template="smartsheet_ubm",
            prefix="/2.0",
            page_size=100,
            record=lambda p: {**_smartsheet_user(p), "isInternal": True, "seatType": smartsheet_seat_type(p)},
            page=_smartsheet_ubm_page,
            user_id=_smartsheet_user_id,
            error=_smartsheet_error,
            reclaim=smartsheet_downgrade,
            reclaim_answer=lambda p: (200, {"message": "SUCCESS", "resultCode": 0}, {}),
            needs=SMARTSHEET_UBM_NEEDS,
        ),
        Vendor(
            template="webex",
            prefix="/v1",
            page_size=50,
            record=lambda p: {
                "id": f"Y2lzY29zcGFyazovL3VzL1BFT1BMRS{p.i:06d}",
                "emails": [p.email],
                "displayName": p.name,
                "orgId": "Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi8",
                "licenses": ["Y2lzY29zcGFyazovL3VzL0xJQ0VOU0UvOTQ1"] if p.seat else [],
                "created": iso(CREATED),
                "lastActivity": iso(p.last),
                "loginEnabled": True,
                "type": "person",
            },
            page=lambda v, r, recs: items_page(link_header_page(v, r, recs, app_url + "/v1", "max")),
            user_id=lambda p: f"Y2lzY29zcGFyazovL3VzL1BFT1BMRS{p.i:06d}",
            error=lambda s, m: {"message": m, "errors": [{"description": m}], "trackingId": "ROUTER_5F4E"},
        ),
        Vendor(
            template="calendly",
            prefix="",
            page_size=40,
            record=lambda p: {
                "uri": f"https://api.calendly.com/organization_memberships/AAAA{p.i:012d}",
                "role": "admin" if p.admin else "user",
                # The fields Calendly's OrganizationMembership requires (its OpenAPI document, 2.0.0)
                "user": {
                    "uri": f"https://api.calendly.com/users/BBBB{p.i:012d}",
                    "name": p.name,
                    "slug": f"user{p.i}",
                    "email": p.email,
                    "scheduling_url": f"https://calendly.com/user{p.i}",
                    "timezone": "Europe/Berlin",
                    "avatar_url": None,
                    "created_at": iso(CREATED),
                    "updated_at": iso(CREATED),
                },
                "organization": "https://api.calendly.com/organizations/CCCC",
                "updated_at": iso(CREATED),
                "created_at": iso(CREATED),
            },
            page=_calendly_page,
            user_id=lambda p: f"https://api.calendly.com/organization_memberships/AAAA{p.i:012d}",
            error=lambda s, m: {"title": "Too Many Requests" if s == 429 else "Invalid Argument", "message": m},
            seat_always=True,
            needs={"users.params.organization": "https://api.calendly.com/organizations/CCCC"},
        ),
        Vendor(
            template="monday",
            prefix="",
            page_size=50,
            record=monday_user,
            page=_monday_page,
            user_id=lambda p: f"{4012689 + p.i}",
            error=lambda s, m: {
                "errors": [
                    {"message": m, "extensions": {"code": "COMPLEXITY_BUDGET_EXHAUSTED" if s == 429 else "ERROR"}}
                ]
            },
            reclaim=_monday_reclaim,
            expects_auth="t",
            is_users_request=lambda r: ((r.body or {}).get("query") or "").startswith("query"),
            reclaim_answer=lambda p: (
                200,
                {"data": {"deactivate_users": {"deactivated_users": [{"id": f"{4012689 + p.i}"}], "errors": []}}},
                {},
            ),
        ),
        Vendor(
            template="dropbox",
            prefix="/2",
            page_size=40,
            record=dropbox_member,
            page=_dropbox_page,
            user_id=lambda p: f"dbmid:AAHhy7WsR0x-u4ZCqiDl5Fz5zvuL3kmspwU{p.i:04d}",
            error=dropbox_error,
            reclaim=_dropbox_remove,
            is_users_request=lambda r: r.method == "POST" and r.path.startswith("/team/members/list"),
            reclaim_answer=lambda _: (200, {".tag": "complete"}, {}),
            refusal=lambda v: (409, dropbox_error(409, "the last admin"), {}),
            removes=True,
            needs_activity_from_sso=True,
        ),
        Vendor(
            template="adobe",
            prefix="/v2/usermanagement",
            page_size=40,
            record=adobe_user,
            page=_adobe_page,
            user_id=lambda p: p.email,
            error=lambda s, m: {"result": "error", "message": m, "error_code": f"{s}050"},
            reclaim=_adobe_remove,
            expects_headers={"X-Api-Key": ADOBE_CLIENT_ID},
            reclaim_answer=lambda _: (
                200,
                {"completed": 1, "notCompleted": 0, "completedInTestMode": 0, "result": "success"},
                {},
            ),
            refusal=_adobe_refusal,
            token=_adobe_token,
            removes=True,
            needs_activity_from_sso=True,
            needs={
                "users.path": f"/users/{ADOBE_ORG}/{{page}}",
                "reclaim.path": f"/action/{ADOBE_ORG}",
            },
        ),
    ]
    return {vendor.template: vendor for vendor in all_vendors}
