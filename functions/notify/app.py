"""The notifier: seatkeeper's own events (one EventBridge rule) turned into messages to people, each delivery recorded.

EventBridge invokes it asynchronously: a delivery that stays unavailable through the notifier's own
tries raises, Lambda tries the event twice more, then puts it in NotifyDeadLetters (an alarm watches
it). Deliveries already sent are never sent again on those tries (notify.delivery).
"""

from __future__ import annotations

from datetime import UTC, datetime
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
    # Cold start: the adapters (botocore's clients, requests) where a message is sent, not for events that ask nobody.
    from seatkeeper.aws.channels import channel_for
    from seatkeeper.aws.email import SESEmail
    from seatkeeper.core.settings import ChannelSettings
    from seatkeeper.saas.network_guard import NetworkPolicy

    policy = NetworkPolicy.from_entries(settings.allow_hosts.split(","))
    # The channels' settings per invocation, not per container: a channel set up (or moved) after the
    # notifier started is used from its next event; reading a few variables costs nothing.
    found_in = ChannelSettings.from_environment()
    found: dict[str, Channel | str] = {
        "email": SESEmail(settings.sender) if settings.sender else "notifications.from is not set"
    }
    # Slack and Teams are reached through the network guard, as every SaaS app is; their secrets are read
    # once in five minutes (aws.channels), so a channel nobody set up costs no call per event.
    for name, secret in (("slack", found_in.slack_secret), ("teams", found_in.teams_secret)):
        channel = channel_for(name, found_in, policy=policy)
        found[name] = channel or f"the {name} channel is not set up (no secret {secret})"
    return found


def weekly_digest() -> list[Any]:
    """The admins' weekly digest (the WeeklyDigest schedule's input is {"digest": "weekly"})."""
    # Cold start: the renewals and the positions only for the digest, once a week.
    from seatkeeper.aws.dynamodb.reconciliations import DynamoDBReconciliations
    from seatkeeper.licensing import renewals
    from seatkeeper.licensing.notifications import weekly_digest as digest_of

    today = datetime.now(UTC).date()
    profiles = list(DynamoDBProfiles(settings.table_name).every())
    store = DynamoDBReclamations(settings.table_name)
    savings = store.savings(today.year) + (store.savings(today.year - 1) if today.month == 1 else [])
    positions = DynamoDBReconciliations(settings.table_name).latest_positions([p.id for p in profiles])
    return digest_of(
        today,
        savings=savings,
        waiting=store.awaiting_approval(),
        renewing=renewals.upcoming(profiles, positions, today=today, within_days=30),
        names={p.id: p.profile.name for p in profiles},
        renewal_dates={p.id: p.profile.subscription.renewal_date for p in profiles},
        audience=audience,
        brand=brand,
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("digest") == "weekly":
        notifier = Notifier(channels(), DynamoDBDeliveries(settings.table_name), attempts=settings.channel_attempts)
        done = notifier.deliver(weekly_digest(), audience.channels)
        return {"sent": sum(d.status == "sent" for d in done), "deliveries": len(done)}
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
