"""The seatkeeper command as a user runs it: the local stack in the foreground, tokens, the report, the demo."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import boto3
import jwt
import requests

from seatkeeper_local.demo.client import wait_until
from seatkeeper_local.demo.story import DEMO_STOPS
from seatkeeper_local.fakes.paging_app import paging_app, profile_fields
from seatkeeper_local.ports import free_port
from seatkeeper_local.stack.tokens import mint

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


class RunningLocal:
    """`seatkeeper local` in a subprocess, as a person or a service manager runs it."""

    def __init__(self, root, *args):
        self.port, self.aws_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            cli(root, "local", "--port", str(self.port), "--aws-port", str(self.aws_port), *args),
            cwd=root,
            env=environment(root),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = ""

    def wait_until_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                # The first request imports the API function: under load it can take seconds.
                if requests.get(f"{self.url}/health", timeout=10).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        raise AssertionError("the local stack did not become ready")

    def stop(self) -> float:
        """SIGTERM, as a service manager or `docker stop` sends it; the seconds until the process is gone."""
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.output = self.process.communicate(timeout=60)[0]
        return time.monotonic() - sent

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.output = self.process.communicate(timeout=30)[0]


ACCESS_LINE = re.compile(r"\d\d:\d\d:\d\d (GET|POST) /\S* \d{3} \d+ ms")


def test_seatkeeper_local_serves_quietly_until_stopped_and_token_finds_its_secret(root):
    # Given `seatkeeper local`, in the default (console) log format
    local = RunningLocal(root)
    try:
        local.wait_until_ready()
        state = root / ".seatkeeper" / f"local-{local.process.pid}-{local.port}.json"
        assert state.exists() and state.stat().st_mode & 0o077 == 0  # its own state file, for its owner alone
        minted = seatkeeper(root, "token", "--role", "admin", "--port", str(local.port))
        assert minted.returncode == 0, minted.stderr
        token = minted.stdout.strip()
        listed = requests.get(f"{local.url}/profiles", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert listed.status_code == 200 and listed.json()["items"] == []
        tables = requests.post(
            f"http://127.0.0.1:{local.aws_port}/",
            timeout=10,
            data="{}",
            headers={
                "X-Amz-Target": "DynamoDB_20120810.ListTables",
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": SIGNATURE,
            },
        )
        assert "seatkeeper-local-Table" in tables.json()["TableNames"]  # AWS services are served for inspection

        report = seatkeeper(root, "report", "--port", str(local.port))
        assert report.returncode == 0, report.stderr
        assert "Licenses purchased    0" in report.stdout and "(no applications yet)" in report.stdout
        # An OAuth redirect with a grant's code and state in its query string
        callback = requests.get(
            f"{local.url}/oauth/callback", params={"code": "code-9f2c1e", "state": "state-77ab04"}, timeout=10
        )
        assert callback.status_code == 400
        # When a service manager stops it, idle
        took = local.stop()
    finally:
        local.kill()
    # Then it is gone within 2 s, cleanly, and its state file with it
    assert took < 2, f"took {took:.1f} s to stop"
    assert local.process.returncode == 0, local.output
    assert not state.exists()
    # A dashboard link per role, signed in through the fragment (never sent to a server).
    output = local.output
    link = re.search(rf"dashboard \(admin\):\s+(http://127\.0\.0\.1:{local.port}/dashboard#token=(\S+))", output)
    assert link, output
    assert jwt.decode(link.group(2), options={"verify_signature": False})["cognito:groups"] == ["admin"]
    assert f"127.0.0.1:{local.port}/dashboard#token=" in output.split("dashboard (viewer):")[1]
    # The log after the links: one short line per request, and a function's warnings, one line each, named
    # after the function; the callback's path without its code or state.
    log = output.split("stop with Ctrl-C")[1].strip().splitlines()
    requests_logged = [line for line in log if ACCESS_LINE.fullmatch(line)]
    assert [line.split()[1:4] for line in requests_logged] == [
        ["GET", "/health", "200"],
        ["GET", "/profiles", "200"],
        ["GET", "/analytics/overview", "200"],
        ["GET", "/renewals", "200"],
        ["GET", "/oauth/callback", "400"],
    ]
    warnings = [line for line in log if line not in requests_logged]
    assert [line.split()[1:5] for line in warnings] == [["WARNING", "ApiFunction:", "callback", "refused"]], log
    assert "code-9f2c1e" not in output and "state-77ab04" not in output


def test_two_stacks_keep_their_own_state_and_commands_find_the_one_asked_for(root):
    # Given two local stacks at once, the second started after the first and logging JSON lines
    first = RunningLocal(root).wait_until_ready()
    second = RunningLocal(root, "--log-format", "json")
    stale = root / ".seatkeeper" / "local-999999999-1.json"  # left behind by a process that is gone
    try:
        second.wait_until_ready()
        stale.write_text(
            '{"url": "http://127.0.0.1:1", "port": 1, "jwt_secret": "x", "pid": 999999999, "started": 9e9}'
        )

        def works_on(stack, token):
            answer = requests.get(f"{stack.url}/profiles", headers={"Authorization": f"Bearer {token}"}, timeout=10)
            return answer.status_code == 200

        # When a token is asked for without a port: the newest stack's, saying that there are several
        newest = seatkeeper(root, "token", "--role", "sam_viewer")
        assert newest.returncode == 0, newest.stderr
        assert "local stacks are running: using the newest, on port " + str(second.port) in newest.stderr
        assert works_on(second, newest.stdout.strip()) and not works_on(first, newest.stdout.strip())
        assert not stale.exists()  # the dead process's file is cleaned up on the way
        # ...and with --port: that stack's
        chosen = seatkeeper(root, "token", "--role", "sam_viewer", "--port", str(first.port))
        assert works_on(first, chosen.stdout.strip())
        requests.get(f"{second.url}/oauth/callback", params={"code": "code-51d0", "state": "state-e3a9"}, timeout=10)
        # When the second one stops, the first one's state is untouched
        took = second.stop()
        assert took < 2, f"took {took:.1f} s to stop"
        now_newest = seatkeeper(root, "token", "--role", "sam_viewer")
        assert now_newest.returncode == 0, now_newest.stderr
        assert works_on(first, now_newest.stdout.strip())
        report = seatkeeper(root, "report", "--port", str(second.port))
        assert report.returncode == 1 and f"no running local stack found on port {second.port}" in report.stderr
        assert first.stop() < 2
    finally:
        first.kill()
        second.kill()
        stale.unlink(missing_ok=True)
    # The JSON log: a line per request with its fields, the callback's path without its query string.
    lines = [json.loads(line) for line in second.output.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "seatkeeper_local.gateway"]
    assert {"method": "GET", "path": "/oauth/callback", "status": 400} in [
        {k: line[k] for k in ("method", "path", "status")} for line in access
    ]
    assert "code-51d0" not in second.output and "state-e3a9" not in second.output


def test_a_stack_stops_within_two_seconds_after_a_sync(root):
    # Given a local stack that has synced a few thousand users
    local = RunningLocal(root)
    try:
        local.wait_until_ready()
        integrator = {
            "Authorization": f"Bearer {seatkeeper(root, 'token', '--role', 'sam_integrator', '--port', str(local.port)).stdout.strip()}"
        }
        with paging_app(5000) as app:
            created = requests.post(
                f"{local.url}/profiles",
                headers=integrator,
                json={
                    "name": "Big app",
                    **profile_fields(app, "offset", page_size=500),
                    "subscription": {"licenses_purchased": 5000},
                },
                timeout=30,
            ).json()
            requests.post(
                f"{local.url}/profiles/{created['id']}/connection", headers=integrator, json={"token": "t"}, timeout=30
            )
            connected = wait_until(
                lambda: requests.get(
                    f"{local.url}/profiles/{created['id']}/connection", headers=integrator, timeout=30
                ).json(),
                lambda view: view["status"] in ("connected", "failed"),
                timeout=120,
            )
            assert connected["status"] == "connected", connected
            run = requests.post(f"{local.url}/profiles/{created['id']}/sync", headers=integrator, timeout=30).json()
            finished = wait_until(
                lambda: requests.get(f"{local.url}/runs/{run['run_id']}", headers=integrator, timeout=30).json(),
                lambda run: run["status"] != "running",
                timeout=300,
                pause=0.5,
            )
        assert (finished["status"], finished["users_fetched"]) == ("succeeded", 5000), finished
        # When it is told to stop
        took = local.stop()
    finally:
        local.kill()
    # Then it is gone within 2 s
    assert took < 2, f"took {took:.1f} s to stop"
    assert local.process.returncode == 0, local.output[-3000:]


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
            "subscription": {"licenses_purchased": 7, "renewal_date": str(date.today() + timedelta(days=100))},
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
    # The renewals of the next twelve months follow, each with its opt-out deadline and recommended count
    renewals = api("sam_viewer").get("/renewals", params={"within_days": 365}).json()["items"]
    assert "Renewals (next 12 months, by opt-out deadline)" in lines
    after = lines[lines.index("Renewals (next 12 months, by opt-out deadline)") :]
    for renewal in renewals:
        row = next(line for line in after if line.startswith(renewal["name"] + "  "))
        assert renewal["opt_out_deadline"] in row and renewal["renewal_date"] in row
    assert "Reported app" in [r["name"] for r in renewals]
    refused = seatkeeper(root, "report", "--url", stack.url, "--token", "not-a-token")
    assert refused.returncode == 1 and "401" in refused.stderr


def test_the_demo_tells_the_story_and_ends_with_the_dashboard_link(root):
    done = seatkeeper(root, "demo", timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "SaaS overview" in done.stdout and "Acme Chat (demo)" in done.stdout
    # An IdP's app with its users' activity from sign-ins, its leaver and its group seat.
    assert "Acme Design (via Okta)" in done.stdout and "left the company (orphaned)" in done.stdout
    assert "needs a group change: dan@acme.example.com through Design team" in done.stdout
    # The seat lifecycle: a user keeps a seat through their link, the other stale seats move down a tier
    assert "answers keep: 200 {'status': 'kept'}" in done.stdout
    assert re.search(r"outcomes \{'kept_by_user': 1, 'downgraded': \d+\}", done.stdout), done.stdout[-3000:]
    assert "Renewals (next 12 months, by opt-out deadline)" in done.stdout
    # Run without a terminal, its stack stops at the end: it says so after the link, and how to keep one up.
    link, stops, stays_up = (line.strip() for line in done.stdout.strip().splitlines()[-3:])
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/dashboard#token=[\w.-]+", link), link
    assert stops == DEMO_STOPS and stays_up.startswith("make local")
    try:
        requests.get(link.split("#")[0], timeout=5)
        reachable = True
    except requests.ConnectionError:
        reachable = False
    assert not reachable  # as it said: the link no longer works


def test_local_help_shows_each_option_s_default_and_invoke_says_what_it_runs_on(root):
    local = seatkeeper(root, "local", "--help")
    assert local.returncode == 0
    text = " ".join(local.stdout.split())
    for default in ("(default: 127.0.0.1)", "(default: 3000)", "(default: 4566)", "(default: console)"):
        assert default in text, default
    assert "--log-level" in text and "default: WARNING with the console format" in text
    invoke = seatkeeper(root, "invoke", "--help")
    assert "in-memory stack of its own, not on a running `seatkeeper local`" in " ".join(invoke.stdout.split())


def test_seatkeeper_outbox_prints_the_mail_the_running_stack_sent(root):
    # Given `seatkeeper local`, and a reclamation waiting for approval on it (put as the API puts it)
    local = RunningLocal(root)
    try:
        local.wait_until_ready()
        assert seatkeeper(root, "outbox", "--port", str(local.port)).stdout.strip() == "no mail sent"
        events = boto3.client(
            "events",
            endpoint_url=f"http://127.0.0.1:{local.aws_port}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # moto takes any credentials
        )
        detail = {"reclamation_id": "rcl_outbox", "profile_id": "prf_gone", "candidates": 3, "reason": "over the cap"}
        events.put_events(
            Entries=[
                {"Source": "seatkeeper", "DetailType": "Reclamation Awaiting Approval", "Detail": json.dumps(detail)}
            ]
        )
        # When the notifier has mailed the admins (no profile names an approver)
        deadline = time.monotonic() + 30
        while "Approval needed" not in (shown := seatkeeper(root, "outbox", "--port", str(local.port))).stdout:
            assert time.monotonic() < deadline, shown.stdout + shown.stderr
            time.sleep(0.5)
        # Then the outbox prints it as a person reads it, and --to picks one recipient's mail
        assert (
            "To: admin@seatkeeper.localhost" in shown.stdout and "From: seatkeeper@seatkeeper.localhost" in shown.stdout
        )
        assert (
            "Subject: Approval needed: prf_gone" in shown.stdout
            and "a reclamation awaits approval (3 seats)" in shown.stdout
        )
        assert "<p>" not in shown.stdout
        other = seatkeeper(root, "outbox", "--port", str(local.port), "--to", "someone@else.example")
        assert other.stdout.strip() == "no mail sent to someone@else.example"
        as_json = json.loads(seatkeeper(root, "outbox", "--port", str(local.port), "--json").stdout)
        assert [m["to"] for m in as_json] == [["admin@seatkeeper.localhost"]] and "<html>" in as_json[0]["body"]
    finally:
        local.stop()
