"""An OAuth grant the authorization server refuses (invalid_grant): the connection needs a reconnect, syncs
stop, nothing is reclaimed through it, and the Reconnect grants access again. Through the local stack, on
moto's Step Functions engine.

The authorization server is oidc-provider-mock (PyPI, 0.3.4): its `POST /users/<sub>/revoke-tokens` revokes a
user's tokens, after which a refresh with them is answered `400 {"error": "invalid_grant"}` (authlib's
InvalidGrantError, RFC 6749 §5.2). Its token endpoint is reached through a small proxy of our own that counts
the requests and can answer 503 as an outage would. The app is the paging app of our own.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import boto3
import pytest
import requests
from oidc_provider_mock import run_server_in_thread

from seatkeeper.aws.vault import SecretsManagerVault
from seatkeeper_local.demo.client import wait_until
from seatkeeper_local.fakes.serving import serving
from tests.integration.connection_checks import make_profile, wait_for
from tests.integration.test_keep_requests import in_grace_period
from tests.integration.test_notifications import mail_to
from tests.integration.test_reclamation import finished_reclamation
from tests.integration.test_reconciliation import wait_for_reconciliation
from tests.integration.test_sync import sync
from tests.paging_app import paging_app, profile_fields


@dataclass
class TokenProxy:
    """oidc-provider-mock's token endpoint, counted, and down (503) while `outage` is set."""

    url: str
    upstream: str
    outage: bool = False
    refreshes: list[int] = field(default_factory=list)  # the status of each refresh request
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Proxy(BaseHTTPRequestHandler):
    proxy: TokenProxy

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        refresh = b"grant_type=refresh_token" in body
        if self.proxy.outage:
            status, data = 503, b'{"error": "temporarily_unavailable"}'
        else:
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
            answer = requests.post(f"{self.proxy.upstream}/oauth2/token", data=body, headers=headers, timeout=10)
            status, data = answer.status_code, answer.content
        if refresh:
            with self.proxy.lock:
                self.proxy.refreshes.append(status)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def provider() -> Iterator[TokenProxy]:
    with run_server_in_thread() as server, serving(_Proxy) as proxied:
        proxy = TokenProxy(
            url=f"http://127.0.0.1:{proxied.server_address[1]}", upstream=f"http://localhost:{server.server_port}"
        )
        proxied.RequestHandlerClass = type("Proxy", (_Proxy,), {"proxy": proxy})
        yield proxy


def grant(view: dict[str, Any], sub: str) -> None:
    """A person signs in at the provider as `sub` and grants access; the provider sends them back."""
    browser = requests.Session()
    browser.get(view["authorize_url"], timeout=10)
    back = browser.post(view["authorize_url"], data={"sub": sub}, allow_redirects=False, timeout=10)
    assert requests.get(back.headers["Location"], timeout=30).status_code == 200


def connected_oauth_app(client, app, provider: TokenProxy, *, owner: str, **policy: Any) -> tuple[dict, str]:
    """A reclaiming profile of the paging app with OAuth at the provider, connected by a person and synced."""
    sub = f"carol-{uuid.uuid4().hex[:8]}"
    fields = profile_fields(app, "offset")
    fields["auth"] = {
        "type": "oauth2_authorization_code",
        "authorize_url": f"{provider.upstream}/oauth2/authorize",
        "token_url": f"{provider.url}/oauth2/token",
        "scopes": ["openid"],
    }
    fields["reclaim"] = {"method": "PATCH", "path": "/users/{id}", "body": {"active": False}}
    fields["subscription"] = {"licenses_purchased": 50, "cost_per_license": 10, "owner": owner}
    fields["policy"] = {"inactivity_days": 90, "max_reclaim_percent": 100, "max_reclaim_count": 1000, **policy}
    profile = make_profile(client, **fields)
    answer = client.post(f"/profiles/{profile['id']}/connection", json={"client_id": "c", "client_secret": "s"})
    assert answer.status_code == 202, answer.text
    grant(wait_for(client, profile["id"], {"awaiting_grant"}), sub)
    assert wait_for(client, profile["id"], {"connected", "failed"})["status"] == "connected"
    assert sync(client, profile["id"])["status"] == "succeeded"
    return profile, sub


