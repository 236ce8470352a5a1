"""The HTTP API of seatkeeper. Every route but /health, /openapi.json, /oauth/callback and /dashboard needs a JWT."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from routes import connections, dashboard, errors, oauth, profiles, reclamations, reconciliations, sync, templates
from routes.access import admit_body, read_json_body
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
app.include_router(templates.router)
app.include_router(profiles.router)
app.include_router(connections.router)
app.include_router(oauth.router)
app.include_router(sync.router)
app.include_router(reconciliations.router)
app.include_router(reclamations.router)
app.include_router(dashboard.router)
errors.register(app)


@app.get("/health", summary="Ready to serve", tags=["service"])
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    schema = app.get_openapi_json_schema(
        title="seatkeeper",
        version="0.1.0",
        summary="Track SaaS subscriptions and reclaim unused licenses",
        security_schemes={"jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        security=[{"jwt": []}],
    )
    return Response(200, content_types.APPLICATION_JSON, schema)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event, refusal = admit_body(event)
    return refusal or app.resolve(event, context)
