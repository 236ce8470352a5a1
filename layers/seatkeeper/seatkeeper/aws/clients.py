"""The AWS SDK clients, made once per container and shared by every invocation and repository.

Making a client reads the SDK's service model and costs milliseconds and memory each time;
a Lambda container keeps this module between invocations, so one client per service does.
The SDK is imported on first use: a route that never calls AWS starts without it.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def aws_client(service: str, *, validated: bool = True) -> Any:
    """botocore's client of `service`, as its environment configures it (clients are thread-safe).

    `validated=False`: a client that sends without checking the parameters against the API model
    first, for bulk writes of items our own code built (the service still refuses a bad request).
    """
    # botocore, not boto3: boto3's client is botocore's, and boto3 adds only resources and S3 transfer
    # methods that we never use, yet importing it (s3transfer and all) makes a first request slower.
    from botocore.session import get_session

    if validated:
        return get_session().create_client(service)
    from botocore.config import Config

    return get_session().create_client(service, config=Config(parameter_validation=False))
