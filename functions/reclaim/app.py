"""The reclaim-licenses state machine's step: send each candidate's reclaim request, at most once."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seatkeeper import reclamation
from seatkeeper.connected import saas_client
from seatkeeper.network_guard import NetworkPolicy
from seatkeeper.notices import EventBridgeNotices
from seatkeeper.profiles import ProfileService
from seatkeeper.saas_http import GuardedTokenEndpoint
from seatkeeper.store import DynamoDBConnections, DynamoDBProfiles, DynamoDBReclamations
from seatkeeper.vault import SecretsManagerVault

logger = Logger()


@cache
def table() -> str:
    return os.environ["TABLE_NAME"]


@logger.inject_lambda_context
def reclaim_seats(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    store = DynamoDBReclamations(table())
    record = store.get_reclamation(event["reclamation_id"])
    policy = NetworkPolicy.from_environment()
    profile = ProfileService(DynamoDBProfiles(table()), policy).get(record.profile_id)
    connections = DynamoDBConnections(table())
    client = saas_client(
        profile,
        connections=connections,
        secrets=SecretsManagerVault(),
        lock=connections,
        endpoint=GuardedTokenEndpoint(policy),
        policy=policy,
    )
    done = reclamation.execute(record, store=store, seats=client, notices=EventBridgeNotices())
    logger.info("reclamation finished", extra={"reclamation_id": done.id, "status": done.status})
    return {"reclamation_id": done.id, "status": done.status}
