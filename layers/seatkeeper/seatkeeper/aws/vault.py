"""The one module that talks to Secrets Manager: where every credential value lives.

Secrets are named seatkeeper/<profile id>/<attempt id> and encrypted with the stack's key
(DATA_KEY_ARN, given by the API, which creates them). Nothing here logs or raises with a secret's value.
"""

from __future__ import annotations

import base64
import json
import secrets
from functools import cached_property
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from seatkeeper.aws.clients import aws_client

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager.client import SecretsManagerClient
    from mypy_boto3_secretsmanager.type_defs import TagTypeDef


class SecretsManagerVault:
    """Vault and SecretStore on AWS Secrets Manager."""

    def __init__(self, kms_key_id: str | None = None, client: SecretsManagerClient | None = None) -> None:
        # The stack's key encrypts the secrets it creates; reading and writing need no key id.
        self.kms_key_id = kms_key_id
        self._client = client

    @cached_property
    def client(self) -> SecretsManagerClient:
        return self._client or aws_client("secretsmanager")

    def create(self, name: str, value: dict[str, Any]) -> str:
        tags: list[TagTypeDef] = [{"Key": "app", "Value": "seatkeeper"}]
        if self.kms_key_id:
            answer = self.client.create_secret(
                Name=name, SecretString=json.dumps(value), Tags=tags, KmsKeyId=self.kms_key_id
            )
        else:
            answer = self.client.create_secret(Name=name, SecretString=json.dumps(value), Tags=tags)
        return answer["ARN"]

    def read(self, secret_id: str) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.client.get_secret_value(SecretId=secret_id)["SecretString"])
        return value

    def write(self, secret_id: str, value: dict[str, Any]) -> None:
        # One PutSecretValue: readers see the old value or the new one, never half of each.
        self.client.put_secret_value(SecretId=secret_id, SecretString=json.dumps(value))

    def key(self, name: str) -> bytes:
        """A random 256-bit key of seatkeeper's own (such as the keep links'), made on first use."""
        try:
            return base64.b64decode(self.read(name)["key"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        try:
            self.create(name, {"key": base64.b64encode(secrets.token_bytes(32)).decode()})
        except ClientError as exc:
            # Two first uses at once: the other one's key is the key.
            if exc.response["Error"]["Code"] != "ResourceExistsException":
                raise
        return base64.b64decode(self.read(name)["key"])

    def delete(self, secret_id: str) -> None:
        try:
            self.client.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise

    def delete_all(self, prefix: str) -> int:
        names: list[str] = []
        for page in self.client.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
            names += [s["Name"] for s in page["SecretList"] if s["Name"].startswith(prefix)]
        for name in names:
            self.delete(name)
        return len(names)
