"""The local gateway hands claims to the function as API Gateway's JWT authorizer does."""

from __future__ import annotations

from werkzeug.test import EnvironBuilder

from seatkeeper_local.stack.gateway import Gateway
from seatkeeper_local.stack.template import HttpRoute


def test_claims_reach_the_function_as_the_strings_api_gateway_writes():
    # Given a verified token's claims, a list and a boolean among them
    claims = {
        "sub": "u-1",
        "exp": 1795861800,
        "email_verified": True,
        "cognito:groups": ["sam_viewer", "admin", "contractors,admin"],
        "nickname": None,
    }
    request = EnvironBuilder(path="/profiles", method="GET").get_request()
    # When the gateway builds the event
    event = Gateway.event(request, HttpRoute("GET", "/profiles", "ApiFunction", True), {}, claims)
    # Then every claim is a string: a list as its elements unescaped, space-separated, in brackets
    assert event["requestContext"]["authorizer"]["jwt"]["claims"] == {
        "sub": "u-1",
        "exp": "1795861800",
        "email_verified": "true",
        "cognito:groups": "[sam_viewer admin contractors,admin]",
    }
