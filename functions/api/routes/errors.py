"""Domain errors to HTTP answers, in one place. Never echoes input values (they may be credentials)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict

from routes.access import refusal_before_validation
from seatkeeper.errors import Conflict, Gone, InvalidInput, NotFound

logger = Logger(child=True)


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


def _answer(status: int, message: str, detail: list[dict[str, Any]] | None = None) -> Response[ErrorBody]:
    body = ErrorBody(statusCode=status, message=message, detail=detail and [FieldError(**e) for e in detail])
    return Response(status, content_types.APPLICATION_JSON, body)


def _safe(errors: Any) -> list[dict[str, Any]]:
    return [
        {"loc": list(e.get("loc", [])), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in errors
    ]


def register(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response[ErrorBody]:
        if refusal := refusal_before_validation(app):
            return _answer(403, refusal)
        return _answer(422, "the request is not valid", _safe(exc.errors()))

    @app.exception_handler(InvalidInput)
    def invalid_input(exc: InvalidInput) -> Response[ErrorBody]:
        return _answer(422, "the request is not valid", _safe(exc.errors))

    @app.exception_handler(NotFound)
    def not_found(exc: NotFound) -> Response[ErrorBody]:
        return _answer(404, str(exc))

    @app.exception_handler(Gone)
    def gone(exc: Gone) -> Response[ErrorBody]:
        return _answer(410, str(exc))

    @app.exception_handler(Conflict)
    def conflict(exc: Conflict) -> Response[ErrorBody]:
        logger.info("conflict", extra={"reason": str(exc)})
        return _answer(409, str(exc))


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
        422: "Invalid input, with the failing field paths",
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
