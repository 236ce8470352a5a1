"""GET /dashboard: the SaaS overview dashboard, a page and two files served by the API itself.

One origin for the page and the API: no CORS, and the same route works on the local stack
and in AWS. The page is public; it signs in (Cognito's hosted UI, code flow with PKCE, in
AWS; a token in the link locally) and reads every figure from the routes that need the JWT.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from routes.access import PUBLIC
from routes.answers import TEXT, ErrorBody
from routes.settings import settings
from seatkeeper.profiles.model import AUTH_CREDENTIAL_FIELDS

router = Router()
FILES = Path(__file__).resolve().parent.parent / "dashboard"
TYPES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}


def sign_in() -> dict[str, str] | None:
    """Where the page signs people in, when the stack has a Cognito hosted UI (not on the local stack)."""
    base, client_id = settings().dashboard_sign_in_url, settings().dashboard_client_id
    if base is None or client_id is None:
        return None
    return {
        "authorize_url": f"{base}/oauth2/authorize",
        "token_url": f"{base}/oauth2/token",
        "logout_url": f"{base}/logout",
        "client_id": client_id,
    }


def _headers(content_type: str, *, cache_control: str) -> dict[str, str]:
    # The page may talk to its own API and, to swap a sign-in code for tokens, to the hosted UI.
    hosted_ui = settings().dashboard_sign_in_url if sign_in() else None
    connect = " ".join(["'self'", hosted_ui] if hosted_ui else ["'self'"])
    return {
        "Content-Type": content_type,
        "Cache-Control": cache_control,
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src {connect}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


@cache
def _read(name: str) -> str:
    return (FILES / name).read_text(encoding="utf-8")


@router.get(
    "/dashboard",
    summary="The SaaS overview dashboard (a page; its figures come from the routes that need a token)",
    tags=["dashboard"],
    security=PUBLIC,
    responses={200: {"description": "The page", "content": {"text/html": TEXT}}},
)
def page() -> Response[str]:
    return Response(
        200, TYPES["index.html"], _read("index.html"), headers=_headers(TYPES["index.html"], cache_control="no-store")
    )


@router.get(
    "/dashboard/<file>",
    summary="The dashboard's script, style sheet and configuration (app.js, app.css, config.json)",
    tags=["dashboard"],
    security=PUBLIC,
    responses={
        200: {
            "description": "The file",
            "content": {"text/javascript": TEXT, "text/css": TEXT, "application/json": {"schema": {"type": "object"}}},
        },
        404: {"description": "No such file", "content": {"application/json": {"model": ErrorBody}}},
    },
)
def file(file: str) -> Response[str]:
    if file == "config.json":
        # The credential values each auth type takes, for the connect form: the API's own list.
        body = json.dumps({"sign_in": sign_in(), "credential_fields": AUTH_CREDENTIAL_FIELDS})
        return Response(200, "application/json", body, headers=_headers("application/json", cache_control="no-store"))
    if file not in TYPES or file == "index.html":
        raise NotFoundError(f"the dashboard has no file {file}")
    # Revalidated on every load: a deploy changes them, and they are small.
    return Response(200, TYPES[file], _read(file), headers=_headers(TYPES[file], cache_control="no-cache"))
