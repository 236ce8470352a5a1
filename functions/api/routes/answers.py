"""What the routes document they answer: the error body's schema and each route's table of answers."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel, ConfigDict

# A text answer (a page, a script, a style sheet) as the OpenAPI document describes its content.
TEXT = {"schema": {"type": "string"}}


class FieldError(BaseModel):
    model_config = ConfigDict(defer_build=True)

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    model_config = ConfigDict(defer_build=True)

    statusCode: int
    message: str
    detail: list[FieldError] | None = None


class GatewayError(BaseModel):
    """What API Gateway itself answers, before any function runs (e.g. a rejected JWT)."""

    model_config = ConfigDict(defer_build=True)

    message: str


ERROR_RESPONSES: dict[int | str, Any] = {
    401: {
        "description": "No token, or a bad one (answered by API Gateway)",
        "content": {"application/json": {"model": GatewayError}},
    },
} | {
    status: {"description": text, "content": {"application/json": {"model": ErrorBody}}}
    for status, text in {
        403: "The caller's role may not do this",
        404: "Unknown id",
        409: "Conflicts with the current state",
        410: "No longer usable (a keep link used already or past its deadline)",
        413: "The body is too large",
        415: "The body is not sent as application/json (a keep link decides only on JSON)",
        422: "Invalid input, with the failing field paths",
        502: "The identity provider or app asked on the caller's behalf failed",
    }.items()
}


def responses(success: tuple[int, Any], *statuses: int) -> dict[int | str, Any]:
    """The documented answers of a route: its success (status, model or None) and its errors."""
    status, model = success
    ok: dict[str, Any] = {"description": "OK"}
    if model is not None:
        ok["content"] = {"application/json": {"model": model}}
    return {status: ok} | {s: ERROR_RESPONSES[s] for s in (401, 403, *statuses)}


def csv_responses(*statuses: int) -> dict[int | str, Any]:
    """The documented answers of a route that downloads CSV."""
    ok = {"description": "CSV (RFC 4180), cells that a spreadsheet would run as formulas escaped with a leading '"}
    return responses((200, None), *statuses) | {200: ok | {"content": {"text/csv": {"schema": {"type": "string"}}}}}


def csv_download(body: str, filename: str) -> Response[str]:
    return Response(
        200,
        "text/csv; charset=utf-8",
        body,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
