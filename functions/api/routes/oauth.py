"""GET /oauth/callback: the OAuth redirect URI. No JWT: the single-use `state` is its authentication."""

from __future__ import annotations

import html
from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from routes.access import PUBLIC
from routes.services import profile_service as profiles
from routes.settings import network_policy, settings
from seatkeeper.aws.dynamodb.connections import DynamoDBConnections
from seatkeeper.aws.vault import SecretsManagerVault
from seatkeeper.aws.workflows import StepFunctions
from seatkeeper.core.errors import GrantFailed, GrantRefused, SaaSAuthenticationFailed
from seatkeeper.profiles.model import OAuth2AuthorizationCodeAuth

if TYPE_CHECKING:
    # Cold start: the OAuth client only in the routes of a grant.
    from seatkeeper.saas import oauth

logger = Logger(child=True)
router = Router()


@cache
def grants() -> DynamoDBConnections:
    return DynamoDBConnections(settings().table_name)


def page(status: int, title: str, text: str, profile_id: str | None = None) -> Response[str]:
    # Relative, so that it finds the dashboard whatever the API's host or base path.
    back = f"../dashboard#/apps/{profile_id}" if profile_id else "../dashboard"
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        f"<title>seatkeeper: {html.escape(title)}</title>"
        "<body style='font:16px system-ui;max-width:40em;margin:3em auto;padding:0 1em;color:#1a1a1a'>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
        f"<p><a href='{html.escape(back)}'>Back to the seatkeeper dashboard</a></p></body></html>"
    )
    return Response(
        status,
        "text/html; charset=utf-8",
        body,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "Referrer-Policy": "no-referrer",
        },
    )


def exchange(grant: oauth.GrantState, code: str) -> oauth.TokenSet:
    """Swap the code for tokens and keep them with the client secret, in one write to the vault."""
    # Only a callback needs the HTTP client and the grant's code; importing them here keeps every
    # other cold start short.
    # Cold start: the OAuth client only in the routes of a grant.
    from seatkeeper.saas import oauth
    from seatkeeper.saas.http import GuardedTokenEndpoint

    profile = profiles().get(grant.profile_id)
    auth = profile.profile.auth
    if not isinstance(auth, OAuth2AuthorizationCodeAuth):  # the profile was patched since the grant began
        raise GrantFailed("the profile no longer signs in with an OAuth authorization code")
    records, _ = grants().connection_records(grant.profile_id)
    if records.credential is None or records.credential.attempt_id != grant.attempt_id:
        raise GrantFailed("the connection attempt this grant belongs to is gone")
    try:
        records.credential.check_bound_to(profile.profile)
    except SaaSAuthenticationFailed as exc:
        raise GrantFailed(str(exc)) from None
    vault = SecretsManagerVault()
    client = vault.read(records.credential.secret_arn)
    tokens = oauth.exchange_code(
        GuardedTokenEndpoint(network_policy()),
        auth,
        client,
        code=code,
        code_verifier=grant.code_verifier,
        redirect_uri=grant.redirect_uri,
    )
    vault.write(records.credential.secret_arn, {**client, "tokens": tokens.model_dump()})
    return tokens


@router.get(
    "/oauth/callback",
    summary="OAuth 2.0 redirect URI (no token: the state authenticates it)",
    tags=["connections"],
    security=PUBLIC,
    responses={
        200: {"description": "Access granted: a page", "content": {"text/html": {"schema": {"type": "string"}}}},
        400: {"description": "Refused or denied: a page", "content": {"text/html": {"schema": {"type": "string"}}}},
    },
)
def callback() -> Response[str]:
    # Cold start: the OAuth client only in the routes of a grant.
    from seatkeeper.saas import oauth

    params = {k: v for k, v in (router.current_event.query_string_parameters or {}).items() if isinstance(v, str)}
    try:
        outcome = oauth.complete_grant(grants(), params, exchange)
    except GrantRefused as exc:
        logger.warning("callback refused", extra={"reason": str(exc)})
        return page(400, "This link cannot be used", str(exc))
    saga = StepFunctions()
    context = {"profile_id": outcome.grant.profile_id, "attempt_id": outcome.grant.attempt_id}
    if outcome.error is not None:
        saga.fail(outcome.grant.task_token, outcome.error, outcome.cause or "")
        logger.info("grant failed", extra={**context, "error": outcome.error})
        return page(400, "Access was not granted", outcome.cause or outcome.error, outcome.grant.profile_id)
    saga.succeed(outcome.grant.task_token, {"scope": outcome.tokens.scope if outcome.tokens else None})
    logger.info("grant completed", extra=context)
    return page(200, "Access granted", "seatkeeper is now testing the connection.", outcome.grant.profile_id)
