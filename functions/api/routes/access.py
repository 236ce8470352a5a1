"""Who may call what, and what may be sent: roles from the JWT's cognito:groups claim, body limits."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import ForbiddenError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

READ = frozenset({"admin", "sam_integrator", "sam_viewer"})
WRITE = frozenset({"admin", "sam_integrator"})
APPROVE = frozenset({"admin"})
# Public routes: Powertools' way to say "no token needed"; the OpenAPI document writes it as `security: []`.
PUBLIC: list[dict[str, list[str]]] = [{}]
MAX_BODY_BYTES = 256 * 1024
MAX_NESTING = 64  # levels of objects and arrays; a profile needs fewer than ten
MAX_NUMBER_LENGTH = 100  # characters of one JSON number; no figure seatkeeper keeps is longer
# Routes that read their body as it came, in its own format: Slack signs the form-encoded bytes it sends.
RAW_BODY_PATHS = frozenset({"/slack/interactions"})
# Routes that take a document in its own format (JSON or YAML) and a larger one than any profile: a vendor's API
# description. Lambda takes at most 6 MB per synchronous invocation, the whole event included: 5 MB of text fit.
DOCUMENT_PATHS = {"/profiles/draft": 5 * 1024 * 1024}
# In a name inside API Gateway's "[a b]" form, any of these could hide a second name.
_AMBIGUOUS = re.compile(r"[\s\[\],]")
# Paths that change state without a JWT. A cross-site form may post text/plain, urlencoded or multipart
# bodies there with no CORS preflight, so these decide only on a body sent as application/json.
JSON_ONLY_WITHOUT_TOKEN = ("/keep/",)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def caller_groups(app: APIGatewayHttpResolver | Router) -> frozenset[str]:
    """The caller's groups as whole names; none at all when the names cannot be told apart.

    API Gateway's JWT authorizer hands a list claim over as one string: its elements as they
    are, joined by single spaces, in brackets (`["sam_viewer", "admin"]` arrives as
    `"[sam_viewer admin]"`), with nothing escaped. A name holding a space, a bracket or a comma
    could have been split differently there, so a claim with one grants nothing; and a name
    made of two words reads like two names, so the list the token itself carries (in the
    Authorization header the authorizer has just verified) must be the same list, name for name.
    """
    event = app.current_event
    handed_over = _names(event.request_context.authorizer.jwt_claim.get("cognito:groups"))
    header = event.headers.get("authorization")
    if handed_over is None or (header is not None and _names_in_token(header) != handed_over):
        return frozenset()
    return frozenset(handed_over)


def _names(claim: Any) -> tuple[str, ...] | None:
    """The group names of a cognito:groups claim in either form it reaches us, or None if ambiguous."""
    if claim is None:
        return ()
    if isinstance(claim, list):
        return tuple(claim) if all(isinstance(name, str) and name for name in claim) else None
    if not isinstance(claim, str) or not (claim.startswith("[") and claim.endswith("]")):
        return None
    if claim == "[]":
        return ()
    names = tuple(claim[1:-1].split(" "))
    if any(not name or _AMBIGUOUS.search(name) for name in names):
        return None
    return names


def _names_in_token(header: str) -> tuple[str, ...] | None:
    """The cognito:groups list inside the bearer token; only ever used to refuse, never to grant."""
    token = header.removeprefix("Bearer ").removeprefix("bearer ").strip()
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        groups = claims.get("cognito:groups")
    except (IndexError, ValueError, AttributeError):
        return None
    return _names(groups) if groups is None or isinstance(groups, list) else None


def caller(app: APIGatewayHttpResolver) -> str | None:
    return app.current_event.request_context.authorizer.jwt_claim.get("sub")


class RoleCheck:
    """A route's middleware that refuses callers without one of its roles."""

    def __init__(self, roles: frozenset[str], what: str) -> None:
        self.roles = roles
        self.__name__ = f"requires_{what.replace(' ', '_')}"
        self.refusal = f"{what} needs one of the roles {', '.join(sorted(roles))}"

    def allows(self, app: APIGatewayHttpResolver | Router) -> bool:
        return bool(caller_groups(app) & self.roles)

    def __call__(self, app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        if not self.allows(app):
            raise ForbiddenError(self.refusal)
        return next_middleware(app)


def refusal_before_validation(app: APIGatewayHttpResolver) -> str | None:
    """Why the matched route refuses this caller, if it does.

    Powertools validates a request before any middleware of its route runs (the order is
    request validation, then the app's and the route's middlewares: aws-powertools
    powertools-lambda-python PR #7050, discussion #4656). Without this, a caller without
    the role would learn from 422s what the route accepts; with it, they get the 403 first.
    """
    route = app.context.get("_route")  # the matched route, as Powertools' own validation reads it
    for check in getattr(route, "middlewares", None) or []:
        if isinstance(check, RoleCheck) and not check.allows(app):
            return check.refusal
    return None


readers = RoleCheck(READ, "reading")
writers = RoleCheck(WRITE, "changing")
approvers = RoleCheck(APPROVE, "approving")
# What was sent to whom names people's addresses: admins only.
admins = RoleCheck(APPROVE, "reading deliveries")


def _refusal(status: int, message: str, detail: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"statusCode": status, "message": message}
    if detail:
        body["detail"] = detail
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def admit_body(event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The event with its body as JSON text, or the answer that refuses the body.

    The API speaks only JSON, so every body is read as JSON whatever its Content-Type says:
    a form (curl -d), multipart or binary body gets a clear 413 or 422 here instead of
    reaching parsers for formats this API does not offer. What the JSON may hold is bounded
    where it is parsed, by `read_json_body`, once the route has checked the caller's role. Only
    RAW_BODY_PATHS keep their body as it came (within the size limit), for the route to check a
    signature over the very bytes that were signed.
    """
    refusal = _media_type_refusal(event)
    if refusal:
        return event, refusal
    body = event.get("body")
    if not body:
        return event, None
    limit = DOCUMENT_PATHS.get(str(event.get("rawPath")), MAX_BODY_BYTES)
    if len(body) > limit * (4 / 3 if event.get("isBase64Encoded") else 1):
        more = " (a larger document: `seatkeeper profile draft --openapi FILE` drafts on your machine)"
        return event, _refusal(
            413, f"the body is larger than {limit} bytes" + (more if limit != MAX_BODY_BYTES else "")
        )
    if event.get("rawPath") in RAW_BODY_PATHS or event.get("rawPath") in DOCUMENT_PATHS:
        return event, None
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return event, _refusal(
                422,
                "the request is not valid",
                [{"loc": ["body"], "msg": "the body is not UTF-8 JSON", "type": "json_invalid"}],
            )
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "content-type"}
    return {
        **event,
        "body": body,
        "isBase64Encoded": False,
        "headers": {**headers, "content-type": "application/json"},
    }, None


def _media_type_refusal(event: dict[str, Any]) -> dict[str, Any] | None:
    """A 415 for a state-changing request to a tokenless path whose body a cross-site form could have sent."""
    http = (event.get("requestContext") or {}).get("http") or {}
    path = http.get("path") or event.get("rawPath") or ""
    if str(http.get("method", "")).upper() in SAFE_METHODS or not path.startswith(JSON_ONLY_WITHOUT_TOKEN):
        return None
    declared = next((v for k, v in (event.get("headers") or {}).items() if k.lower() == "content-type"), "")
    if str(declared).split(";", 1)[0].strip().lower() != "application/json":
        return _refusal(415, "this link decides only on a body sent as application/json")
    return None


def read_json_body(text: str) -> Any:
    """A request body parsed as JSON, within bounds that no profile comes near.

    Python's parser would otherwise turn hostile bodies into 500s (RecursionError from
    nesting thousands deep, ValueError from a number of thousands of digits) or accept
    NaN and Infinity, which are not JSON; here each is a 422 saying why.
    """
    try:
        body = json.loads(text, parse_int=_bounded(int), parse_float=_bounded(float), parse_constant=_not_json)
    except RecursionError:
        raise _refused(f"nested deeper than {MAX_NESTING} levels", "too_deep") from None
    if _nesting(body) > MAX_NESTING:
        raise _refused(f"nested deeper than {MAX_NESTING} levels", "too_deep")
    return body


def _refused(message: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ["body"], "msg": message, "type": kind}])


def _bounded(kind: type[int] | type[float]) -> Any:
    def parse(number: str) -> int | float:
        if len(number) > MAX_NUMBER_LENGTH:
            raise _refused(f"a number longer than {MAX_NUMBER_LENGTH} characters", "number_too_long")
        value = kind(number)
        if not math.isfinite(value):
            raise _refused("a number too large to hold", "number_too_large")
        return value

    return parse


def _not_json(constant: str) -> Any:
    raise _refused(f"{constant} is not a JSON value", "json_invalid")


def _nesting(value: Any) -> int:
    """How many levels of objects and arrays `value` has; stops counting past MAX_NESTING."""
    deepest, pending = 0, [(value, 1)]
    while pending and deepest <= MAX_NESTING:
        item, level = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, level)
            pending.extend((child, level + 1) for child in children)
    return deepest
