"""CloudFormation custom resource: turn on the dashboard client's hosted-UI sign-in.

The callback URL is the API's own /dashboard, and the API's JWT authorizer names the client,
so the client cannot be given the URL when it is created (a circular dependency). This sets
the OAuth settings once both exist. It reads the client first and sends every setting back:
UpdateUserPoolClient resets whatever it is not given.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seatkeeper.aws.clients import aws_client

logger = Logger()

# What UpdateUserPoolClient accepts, of what DescribeUserPoolClient returns.
KEPT = (
    "ClientName",
    "RefreshTokenValidity",
    "AccessTokenValidity",
    "IdTokenValidity",
    "TokenValidityUnits",
    "ReadAttributes",
    "WriteAttributes",
    "ExplicitAuthFlows",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "EnablePropagateAdditionalUserContextData",
    "AuthSessionValidity",
)


class ResponseNotDelivered(RuntimeError):
    """CloudFormation's response URL did not take the answer: the stack will time out and say so."""


def sign_in_settings(dashboard_url: str) -> dict[str, Any]:
    return {
        "CallbackURLs": [dashboard_url],
        "LogoutURLs": [dashboard_url],
        "AllowedOAuthFlows": ["code"],
        "AllowedOAuthScopes": ["openid", "email", "profile"],
        "AllowedOAuthFlowsUserPoolClient": True,
        "SupportedIdentityProviders": ["COGNITO"],
    }


def turn_on_sign_in(cognito: Any, user_pool_id: str, client_id: str, dashboard_url: str) -> None:
    current = cognito.describe_user_pool_client(UserPoolId=user_pool_id, ClientId=client_id)["UserPoolClient"]
    kept = {k: current[k] for k in KEPT if k in current}
    cognito.update_user_pool_client(
        UserPoolId=user_pool_id, ClientId=client_id, **kept, **sign_in_settings(dashboard_url)
    )


def respond(event: dict[str, Any], status: str, reason: str, data: dict[str, str]) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": event.get("PhysicalResourceId") or f"{event['LogicalResourceId']}-sign-in",
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    url = str(event["ResponseURL"])
    if not url.startswith(("https://", "http://")):
        raise ResponseNotDelivered("CloudFormation's response URL is not an HTTP URL")
    # The response URL is a presigned S3 URL; it wants an empty content type.
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:  # noqa: S310 - scheme checked above
            answer.read()
    except OSError as exc:
        raise ResponseNotDelivered(f"CloudFormation's response URL did not take the answer: {exc}") from None


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    properties = event.get("ResourceProperties", {})
    url = str(properties.get("DashboardUrl", ""))
    logger.info("dashboard sign-in", extra={"request_type": event.get("RequestType"), "dashboard_url": url})
    if event.get("RequestType") == "Delete":
        # The client goes with the stack; leaving its settings alone keeps a rollback harmless.
        respond(event, "SUCCESS", "nothing to undo", {"DashboardUrl": url})
        return
    try:
        turn_on_sign_in(aws_client("cognito-idp"), properties["UserPoolId"], properties["ClientId"], url)
    # Every failure must reach CloudFormation, or the stack waits for an hour.
    except Exception as exc:
        logger.exception("could not set the dashboard's sign-in")
        respond(event, "FAILED", f"could not set the dashboard's sign-in: {exc}", {})
        return
    respond(event, "SUCCESS", "sign-in set", {"DashboardUrl": url})
