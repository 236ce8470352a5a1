"""Who may call what, and what may be sent: roles from the JWT's cognito:groups claim, body limits."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import ForbiddenError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

READ = frozenset({"admin", "sam_integrator", "sam_viewer"})
WRITE = frozenset({"admin", "sam_integrator"})
APPROVE = frozenset({"admin"})
MAX_BODY_BYTES = 256 * 1024


def caller_groups(app: APIGatewayHttpResolver) -> set[str]:
    """The caller's groups. API Gateway HTTP APIs pass a list claim as the text '[a b]'."""
    claims = app.current_event.request_context.authorizer.jwt_claim or {}
    groups = claims.get("cognito:groups") or []
    if isinstance(groups, str):
        groups = groups.strip("[]").replace(",", " ").split()
    return {str(g) for g in groups}


def caller(app: APIGatewayHttpResolver) -> str | None:
    return (app.current_event.request_context.authorizer.jwt_claim or {}).get("sub")


def _requires(roles: frozenset[str], what: str) -> Any:
    def check(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
        if not caller_groups(app) & roles:
            raise ForbiddenError(f"{what} needs one of the roles {', '.join(sorted(roles))}")
        return next_middleware(app)

    check.__name__ = f"requires_{what.replace(' ', '_')}"
    return check


readers = _requires(READ, "reading")
writers = _requires(WRITE, "changing")
approvers = _requires(APPROVE, "approving")


def _refusal(status: int, message: str, detail: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"statusCode": status, "message": message}
    if detail:
        body["detail"] = detail
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def admit_body(event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The event with its body as JSON text, or the answer that refuses the body.

    The API speaks only JSON, so every body is read as JSON whatever its Content-Type says:
    a form (curl -d), multipart or binary body gets a clear 413 or 422 here instead of
    reaching parsers for formats this API does not offer.
    """
    body = event.get("body")
    if not body:
        return event, None
    if len(body) > MAX_BODY_BYTES * (4 / 3 if event.get("isBase64Encoded") else 1):
        return event, _refusal(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
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
