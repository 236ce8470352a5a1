"""The HTTP API of seatkeeper. Every route but /health, /openapi.json, /oauth/callback, /keep, /slack/interactions
and /dashboard needs a JWT.

The OpenAPI document marks those public routes with `security: []`. A route module's router is
included on the first request to one of its paths (routes.module_for), so that a cold start imports
no route's models; /openapi.json includes them all.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext

import routes
from routes import errors
from routes.access import PUBLIC, admit_body, read_json_body
from routes.settings import settings

# No Powertools Tracer here: importing the X-Ray SDK costs more than boto3 itself at cold start.
# The template's `Tracing: Active` still traces every invocation.
logger = Logger()
# At cold start: a missing environment variable stops the function here, naming it.
settings()
# An answer that does not fit its own model is our fault: a 500 naming the fields, not Powertools'
# default of reporting it as the client's invalid request (422).
app = APIGatewayHttpResolver(
    enable_validation=True,
    response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR,
    json_body_deserializer=read_json_body,
)
errors.register(app)

# Route modules whose router the resolver holds; each is included when a request first needs it.
_included: set[str] = set()


def include_routes(*modules: str) -> None:
    for module in modules:
        if module not in _included:
            app.include_router(routes.router(module))
            _included.add(module)


@app.get("/health", summary="Ready to serve", tags=["service"], security=PUBLIC)
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    include_routes(*sorted(set(routes.MODULES.values())))
    schema = json.loads(
        app.get_openapi_json_schema(
            title="seatkeeper",
            version="0.1.0",
            summary="Track SaaS subscriptions and reclaim unused licenses",
            security_schemes={"jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            security=[{"jwt": []}],
        )
    )
    # Powertools writes a route's own security only when it is not empty, so the public routes say
    # [{}] ("no requirement" as one alternative); `security: []` is OpenAPI's plain "no token at all".
    for operations in schema["paths"].values():
        for operation in operations.values():
            if operation.get("security") == [{}]:
                operation["security"] = []
    # Powertools lists paths in the order their routers were included, which here is the order of the
    # requests this instance has served: sorted, the document is the same from every instance.
    schema["paths"] = dict(sorted(schema["paths"].items()))
    return Response(200, content_types.APPLICATION_JSON, json.dumps(schema, indent=2))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event, refusal = admit_body(event)
    if refusal:
        return refusal
    module = routes.module_for(APIGatewayProxyEventV2(event).path)
    if module:
        include_routes(module)
    return app.resolve(event, context)
