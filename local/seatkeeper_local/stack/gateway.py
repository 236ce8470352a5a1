"""The local HTTP API: turns each request into the API Gateway v2 event the real API sends.

Routes and which of them need a JWT come from the HttpApi events in template.yaml. As API
Gateway's JWT authorizer does, a missing or bad token is a 401 before any function runs,
and claims reach the function as strings (a list claim as "[a b]", measured against real
HTTP APIs: see routes/access.py).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from typing import Any

import jwt
from werkzeug.wrappers import Request, Response

from seatkeeper_local.stack.functions import FunctionError, LocalFunctions
from seatkeeper_local.stack.template import ACCOUNT, HttpRoute
from seatkeeper_local.stack.tokens import verify

log = logging.getLogger("seatkeeper_local.gateway")
MAX_PAYLOAD = 10 * 1024 * 1024  # API Gateway HTTP API's payload limit
_TEXT_TYPES = re.compile(r"^(text/|application/(json|.*\+json|x-www-form-urlencoded|xml|javascript))")


def _path_pattern(path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{([A-Za-z0-9_]+)\\\+\\\}", r"(?P<\1>.+)", re.escape(path))
    pattern = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", pattern)
    return re.compile(f"{pattern}\\Z", re.DOTALL)  # any character, newlines included, as API Gateway matches


def _claims_as_api_gateway_passes_them(claims: dict[str, Any]) -> dict[str, str]:
    return {name: _claim_as_text(value) for name, value in claims.items() if value is not None}


def _claim_as_text(value: Any) -> str:
    """As API Gateway's JWT authorizer writes a claim: a list as its elements unescaped, spaced, in brackets."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_claim_as_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class Gateway:
    def __init__(self, routes: list[HttpRoute], functions: LocalFunctions, jwt_secret: str) -> None:
        # API Gateway picks the most specific route: exact paths before greedy ones.
        self.routes = sorted(routes, key=lambda r: ("+}" in r.path, r.path == "$default", r.method == "ANY"))
        self.patterns = {r.route_key: _path_pattern(r.path) for r in routes if r.path != "$default"}
        self.functions = functions
        self.jwt_secret = jwt_secret

    def match(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for route in self.routes:
            if route.method not in ("ANY", method):
                continue
            if route.path == "$default":
                return route, {}
            found = self.patterns[route.route_key].match(path)
            if found:
                return route, found.groupdict()
        return None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        started = time.perf_counter()
        response = self.answer(request)
        # The path alone: a query string can carry secrets (the OAuth callback's code and state).
        fields = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000),
        }
        log.info("%(method)s %(path)s %(status)s %(ms)d ms", fields, extra={"fields": fields})
        return response(environ, start_response)

    def answer(self, request: Request) -> Response:
        if request.content_length and request.content_length > MAX_PAYLOAD:
            return _json(413, {"message": "Request Entity Too Large"})
        matched = self.match(request.method, request.path)
        if matched is None:
            return _json(404, {"message": "Not Found"})
        route, path_parameters = matched
        claims: dict[str, Any] | None = None
        if route.authorized:
            header = request.headers.get("Authorization", "")
            token = header[7:].strip() if header.lower().startswith("bearer ") else header.strip()
            try:
                claims = verify(self.jwt_secret, token) if token else None
            except jwt.InvalidTokenError:
                claims = None
            if claims is None:
                return _json(401, {"message": "Unauthorized"}, {"www-authenticate": 'Bearer error="invalid_token"'})
        event = self.event(request, route, path_parameters, claims)
        try:
            result = self.functions.invoke(route.function, event)
        except FunctionError as exc:
            log.error("function %s failed: %s\n%s", route.function, exc, "".join(exc.trace))
            return _json(500, {"message": "Internal Server Error"})
        return _response(result)

    @staticmethod
    def event(
        request: Request, route: HttpRoute, path_parameters: dict[str, str], claims: dict[str, Any] | None
    ) -> dict[str, Any]:
        raw = request.get_data()
        is_text = not raw or _TEXT_TYPES.match(request.content_type or "application/json") is not None
        try:
            body: str | None = raw.decode() if is_text else None
        except UnicodeDecodeError:
            body = None
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        # As API Gateway adds them, for the function to know how it was reached.
        headers.setdefault("x-forwarded-proto", request.scheme)
        headers.setdefault("x-forwarded-for", request.remote_addr or "127.0.0.1")
        query: dict[str, str] = {k: ",".join(request.args.getlist(k)) for k in request.args}
        now = time.time()
        context: dict[str, Any] = {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": request.host,
            "domainPrefix": "local",
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.user_agent.string,
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        }
        if claims is not None:
            context["authorizer"] = {"jwt": {"claims": _claims_as_api_gateway_passes_them(claims), "scopes": None}}
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": request.path,
            "rawQueryString": request.query_string.decode(),
            "headers": headers,
            "requestContext": context,
            "isBase64Encoded": body is None and bool(raw),
        }
        if request.cookies:
            event["cookies"] = [f"{k}={v}" for k, v in request.cookies.items()]
        if query:
            event["queryStringParameters"] = query
        if path_parameters:
            event["pathParameters"] = path_parameters
        if raw:
            event["body"] = body if body is not None else base64.b64encode(raw).decode()
        return event


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def _response(result: Any) -> Response:
    if not isinstance(result, dict) or "statusCode" not in result:
        # HTTP API's payload format 2.0 treats any other return value as a 200 JSON body.
        return Response(json.dumps(result), status=200, content_type="application/json")
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = Response(data, status=int(result["statusCode"]))
    for key, value in (result.get("headers") or {}).items():
        response.headers[key] = str(value)
    for key, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(key, str(value))
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response
