"""Fault injection: each step of the create-connection saga fails in turn, after the steps before it
succeeded; afterwards nothing of the attempt remains, and the failure is reported.

Faults are injected where AWS would raise them: moto's DynamoDB backend, which the local stack runs
in this process, refuses the one write that the step makes.
"""

from __future__ import annotations

import boto3
import pytest
import requests
from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models import DynamoDBBackend

from tests.integration.connection_checks import leftovers, make_profile, wait_for


def refuse(monkeypatch, operation: str, when) -> list[str]:
    """Make moto's DynamoDB refuse `operation` for the items `when(args)` picks; what it refused."""
    refused: list[str] = []
    original = getattr(DynamoDBBackend, operation)

    def failing(self, table_name, *args, **kwargs):
        target = kwargs.get("item_attrs") or kwargs.get("key") or (args[0] if args else {})
        if when(target, kwargs):
            refused.append(f"{target.get('pk', {}).get('S')}/{target.get('sk', {}).get('S')}")
            raise MockValidationException("injected fault")
        return original(self, table_name, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, operation, failing)
    return refused


def sk_is(name):
    return lambda target, kwargs: target.get("sk", {}).get("S") == name


def grant(view):
    browser = requests.Session()
    browser.get(view["authorize_url"], timeout=10)
    back = browser.post(view["authorize_url"], data={"sub": "bob"}, allow_redirects=False, timeout=10)
    return requests.get(back.headers["Location"], timeout=30)


@pytest.mark.parametrize("step", ["ClaimConnectionRecord", "CreateCredentialRecord", "MarkConnected"])
def test_a_failing_step_of_a_token_connection_leaves_nothing(api, stack, scim, monkeypatch, step):
    integrator = api("sam_integrator")
    profile = make_profile(integrator, base_url=scim.url)
    refused = refuse(
        monkeypatch,
        *{
            "ClaimConnectionRecord": (
                "update_item",
                lambda t, kw: (
                    t.get("sk", {}).get("S") == "CONNECTION"
                    and ":execution" in str(kw.get("expression_attribute_values"))
                ),
            ),
            "CreateCredentialRecord": ("put_item", sk_is("CREDENTIAL")),
            "MarkConnected": (
                "update_item",
                lambda t, kw: (
                    t.get("sk", {}).get("S") == "CONNECTION"
                    and "connected" in str(kw.get("expression_attribute_values"))
                ),
            ),
        }[step],
    )

    assert integrator.post(f"/profiles/{profile['id']}/connection", json={"token": scim.token}).status_code == 202
    view = wait_for(integrator, profile["id"], {"connected", "failed"})

    assert refused, "the fault was not reached"
    assert view["status"] == "failed"
    assert "ValidationException" in view["error"] or "injected fault" in view["error"]
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}


@pytest.mark.parametrize("step", ["CreateAppRegistryRecord", "WaitForGrant", "TestConnection", "MarkConnected"])
def test_a_failing_step_of_an_oauth_connection_leaves_nothing(api, stack, oidc, saas, monkeypatch, step):
    integrator = api("sam_integrator")
    base_url = f"{saas.url}/broken" if step == "TestConnection" else f"{saas.url}/oauth"
    profile = make_profile(
        integrator,
        base_url=base_url,
        auth={
            "type": "oauth2_authorization_code",
            "authorize_url": f"{oidc}/oauth2/authorize",
            "token_url": f"{oidc}/oauth2/token",
            "scopes": ["openid"],
        },
    )
    refused = []
    if step == "CreateAppRegistryRecord":
        refused = refuse(monkeypatch, "put_item", sk_is("APP_REGISTRY"))
    elif step == "WaitForGrant":  # BeginGrant cannot store the OAuth state
        refused = refuse(monkeypatch, "put_item", sk_is("OAUTH_STATE"))
    elif step == "MarkConnected":
        refused = refuse(
            monkeypatch,
            "update_item",
            lambda t, kw: (
                t.get("sk", {}).get("S") == "CONNECTION" and "connected" in str(kw.get("expression_attribute_values"))
            ),
        )

    integrator.post(f"/profiles/{profile['id']}/connection", json={"client_id": "c", "client_secret": "s"})
    view = wait_for(integrator, profile["id"], {"awaiting_grant", "failed"})
    if view["status"] == "awaiting_grant":
        assert grant(view).status_code == 200
        view = wait_for(integrator, profile["id"], {"connected", "failed"}, timeout=60)

    assert view["status"] == "failed", view
    if step == "TestConnection":
        assert "server error" in view["error"] and "503" in view["error"]
    else:
        assert refused, "the fault was not reached"
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}


