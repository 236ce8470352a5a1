"""GET and POST /keep/{token}: "Do you still need it?". No JWT: the single-use token is the authentication."""

from __future__ import annotations

import base64
import hashlib
import html
from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from routes.access import PUBLIC
from routes.answers import ERROR_RESPONSES, TEXT
from routes.services import keep_requests as store
from routes.services import profile_service as profiles
from routes.settings import network_policy, settings
from seatkeeper.aws.events import EventBridgeNotices
from seatkeeper.core.errors import Gone, NotFound
from seatkeeper.licensing import keep
from seatkeeper.licensing.reclamation import SeatTaker

logger = Logger(child=True)
router = Router()
# Any text: a forged token of any shape is a 404 like an unknown one, never a 422 that describes tokens.
Token = Annotated[str, Path(description="The token of the keep link")]

# The page's one script, allowed by its hash: it posts the choice as JSON, as the API takes it.
SCRIPT = (
    "document.querySelectorAll('button[data-decision]').forEach(function(b){b.addEventListener('click',function(){"
    "var r=document.getElementById('reason').value||null;"
    "document.querySelectorAll('button').forEach(function(x){x.disabled=true});"
    "fetch(location.pathname,{method:'POST',headers:{'Content-Type':'application/json'},"
    "body:JSON.stringify({decision:b.dataset.decision,reason:r})})"
    ".then(function(a){return a.json().then(function(j){return [a.status,j]})})"
    ".then(function(a){var said={kept:'Thank you: you keep your license.',"
    "awaiting_approval:'Thank you: an administrator will confirm that you keep your license.',"
    "released:'Thank you: your license was given back.'};"
    "document.getElementById('answer').textContent=a[0]===200?said[a[1].status]:a[1].message})})});"
)
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()}'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def page(status: int, title: str, body: str) -> Response[str]:
    text = (
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        f"<title>seatkeeper: {html.escape(title)}</title>"
        "<body style='font:16px system-ui;max-width:40em;margin:3em auto;padding:0 1em;color:#1a1a1a'>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(
        status,
        "text/html; charset=utf-8",
        text,
        headers={"Cache-Control": "no-store", "Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer"},
    )


def seats(profile_id: str) -> SeatTaker:
    """The profile's SaaS client, for a release: only then does this route talk to the app."""
    from seatkeeper.aws.connected import saas_client_on_aws

    return saas_client_on_aws(profiles().get(profile_id), settings().table_name, network_policy())


@router.get(
    "/keep/<token>",
    summary="The keep link's page (no token: the link authenticates)",
    tags=["reclamations"],
    security=PUBLIC,
    responses={
        200: {"description": "The page", "content": {"text/html": TEXT}},
        # A token that no route can hold (control characters) is the API's own JSON 404.
        404: {
            "description": "Not a link seatkeeper gave out",
            "content": {"text/html": TEXT, **ERROR_RESPONSES[404]["content"]},
        },
        410: {"description": "Used, or its grace period is over", "content": {"text/html": TEXT}},
    },
)
def show(token: Token) -> Response[str]:
    # Reading the page changes nothing: mail scanners open links before people do.
    try:
        _, record, candidate = keep.open_ticket(token, store=store(), now=datetime.now(UTC))
    except NotFound:
        return page(404, "This link is not valid", "<p>Ask your IT team for a new one if you need it.</p>")
    except Gone as exc:
        return page(410, "This link can no longer be used", f"<p>{html.escape(str(exc).capitalize())}.</p>")
    app = profiles().get(record.profile_id).profile.name
    seen = candidate.last_activity.date().isoformat() if candidate.last_activity else "never"
    who = candidate.email or candidate.name or candidate.id
    fate = f"It will move to the {record.downgrade_to} tier" if record.downgrade_to else "It will be taken back"
    body = (
        f"<p>Your license of <b>{html.escape(app)}</b> ({html.escape(who)}) has not been used since "
        f"<b>{html.escape(seen)}</b>. {html.escape(fate)} on <b>{html.escape(record.reclaim_at or '')}</b>.</p>"
        "<p>Do you still need it?</p>"
        "<p><label>Why (optional)<br><textarea id=reason maxlength=500 rows=3 cols=50></textarea></label></p>"
        "<p><button data-decision=keep>Keep my license</button> "
        "<button data-decision=release>Release it now</button></p><p id=answer role=status></p>"
        f"<script>{SCRIPT}</script>"
    )
    return page(200, f"Do you still need {app}?", body)


@router.post(
    "/keep/<token>",
    summary="Answer a keep link: keep the seat (or ask to), or release it now (no JWT: the link authenticates)",
    tags=["reclamations"],
    security=PUBLIC,  # no JWT: the token in the path authenticates
    responses={
        200: {"description": "OK", "content": {"application/json": {"model": keep.KeepAnswer}}},
        404: ERROR_RESPONSES[404],
        410: ERROR_RESPONSES[410],
        413: ERROR_RESPONSES[413],
        415: ERROR_RESPONSES[415],
        422: ERROR_RESPONSES[422],
    },
)
def answer(token: Token, request: Annotated[keep.KeepDecisionRequest, Body()]) -> keep.KeepAnswer:
    decided = keep.decide(
        token,
        request,
        store=store(),
        policy_of=lambda profile_id: profiles().get(profile_id).profile.policy,
        seats=seats,
        notices=EventBridgeNotices(),
        now=datetime.now(UTC),
    )
    logger.info("keep link answered", extra={"status": decided.status})
    return decided
