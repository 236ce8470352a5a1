"""The deploy-time step that turns on the dashboard's hosted-UI sign-in, on moto's Cognito."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import boto3
import pytest

from seatkeeper_local.fakes.serving import serving


class CloudFormationResponses(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_PUT(self) -> None:
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def response_url() -> Iterator[tuple[str, list[dict]]]:
    CloudFormationResponses.received = []
    with serving(CloudFormationResponses) as server:
        yield f"http://127.0.0.1:{server.server_port}/response", CloudFormationResponses.received


def custom_resource_event(kind: str, url: str, properties: dict) -> dict:
    return {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/seatkeeper/1",
        "RequestId": "r1",
        "LogicalResourceId": "DashboardSignIn",
        "ResourceType": "Custom::DashboardSignIn",
        "ResourceProperties": properties,
    }


def test_the_dashboard_client_gets_the_code_flow_with_its_callback_and_keeps_its_other_settings(stack, response_url):
    url, received = response_url
    cognito = boto3.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="dashboard-test")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool,
        ClientName="seatkeeper-dashboard",
        ExplicitAuthFlows=["ALLOW_REFRESH_TOKEN_AUTH"],
        AccessTokenValidity=1,
        TokenValidityUnits={"AccessToken": "hours"},
    )["UserPoolClient"]["ClientId"]
    dashboard = "https://api.example.com/dashboard"

    stack.functions.invoke(
        "DashboardSignInFunction",
        custom_resource_event("Create", url, {"UserPoolId": pool, "ClientId": client, "DashboardUrl": dashboard}),
    )

    settings = cognito.describe_user_pool_client(UserPoolId=pool, ClientId=client)["UserPoolClient"]
    assert settings["CallbackURLs"] == [dashboard] and settings["AllowedOAuthFlows"] == ["code"]
    assert settings["AllowedOAuthFlowsUserPoolClient"] is True
    assert set(settings["AllowedOAuthScopes"]) == {"openid", "email", "profile"}
    assert (settings["ClientName"], settings["ExplicitAuthFlows"]) == (
        "seatkeeper-dashboard",
        ["ALLOW_REFRESH_TOKEN_AUTH"],
    )
    assert settings["AccessTokenValidity"] == 1
    [answer] = received
    assert (answer["Status"], answer["Data"], answer["RequestId"]) == ("SUCCESS", {"DashboardUrl": dashboard}, "r1")


def test_a_failure_is_reported_to_cloudformation_instead_of_leaving_the_stack_waiting(stack, response_url):
    url, received = response_url
    event = custom_resource_event(
        "Update", url, {"UserPoolId": "us-east-1_nothere00", "ClientId": "nothere", "DashboardUrl": "https://x/d"}
    )
    event["PhysicalResourceId"] = "DashboardSignIn-sign-in"
    stack.functions.invoke("DashboardSignInFunction", event)
    [answer] = received
    assert answer["Status"] == "FAILED" and "could not set the dashboard's sign-in" in answer["Reason"]
    assert answer["PhysicalResourceId"] == "DashboardSignIn-sign-in"


def test_deleting_leaves_the_client_alone_and_answers(stack, response_url):
    url, received = response_url
    stack.functions.invoke(
        "DashboardSignInFunction",
        custom_resource_event("Delete", url, {"UserPoolId": "p", "ClientId": "c", "DashboardUrl": "https://x/d"}),
    )
    assert received[0]["Status"] == "SUCCESS"
