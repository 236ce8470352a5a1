"""The notifier: seatkeeper's own events (one EventBridge rule) turned into messages to people, each delivery recorded.

EventBridge invokes it asynchronously: a delivery that stays unavailable through the notifier's own
tries raises, Lambda tries the event twice more, then puts it in NotifyDeadLetters (an alarm watches
it). Deliveries already sent are never sent again on those tries (notify.delivery).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seatkeeper.aws.dynamodb.notifications import DynamoDBDeliveries
from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles
from seatkeeper.aws.dynamodb.reclamations import DynamoDBReclamations
from seatkeeper.core.errors import NotFound
from seatkeeper.core.settings import NotifySettings
from seatkeeper.licensing.notifications import NOTIFYING, Audience, channels_for, outgoing
from seatkeeper.notify.channels import Channel
from seatkeeper.notify.delivery import Notifier
from seatkeeper.notify.messages import Brand

logger = Logger()

settings = NotifySettings.from_environment()
audience = Audience(admins=settings.admins, channels=settings.channels)
brand = Brand(company=settings.company_name, dashboard_url=settings.dashboard_url)


def channels() -> dict[str, Channel | str]:
    """Each channel's adapter, or why there is none (recorded as the delivery's reason)."""
    # Cold start: the SES adapter (botocore's client) where a message is sent, not for events that ask nobody.
    from seatkeeper.aws.email import SESEmail

    return {
        "email": SESEmail(settings.sender) if settings.sender else "notifications.from is not set",
        "slack": "the slack channel is not available yet",
        "teams": "the teams channel is not available yet",
    }


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail_type, detail = event.get("detail-type", ""), event.get("detail") or {}
    if detail_type not in NOTIFYING:
        return {"sent": 0, "deliveries": 0}
    try:
        profile = DynamoDBProfiles(settings.table_name).get(detail["profile_id"]) if detail.get("profile_id") else None
    except NotFound:
        profile = None  # deleted since: its people are still told, with what the event says
    messages = outgoing(
        detail_type,
        detail,
        profile=profile,
        reclamation=DynamoDBReclamations(settings.table_name).get_reclamation,
        audience=audience,
        brand=brand,
        event_id=str(event.get("id")),
    )
    notifier = Notifier(channels(), DynamoDBDeliveries(settings.table_name), attempts=settings.channel_attempts)
    done = notifier.deliver(messages, channels_for(profile, audience))
    statuses = [d.status for d in done]
    logger.info("notified", extra={"detail_type": detail_type, "statuses": statuses})
    return {"sent": statuses.count("sent"), "deliveries": len(done)}
