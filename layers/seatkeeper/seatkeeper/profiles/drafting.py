"""A profile drafted from a vendor's API description (OpenAPI 3.x or Swagger 2.0): the list-users operation, its
paging and records, the fields that hold e-mail, name, status and last activity, the request that takes a user's
seat back, the security scheme and the base URL. Each guess is a `DraftNote` with its confidence and why, beside
the profile: the draft is where an author starts, and the preview (sync.preview) is how the guesses are proved.

Plain Python over the parsed document; nothing is fetched (a `$ref` to another document is not followed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seatkeeper.core.errors import InvalidInput
from seatkeeper.profiles.model import Profile

MAX_NODES = (
    300_000  # schema nodes visited at most (Okta's 3.4 MB document takes 8,000): aliases upon aliases are refused
)
MAX_DEPTH = 4  # levels of a user record searched for its fields (Okta's profile.email is at 2)
METHODS = ("get", "post", "put", "patch", "delete")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PARAM = re.compile(r"\{([^}]+)\}")


class DraftNote(BaseModel):
    """One guess of the draft: what was chosen for which profile field, how sure, and from what in the document."""

    model_config = ConfigDict(defer_build=True)

    field: str = Field(description="The profile field, as a path (users.fields.email)")
    guess: Any = Field(description="What the draft holds there")
    confidence: float = Field(ge=0, le=1, description="0: a placeholder to fill in; near 1: the document says so")
    why: str


class Draft(BaseModel):
    """A profile drafted from an API description, with a note per guess (POST /profiles/draft)."""

    model_config = ConfigDict(defer_build=True)

    profile: dict[str, Any] = Field(description="A valid profile (or the closest valid one): preview it next")
    draft_notes: list[DraftNote]
    operations: dict[str, str] = Field(description="The document's operations the draft uses: users, removal")


class NotAnApiDescription(InvalidInput):
    def __init__(self, msg: str) -> None:
        super().__init__([{"loc": ["body"], "msg": msg, "type": "value_error"}])


def parse_document(text: str | bytes) -> dict[str, Any]:
    """The document as JSON, or else YAML (which JSON is a part of); refused when it is neither an OpenAPI 3.x
    nor a Swagger 2.0 document."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise NotAnApiDescription("the document is not UTF-8 text") from None
    try:
        document = json.loads(text)
    except ValueError:
        # Cold start: YAML only for a document that is not JSON.
        import yaml

        try:
            document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 (safe)
        except yaml.YAMLError as exc:
            raise NotAnApiDescription(f"neither JSON nor YAML: {str(exc)[:300]}") from None
        except RecursionError:
            raise NotAnApiDescription("nested too deeply to read") from None
    except RecursionError:
        raise NotAnApiDescription("nested too deeply to read") from None
    if not isinstance(document, dict):
        raise NotAnApiDescription("not an OpenAPI document: the top level is not an object")
    version = str(document.get("openapi") or document.get("swagger") or "")
    if not (version.startswith("3.") or version == "2.0"):
        raise NotAnApiDescription("not an OpenAPI 3.x or Swagger 2.0 document: it has no 'openapi' or 'swagger: 2.0'")
    if not isinstance(document.get("paths"), dict):
        raise NotAnApiDescription("the document has no paths")
    return document


# --- reading the document ---------------------------------------------------------------------------------------