def access_token_expires(client, profile_id: str) -> str:
    """An hour later, as far as seatkeeper can tell: the next call refreshes first. The secret's ARN."""
    vault = SecretsManagerVault(kms_key_id="")
    secret = client.get(f"/profiles/{profile_id}/connection").json()["records"]["credential"]["secret_arn"]
    stored = vault.read(secret)
    vault.write(secret, {**stored, "tokens": {**stored["tokens"], "expires_at": datetime.now(UTC).isoformat()}})
    return secret


def secrets_of(profile_id: str) -> list[str]:
    listed = boto3.client("secretsmanager").list_secrets(
        Filters=[{"Key": "name", "Values": [f"seatkeeper/{profile_id}/"]}]
    )["SecretList"]
    return [s["ARN"] for s in listed]


def scheduled_reconciliation(stack) -> dict[str, Any]:
    """Fire reconcile-all's schedule as if it were 03:00; the state its execution ended with."""
    schedule = next(s for s in stack.scheduler.schedules if "ReconcileAll" in s.target_arn)
    schedule.due = datetime.now(UTC) - timedelta(seconds=1)
    assert stack.scheduler.tick() == [schedule.name]
    sfn = boto3.client("stepfunctions")

    def newest() -> dict[str, Any]:
        executions = sfn.list_executions(stateMachineArn=schedule.target_arn)["executions"]
        return max((e for e in executions if e["name"].startswith(schedule.name)), key=lambda e: e["startDate"])

    ended = wait_until(newest, lambda e: e["status"] != "RUNNING", timeout=120)
    assert ended["status"] == "SUCCEEDED", ended
    return json.loads(sfn.describe_execution(executionArn=ended["executionArn"])["output"])


def test_a_refused_refresh_stops_syncs_and_reclaims_until_someone_reconnects(api, stack, provider):
    integrator, admin = api("sam_integrator"), api("admin")
    owner = f"owner-{uuid.uuid4().hex[:8]}@acme.example"
    with paging_app(30) as app:
        # Given an OAuth app, connected and synced, whose owner is known
        profile, sub = connected_oauth_app(integrator, app, provider, owner=owner)
        # And the authorization server revokes the grant (an admin there, or its refresh token's lifetime)
        assert requests.post(f"{provider.upstream}/users/{sub}/revoke-tokens", timeout=10).status_code == 204
        old_secret = access_token_expires(integrator, profile["id"])
        before = len(provider.refreshes)

        # When the next sync needs a fresh access token
        run = sync(integrator, profile["id"])

        # Then the run fails at once, saying why, after one refresh request: no retry against the token endpoint
        assert run["status"] == "failed", run
        assert "needs_reconnect" in run["error"] and "invalid_grant" in run["error"], run
        assert provider.refreshes[before:] == [400]
        # And the connection needs a reconnect, and says why
        view = integrator.get(f"/profiles/{profile['id']}/connection").json()
        assert view["status"] == "needs_reconnect", view
        assert "invalid_grant" in view["error"]
        # And its owner is told once, with no credential in the message
        (mail,) = mail_to(stack, owner, "reconnect needed")
        assert profile["name"] in mail.subject
        stored = SecretsManagerVault(kms_key_id="").read(old_secret)
        assert stored["tokens"]["refresh_token"] not in mail.body and "client_secret" not in mail.body
        # And no sync starts, and no reclamation is planned, not even a dry run: each a 409 naming the reason
        refused = [
            integrator.post(f"/profiles/{profile['id']}/sync"),
            integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": True}),
            admin.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}),
        ]
        assert [r.status_code for r in refused] == [409, 409, 409], [r.text for r in refused]
        assert all("needs_reconnect" in r.json()["message"] for r in refused), [r.text for r in refused]
        # And a reconciliation of it names the reason for the profile (the schedule's leaves it out: it
        # reconciles connected profiles only)
        started = integrator.post("/reconciliations", json={"profile_ids": [profile["id"]]})
        assert started.status_code == 202, started.text
        (result,) = wait_for_reconciliation(integrator, started.json()["id"])["results"]
        assert result["status"] == "failed" and "needs_reconnect" in result["error"], result
        # And the daily schedule leaves it out: no run of it opened, nothing asked of the token endpoint
        results = scheduled_reconciliation(stack)["results"]
        assert profile["id"] not in [r["profile_id"] for r in results], results
        assert provider.refreshes[before:] == [400]  # none of them asked the token endpoint again

        # When someone reconnects it and grants access again
        answer = integrator.post(f"/profiles/{profile['id']}/connection/reconnect")
        assert answer.status_code == 202, answer.text
        grant(wait_for(integrator, profile["id"], {"awaiting_grant"}), sub)

        # Then it is connected again, with a new secret only, and syncs
        assert wait_for(integrator, profile["id"], {"connected", "failed"})["status"] == "connected"
        assert old_secret not in secrets_of(profile["id"]) and len(secrets_of(profile["id"])) == 1
        assert sync(integrator, profile["id"])["status"] == "succeeded"
        # And a second reconnect of a working connection is refused
        assert integrator.post(f"/profiles/{profile['id']}/connection/reconnect").status_code == 409
    assert len(mail_to(stack, owner, "reconnect needed")) == 1


