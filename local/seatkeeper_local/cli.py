"""The `seatkeeper` command: the local stack, local tokens, one-off invocations and the demo."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from seatkeeper_local.tokens import ROLES, mint


def _local(args: argparse.Namespace) -> int:
    from seatkeeper_local.stack import LocalStack, dashboard_link, quiet_werkzeug

    quiet_werkzeug()  # moto's request lines are noise; the gateway logs each API request itself
    console = logging.StreamHandler(sys.stdout)
    console.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logging.getLogger("seatkeeper_local").addHandler(console)
    logging.getLogger("seatkeeper_local").setLevel(logging.INFO)
    stack = LocalStack(args.template, host=args.host, port=args.port, aws_port=args.aws_port).start()
    print(f"seatkeeper local stack on {stack.url}  (AWS services on {stack.aws_endpoint})", flush=True)
    demo_apps = contextlib.ExitStack()
    if args.demo:
        from seatkeeper_local.demo import seed_app, seed_dashboard
        from seatkeeper_local.demo_app import paging_app
        from seatkeeper_local.demo_saas import scim_server

        app = demo_apps.enter_context(scim_server())
        chat = demo_apps.enter_context(paging_app(120))
        seed_app(app)
        seeded = seed_dashboard(stack, app, chat)
        print(
            f"  demo SaaS apps: scim2-server on {app.url}, Acme Chat on {chat.url}; both connected and reconciled,"
            f" a month of earlier positions seeded, reclamation {seeded['waiting']['id']} waiting for an admin",
            flush=True,
        )
    token = mint(stack.jwt_secret, "admin", ttl_seconds=12 * 3600)
    print(f"  dashboard (admin):  {dashboard_link(stack.url, token)}", flush=True)
    viewer = mint(stack.jwt_secret, "sam_viewer", ttl_seconds=12 * 3600)
    print(f"  dashboard (viewer): {dashboard_link(stack.url, viewer)}", flush=True)
    print(f"  try:  curl -H 'Authorization: Bearer {token}' {stack.url}/profiles", flush=True)
    print(
        "  a token for another role:  seatkeeper token --role sam_viewer;  the overview:  seatkeeper report", flush=True
    )
    print("  stop with Ctrl-C", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    demo_apps.close()
    stack.stop()
    return 0


def _token(args: argparse.Namespace) -> int:
    from seatkeeper_local.stack import running_stack_secret

    secret = running_stack_secret(args.template)
    if secret is None:
        print(
            "no running local stack found: start `seatkeeper local` or set SEATKEEPER_LOCAL_JWT_SECRET", file=sys.stderr
        )
        return 1
    print(mint(secret, args.role, subject=args.sub, ttl_seconds=args.ttl))
    return 0


def _invoke(args: argparse.Namespace) -> int:
    from seatkeeper_local.functions import FunctionError
    from seatkeeper_local.stack import LocalStack, quiet_werkzeug

    quiet_werkzeug()
    stack = LocalStack(args.template, port=0, aws_port=0).start_aws()
    assert stack.functions is not None
    try:
        event = json.loads(Path(args.event).read_text()) if args.event else {}
        # As `sam local invoke`: the function's logs on stderr, its answer alone on stdout.
        with contextlib.redirect_stdout(sys.stderr):
            result = stack.functions.invoke(args.function, event)
    except FunctionError as exc:
        print(json.dumps(exc.payload(), indent=2))
        return 1
    finally:
        stack.stop()
    print(json.dumps(result, indent=2))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from seatkeeper_local.demo import run

    # From a terminal the stack stays up for the dashboard link the demo ends with.
    return run(args.template, keep_open=sys.stdin.isatty() and not args.exit)


def _report(args: argparse.Namespace) -> int:
    import requests

    from seatkeeper_local.report import fetch, fetch_renewals, render
    from seatkeeper_local.stack import running_stack

    url, token = args.url, args.token
    if url is None:
        found = running_stack(args.template)
        if found is None:
            print("no running local stack found: start `seatkeeper local`, or give --url and --token", file=sys.stderr)
            return 1
        url, token = found["url"], token or mint(found["jwt_secret"], "sam_viewer", subject="seatkeeper-report")
    if not token:
        print("--token is needed with --url: a JWT of a user in admin, sam_integrator or sam_viewer", file=sys.stderr)
        return 1
    try:
        overview = fetch(url, token)
        renewals = fetch_renewals(url, token)
    except requests.RequestException as exc:
        print(f"could not read the overview from {url}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({**overview, "renewals": renewals}, indent=2) if args.json else render(overview, renewals))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seatkeeper", description=__doc__)
    parser.add_argument("--template", type=Path, default=None, help="template.yaml (default: found from here up)")
    commands = parser.add_subparsers(dest="command", required=True)

    local = commands.add_parser("local", help="run the local stack in the foreground")
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--port", type=int, default=3000)
    local.add_argument("--aws-port", type=int, default=4566)
    local.add_argument("--demo", action="store_true", help="seed the demo data and keep it up for exploring")
    local.set_defaults(run=_local)

    token = commands.add_parser("token", help="print a JWT for the running local stack")
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument("--sub", default=None, help="the token's subject (default: local-<role>)")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    token.set_defaults(run=_token)

    invoke = commands.add_parser("invoke", help="run one function with a sample event, as `sam local invoke`")
    invoke.add_argument("function", help="the function's logical id in template.yaml, e.g. ApiFunction")
    invoke.add_argument("--event", help="a JSON event file, e.g. events/api_health.json")
    invoke.set_defaults(run=_invoke)

    demo = commands.add_parser("demo", help="tell the main story on the local stack, ending with the dashboard's link")
    demo.add_argument("--exit", action="store_true", help="exit at the end, also when run from a terminal")
    demo.set_defaults(run=_demo)

    report = commands.add_parser("report", help="print the SaaS overview and each application's position")
    report.add_argument("--url", help="a seatkeeper API's URL (default: the running local stack)")
    report.add_argument("--token", default=os.environ.get("SEATKEEPER_TOKEN"), help="a JWT (or SEATKEEPER_TOKEN)")
    report.add_argument("--json", action="store_true", help="the overview as the API gives it")
    report.set_defaults(run=_report)

    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
