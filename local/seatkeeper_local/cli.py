"""The `seatkeeper` command: the local stack, local tokens, one-off invocations, the demo and profile authoring."""

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
from typing import Any, NoReturn

from seatkeeper_local.stack.console import LOG_FORMATS
from seatkeeper_local.stack.tokens import ROLES, mint

# Each command imports what it runs inside its own function, for start-up time: the stack (moto, boto3)
# and the demo take seconds to import; `seatkeeper --help` needs neither, and each command only its own.

# What `seatkeeper invoke` runs on, said in its help and each time it runs.
INVOKE_STACK = "It runs on an in-memory stack of its own, not on a running `seatkeeper local`"


def _local(args: argparse.Namespace) -> int:
    # Imported here for start-up time (see the top).
    from seatkeeper_local.stack.console import show_stack_logs
    from seatkeeper_local.stack.local_stack import LocalStack, dashboard_link, quiet_werkzeug

    quiet_werkzeug()  # moto's request lines are noise; the gateway logs each API request itself
    show_stack_logs(args.log_format)
    level = args.log_level or ("WARNING" if args.log_format == "console" else None)
    where = {"host": args.host, "port": args.port, "aws_port": args.aws_port}
    stack = LocalStack(args.template, **where, log_level=level, log_format=args.log_format).start()
    print(f"seatkeeper local stack on {stack.url}  (AWS services on {stack.aws_endpoint})", flush=True)
    demo_apps = contextlib.ExitStack()
    if args.demo:
        # Imported here for start-up time: only --demo needs the demo's apps and data.
        from seatkeeper_local.demo.seeding import seed_app, seed_dashboard
        from seatkeeper_local.fakes.paging_app import paging_app
        from seatkeeper_local.fakes.scim_server import scim_server

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
    return leave_now(0)