def test_a_grant_refused_during_the_grace_period_reclaims_nothing_when_it_ends(api, stack, provider):
    integrator, admin = api("sam_integrator"), api("admin")
    with paging_app(30) as app:
        # Given a reclamation in its grace period, of an OAuth app
        profile, sub = connected_oauth_app(integrator, app, provider, owner="owner@acme.example", grace_period="PT6S")
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": False}).json()
        assert plan["status"] == "running" and plan["candidates"], plan
        in_grace_period(admin, plan["id"])
        # When the authorization server revokes the grant before the grace period ends
        assert requests.post(f"{provider.upstream}/users/{sub}/revoke-tokens", timeout=10).status_code == 204
        access_token_expires(integrator, profile["id"])

        done = finished_reclamation(integrator, plan["id"], timeout=90)

    # Then the reclamation ends canceled, saying why, and not one seat was taken back
    assert done["status"] == "canceled", done
    assert "needs_reconnect" in json.dumps(done), done
    assert app.reclaim_requests == []
    assert integrator.get(f"/profiles/{profile['id']}/connection").json()["status"] == "needs_reconnect"


def test_a_token_endpoint_outage_fails_the_sync_and_leaves_the_connection_connected(api, stack, provider):
    integrator = api("sam_integrator")
    owner = f"owner-{uuid.uuid4().hex[:8]}@acme.example"
    with paging_app(10) as app:
        # Given a connected OAuth app whose access token expired, and a token endpoint that answers 503
        profile, _ = connected_oauth_app(integrator, app, provider, owner=owner)
        access_token_expires(integrator, profile["id"])
        provider.outage = True
        try:
            # When a sync runs
            run = sync(integrator, profile["id"])
        finally:
            provider.outage = False

        # Then the sync fails as an outage does (retried, then failed), and the connection is still connected
        assert run["status"] == "failed", run
        assert "needs_reconnect" not in run["error"]
        assert integrator.get(f"/profiles/{profile['id']}/connection").json()["status"] == "connected"
        # And the next sync, the outage over, refreshes and succeeds
        assert sync(integrator, profile["id"])["status"] == "succeeded"
    assert not [m for m in mail_to(stack, owner, at_least=0, timeout=0) if "reconnect" in m.subject]
