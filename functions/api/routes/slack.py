"""POST /slack/interactions: a click on Keep or Release in a Slack DM. No JWT: Slack's request signature
authenticates the request, and the keep token on the button says whose seat it is, as the keep link does.

Slack wants an answer within 3 seconds. Keeping is one DynamoDB write; a release is recorded the same way
and sent to the app when the grace period ends (a SaaS call could take longer than Slack waits). The message
is then rewritten with `chat.update`, with a deadline short enough to stay inside the 3 seconds: through the
configured Slack API with our bot token, not the `response_url` in the body, so no request goes to an
address a request told us.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from routes.access import PUBLIC
from routes.answers import ERROR_RESPONSES, ErrorBody
from routes.services import keep_requests as store
from routes.services import profile_service as profiles
from routes.settings import network_policy, settings
from seatkeeper.aws.channels import slack_secret
from seatkeeper.aws.events import EventBridgeNotices
from seatkeeper.core.errors import Gone, NotFound, SeatkeeperError
from seatkeeper.licensing import keep
from seatkeeper.licensing.reclamation import SeatTaker
from seatkeeper.notify.channels import ChannelUnavailable, RecipientUnreachable
from seatkeeper.profiles.model import Policy
from seatkeeper.saas.slack import ButtonClick, SlackChannel, SlackRequestRefused, read_click, verify_request

logger = Logger(child=True)
router = Router()
UPDATE_DEADLINE_SECONDS = 1.5  # what is left of Slack's 3 seconds after the decision, with room to spare


class ReleasedAtTheEnd(SeatkeeperError):
    """No SaaS call inside Slack's 3 seconds: the release is recorded, the grace period's end sends it."""


def later(profile_id: str) -> SeatTaker:
    raise ReleasedAtTheEnd("released from Slack: sent with the others when the grace period ends")


def _refused(status: int, message: str) -> Response[str]:
    # The API's error body (answers.ErrorBody), as text: the route answers Slack in text otherwise.
    return Response(status, content_types.APPLICATION_JSON, json.dumps({"statusCode": status, "message": message}))


@router.post(
    "/slack/interactions",
    summary="A Keep or Release click in Slack (no JWT: Slack's request signature authenticates)",
    tags=["reclamations"],
    security=PUBLIC,
    responses={
        200: {"description": "Decided (or the button can no longer be used); the message says which"},
        401: {
            "description": "Not signed by Slack, or signed more than 5 minutes ago",
            "content": {"application/json": {"model": ErrorBody}},
        },
        404: ERROR_RESPONSES[404],
        413: ERROR_RESPONSES[413],
        422: ERROR_RESPONSES[422],
    },
)
def interaction() -> Response[str]:
    event = router.current_event
    secret = slack_secret(settings())
    if secret is None:
        return _refused(404, "Slack is not set up for this seatkeeper")
    body = event.decoded_body or ""
    try:
        verify_request(
            secret.signing_secret,
            timestamp=event.headers.get("x-slack-request-timestamp"),
            signature=event.headers.get("x-slack-signature"),
            body=body,
            now=time.time(),
        )
    except SlackRequestRefused as exc:
        logger.warning("Slack interaction refused", extra={"reason": str(exc)})
        return _refused(401, str(exc))
    click = read_click(body)
    said = decide(click)
    logger.info("Slack interaction answered", extra={"decision": click.decision, "said": said})
    if click.channel_id and click.message_ts:
        channel = SlackChannel(
            lambda: secret.bot_token,
            policy=network_policy(),
            api_url=settings().slack_api_url,
            deadline_seconds=UPDATE_DEADLINE_SECONDS,
        )
        try:
            channel.update(click.channel_id, click.message_ts, said)
        except (ChannelUnavailable, RecipientUnreachable) as exc:
            # The decision stands; only the message still shows its buttons (a second click gets "used already").
            logger.warning("Slack message not updated", extra={"reason": str(exc)})
    return Response(200, content_types.TEXT_PLAIN, "")


def decide(click: ButtonClick) -> str:
    """The decision through the keep link's own code; what the message says afterwards."""
    now = datetime.now(UTC)
    policies: dict[str, Policy] = {}

    def policy_of(profile_id: str) -> Policy:
        policies[profile_id] = profiles().get(profile_id).profile.policy
        return policies[profile_id]

    try:
        answer = keep.decide(
            click.token,
            keep.KeepDecisionRequest(decision=click.decision, reason="answered in Slack"),
            store=store(),
            policy_of=policy_of,
            seats=later,
            notices=EventBridgeNotices(),
            now=now,
        )
    except (NotFound, Gone) as exc:
        return f"This button can no longer be used: {exc}."
    if answer.status == "kept":
        days = next(iter(policies.values())).keep_days
        return f"Kept until {(now + timedelta(days=days)).date().isoformat()}. Thank you."
    if answer.status == "awaiting_approval":
        return "Thank you: an administrator will confirm that you keep your license."
    return "Released. Thank you: your license goes back when the grace period ends."
