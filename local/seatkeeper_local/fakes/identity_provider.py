"""Identity providers of seatkeeper's own, answering in Okta's, Microsoft Graph's and Google's documented
shapes: the demo's IdP, and the tests' peers for "Usage from the identity provider".

Each answers in a module of its own (okta, entra, google); here is what they share: the people,
the apps and their assignments and sign-ins, the requests seen, throttling, and the request handler's
answering and recording.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
import uuid
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Person:
    id: str
    email: str
    name: str
    status: str = "ACTIVE"  # Okta: ACTIVE, SUSPENDED, DEPROVISIONED; Entra: accountEnabled = status == "ACTIVE"
    principal_name: str | None = None  # Entra's userPrincipalName where it is not the e-mail address


GENERATED_ID_PREFIX = "0000beef-0000-4000-8000-"


class Population(MutableMapping[str, Person]):
    """The people of a tenant: those added one by one, and `generated` more made up from their id when asked,
    so that a tenant of 100,000 costs no memory until someone reads it (a large tenant's test)."""

    def __init__(self, generated: int = 0) -> None:
        self.added: dict[str, Person] = {}
        self.generated = generated

    @staticmethod
    def generated_id(index: int) -> str:
        return f"{GENERATED_ID_PREFIX}{index:012d}"

    def _made_up(self, key: str) -> Person | None:
        tail = key[len(GENERATED_ID_PREFIX) :]
        if not key.startswith(GENERATED_ID_PREFIX) or not tail.isdigit() or int(tail) >= self.generated:
            return None
        index = int(tail)
        return Person(key, f"user{index}@tenant.example", f"Tenant User {index}")

    def with_address(self, address: str) -> list[Person]:
        """The people whose e-mail or principal name is this address, whatever its case, found without
        making up the whole tenant."""
        wanted = address.casefold()
        found = [p for p in self.added.values() if wanted in {p.email.casefold(), (p.principal_name or "").casefold()}]
        local, _, domain = wanted.partition("@")
        if domain == "tenant.example" and local.startswith("user") and local[4:].isdigit():
            made_up = self.get(self.generated_id(int(local[4:])))
            found += (
                [made_up] if made_up and made_up.email.casefold() == wanted and made_up.id not in self.added else []
            )
        return found

    def __getitem__(self, key: str) -> Person:
        found = self.added.get(key) or self._made_up(key)
        if found is None:
            raise KeyError(key)
        return found

    def __setitem__(self, key: str, value: Person) -> None:
        self.added[key] = value

    def __delitem__(self, key: str) -> None:
        del self.added[key]

    def __iter__(self) -> Iterator[str]:
        yield from self.added
        yield from (self.generated_id(i) for i in range(self.generated) if self.generated_id(i) not in self.added)

    def __len__(self) -> int:
        return len(self.added) + sum(1 for i in range(self.generated) if self.generated_id(i) not in self.added)


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
    people: MutableMapping[str, Person] = field(default_factory=Population)
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


class IdentityProviderHandler(BaseHTTPRequestHandler):
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