def test_a_failing_clean_up_is_retried_then_reported_with_an_alarmable_metric(api, stack, scim, monkeypatch):
    integrator = api("sam_integrator")
    profile = make_profile(integrator, base_url=scim.url)
    cleanup_refused = refuse(monkeypatch, "delete_item", sk_is("CREDENTIAL"))
    integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "wrong-token"})

    view = wait_for(integrator, profile["id"], {"connected", "failed"}, timeout=60)

    assert view["status"] == "failed"
    assert "clean-up failed" in view["error"] and "DELETE the connection" in view["error"]
    assert len(cleanup_refused) == 4  # the first try and three retries
    metrics = boto3.client("cloudwatch").list_metrics(Namespace="seatkeeper", MetricName="CompensationFailed")
    assert metrics["Metrics"], "no CompensationFailed metric for the alarm to watch"
    monkeypatch.undo()
    # The other clean-up steps still ran; what the saga could not delete is known, and a disconnect finishes it.
    assert leftovers(stack, profile["id"]) == {"items": ["CREDENTIAL"], "secrets": []}
    assert integrator.delete(f"/profiles/{profile['id']}/connection").status_code == 204
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}


def test_two_attempts_at_once_leave_one_connection_and_no_stray_secret(api, stack, scim):
    """The API's conditional write makes a second attempt a 409; a saga started past it cannot claim the record."""
    from seatkeeper.aws.workflows import StepFunctions

    integrator = api("sam_integrator")
    profile = make_profile(integrator, base_url=scim.url)
    integrator.post(f"/profiles/{profile['id']}/connection", json={"token": scim.token})
    wait_for(integrator, profile["id"], {"connected"})
    # A second attempt that slipped past the API's check: its own secret, the same profile.
    secrets = boto3.client("secretsmanager")
    arn = secrets.create_secret(Name=f"seatkeeper/{profile['id']}/racer", SecretString='{"token": "x"}')["ARN"]
    machine = stack.template.arn("CreateConnectionStateMachine")
    execution = StepFunctions(machine).start(
        "racer-" + profile["id"][-8:],
        {
            "profile_id": profile["id"],
            "attempt_id": "racer",
            "auth_type": "bearer",
            "secret_arn": arn,
            "requested_by": "test",
            "requested_at": "2026-01-01T00:00:00Z",
            "grant_timeout_seconds": 60,
        },
    )
    sfn = boto3.client("stepfunctions")
    for _ in range(100):
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            break
        import time

        time.sleep(0.1)
    assert (described["status"], described.get("error")) == ("FAILED", "ConnectionConflict")
    assert wait_for(integrator, profile["id"], {"connected"})["records"]["connection"]["attempt_id"] != "racer"
    assert [s for s in leftovers(stack, profile["id"])["secrets"] if s.endswith("/racer")] == []


def test_a_stored_base_url_whose_host_is_no_dns_name_fails_the_connect_saying_so(api, stack):
    # Given a profile stored before base URLs were checked for DNS names: its host has a 300-character label
    from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles

    integrator = api("sam_integrator")
    profile = make_profile(integrator, base_url="https://acme.example.com/scim/v2")
    profiles = DynamoDBProfiles(stack.template.physical_name("Table"))
    stored = profiles.get(profile["id"])
    broken = stored.profile.model_copy(update={"base_url": f"https://{'a' * 300}.example.com/scim/v2"})
    profiles.replace(stored.model_copy(update={"profile": broken, "version": stored.version + 1}), previous=stored)

    # When it is connected
    assert integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "t0ken"}).status_code == 202
    view = wait_for(integrator, profile["id"], {"connected", "failed"})

    # Then the connection fails at once, saying what really failed, not that the app timed out
    assert view["status"] == "failed"
    assert "not a valid DNS name" in view["error"] and "label 1 is 300 characters long" in view["error"], view
    assert "did not answer in time" not in view["error"]
    assert leftovers(stack, profile["id"]) == {"items": [], "secrets": []}
