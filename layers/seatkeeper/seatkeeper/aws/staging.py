"""The one module that talks to S3: where a sync run keeps the pages it fetched until it commits,
and where each committed snapshot keeps its users' fingerprints.

A run writes chunks of users as gzipped JSON lines under runs/<run id>/; a chunk's number
comes from the run's checkpoint, so a retried invocation overwrites what it wrote before
instead of adding duplicates. The bucket expires them after a day.

A commit writes the fingerprints of the snapshot it made as one object,
snapshots/<profile id>/<run id>.json.gz, after the users themselves: the next commit reads
that one object instead of every stored user, as long as the snapshot record still names
that run (seatkeeper.sync.commit_step says when it does not). They expire after 30 days.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from seatkeeper.aws.clients import aws_client

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

# json.dumps(row, separators=(",", ":")) builds an encoder at every call: one for every row staged, made once.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":")).encode


class S3Staging:
    def __init__(self, bucket: str, client: S3Client | None = None) -> None:
        self.bucket = bucket
        self._client = client

    @cached_property
    def client(self) -> S3Client:
        return self._client or aws_client("s3")

    @staticmethod
    def _key(run_id: str, kind: str, number: int) -> str:
        return f"runs/{run_id}/{kind}-{number:06d}.jsonl.gz"

    def put_chunk(self, run_id: str, kind: str, number: int, rows: Sequence[dict[str, Any] | str]) -> None:
        # A row given as text is its JSON line already (a user staged with its fingerprint).
        lines = (row if isinstance(row, str) else _COMPACT_JSON(row) for row in rows)
        data = gzip.compress("".join(line + "\n" for line in lines).encode(), 6)
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(run_id, kind, number),
            Body=data,
            ContentType="application/x-ndjson",
            ContentEncoding="gzip",
        )

    def rows(self, run_id: str, kind: str) -> Iterator[dict[str, Any]]:
        """Every row of the run's chunks of one kind, in chunk order, one chunk in memory at a time."""
        return (json.loads(line) for line in self.lines(run_id, kind))

    def lines(self, run_id: str, kind: str) -> Iterator[bytes]:
        """The rows of `rows` as the JSON lines they were staged as."""
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"runs/{run_id}/{kind}-"
        ):
            keys += [item["Key"] for item in page.get("Contents", [])]
        for key in sorted(keys):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            yield from gzip.decompress(body).splitlines()

    def discard(self, run_id: str) -> None:
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=f"runs/{run_id}/"):
            keys += [item["Key"] for item in page.get("Contents", [])]
        for start in range(0, len(keys), 1000):
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]}
            )

    # --- the snapshot's fingerprints ------------------------------------------------------

    @staticmethod
    def _fingerprints_key(profile_id: str, run_id: str) -> str:
        return f"snapshots/{profile_id}/{run_id}.json.gz"

    def put_fingerprints(self, profile_id: str, run_id: str, marks: dict[str, str]) -> None:
        document = {"profile_id": profile_id, "run_id": run_id, "fingerprints": marks}
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._fingerprints_key(profile_id, run_id),
            Body=gzip.compress(_COMPACT_JSON(document).encode(), 6),
            ContentType="application/json",
            ContentEncoding="gzip",
        )

    def fingerprints(self, profile_id: str, run_id: str) -> dict[str, str] | None:
        """The fingerprints that run `run_id` wrote for the profile; None when they are gone or not its own."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._fingerprints_key(profile_id, run_id))["Body"]
        except self.client.exceptions.NoSuchKey:
            return None
        document = json.loads(gzip.decompress(body.read()))
        if document.get("profile_id") != profile_id or document.get("run_id") != run_id:
            return None
        marks: dict[str, str] = document["fingerprints"]
        return marks

    def forget_fingerprints(self, profile_id: str, run_id: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._fingerprints_key(profile_id, run_id))