def leave_now(code: int) -> NoReturn:
    """Exit without the interpreter's teardown of the stack's memory, once everything is stopped and written.

    moto keeps every stored item as Python objects: tearing them down one by one at exit took 5 s
    for an idle stack and half a minute after a 200,000-user sync, while a service manager or
    `docker stop` waits for the process to go. Nothing left needs it: the servers are closed, the
    state file is removed, and the output is flushed here.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _token(args: argparse.Namespace) -> int:
    from seatkeeper_local.stack.local_stack import running_stack_secret  # here for start-up time (see the top)

    secret = running_stack_secret(args.template, args.port)
    if secret is None:
        where = f" on port {args.port}" if args.port else ""
        print(
            f"no running local stack found{where}: start `seatkeeper local` or set SEATKEEPER_LOCAL_JWT_SECRET",
            file=sys.stderr,
        )
        return 1
    print(mint(secret, args.role, subject=args.sub, ttl_seconds=args.ttl))
    return 0


def _invoke(args: argparse.Namespace) -> int:
    # Imported here for start-up time (see the top).
    from seatkeeper_local.stack.functions import FunctionError
    from seatkeeper_local.stack.local_stack import LocalStack, quiet_werkzeug

    quiet_werkzeug()
    print(f"{INVOKE_STACK}: it starts empty and is gone when {args.function} returns.", file=sys.stderr)
    stack = LocalStack(args.template, port=0, aws_port=0, log_format="json").start_aws()
    assert stack.functions is not None
    try:
        event = json.loads(Path(args.event).read_text()) if args.event else {}
        # As `sam local invoke`: the function's logs on stderr, its answer alone on stdout.
        with contextlib.redirect_stdout(sys.stderr):
            answer, code = stack.functions.invoke(args.function, event), 0
    except FunctionError as exc:
        answer, code = exc.payload(), 1
    finally:
        stack.stop()
    print(json.dumps(answer, indent=2))
    return leave_now(code)


def _demo(args: argparse.Namespace) -> int:
    from seatkeeper_local.demo.story import run  # here for start-up time (see the top)

    # From a terminal the stack stays up for the dashboard link the demo ends with.
    return leave_now(run(args.template, keep_open=sys.stdin.isatty() and not args.exit))


def _report(args: argparse.Namespace) -> int:
    # Imported here for start-up time (see the top).
    import requests

    from seatkeeper_local.report import fetch, fetch_renewals, render

    api = _api_of(args, "sam_viewer", subject="seatkeeper-report", roles="admin, sam_integrator or sam_viewer")
    if api is None:
        return 1
    url, token = api
    try:
        overview = fetch(url, token)
        renewals = fetch_renewals(url, token)
    except requests.RequestException as exc:
        print(f"could not read the overview from {url}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({**overview, "renewals": renewals}, indent=2) if args.json else render(overview, renewals))
    return 0


def _api_of(
    args: argparse.Namespace, role: str, *, subject: str = "seatkeeper-profile", roles: str = "admin or sam_integrator"
) -> tuple[str, str] | None:
    """The API's URL and a token: --url and --token, or the running local stack and a token of `role`.

    None, having said why, when there is neither; `roles` are those a --token must have for the command.
    """
    from seatkeeper_local.stack.local_stack import running_stack  # here for start-up time (see the top)

    url, token = args.url, args.token
    if url is None:
        found = running_stack(args.template, args.port)
        if found is None:
            where = f" on port {args.port}" if args.port else ""
            print(
                f"no running local stack found{where}: start `seatkeeper local`, or give --url and --token",
                file=sys.stderr,
            )
            return None
        url, token = found["url"], token or mint(found["jwt_secret"], role, subject=subject)
    if not token:
        print(f"--token is needed with --url: a JWT of a user in {roles}", file=sys.stderr)
        return None
    return url, token


def _draft(args: argparse.Namespace) -> int:
    # Imported here for start-up time (see the top).
    from seatkeeper_local import authoring

    try:
        drafted = authoring.draft(args.openapi)
    except authoring.ProfileRefused as exc:
        print(exc, file=sys.stderr)
        return 1
    text = json.dumps(drafted, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    args.out.write_text(text)
    print(authoring.render_notes(drafted[authoring.DRAFT_NOTES]))
    print(
        f"\nwrote {args.out}: check the guesses above, least sure first, then `seatkeeper profile preview {args.out}`"
    )
    return 0


def _profile(args: argparse.Namespace) -> int:
    # Imported here for start-up time (see the top).
    import requests

    from seatkeeper_local import authoring

    if args.action == "draft":
        return _draft(args)
    api = _api_of(args, "sam_integrator")
    if api is None:
        return 1
    try:
        profile, _ = authoring.read_profile(args.file)
        credential = authoring.read_json(args.credential_file, "credential") if args.credential_file else {}
        if args.action == "preview":
            found = authoring.preview(*api, profile, credential, args.max_pages)
            print(json.dumps(found, indent=2) if args.json else authoring.render_preview(found))
            return 1 if found.get("error") else 0
        created = authoring.create(*api, profile, credential)
    except authoring.ProfileRefused as exc:
        print(exc, file=sys.stderr)
        return 1
    except requests.RequestException as exc:
        print(f"could not reach {api[0]}: {exc}", file=sys.stderr)
        return 1
    print(f"created and connected {created['name']!r}: {created['id']}")
    return 0


def _outbox(args: argparse.Namespace) -> int:
    # Imported here for start-up time (see the top).
    import requests

    from seatkeeper_local.stack.local_stack import running_stack
    from seatkeeper_local.stack.outbox import sent_mail

    found = running_stack(args.template, args.port)
    if found is None:
        print("no running local stack found: start `seatkeeper local` (or `make demo`) first", file=sys.stderr)
        return 1
    try:
        mails = sent_mail(found["aws_endpoint"], to=args.to)
    except requests.RequestException as exc:
        print(f"could not read the local SES at {found['aws_endpoint']}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([{**vars(m), "to": list(m.to), "text": m.text} for m in mails], indent=2))
        return 0
    if not mails:
        print("no mail sent" + (f" to {args.to}" if args.to else ""))
    for mail in mails:
        print(f"From: {mail.sender}\nTo: {', '.join(mail.to)}\nSubject: {mail.subject}\n\n{mail.text}\n{'-' * 72}")
    return 0


class ShowDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's default in its help; an option whose default depends on others says so itself."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return action.help if action.default is None else super()._get_help_string(action)


def _profile_commands(commands: Any) -> None:
    """`seatkeeper profile draft|preview|create`."""
    profile = commands.add_parser(
        "profile", help="draft a profile from an OpenAPI document, try it against its app, or add it in one step"
    )
    actions = profile.add_subparsers(dest="action", required=True)
    text = "draft a profile from the vendor's OpenAPI 3 or Swagger 2 document (JSON or YAML), a note per guess"
    drafting = actions.add_parser("draft", help=text, description=text)
    drafting.add_argument("--openapi", type=Path, required=True, help="the vendor's API description")
    drafting.add_argument(
        "-o", "--out", type=Path, help="write the draft here and print its notes (default: the draft on stdout)"
    )
    drafting.set_defaults(run=_profile)
    for action, text in (
        ("preview", "read the first pages as a sync would, and show what each field matched; nothing is stored"),
        ("create", "preview, create and connect the profile; a failed attempt leaves nothing behind"),
    ):
        one = actions.add_parser(action, help=text, description=text)
        one.add_argument("file", type=Path, help="the profile, as JSON (docs/profile.schema.json)")
        one.add_argument(
            "--credential-file",
            type=Path,
            help='the credential, as JSON (e.g. {"token": "..."}); never stored by a preview',
        )
        one.add_argument("--url", help="a seatkeeper API's URL (default: the running local stack)")
        one.add_argument("--port", type=int, help="the local stack's port, when several run (default: the newest)")
        one.add_argument("--token", default=os.environ.get("SEATKEEPER_TOKEN"), help="a JWT (or SEATKEEPER_TOKEN)")
        if action == "preview":
            one.add_argument("--max-pages", type=int, default=3, help="pages to read at most (1 to 10)")
            one.add_argument("--json", action="store_true", help="the preview as the API gives it")
        one.set_defaults(run=_profile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seatkeeper", description=__doc__)
    parser.add_argument("--template", type=Path, default=None, help="template.yaml (default: found from here up)")
    commands = parser.add_subparsers(dest="command", required=True)

    local = commands.add_parser("local", help="run the local stack in the foreground", formatter_class=ShowDefaults)
    local.add_argument("--host", default="127.0.0.1", help="the address the HTTP API and the AWS services listen on")
    local.add_argument("--port", type=int, default=3000, help="the HTTP API's port")
    local.add_argument("--aws-port", type=int, default=4566, help="the port of its AWS services (moto), for aws/boto3")
    local.add_argument("--demo", action="store_true", help="seed the demo data and keep it up for exploring")
    local.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="console",
        help="console: a line per request, and the functions' warnings; json: JSON lines, the functions' as in Lambda",
    )
    local.add_argument(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        default=None,
        help="the functions' log level (default: WARNING with the console format, the template's LogLevel with json)",
    )
    local.set_defaults(run=_local)

    token = commands.add_parser("token", help="print a JWT for the running local stack")
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument("--sub", default=None, help="the token's subject (default: local-<role>)")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")
    token.add_argument("--port", type=int, help="the stack's port, when several run (default: the newest)")
    token.set_defaults(run=_token)

    invoke = commands.add_parser(
        "invoke",
        help="run one function with a sample event, as `sam local invoke`, on an in-memory stack of its own",
        description="Run one function of template.yaml with a sample event, as `sam local invoke` does."
        f" {INVOKE_STACK}: it starts empty (no profiles, no users) and is gone when the function returns.",
    )
    invoke.add_argument("function", help="the function's logical id in template.yaml, e.g. ApiFunction")
    invoke.add_argument("--event", help="a JSON event file, e.g. events/api_health.json")
    invoke.set_defaults(run=_invoke)

    demo = commands.add_parser("demo", help="tell the main story on the local stack, ending with the dashboard's link")
    demo.add_argument("--exit", action="store_true", help="exit at the end, also when run from a terminal")
    demo.set_defaults(run=_demo)

    report = commands.add_parser("report", help="print the SaaS overview and each application's position")
    report.add_argument("--url", help="a seatkeeper API's URL (default: the running local stack)")
    report.add_argument("--port", type=int, help="the local stack's port, when several run (default: the newest)")
    report.add_argument("--token", default=os.environ.get("SEATKEEPER_TOKEN"), help="a JWT (or SEATKEEPER_TOKEN)")
    report.add_argument("--json", action="store_true", help="the overview as the API gives it")
    report.set_defaults(run=_report)

    _profile_commands(commands)
    outbox = commands.add_parser("outbox", help="print the mail the running local stack sent (moto's SES)")
    outbox.add_argument("--to", help="only the mail to this address")
    outbox.add_argument("--port", type=int, help="the local stack's port, when several run (default: the newest)")
    outbox.add_argument("--json", action="store_true", help="as JSON, the HTML part included")
    outbox.set_defaults(run=_outbox)

    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