@dataclass
class _Reader:
    """Schemas as they are meant: $ref followed, allOf merged; a node budget against documents built to explode."""

    document: dict[str, Any]
    visited: int = 0

    def deref(self, node: Any) -> Any:
        for _ in range(32):
            self.visited += 1
            if self.visited > MAX_NODES:
                raise NotAnApiDescription(f"the document is too intricate to read (more than {MAX_NODES} schema nodes)")
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                return node
            ref = node["$ref"]
            if not ref.startswith("#/"):
                return {}  # another document's: never fetched
            target: Any = self.document
            for raw in ref[2:].split("/"):
                part = raw.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, dict) else None
            node = target if target is not None else {}
        return {}

    def schema(self, node: Any, depth: int = 0) -> dict[str, Any]:
        """One schema with allOf merged into it; a oneOf/anyOf as its first choice that has properties."""
        node = self.deref(node)
        if not isinstance(node, dict) or depth > 8:
            return {}
        merged = {k: v for k, v in node.items() if k not in ("allOf", "oneOf", "anyOf")}
        properties = dict(self.deref(merged.get("properties")) or {})
        for part in node.get("allOf") or []:
            sub = self.schema(part, depth + 1)
            properties.update(sub.get("properties") or {})
            for key in ("type", "items", "format", "enum"):
                merged.setdefault(key, sub.get(key))
        for part in (node.get("oneOf") or node.get("anyOf") or [])[:5]:
            sub = self.schema(part, depth + 1)
            if sub.get("properties") or sub.get("items"):
                properties = {**(sub.get("properties") or {}), **properties}
                for key in ("type", "items"):
                    merged.setdefault(key, sub.get(key))
                break
        if properties:
            merged["properties"] = properties
            merged.setdefault("type", "object")
        return {k: v for k, v in merged.items() if v is not None}

    def parameters(self, path_item: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*(path_item.get("parameters") or []), *(operation.get("parameters") or [])]:
            parameter = self.deref(raw)
            if isinstance(parameter, dict) and isinstance(parameter.get("name"), str):
                found[(str(parameter.get("in")), str(parameter["name"]))] = parameter
        return list(found.values())

    def param_schema(self, parameter: dict[str, Any]) -> dict[str, Any]:
        # OpenAPI 3 puts type and bounds in `schema`, Swagger 2 on the parameter itself.
        return self.schema(parameter["schema"]) if "schema" in parameter else parameter

    def response(self, operation: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The success answer's schema and its headers."""
        responses = operation.get("responses") or {}
        for status in ("200", "201", "206", "2XX", "default"):
            answer = self.deref(responses.get(status) or responses.get(int(status) if status.isdigit() else status))
            if not isinstance(answer, dict) or not answer:
                continue
            headers = {str(k).lower(): v for k, v in (self.deref(answer.get("headers")) or {}).items()}
            if "schema" in answer:
                return self.schema(answer["schema"]), headers
            content = answer.get("content") or {}
            kind = next((k for k in content if "json" in k), next(iter(content), None))
            if kind is not None:
                return self.schema((content[kind] or {}).get("schema")), headers
            return {}, headers
        return {}, {}

    def request_body(self, operation: dict[str, Any], parameters: list[dict[str, Any]]) -> dict[str, Any]:
        body = self.deref(operation.get("requestBody"))
        if isinstance(body, dict) and body.get("content"):
            content = body["content"]
            kind = next((k for k in content if "json" in k), next(iter(content)))
            return self.schema((content[kind] or {}).get("schema"))
        in_body = next((p for p in parameters if p.get("in") == "body"), None)  # Swagger 2
        return self.schema(in_body.get("schema")) if in_body else {}

    def leaves(
        self, schema: dict[str, Any], prefix: str = "", depth: int = 0
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(JMESPath, property name, schema) of each property of a record, nested objects included."""
        for name, raw in (schema.get("properties") or {}).items():
            sub = self.schema(raw)
            path = f"{prefix}{_quoted(str(name))}"
            yield path, str(name), sub
            if depth + 1 < MAX_DEPTH and sub.get("properties"):
                yield from self.leaves(sub, f"{path}.", depth + 1)
            items = self.schema(sub.get("items")) if sub.get("type") == "array" else {}
            if depth + 1 < MAX_DEPTH and items.get("properties"):
                # SCIM's emails[0].value: the first of a list of objects.
                yield from self.leaves(items, f"{path}[0].", depth + 1)


def _quoted(name: str) -> str:
    return name if _IDENTIFIER.match(name) else json.dumps(name)


def _words(text: str) -> list[str]:
    """camelCase, snake_case and kebab-case names as lower-case words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def _confidence(best: float, runner_up: float) -> float:
    """How far the chosen candidate stands out from the next one."""
    return round(max(0.05, min(0.95, best / (best + max(runner_up, 0) + 0.5))), 2)


# --- the guesses --------------------------------------------------------------------------------------------------

USER_NOUNS = {"users": 3.0, "user": 2.5, "members": 2.5, "memberships": 2.2, "people": 2.0, "employees": 2.0}
ORG_SCOPES = {"workspaces", "orgs", "organizations", "organisations", "accounts", "enterprises", "tenants", "teams_org"}
SUBSET_SCOPES = {"groups", "teams", "apps", "applications", "projects", "boards", "channels", "devices", "idps"}
NOT_A_LIST = {"report", "reports", "search", "audit", "logs", "roles", "me", "invites", "invitations", "deleted"}
RECORD_KEYS = ("users", "members", "data", "entries", "results", "items", "records", "Resources", "value")


@dataclass
class _Candidate:
    method: str
    path: str
    score: float
    why: list[str]
    records_path: str = "@"
    item: dict[str, Any] = field(default_factory=dict)
    response: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, Any] = field(default_factory=dict)
    parameters: list[dict[str, Any]] = field(default_factory=list)
    operation: dict[str, Any] = field(default_factory=dict)


def _records(reader: _Reader, response: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Where the list of records is in the answer, and one record's schema."""
    if response.get("type") == "array" or "items" in response:
        return "@", reader.schema(response.get("items"))
    arrays = [
        (name, reader.schema(reader.schema(sub).get("items")))
        for name, sub in (response.get("properties") or {}).items()
        if reader.schema(sub).get("type") == "array"
    ]
    arrays = [(name, item) for name, item in arrays if item.get("properties")]
    if not arrays:
        return None
    name, item = max(
        arrays, key=lambda a: (a[0] in RECORD_KEYS, -RECORD_KEYS.index(a[0]) if a[0] in RECORD_KEYS else 0)
    )
    return _quoted(name), item


def _removes_one(reader: _Reader, other: str, path: str) -> bool:
    rest = other[len(path.rstrip("/")) :]
    if not other.startswith(path.rstrip("/")) or not re.fullmatch(r"/\{[^/}]+\}/?", rest):
        return False
    item = reader.deref(reader.document["paths"][other])
    return isinstance(item, dict) and isinstance(item.get("delete"), dict)


def _list_candidates(reader: _Reader) -> list[_Candidate]:
    found = []
    for path, raw_item in reader.document["paths"].items():
        item = reader.deref(raw_item)
        operation = item.get("get") if isinstance(item, dict) else None
        if not isinstance(operation, dict) or path.rstrip("/").endswith("}"):
            continue
        segments = [s for s in path.strip("/").split("/") if s]
        # Version segments say nothing of what is listed (HubSpot's /settings/users/v3).
        nouns = [s for s in segments if not s.startswith("{") and not re.match(r"^v\d+(\.\d+)*$", s)]
        last = nouns[-1].lower() if nouns else ""
        score = next((v for noun, v in USER_NOUNS.items() if last == noun or last.endswith("_" + noun)), 0.0)
        if not score:
            continue
        why = [f"its last segment is {nouns[-1]!r} (+{score})"]
        for segment, following in pairwise(segments):
            if following.startswith("{") and segment.lower() in SUBSET_SCOPES:
                score -= 1.0
                why.append(f"it lists the users of one of the {segment} (-1)")
            elif following.startswith("{") and segment.lower() in ORG_SCOPES:
                why.append(f"it lists one of the {segment}, the whole organization")
        if {n.lower() for n in nouns} & NOT_A_LIST:
            score -= 1.5
            why.append("it is a report, a search or a log, not the list (-1.5)")
        response, headers = reader.response(operation)
        records = _records(reader, response)
        if records is None:
            continue
        records_path, record = records
        names = {name.lower() for _, name, _ in reader.leaves(record)}
        if any("email" in n or n == "login" for n in names):
            score += 1.0
            why.append("its records have an e-mail (+1)")
        if any(n in {"status", "active", "is_active", "state"} for n in names):
            score += 0.5
            why.append("its records have a status (+0.5)")
        # A seat is what can be taken back: the list whose records the document removes one by one (GitHub's
        # /orgs/{org}/members beside its /users, which lists every account on the site and removes none).
        if any(_removes_one(reader, other, path) for other in reader.document["paths"]):
            score += 1.0
            why.append(f"the document removes one of its records (DELETE {path}/{{…}}) (+1)")
        summary = " ".join(str(operation.get(k, "")) for k in ("summary", "operationId")).lower()
        if "list" in summary or " all " in f" {summary} ":
            score += 0.5
            why.append("its summary says it lists them (+0.5)")
        found.append(
            _Candidate(
                "GET",
                path,
                score,
                why,
                records_path,
                record,
                response,
                headers,
                reader.parameters(item, operation),
                operation,
            )
        )
    return sorted(found, key=lambda c: (-c.score, len(c.path)))


# The parameter that takes a page's place, and what the answer calls the value to send back.
CURSOR_PARAMS = (
    "after",
    "cursor",
    "next_page_token",
    "page_token",
    "pagetoken",
    "marker",
    "starting_after",
    "continuation",
    "continuation_token",
    "next",
    "offset",
    "start_cursor",
    "skiptoken",
)
LIMIT_PARAMS = (
    "limit",
    "page_size",
    "pagesize",
    "per_page",
    "perpage",
    "count",
    "max_results",
    "maxresults",
    "size",
    "top",
    "max",
)
PAGE_PARAMS = ("page", "page_number", "pagenumber", "page_index")
OFFSET_PARAMS = ("offset", "start", "startindex", "start_index", "skip")
NEXT_URL_KEYS = ("next", "nextlink", "next_url", "next_link", "@odata.nextlink", "next_page_url", "uri")
TOTAL_KEYS = ("total", "total_count", "totalcount", "total_records", "totalresults", "total_entries", "count")
TOTAL_PAGES_KEYS = ("page_count", "total_pages", "totalpages", "pages")
HAS_MORE_KEYS = ("has_more", "hasmore", "more")


def _simple(name: str) -> str:
    return name.lower().replace("-", "_")


def _paging(reader: _Reader, list_op: _Candidate, notes: list[DraftNote]) -> dict[str, Any]:
    query = {_simple(p["name"]): p for p in list_op.parameters if p.get("in") == "query"}
    answer = list(reader.leaves({k: v for k, v in list_op.response.items() if k != "items"}))
    answer = [(path, name, sub) for path, name, sub in answer if not path.startswith(list_op.records_path + "[")]
    by_name = {_simple(name): path for path, name, _ in answer if path != list_op.records_path}
    limit = next((query[n] for n in LIMIT_PARAMS if n in query), None)
    sizing: dict[str, Any] = {}
    if limit is not None:
        bounds = reader.param_schema(limit)
        size = min(100, int(bounds.get("maximum") or 100))
        sizing = {"page_size": max(1, size)}
        notes.append(
            DraftNote(
                field="users.pagination.page_size",
                guess=size,
                confidence=0.7,
                why=f"parameter {limit['name']!r}, at most {bounds.get('maximum', 'unbounded')}"
                " in the document; 100 or its maximum, whichever is less",
            )
        )
    has_more = next((by_name[k] for k in HAS_MORE_KEYS if k in by_name), None)
    more = {"has_more_path": has_more} if has_more else {}

    if "link" in list_op.headers:
        notes.append(
            DraftNote(
                field="users.pagination.type",
                guess="link_header",
                confidence=0.85,
                why='the answer declares a Link header (RFC 8288 rel="next")',
            )
        )
        return {"type": "link_header", **({"limit_param": limit["name"]} if limit else {}), **sizing}
    for name in CURSOR_PARAMS:
        if name not in query:
            continue
        if list_op.records_path == "@" and name != "offset":
            # The answer is the bare list: the only place left for the next page's pointer is a header
            # (Okta's `after`, "obtained through the next link relation").
            notes.append(
                DraftNote(
                    field="users.pagination.type",
                    guess="link_header",
                    confidence=0.6,
                    why=f"the parameter {query[name]['name']!r} takes a pointer, and the answer is a"
                    ' bare list with no room for one: a Link header (RFC 8288 rel="next")',
                )
            )
            return {"type": "link_header", **({"limit_param": limit["name"]} if limit else {}), **sizing}
        # The answer's pointer: a property named after the parameter (paging.next.after, next_page.offset), or
        # next_<parameter> (next_marker, next_cursor).
        pointer = next(
            (
                path
                for path, leaf, sub in answer
                if _simple(leaf) in (name, f"next_{name}", f"next{name}")
                and sub.get("type") in (None, "string", "integer")
                and (name != "offset" or "next" in path.lower())
            ),
            None,
        )
        if pointer is None:
            continue
        paging = {"type": "cursor", "cursor_path": pointer, "cursor_param": query[name]["name"], **more}
        if limit:
            paging["limit_param"] = limit["name"]
        notes.append(
            DraftNote(
                field="users.pagination.cursor_path",
                guess=pointer,
                confidence=0.8,
                why=f"the parameter {query[name]['name']!r} takes the answer's {pointer!r} back",
            )
        )
        use = f"use{name}"
        if use in query:  # Box: ?usemarker=true before marker is used
            list_op.operation.setdefault("x-draft-params", {})[query[use]["name"]] = "true"
        return {**paging, **sizing}
    next_url = next(
        (
            path
            for path, leaf, sub in answer
            if _simple(leaf) in NEXT_URL_KEYS and sub.get("type") in (None, "string") and "next" in path.lower()
        ),
        None,
    )
    if next_url:
        notes.append(
            DraftNote(
                field="users.pagination.next_url_path",
                guess=next_url,
                confidence=0.7,
                why=f"the answer's {next_url!r} is the next page's URL",
            )
        )
        return {
            "type": "next_url",
            "next_url_path": next_url,
            **({"limit_param": limit["name"]} if limit else {}),
            **sizing,
        }
    total = next((by_name[k] for k in TOTAL_KEYS if k in by_name), None)
    page = next((query[n] for n in PAGE_PARAMS if n in query), None)
    if page is not None:
        paging = {
            "type": "page",
            "page_param": page["name"],
            "size_param": limit["name"] if limit else None,
            "first_page": int(reader.param_schema(page).get("minimum", 1) or 1),
        }
        pages = next((by_name[k] for k in TOTAL_PAGES_KEYS if k in by_name), None)
        paging.update({"total_path": total} if total else {})
        paging.update({"total_pages_path": pages} if pages else {})
        notes.append(
            DraftNote(
                field="users.pagination.type",
                guess="page",
                confidence=0.7,
                why=f"the parameter {page['name']!r} numbers the pages",
            )
        )
        return {**paging, **more, **sizing}
    offset = next((query[n] for n in OFFSET_PARAMS if n in query), None)
    if offset is not None:
        paging = {"type": "offset", "offset_param": offset["name"], "limit_param": limit["name"] if limit else "limit"}
        if _simple(offset["name"]) in ("startindex", "start_index"):
            paging["first_offset"] = 1  # SCIM counts from 1
        paging.update({"total_path": total} if total else {})
        notes.append(
            DraftNote(
                field="users.pagination.type",
                guess="offset",
                confidence=0.7,
                why=f"the parameter {offset['name']!r} counts records",
            )
        )
        return {**paging, **more, **sizing}
    notes.append(
        DraftNote(
            field="users.pagination.type",
            guess="none",
            confidence=0.4,
            why="no paging parameter the draft knows (cursor, page, offset, Link header)",
        )
    )
    return {"type": "none"}


def _best_leaf(leaves: list[tuple[str, str, dict[str, Any]]], score: Any) -> tuple[str, float, float] | None:
    """The best-scoring (path, score) of a record's properties, with the runner-up's score."""
    scored = sorted(((score(path, name, sub), path) for path, name, sub in leaves), key=lambda s: (-s[0], len(s[1])))
    scored = [s for s in scored if s[0] > 0]
    if not scored:
        return None
    return scored[0][1], scored[0][0], scored[1][0] if len(scored) > 1 else 0.0


def _depth(path: str) -> int:
    return path.count(".") + path.count("[")


def _is_text(sub: dict[str, Any]) -> bool:
    return sub.get("type") in (None, "string", "integer") and not sub.get("properties")


def _id_score(path: str, name: str, sub: dict[str, Any]) -> float:
    words = _words(name)
    if not _is_text(sub) or _depth(path) > 1:
        return 0
    exact = {"id": 3.0, "gid": 3.0, "uid": 2.5, "user_id": 2.5, "userid": 2.5, "member_id": 2.0, "key": 0.5}
    if path.split(".", 1)[0] in ("user", "member") and name.lower() in exact:
        # A membership's record: the person is its user, whose id the removal names (Asana's user.gid).
        return 3.5
    return exact.get(name.lower(), 1.5 if words[-1:] == ["id"] and "user" in words else 0) - _depth(path)


def _email_score(path: str, name: str, sub: dict[str, Any]) -> float:
    words = _words(name)
    if not _is_text(sub) or "verified" in words or sub.get("type") == "boolean":
        return 0
    base = 3.0 if name.lower() in ("email", "primary_email", "email_address", "emailaddress") else 0.0
    base = base or (2.5 if sub.get("format") == "email" else 2.0 if "email" in words or "mail" in words else 0)
    base = base or (1.0 if name.lower() in ("login", "username", "user_name", "userprincipalname") else 0)
    said = str(sub.get("description", "")).lower()
    if "primary" in said:
        base += 0.5
    if {"secondary", "alias", "alternate", "notification"} & set(_words(path + " " + said)):
        base -= 1.5
    return base - 0.5 * _depth(path)


def _name_score(path: str, name: str, sub: dict[str, Any]) -> float:
    if not _is_text(sub) or sub.get("type") == "integer" or "[" in path:
        return 0
    exact = {
        "name": 2.5,
        "displayname": 3.0,
        "display_name": 3.0,
        "full_name": 3.0,
        "fullname": 3.0,
        "real_name": 2.8,
        "realname": 2.8,
    }
    # A record's own name, not its group's or its workspace's.
    return exact.get(name.lower(), 0) - 0.5 * _depth(path)


def _active_score(path: str, name: str, sub: dict[str, Any]) -> float:
    lower = name.lower()
    if sub.get("type") == "boolean" and lower in ("active", "is_active", "isactive", "enabled", "is_enabled"):
        return 3.0 - 0.3 * _depth(path)
    if lower in ("status", "state", "user_status", "account_status") and sub.get("type") in (None, "string"):
        return 2.5 - 0.3 * _depth(path)
    return 0


def _activity_score(path: str, name: str, sub: dict[str, Any]) -> float:
    words = _words(name)
    if sub.get("properties") or sub.get("type") in ("boolean", "array", "object"):
        return 0
    active_words = {"login", "logon", "signin", "sign", "activity", "active", "seen", "access", "accessed", "used"}
    if not (set(words) & active_words) or ("last" not in words and "recent" not in words):
        return 0
    base = 3.0 + (0.5 if sub.get("format") in ("date-time", "date") else 0)
    return base - 0.3 * _depth(path)


def _created_score(path: str, name: str, sub: dict[str, Any]) -> float:
    words = _words(name)
    if sub.get("properties") or "created" not in words or "by" in words:
        return 0
    return 2.0 + (0.5 if sub.get("format") == "date-time" else 0) - 0.5 * _depth(path)


def _role_score(path: str, name: str, sub: dict[str, Any]) -> float:
    if not _is_text(sub) or sub.get("type") == "integer":
        return 0
    return {"role": 2.0, "role_name": 1.8, "rolename": 1.8, "user_type": 1.0}.get(name.lower(), 0) - _depth(path)


def _fields(reader: _Reader, record: dict[str, Any], notes: list[DraftNote]) -> dict[str, str]:
    leaves = list(reader.leaves(record))
    mapped: dict[str, str] = {}

    for target, score, base_why in (
        ("id", _id_score, "the record's identifier"),
        ("email", _email_score, "an e-mail address"),
        ("name", _name_score, "the person's name"),
        ("active", _active_score, "whether the account is active"),
        ("last_activity", _activity_score, "the last sign-in or activity"),
        ("created_at", _created_score, "when the account was made"),
        ("role", _role_score, "the account's role"),
    ):
        best = _best_leaf(leaves, score)
        if best is None:
            if target in ("email", "last_activity", "id"):
                notes.append(
                    DraftNote(
                        field=f"users.fields.{target}",
                        guess=None,
                        confidence=0.0,
                        why=f"no property of the records looks like {base_why}"
                        + (
                            "; last activity may come from another endpoint (profile.activity)"
                            if target == "last_activity"
                            else ""
                        ),
                    )
                )
            continue
        path, best_score, runner_up = best
        guess = path
        sub = next(s for p, _, s in leaves if p == path)
        if target == "active" and sub.get("type") != "boolean":
            value = next((str(v) for v in sub.get("enum") or [] if str(v).lower() in ("active", "enabled")), None)
            guess = f"{path} == '{value}'" if value else path
        mapped[target] = guess
        notes.append(
            DraftNote(
                field=f"users.fields.{target}",
                guess=guess,
                confidence=_confidence(best_score, runner_up),
                why=f"{path!r} looks most like {base_why}"
                + (
                    f" (type {sub['type']}" + (f", format {sub['format']}" if sub.get("format") else "") + ")"
                    if sub.get("type")
                    else ""
                ),
            )
        )
    if "name" not in mapped:
        first = next(
            (p for p, n, s in leaves if _simple(n) in ("first_name", "firstname", "given_name", "givenname")), None
        )
        last = next(
            (p for p, n, s in leaves if _simple(n) in ("last_name", "lastname", "family_name", "familyname")), None
        )
        if first and last:
            mapped["name"] = f"join(' ', [{first}, {last}][?@ != null])"
            notes.append(
                DraftNote(
                    field="users.fields.name",
                    guess=mapped["name"],
                    confidence=0.6,
                    why=f"no name property: the first and last name {first!r} and {last!r} joined",
                )
            )
    return mapped


def _fill(template: str, list_path: str, values: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: values.get(m.group(1), m.group(0)), template)


REMOVAL_VERBS = {
    "deactivate": 3.2,
    "suspend": 2.8,
    "disable": 2.8,
    "removeuser": 2.9,
    "remove": 2.6,
    "revoke": 2.2,
    "unassign": 2.4,
}
OFF_VALUES = ("deactivate", "deactivated", "inactive", "disabled", "disable", "suspended", "suspend")


def _removal_body(reader: _Reader, schema: dict[str, Any], depth: int = 0) -> tuple[Any, bool]:
    """A body that says "this user, off": a user property gets {id}, a status its off value, `active` false.
    True when some property said it."""
    said = False
    body: dict[str, Any] = {}
    required = set(schema.get("required") or [])
    for name, raw in (schema.get("properties") or {}).items():
        sub = reader.schema(raw)
        lower = _simple(str(name))
        off = next((v for v in sub.get("enum") or [] if str(v).lower() in OFF_VALUES), None)
        if off is not None:
            body[name], said = off, True
        elif sub.get("type") == "boolean" and lower in ("active", "enabled", "is_active"):
            body[name], said = False, True
        elif lower in ("user", "user_id", "userid", "member", "member_id", "user_gid") and sub.get("type") != "object":
            body[name], said = "{id}", True
        elif lower == "email" and name in required:
            body[name] = "{email}"
        elif sub.get("properties") and depth < 3 and (name in required or lower in ("data", "action", "user")):
            inner, inner_said = _removal_body(reader, sub, depth + 1)
            if inner:
                body[name], said = inner, said or inner_said
    return body, said


def _removal(
    reader: _Reader, list_op: _Candidate, values: dict[str, str], notes: list[DraftNote]
) -> tuple[dict[str, Any] | None, str | None]:
    base = list_op.path.rstrip("/")
    parent = base.rsplit("/", 1)[0]
    scored: list[tuple[float, str, str, dict[str, Any] | None, str]] = []
    for path, raw_item in reader.document["paths"].items():
        item = reader.deref(raw_item)
        if not isinstance(item, dict):
            continue
        own = re.match(re.escape(base) + r"/\{([^}/]+)\}(/.*)?$", path) or _same_collection(base, path)
        sibling = path.startswith(parent + "/") and not own and path != base
        if not own and not sibling:
            continue
        for method in ("post", "delete", "patch", "put"):
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            rest = (own.group(2) or "") if own else path[len(parent) :]
            verbs = [w for w in _words(rest.replace("/", " ")) if not w.startswith("{")]
            verb = _simple(rest.strip("/").split("/")[-1]) if rest else ""
            body_schema = reader.request_body(operation, reader.parameters(item, operation))
            body, says = _removal_body(reader, body_schema)
            score, why = 0.0, ""
            if own and not rest and method == "delete":
                score, why = 2.5, f"DELETE on one user ({path})"
            elif verb.replace("_", "") in REMOVAL_VERBS and method == "post":
                score, why = REMOVAL_VERBS[verb.replace("_", "")], f"POST {path}: its last segment is {verb!r}"
            elif own and method in ("put", "patch") and says and ("status" in verbs or not rest):
                score, why = 2.7, f"{method.upper()} {path} with a body that switches the user off"
            if not score:
                continue
            user_param = own.group(1) if own else None
            if sibling and not (says and any(v == "{id}" for v in _flat(body))):
                continue  # a request beside the list that names no user cannot take one seat back
            values_here = {**values, **({user_param: "{id}"} if user_param else {})}
            filled = _fill(path, base, values_here)
            if _PARAM.findall(filled) != ["id"] * len(_PARAM.findall(filled)):
                continue  # a path parameter the draft cannot fill
            request: dict[str, Any] = {"method": method.upper(), "path": filled}
            if body and method != "delete":
                request["body"] = body
            scored.append((score, f"{method.upper()} {path}", why, request, path))
    if not scored:
        notes.append(
            DraftNote(
                field="reclaim",
                guess=None,
                confidence=0.0,
                why="no operation beside the list deletes, deactivates or suspends one user",
            )
        )
        return None, None
    scored.sort(key=lambda s: -s[0])
    best, runner = scored[0], scored[1][0] if len(scored) > 1 else 0.0
    others = "; then " + ", ".join(s[1] for s in scored[1:3]) if len(scored) > 1 else ""
    notes.append(
        DraftNote(field="reclaim", guess=best[3], confidence=_confidence(best[0], runner), why=best[2] + others)
    )
    return best[3], best[1]


# What a path parameter calls a person by their handle rather than a number (GitHub's {username} is the login).
HANDLE_PARAMS = {"username", "user_name", "login", "handle"}


def _id_as_the_removal_names_it(
    reader: _Reader, list_op: _Candidate, removal_op: str, fields: dict[str, str], notes: list[DraftNote]
) -> None:
    """The removal's {id} is filled from users.fields.id: where the removal names the user by a property of the
    record other than the one guessed as id (GitHub: DELETE .../members/{username}, the records' login), that
    property is the id, or the removal would be sent to the wrong address."""
    path = removal_op.split(" ", 1)[1]
    own = re.match(re.escape(list_op.path.rstrip("/")) + r"/\{([^}/]+)\}", path) or _same_collection(
        list_op.path.rstrip("/"), path
    )
    if not own:
        return
    param = _simple(own.group(1))
    top = {_simple(name): leaf for leaf, name, _ in reader.leaves(list_op.item) if "." not in leaf}
    named = top.get(param) or next((top[h] for h in ("login", "username") if h in top), None)
    if param not in HANDLE_PARAMS and param not in top:
        return
    if not named or named == fields.get("id"):
        return
    was = fields.get("id")
    fields["id"] = named
    notes[:] = [n for n in notes if n.field != "users.fields.id"]
    notes.append(
        DraftNote(
            field="users.fields.id",
            guess=named,
            confidence=0.8,
            why=f"{removal_op} names the user by {{{own.group(1)}}}: the records' {named!r}"
            + (f", not {was!r}, which would be sent there" if was else ""),
        )
    )


def _nouns(path: str) -> list[str]:
    return [s for s in path.strip("/").split("/") if s and not s.startswith("{") and not re.match(r"^v\d+", s)]


def _same_collection(base: str, path: str) -> re.Match[str] | None:
    """One user of the list under another spelling of its path: HubSpot lists /settings/users/v3 and deletes
    /settings/v3/users/{userId}: the same words, a version elsewhere."""
    match = re.match(r"^(.*)/\{([^}/]+)\}(/.*)?$", path)
    if not match or not _nouns(base) or _nouns(match.group(1)) != _nouns(base):
        return None
    # The same groups as an own path's match: the user's parameter, then what follows it.
    return re.match(r"^.*/\{(?P<p>[^}/]+)\}(?P<rest>/.*)?$", path)


def _flat(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _flat(value)
    else:
        yield node


def _base_url(document: dict[str, Any], notes: list[DraftNote]) -> str:
    if document.get("swagger"):
        scheme = (document.get("schemes") or ["https"])[0]
        host = document.get("host")
        url = f"{scheme}://{host}{document.get('basePath', '')}".rstrip("/") if host else ""
        if host:
            notes.append(
                DraftNote(field="base_url", guess=url, confidence=0.8, why="Swagger 2's schemes, host, basePath")
            )
    else:
        server: dict[str, Any] = next(iter(document.get("servers") or []), {}) or {}
        url = str(server.get("url", ""))
        variables = server.get("variables") or {}
        url = _PARAM.sub(lambda m: str((variables.get(m.group(1)) or {}).get("default", m.group(0))), url).rstrip("/")
        if url and urlsplit(url).scheme:
            said = f"the first of servers ({server.get('url')})"
            if variables:
                said += ": its variables at their defaults, " + ", ".join(variables) + " to be replaced by yours"
            notes.append(DraftNote(field="base_url", guess=url, confidence=0.5 if variables else 0.8, why=said))
        else:
            url = ""
    if not url:
        url = "https://app.example.com"
        notes.append(
            DraftNote(
                field="base_url",
                guess=url,
                confidence=0.0,
                why="the document names no absolute server URL: put the app's API address here",
            )
        )
    return url


STATIC_SCHEMES = ("api_key", "bearer", "basic")


def _auth(reader: _Reader, base_url: str, operations: list[dict[str, Any]], notes: list[DraftNote]) -> dict[str, Any]:
    document = reader.document
    schemes = {
        name: reader.deref(s)
        for name, s in (
            (document.get("components") or {}).get("securitySchemes") or document.get("securityDefinitions") or {}
        ).items()
    }
    wanted: dict[str, set[str]] = {}
    for operation in operations:
        for requirement in operation.get("security", document.get("security")) or [{name: [] for name in schemes}]:
            for name, scopes in (requirement or {}).items():
                wanted.setdefault(name, set()).update(scopes or [])
    options = []
    for name, requested in wanted.items():
        scheme = schemes.get(name) or {}
        kind, auth = scheme.get("type"), None
        if kind == "apiKey" and scheme.get("in") in ("header", "query"):
            auth = {"type": "api_key", "location": scheme["in"], "name": scheme.get("name", "X-API-Key")}
            prefix = re.search(r"Authorization:\s*([A-Za-z]+)\s+[{<$]", str(scheme.get("description", "")))
            if prefix and scheme.get("name", "").lower() == "authorization":
                auth["prefix"] = prefix.group(1) + " "
        elif kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
            auth = {"type": "bearer"}
        elif kind in ("http", "basic") and (kind == "basic" or str(scheme.get("scheme", "")).lower() == "basic"):
            auth = {"type": "basic"}
        elif kind == "oauth2":
            flows = scheme.get("flows") or {}
            code = flows.get("authorizationCode") or (scheme if scheme.get("flow") == "accessCode" else None)
            client = flows.get("clientCredentials") or (scheme if scheme.get("flow") == "application" else None)
            if code:
                auth = {
                    "type": "oauth2_authorization_code",
                    "authorize_url": urljoin(base_url + "/", str(code.get("authorizationUrl", ""))),
                    "token_url": urljoin(base_url + "/", str(code.get("tokenUrl", ""))),
                    "scopes": sorted(requested),
                }
            elif client:
                auth = {
                    "type": "oauth2_client_credentials",
                    "token_url": urljoin(base_url + "/", str(client.get("tokenUrl", ""))),
                    "scopes": sorted(requested),
                }
        if auth:
            options.append((name, auth))
    if not options:
        notes.append(
            DraftNote(
                field="auth",
                guess={"type": "bearer"},
                confidence=0.1,
                why="the document declares no security scheme the draft can use: a bearer token guessed",
            )
        )
        return {"type": "bearer"}
    # A static credential previews and connects without a person's grant: preferred where the app offers one.
    options.sort(key=lambda o: o[1]["type"] not in STATIC_SCHEMES)
    name, chosen = options[0]
    others = ", ".join(n for n, _ in options[1:])
    notes.append(
        DraftNote(
            field="auth",
            guess=chosen,
            confidence=0.8 if len(options) == 1 else 0.6,
            why=f"security scheme {name!r} of the operations" + (f" (also offered: {others})" if others else ""),
        )
    )
    return chosen


def _path_values(reader: _Reader, list_op: _Candidate, notes: list[DraftNote]) -> dict[str, str]:
    """A value for each path parameter of the list (an organization's id): the document's example, or a
    placeholder to replace."""
    values = {}
    by_name = {p["name"]: p for p in list_op.parameters if p.get("in") == "path"}
    for name in _PARAM.findall(list_op.path):
        parameter = by_name.get(name, {})
        sub = reader.param_schema(parameter) if parameter else {}
        example = parameter.get("example", sub.get("example", sub.get("default")))
        values[name] = str(example) if example not in (None, "") else f"your-{name}"
        notes.append(
            DraftNote(
                field="users.path",
                guess=values[name],
                confidence=0.2 if example else 0.0,
                why=f"the path parameter {name!r} ({str(parameter.get('description', '')).strip()[:120]}):"
                " put your own value in users.path and reclaim.path",
            )
        )
    return values


def draft_profile(document: dict[str, Any]) -> Draft:
    """A profile drafted from a parsed OpenAPI 3.x or Swagger 2.0 document (see parse_document)."""
    try:
        return _draft(document)
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            raise
        # A part of the document that is not what OpenAPI says it is (a string where a schema object should be):
        # the guesses read the document as OpenAPI describes it, and this one does not follow it.
        kind = type(exc).__name__
        raise NotAnApiDescription(f"the document does not follow OpenAPI's structure ({kind} reading it)") from None


def _draft(document: dict[str, Any]) -> Draft:
    reader = _Reader(document)
    notes: list[DraftNote] = []
    candidates = _list_candidates(reader)
    if not candidates:
        raise NotAnApiDescription("no GET operation of the document lists users, members or people")
    chosen = candidates[0]
    runner = candidates[1] if len(candidates) > 1 else None
    notes.append(
        DraftNote(
            field="users.path",
            guess=f"GET {chosen.path}",
            confidence=_confidence(chosen.score, runner.score if runner else 0),
            why="; ".join(chosen.why) + (f"; next best GET {runner.path} ({runner.score:g})" if runner else ""),
        )
    )
    notes.append(
        DraftNote(
            field="users.records_path",
            guess=chosen.records_path,
            confidence=0.85,
            why="the list of records in the answer"
            + (" (the answer is the list)" if chosen.records_path == "@" else ""),
        )
    )
    values = _path_values(reader, chosen, notes)
    base_url = _base_url(document, notes)
    pagination = _paging(reader, chosen, notes)
    fields = _fields(reader, chosen.item, notes)
    reclaim, removal_op = _removal(reader, chosen, values, notes)
    if removal_op:
        _id_as_the_removal_names_it(reader, chosen, removal_op, fields, notes)
    removal_operation = None
    if removal_op:
        method, path = removal_op.split(" ", 1)
        removal_operation = (reader.deref(document["paths"][path]) or {}).get(method.lower())
    auth = _auth(reader, base_url, [chosen.operation, *([removal_operation] if removal_operation else [])], notes)
    users: dict[str, Any] = {
        "path": _fill(chosen.path, chosen.path, values),
        "pagination": pagination,
        "records_path": chosen.records_path,
        "fields": fields or {"id": "id"},
    }
    if chosen.operation.get("x-draft-params"):
        users["params"] = chosen.operation.pop("x-draft-params")
    title = str((document.get("info") or {}).get("title") or "New app")[:120].strip() or "New app"
    profile: dict[str, Any] = {
        "name": title,
        "base_url": base_url,
        "auth": auth,
        "users": users,
        **({"reclaim": reclaim} if reclaim else {}),
        "subscription": {"licenses_purchased": 0},
    }
    notes.append(
        DraftNote(
            field="subscription.licenses_purchased",
            guess=0,
            confidence=0.0,
            why="what you bought is in your contract, not in the API's description",
        )
    )
    profile = _closest_valid(profile, notes)
    operations = {"users": f"GET {chosen.path}", **({"removal": removal_op} if removal_op else {})}
    return Draft(profile=profile, draft_notes=notes, operations=operations)


def _closest_valid(profile: dict[str, Any], notes: list[DraftNote]) -> dict[str, Any]:
    """The draft as a valid profile: a guess the model refuses is dropped, and the note says so."""
    for _ in range(6):
        try:
            Profile.model_validate(profile)
            return profile
        except ValidationError as exc:
            error = exc.errors()[0]
            loc = [str(part) for part in error["loc"]]
        place = ".".join(loc)
        if loc[:1] == ["reclaim"]:
            profile.pop("reclaim")
            dropped = "reclaim"
        elif loc[:2] == ["users", "pagination"]:
            profile["users"]["pagination"] = {"type": "none"}
            dropped = "users.pagination"
        elif loc[:2] == ["users", "fields"] and len(loc) > 2 and loc[2] != "id":
            profile["users"]["fields"].pop(loc[2], None)
            dropped = f"users.fields.{loc[2]}"
        else:
            raise NotAnApiDescription(f"the draft is not a valid profile at {place}: {error['msg']}")
        notes.append(
            DraftNote(
                field=dropped,
                guess=None,
                confidence=0.0,
                why=f"left out: the profile model refuses the guess at {place} ({error['msg']})",
            )
        )
    return profile
