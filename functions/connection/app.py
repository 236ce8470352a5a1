"""The create-connection saga's steps that need code: BeginGrant (OAuth) and TestConnection."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from seatkeeper.aws.dynamodb.connections import DynamoDBConnections
from seatkeeper.aws.dynamodb.profiles import DynamoDBProfiles
from seatkeeper.core.errors import SeatkeeperError
from seatkeeper.core.settings import ConnectionSagaSettings
from seatkeeper.profiles.model import OAuth2AuthorizationCodeAuth
from seatkeeper.profiles.service import ProfileService
from seatkeeper.saas import oauth
from seatkeeper.saas.network_guard import NetworkPolicy

logger = Logger()


settings = ConnectionSagaSettings.from_environment()
policy = NetworkPolicy.from_entries(settings.allow_hosts.split(","))


@cache
def connections() -> DynamoDBConnections:
    return DynamoDBConnections(settings.table_name)


@cache
def profiles() -> ProfileService:
    return ProfileService(DynamoDBProfiles(settings.table_name), policy)


@logger.inject_lambda_context
def begin_grant(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Remember state and PKCE for this attempt and show the person where to grant access."""
    profile = profiles().get(event["profile_id"])
    auth = profile.profile.auth
    if not isinstance(auth, OAuth2AuthorizationCodeAuth):
        raise SeatkeeperError(f"profile {profile.id} does not use OAuth")
    url = oauth.begin_grant(
        auth,
        connections(),
        profile_id=profile.id,
        attempt_id=event["attempt_id"],
        client_id=event["client_id"],
        redirect_uri=event["redirect_uri"],
        task_token=event["task_token"],
        timeout_seconds=int(event["timeout_seconds"]),
    )
    connections().await_grant(profile.id, event["attempt_id"], url)
    logger.info("waiting for the grant", extra={"profile_id": profile.id, "attempt_id": event["attempt_id"]})
    return {}


@logger.inject_lambda_context
def test_connection(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Fetch the first page of the users list and of each more list (users.also) with the stored credential;
    a SaaS* error names what went wrong, and in which list."""
    # The SaaS client (requests and urllib3) only here: BeginGrant, in this same module, never calls an app.
    from seatkeeper.aws.connected import saas_client_on_aws
    from seatkeeper.saas.http import RetryPolicy
    from seatkeeper.saas.paging import first_page_of_every_list

    profile = profiles().get(event["profile_id"])
    # A short retry budget here: the saga retries the whole test, and a person is waiting for the answer.
    client = saas_client_on_aws(
        profile, settings.table_name, policy, retries=RetryPolicy(max_attempts=2, budget_seconds=10)
    )
    found = first_page_of_every_list(client)
    more = {kind: count for kind, count in found.items() if kind is not None}
    logger.info(
        "connection works",
        extra={"profile_id": profile.id, "users_on_first_page": found[None], "more_lists_on_first_page": more},
    )
    return {"users_on_first_page": found[None]}
