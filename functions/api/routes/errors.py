"""Domain errors to HTTP answers, in one place. Never echoes input values (they may be credentials).

The answers are plain JSON in the shape of answers.ErrorBody: these handlers are registered at cold
start, the models that document them are imported with the routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from routes.access import refusal_before_validation
from seatkeeper.core.errors import Conflict, Gone, InvalidInput, NotFound, SaaSRequestFailed, SaaSUnavailable

if TYPE_CHECKING:
    from routes.answers import ErrorBody

logger = Logger(child=True)


def _answer(status: int, message: str, detail: list[dict[str, Any]] | None = None) -> Response[ErrorBody]:
    body = {"statusCode": status, "message": message, "detail": detail}
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

    # A SaaS app or identity provider asked on the caller's behalf (discovery) failed: not the caller's fault.
    # The messages name hosts and status codes, never what was sent.
    @app.exception_handler([SaaSRequestFailed, SaaSUnavailable])
    def upstream_failed(exc: SaaSRequestFailed | SaaSUnavailable) -> Response[ErrorBody]:
        logger.warning("upstream failed", extra={"reason": str(exc)})
        return _answer(502, f"the identity provider did not answer as expected: {exc}")
