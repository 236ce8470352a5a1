"""The seatkeeper command as a user runs it: the local stack in the foreground, tokens, the report, the demo."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import jwt
import requests

from seatkeeper_local.stack import free_port
from seatkeeper_local.tokens import mint

SIGNATURE = (
    "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x"
)


def cli(root, *args, env=None, **kwargs):
    return [sys.executable, "-m", "seatkeeper_local.cli", *args]


def environment(root, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_", "SEATKEEPER_"))}
    return {**env, "PYTHONPATH": f"{root}/local:{root}/layers/seatkeeper", **extra}


def seatkeeper(root, *args, cwd=None, timeout=60, **extra_env) -> subprocess.CompletedProcess[str]:
    """Run the command as a user would, in a fresh process, and keep what it printed."""
    return subprocess.run(
        cli(root, *args),
        cwd=cwd or root,
        capture_output=True,
        text=True,
        env=environment(root, **extra_env),
        timeout=timeout,
        check=False,
    )


def test_token_signs_with_the_configured_secret(root):
    secret = "a-local-secret-that-is-long-enough-for-hs256"
    done = seatkeeper(root, "token", "--role", "sam_viewer", SEATKEEPER_LOCAL_JWT_SECRET=secret)
    assert done.returncode == 0, done.stderr
    claims = jwt.decode(done.stdout.strip(), secret, algorithms=["HS256"])
    assert claims["cognito:groups"] == ["sam_viewer"] and claims["exp"] > time.time()


def test_token_without_a_running_stack_or_secret_says_so(tmp_path, root):
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    done = seatkeeper(root, "token", "--role", "admin", cwd=tmp_path)
    assert done.returncode == 1 and "seatkeeper local" in done.stderr


def test_seatkeeper_local_serves_until_stopped_and_token_finds_its_secret(root):
    port, aws_port = free_port(), free_port()
    process = subprocess.Popen(
        cli(root, "local", "--port", str(port), "--aws-port", str(aws_port)),
        cwd=root,
        env=environment(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            raise AssertionError("the local stack did not become ready")
        minted = seatkeeper(root, "token", "--role", "admin")
        assert minted.returncode == 0, minted.stderr
        token = minted.stdout.strip()
        listed = requests.get(
            f"http://127.0.0.1:{port}/profiles", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert listed.status_code == 200 and listed.json()["items"] == []
        tables = requests.post(
            f"http://127.0.0.1:{aws_port}/",
            timeout=10,
            data="{}",
            headers={
                "X-Amz-Target": "DynamoDB_20120810.ListTables",
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": SIGNATURE,
            },
        )
        assert "seatkeeper-local-Table" in tables.json()["TableNames"]  # AWS services are served for inspection

        report = seatkeeper(root, "report")
        assert report.returncode == 0, report.stderr
        assert "Licenses purchased    0" in report.stdout and "(no applications yet)" in report.stdout
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert not (root / ".seatkeeper" / "local.json").exists()
    # A dashboard link per role, signed in through the fragment (never sent to a server).
    link = re.search(rf"dashboard \(admin\):\s+(http://127\.0\.0\.1:{port}/dashboard#token=(\S+))", output)
    assert link, output
    assert jwt.decode(link.group(2), options={"verify_signature": False})["cognito:groups"] == ["admin"]
    assert f"127.0.0.1:{port}/dashboard#token=" in output.split("dashboard (viewer):")[1]


def test_report_without_a_running_stack_or_a_url_says_so(tmp_path, root):
    (tmp_path / "template.yaml").write_text((root / "template.yaml").read_text())
    done = seatkeeper(root, "--template", str(tmp_path / "template.yaml"), "report", cwd=tmp_path)
    assert done.returncode == 1 and "--url and --token" in done.stderr


def test_report_prints_the_overview_and_each_application_s_position_like_the_api(root, stack, api):
    created = api("sam_integrator").post(
        "/profiles",
        json={
            "name": "Reported app",
            "template": "scim2",
            "base_url": "https://r.example.com/scim/v2",
            "subscription": {"licenses_purchased": 7},
        },
    )
    assert created.status_code == 201, created.text
    overview = api("sam_viewer").get("/analytics/overview").json()
    token = mint(stack.jwt_secret, "sam_viewer")
    done = seatkeeper(root, "report", "--url", stack.url, "--token", token)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"  Licenses purchased    {overview['licenses_purchased']:,}" in lines
    assert any(line.startswith("Application") and "Position" in line and "Savings" in line for line in lines)
    for application in overview["per_application"]:
        row = next(line for line in lines if line.startswith(application["name"] + "  "))
        position = application["latest"]
        if position is None:
            assert "not reconciled" in row
        else:
            assert position["position"].replace("_", "-") in row and f"{position['licenses_purchased']:,}" in row
    refused = seatkeeper(root, "report", "--url", stack.url, "--token", "not-a-token")
    assert refused.returncode == 1 and "401" in refused.stderr


def test_the_demo_tells_the_story_and_ends_with_the_dashboard_link(root):
    done = seatkeeper(root, "demo", timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "SaaS overview" in done.stdout and "Acme Chat (demo)" in done.stdout
    # An IdP's app with its users' activity from sign-ins, its leaver and its group seat.
    assert "Acme Design (via Okta)" in done.stdout and "left the company (orphaned)" in done.stdout
    assert "needs a group change: dan@acme.example.com through Design team" in done.stdout
    last = done.stdout.strip().splitlines()[-1].strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/dashboard#token=[\w.-]+", last), last
