"""What the connection tests look at: moto's DynamoDB, Secrets Manager and Step Functions, directly."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from typing import Any

import boto3
import requests


def leftovers(stack, profile_id: str) -> dict[str, Any]:
    """Every connection item and secret of the profile that still exists."""
    table = stack.template.physical_name("Table")
    items = boto3.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"PROFILE#{profile_id}"}},
    )["Items"]
    secrets = [
        s["Name"]
        for s in boto3.client("secretsmanager").list_secrets(
            Filters=[{"Key": "name", "Values": [f"seatkeeper/{profile_id}/"]}]
        )["SecretList"]
    ]
    return {
        "items": sorted(i["sk"]["S"] for i in items if i["sk"]["S"] not in ("PROFILE", "CONNECTION_FAILURE")),
        "secrets": secrets,
    }


def wait_for(client, profile_id: str, statuses: set[str], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"/profiles/{profile_id}/connection")
        if answer.status_code == 200 and answer.json()["status"] in statuses:
            return answer.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"connection stayed {answer.status_code} {answer.text}")
        time.sleep(0.1)


def executions_text(profile_id: str) -> str:
    """Input, output and history of every saga execution for the profile, as one text."""
    sfn = boto3.client("stepfunctions")
    texts = []
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if profile_id not in described.get("input", ""):
                continue
            history = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
            texts.append(json.dumps([described, history], default=str))
    return "\n".join(texts)


def table_text(stack) -> str:
    """Every item of the table as text, gzipped documents unpacked: nothing stored hides from a search."""
    table = stack.template.physical_name("Table")

    def readable(value: object) -> str:
        if isinstance(value, bytes):
            return gzip.decompress(value).decode() if value[:2] == b"\x1f\x8b" else value.decode("latin-1")
        raise TypeError(type(value))

    return json.dumps(boto3.client("dynamodb").scan(TableName=table)["Items"], default=readable)


def make_profile(client, **fields: Any) -> dict[str, Any]:
    body = {
        "name": f"Conn {uuid.uuid4().hex[:8]}",
        "template": "scim2",
        "subscription": {"licenses_purchased": 10, "cost_per_license": 3},
        **fields,
    }
    answer = client.post("/profiles", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def connect_at_certified_provider(
    client, stack, provider, *, client_auth: str, client_secret: str, callback: Any = None, **fields: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Connect a new OAuth profile (with these fields, `base_url` first) through the saga at
    oidc-provider, whose client ids are the client authentication methods' names; the profile
    and its connection as it ended. `callback(url)` may change the provider's answer on its
    way back to seatkeeper."""
    from tests.oidc_provider import sign_in_and_consent

    profile = make_profile(
        client,
        **fields,
        auth={
            "type": "oauth2_authorization_code",
            "authorize_url": provider.authorize_url,
            "token_url": provider.token_url,
            # offline_access, granted on a consent screen, is what earns a refresh token there.
            "scopes": ["openid", "offline_access"],
            "authorize_params": {"prompt": "consent"},
            "issuer": provider.issuer,
            "client_auth": client_auth,
        },
    )
    answer = client.post(
        f"/profiles/{profile['id']}/connection", json={"client_id": client_auth, "client_secret": client_secret}
    )
    assert answer.status_code == 202, answer.text
    view = wait_for(client, profile["id"], {"awaiting_grant", "failed"})
    assert view["status"] == "awaiting_grant", view
    back = sign_in_and_consent(view["authorize_url"], f"{stack.url}/oauth/callback")
    requests.get(callback(back) if callback else back, timeout=30)
    return profile, wait_for(client, profile["id"], {"connected", "failed"})
