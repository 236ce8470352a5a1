"""Who may call what: roles from the JWT's cognito:groups claim, and the request size limit."""

from __future__ import annotations

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


def body_too_large(event: dict[str, Any]) -> dict[str, Any] | None:
    body = event.get("body") or ""
    if len(body) <= MAX_BODY_BYTES * (4 / 3 if event.get("isBase64Encoded") else 1):
        return None
    return {
        "statusCode": 413,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"statusCode": 413, "message": f"the body is larger than {MAX_BODY_BYTES} bytes"}),
    }
