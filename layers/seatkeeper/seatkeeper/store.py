"""The one module that talks to DynamoDB.

Single-table design (table name in TABLE_NAME; key schema in template.yaml):

| pk                      | sk               | item                                            |
|-------------------------|------------------|-------------------------------------------------|
| PROFILE#<id>            | PROFILE          | the profile: own fields and the built profile   |
| PROFILE#<id>            | CONNECTION       | connection record (status, error, execution)    |
| PROFILE#<id>            | CREDENTIAL       | credential record: the secret's ARN, no value   |
| PROFILE#<id>            | APP_REGISTRY     | OAuth application registry record               |
| PROFILE#<id>            | CONNECTION_FAILURE | why the last connection attempt failed        |
| PROFILE_NAME#<name>     | PROFILE_NAME     | keeps profile names unique (case-insensitive)   |
| OAUTH_STATE#<state>     | OAUTH_STATE      | an OAuth grant waiting for its callback (TTL)   |
| REFRESH_LOCK#<secret>   | REFRESH_LOCK     | serializes refreshes of one OAuth credential    |
| PROFILE#<id>            | SYNC_LOCK        | one sync at a time per profile (expires_at)     |
| PROFILE#<id>            | SNAPSHOT         | the last committed sync: run, time, user count, |
|                         |                  | the run whose fingerprint object it matches,    |
|                         |                  | its base and how many changes it has gathered   |
| USER_PAGES#<profile id> | <base>#<first id>| a page of a base: up to 1,000 users, gzipped    |
| USERS#<profile id>      | <user id>        | a change to the base: one user, or `left_app`   |
| RUN#<run id>            | RUN              | a sync run: status, progress, error             |
| PROFILE#<id>            | POSITION         | the latest license position                     |
| PROFILE#<id>            | POSITION#<time>  | every position computed, for the trend          |
| TREND                   | <date>           | the day's sum of every profile's latest position|
| RECONCILIATION#<id>     | RECONCILIATION   | a reconciliation and its result per profile     |
| RECLAMATION#<id>        | RECLAMATION      | a reclamation: candidates, outcomes, audit      |
| RECLAMATION#<id>        | USER#<user id>   | one user's reclaim action, claimed before sent  |
| RECLAMATION#<id>        | DECISION#<user id> | a candidate's answer to their keep link       |
| KEEP#<sha256 of token>  | KEEP             | a keep link: its user, deadline, used_at (TTL)  |
| PROFILE#<id>            | KEPT#<user id>   | a seat its user kept, protected until (TTL)     |
| PROFILE#<id>            | RENEWAL_REMINDER#<date>#<days> | a Renewal Approaching put (TTL)   |
| AWAITING_APPROVAL       | <created>#<id>   | a reclamation waiting for an admin (its summary)|
| SAVINGS#<year>          | <finished>#<id>  | what one reclamation finished that year saves   |

GSI1 (gsi1pk, gsi1sk) lists kinds of item in order: gsi1pk=PROFILES, gsi1sk=<created>#<id>;
gsi1pk=RECLAMATIONS#<profile id>, gsi1sk=<created>#<id> (a profile's reclamations).
Items that expire carry `expires_at` (epoch seconds), the table's TTL attribute.
Documents such as the profile are stored as JSON strings: they are read whole, never queried.
A snapshot's users are a base and the changes to it (DynamoDBSync says how). Whatever changes a
stored user outside a sync's commit calls `forget_fingerprints` first, so that the next commit
reads the users back instead of trusting the last commit's fingerprint object.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from functools import cached_property
from itertools import islice
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from seatkeeper.aws_clients import aws_client
from seatkeeper.connections import (
    AppRegistryRecord,
    ConnectionFailure,
    ConnectionRecord,
    ConnectionRecords,
    CredentialRecord,
)
from seatkeeper.errors import ConnectionConflict, ProfileConflict, ProfileNotFound, RunNotFound
from seatkeeper.profiles import ProfileRecord
from seatkeeper.user_records import SaaSUser

# The models of the other kinds of item (sync runs, positions, reconciliations, reclamations, keep links,
# grants) are imported by the methods that read them: a function's cold start then imports the domain
# modules of its own items only, not every module the store serves (README, Benchmarks: cold start).
if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    from seatkeeper.analytics import TrendPoint
    from seatkeeper.keep import KeepTicket
    from seatkeeper.oauth import GrantState
    from seatkeeper.position import LicensePosition
    from seatkeeper.reclamation import Decision, Reclamation, ReclamationSummary, Saving, UserOutcome
    from seatkeeper.reconciliation import Reconciliation
    from seatkeeper.sync import SyncRun


def profile_key(profile_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "PROFILE"}}


def _name_key(name: str) -> dict[str, Any]:
    return {"pk": {"S": f"PROFILE_NAME#{name.casefold()}"}, "sk": {"S": "PROFILE_NAME"}}


def _cancelled_by_condition(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    if code == "ConditionalCheckFailedException":
        return True
    reasons = error.response.get("CancellationReasons", [])
    return code == "TransactionCanceledException" and any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)


class _Table:
    """The seatkeeper table, with a client made on first use (routes that never touch it start faster)."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @cached_property
    def client(self) -> DynamoDBClient:
        return self._client or aws_client("dynamodb")

    @cached_property
    def bulk_client(self) -> DynamoDBClient:
        """For batches of items built here: checking each typed attribute against the API model
        first cost about a tenth of a commit's client-side time, for requests DynamoDB checks anyway."""
        return self._client or aws_client("dynamodb", validated=False)

    def _take_lease(self, key: dict[str, Any], holder: str, seconds: int) -> bool:
        """Hold the item at `key` for `seconds`, unless another holder's lease is still running."""
        now = int(time.time())
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={**key, "holder": {"S": holder}, "expires_at": {"N": str(now + seconds)}},
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as exc:
            if _cancelled_by_condition(exc):
                return False
            raise
        return True

    def _put_if_absent(self, item: dict[str, Any]) -> bool:
        """Write the item unless one with its key exists: whether this call wrote it."""
        try:
            self.client.put_item(TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if _cancelled_by_condition(exc):
                return False
            raise
        return True

    def _end_lease(self, key: dict[str, Any], holder: str) -> None:
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=key,
                ConditionExpression="holder = :holder",
                ExpressionAttributeValues={":holder": {"S": holder}},
            )
        except ClientError as exc:
            if not _cancelled_by_condition(exc):
                raise


class DynamoDBProfiles(_Table):
    """ProfileRepository on the seatkeeper table."""

    def _item(self, record: ProfileRecord) -> dict[str, Any]:
        return {
            **profile_key(record.id),
            "gsi1pk": {"S": "PROFILES"},
            "gsi1sk": {"S": f"{record.created_at.isoformat()}#{record.id}"},
            "name": {"S": record.profile.name},
            "version": {"N": str(record.version)},
            "document": {"S": record.model_dump_json()},
        }

    @staticmethod
    def _record(item: dict[str, Any]) -> ProfileRecord:
        return ProfileRecord.model_validate_json(item["document"]["S"])

    def add(self, record: ProfileRecord) -> None:
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {**_name_key(record.profile.name), "profile_id": {"S": record.id}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": self._item(record),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as exc:
            if _cancelled_by_condition(exc):
                raise ProfileConflict(f"a profile named {record.profile.name!r} exists already") from None
            raise

    def get(self, profile_id: str) -> ProfileRecord:
        item = self.client.get_item(TableName=self.table_name, Key=profile_key(profile_id), ConsistentRead=True).get(
            "Item"
        )
        if item is None:
            raise ProfileNotFound(profile_id)
        return self._record(item)

    def page(self, limit: int, after: dict[str, Any] | None) -> tuple[list[ProfileRecord], dict[str, Any] | None]:
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :kind",
            "ExpressionAttributeValues": {":kind": {"S": "PROFILES"}},
            "Limit": limit,
        }
        if after:
            query["ExclusiveStartKey"] = {k: {"S": v} for k, v in after.items()}
        answer = self.client.query(**query)
        last = answer.get("LastEvaluatedKey")
        return [self._record(i) for i in answer["Items"]], ({k: v["S"] for k, v in last.items()} if last else None)

    def every(self) -> Iterator[ProfileRecord]:
        after = None
        while True:
            page, after = self.page(100, after)
            yield from page
            if after is None:
                return

    def replace(self, record: ProfileRecord, *, previous: ProfileRecord) -> None:
        writes: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": self._item(record),
                    "ConditionExpression": "version = :previous",
                    "ExpressionAttributeValues": {":previous": {"N": str(previous.version)}},
                }
            }
        ]
        if record.profile.name.casefold() != previous.profile.name.casefold():
            writes += [
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": {**_name_key(record.profile.name), "profile_id": {"S": record.id}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Delete": {"TableName": self.table_name, "Key": _name_key(previous.profile.name)}},
            ]
        try:
            self.client.transact_write_items(TransactItems=writes)
        except ClientError as exc:
            if _cancelled_by_condition(exc):
                raise ProfileConflict(
                    f"a profile named {record.profile.name!r} exists already, or the profile changed meanwhile"
                ) from None
            raise

    def delete(self, profile_id: str) -> None:
        record = self.get(profile_id)
        keys: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"PROFILE#{profile_id}"}},
            ProjectionExpression="pk, sk",
        ):
            keys += [k for k in page["Items"] if k != profile_key(profile_id)]
        for users in (f"USERS#{profile_id}", f"USER_PAGES#{profile_id}"):  # a base's changes, its pages
            for page in paginator.paginate(
                TableName=self.table_name,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": users}},
                ProjectionExpression="pk, sk",
            ):
                keys += page["Items"]
        # The profile goes last, so that a delete cut short can simply be repeated.
        keys += [_name_key(record.profile.name), profile_key(profile_id)]
        for start in range(0, len(keys), 25):
            pending: dict[str, Any] = {
                self.table_name: [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]
            }
            while pending:
                pending = self.bulk_client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


CONNECTION_ITEMS = ("CONNECTION", "CREDENTIAL", "APP_REGISTRY", "CONNECTION_FAILURE")


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """An item written by the state machine's direct integrations, as plain values."""
    return {k: next(iter(v.values())) for k, v in item.items() if k not in ("pk", "sk")}


def _grant_key(state: str) -> dict[str, Any]:
    return {"pk": {"S": f"OAUTH_STATE#{state}"}, "sk": {"S": "OAUTH_STATE"}}


class DynamoDBConnections(_Table):
    """ConnectionRepository, GrantStates and RefreshLock on the seatkeeper table."""

    def connection_records(self, profile_id: str) -> tuple[ConnectionRecords, ConnectionFailure | None]:
        from seatkeeper.sync import run_error

        answer = self.client.batch_get_item(
            RequestItems={
                self.table_name: {
                    "Keys": [{"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": sk}} for sk in CONNECTION_ITEMS],
                    "ConsistentRead": True,
                }
            }
        )
        found = {item["sk"]["S"]: _plain(item) for item in answer["Responses"].get(self.table_name, [])}
        registry = found.get("APP_REGISTRY")
        if registry is not None:
            registry["scopes"] = registry.get("scopes", "").split()
        if "CREDENTIAL" in found:
            found["CREDENTIAL"]["bound_to"] = found["CREDENTIAL"].get("bound_to", "").split()
        failure = found.get("CONNECTION_FAILURE")
        if failure is not None:
            failure["cause"] = run_error(failure.get("cause"))
        return (
            ConnectionRecords(
                connection=ConnectionRecord.model_validate(found["CONNECTION"]) if "CONNECTION" in found else None,
                credential=CredentialRecord.model_validate(found["CREDENTIAL"]) if "CREDENTIAL" in found else None,
                app_registry=AppRegistryRecord.model_validate(registry) if registry else None,
            ),
            ConnectionFailure.model_validate(failure) if failure else None,
        )

    def reserve_connection(self, profile_id: str, record: ConnectionRecord) -> None:
        item = {k: {"S": str(v)} for k, v in record.model_dump(exclude_none=True).items()}
        if not self._put_if_absent({"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "CONNECTION"}, **item}):
            raise ConnectionConflict(f"profile {profile_id} has a connection")

    def release_connection(self, profile_id: str, attempt_id: str) -> None:
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "CONNECTION"}},
                ConditionExpression="attempt_id = :attempt",
                ExpressionAttributeValues={":attempt": {"S": attempt_id}},
            )
        except ClientError as exc:
            if not _cancelled_by_condition(exc):
                raise

    def delete_connection_records(self, profile_id: str) -> None:
        for sk in CONNECTION_ITEMS:
            old = self.client.delete_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": sk}},
                ReturnValues="ALL_OLD",
            ).get("Attributes", {})
            if "grant_state" in old:
                # A grant still waiting holds a task token and a PKCE verifier: gone with its attempt.
                self.client.delete_item(TableName=self.table_name, Key=_grant_key(old["grant_state"]["S"]))

    def await_grant(self, profile_id: str, attempt_id: str, authorize_url: str) -> None:
        """Show the person the authorize URL, if the attempt is still the profile's current one."""
        self.client.update_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "CONNECTION"}},
            UpdateExpression="SET #status = :awaiting, authorize_url = :url",
            ConditionExpression="attempt_id = :attempt",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":awaiting": {"S": "awaiting_grant"},
                ":url": {"S": authorize_url},
                ":attempt": {"S": attempt_id},
            },
        )

    def put_grant_state(self, grant: GrantState) -> None:
        """Keep the grant's state, and note it on its attempt's connection record so that disconnecting finds it.

        One transaction: an attempt disconnected meanwhile leaves no state behind.
        """
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {
                                **_grant_key(grant.state),
                                "document": {"S": grant.model_dump_json()},
                                "expires_at": {"N": str(grant.expires_at)},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": {"pk": {"S": f"PROFILE#{grant.profile_id}"}, "sk": {"S": "CONNECTION"}},
                            "UpdateExpression": "SET grant_state = :state",
                            "ConditionExpression": "attempt_id = :attempt",
                            "ExpressionAttributeValues": {
                                ":state": {"S": grant.state},
                                ":attempt": {"S": grant.attempt_id},
                            },
                        }
                    },
                ]
            )
        except ClientError as exc:
            if _cancelled_by_condition(exc):
                raise ConnectionConflict(f"the connection attempt {grant.attempt_id} is gone") from None
            raise

    def take_grant_state(self, state: str) -> GrantState | None:
        from seatkeeper.oauth import GrantState

        try:
            answer = self.client.delete_item(
                TableName=self.table_name,
                Key=_grant_key(state),
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if _cancelled_by_condition(exc):
                return None
            raise
        return GrantState.model_validate_json(answer["Attributes"]["document"]["S"])

    def acquire(self, key: str, holder: str, seconds: int) -> bool:
        return self._take_lease({"pk": {"S": f"REFRESH_LOCK#{key}"}, "sk": {"S": "REFRESH_LOCK"}}, holder, seconds)

    def release(self, key: str, holder: str) -> None:
        self._end_lease({"pk": {"S": f"REFRESH_LOCK#{key}"}, "sk": {"S": "REFRESH_LOCK"}}, holder)


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    return {"S": str(value)}


def _change_item(profile_id: str, values: dict[str, Any], base: str | None) -> dict[str, Any]:
    """A change to a base: one user's item, from its plain values (an entry, or a stored user changed)."""
    item = {"pk": {"S": f"USERS#{profile_id}"}, "sk": {"S": values["id"]}}
    if base:
        item["of_base"] = {"S": base}
    for name, value in values.items():
        if name not in ("id", "of_base") and value is not None:
            item[name] = _attribute(value)
    return item


def _user(entry: dict[str, Any]) -> SaaSUser:
    """A stored user (a page's entry, or a change item as plain values with its id) as the model."""
    return SaaSUser.model_validate({k: v for k, v in entry.items() if k not in _BOOKKEEPING})


_BOOKKEEPING = ("fingerprint", "reclaimed_at", "of_base", "left_app")


def _change(item: dict[str, Any]) -> dict[str, Any]:
    return {"id": item["sk"]["S"], **_plain(item)}


def base_page(entries: list[str]) -> bytes:
    """A page of a base: the users' JSON entries (each with its id and fingerprint) as one gzipped array."""
    return gzip.compress(f"[{','.join(entries)}]".encode(), compresslevel=6)


WRITES_IN_FLIGHT = 8
# A page of a base: at most this many users and this many bytes of JSON before gzip. DynamoDB's item
# limit is 400 KB, and gzip only shrinks a page (5-8x for the users of a real app).
PAGE_USERS = 1_000
PAGE_BYTES = 350_000
_PAGES_END = "$"  # the character after "#": the pages of a base sort between "<base>#" and "<base>$"


def base_pages(profile_id: str, base: str, entries: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """The items of a base, from (user id, JSON entry) in id order: up to PAGE_USERS and PAGE_BYTES a page."""
    pages: list[dict[str, Any]] = []
    page: list[str] = []
    first, size = "", 0

    def close() -> None:
        pages.append(
            {
                "pk": {"S": f"USER_PAGES#{profile_id}"},
                "sk": {"S": f"{base}#{first}"},
                "page_users": {"B": base_page(page)},
            }
        )

    for user_id, entry in entries:
        if page and (len(page) == PAGE_USERS or size + len(entry) + 1 > PAGE_BYTES):
            close()
            page, size = [], 0
        if not page:
            first = user_id
        page.append(entry)
        size += len(entry) + 1
    if page:
        close()
    return pages


class DynamoDBSync(_Table):
    """SnapshotStore and RunStore on the seatkeeper table.

    The users of a snapshot are a base and the changes to it. A base is the users of one commit in id
    order, gzipped up to a thousand an item (USER_PAGES#<profile>, sk <base>#<first id>), and named on
    the snapshot record (`base`) only once all its pages are written: a first sync of 20,000 users
    writes 20 items, not 20,000, and no reader ever sees half of a base. A later commit writes what
    changed as one item a user (USERS#<profile>, sk <user id>, `of_base` the base it changes,
    `left_app` for a user the app no longer lists), so that 1% changed is 1% written. When the changes
    outgrow a tenth of the users, the commit writes a new base instead, then deletes the changes and
    pages of the old one; a change of another base than the record's is a leftover of that, and read
    as nothing. Users stored before there were bases read as changes of no base until the next commit
    moves them to a base.
    """

    # --- the snapshot -------------------------------------------------------------------

    def base(self, profile_id: str) -> str | None:
        return (self.snapshot(profile_id) or {}).get("base")

    def _changes(self, profile_id: str, after: str | None, projection: str | None = None) -> Iterator[dict[str, Any]]:
        """The change items of a profile with ids above `after`, in id order, as plain values."""
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk" + (" AND sk > :after" if after is not None else ""),
            "ExpressionAttributeValues": {
                ":pk": {"S": f"USERS#{profile_id}"},
                **({":after": {"S": after}} if after is not None else {}),
            },
            "ConsistentRead": True,
        }
        if projection:
            query["ProjectionExpression"] = projection
        for page in self.client.get_paginator("query").paginate(**query, PaginationConfig={"PageSize": 1000}):
            yield from map(_change, page["Items"])

    def _page_holding(self, profile_id: str, base: str, user_id: str, *, whole: bool) -> dict[str, Any] | None:
        """The page of a base where `user_id` is or would be: the last whose first id is not above it."""
        found = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :user",
            ExpressionAttributeValues={
                ":pk": {"S": f"USER_PAGES#{profile_id}"},
                ":first": {"S": f"{base}#"},
                ":user": {"S": f"{base}#{user_id}"},
            },
            **({} if whole else {"ProjectionExpression": "sk"}),  # type: ignore[arg-type]
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )["Items"]
        return found[0] if found else None

    def _pages(self, profile_id: str, base: str, after: str | None) -> Iterator[dict[str, Any]]:
        """The base's users with ids above `after`, in id order, read from the page that holds `after` on."""
        holding = self._page_holding(profile_id, base, after, whole=False) if after is not None else None
        # Two pages a request: a caller that wants a few users reads no more than it needs.
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :end",
            ExpressionAttributeValues={
                ":pk": {"S": f"USER_PAGES#{profile_id}"},
                ":first": {"S": holding["sk"]["S"] if holding else f"{base}#"},
                ":end": {"S": f"{base}{_PAGES_END}"},
            },
            ConsistentRead=True,  # the record names the base once its pages are written: read them as written
            PaginationConfig={"PageSize": 2},
        ):
            for item in page["Items"]:
                for entry in json.loads(gzip.decompress(item["page_users"]["B"])):
                    if after is None or entry["id"] > after:
                        yield entry

    def stored_user(self, profile_id: str, user_id: str) -> tuple[dict[str, Any] | None, str | None]:
        """One stored user as plain values (None when there is none), and the base it is read over."""
        base = self.base(profile_id)
        item = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"USERS#{profile_id}"}, "sk": {"S": user_id}},
            ConsistentRead=True,
        ).get("Item")
        if item is not None and item.get("of_base", {}).get("S") == base:
            return (None if item.get("left_app") else _change(item)), base
        page = self._page_holding(profile_id, base, user_id, whole=True) if base else None
        entries = json.loads(gzip.decompress(page["page_users"]["B"])) if page else []
        return next((entry for entry in entries if entry["id"] == user_id), None), base

    def change_user(self, profile_id: str, user_id: str, values: dict[str, Any]) -> None:
        """Change one stored user outside a commit (a reclaim's outcome), if the snapshot has it.

        Written as a change of the base it was read over: should a commit name a new base meanwhile,
        the change is read as nothing, and the user shows as that commit read it from the app.
        """
        user, base = self.stored_user(profile_id, user_id)
        if user is not None:
            self.client.put_item(TableName=self.table_name, Item=_change_item(profile_id, {**user, **values}, base))

    def _current(
        self, profile_id: str, base: str | None, after: str | None = None, *, projection: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """The stored users with ids above `after`, in id order, as plain values: the base with its changes."""
        changes = self._changes(profile_id, after, projection)
        pages = self._pages(profile_id, base, after) if base else iter(())
        change, entry = next(changes, None), next(pages, None)
        while change is not None or entry is not None:
            if change is not None and (entry is None or change["id"] <= entry["id"]):
                if change.get("of_base") == base:
                    if entry is not None and entry["id"] == change["id"]:
                        entry = next(pages, None)
                    if not change.get("left_app"):
                        yield change
                change = next(changes, None)
            elif entry is not None:
                yield entry
                entry = next(pages, None)

    def _each(self, profile_id: str, attribute: str) -> dict[str, Any]:
        """Every stored user's id with one attribute (None where it has none).

        Read again should a commit name a new base meanwhile: it deletes the old one's pages once named,
        and a base is never named again, so the same base named after the read means the read was whole.
        """
        while True:
            base = self.base(profile_id)
            found = {
                u["id"]: u.get(attribute)
                for u in self._current(profile_id, base, projection=f"sk, {attribute}, of_base, left_app")
            }
            if self.base(profile_id) == base:
                return found

    def fingerprints(self, profile_id: str) -> dict[str, str]:
        return {user_id: mark or "" for user_id, mark in self._each(profile_id, "fingerprint").items()}

    def last_sign_ins(self, profile_id: str) -> dict[str, str]:
        return {user_id: seen for user_id, seen in self._each(profile_id, "last_sign_in").items() if seen}

    def forget_fingerprints(self, profile_id: str) -> None:
        self._forget_fingerprints(self.client, self.table_name, profile_id, outside_a_commit=False)

    @staticmethod
    def _forget_fingerprints(client: DynamoDBClient, table: str, profile_id: str, *, outside_a_commit: bool) -> None:
        # A change outside a commit is also counted: a commit running meanwhile then names no object.
        try:
            client.update_item(
                TableName=table,
                Key={"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "SNAPSHOT"}},
                UpdateExpression="REMOVE fingerprints_of" + (" ADD changed_outside :one" if outside_a_commit else ""),
                ConditionExpression="attribute_exists(pk)",
                **({"ExpressionAttributeValues": {":one": {"N": "1"}}} if outside_a_commit else {}),  # type: ignore[arg-type]
            )
        except ClientError as exc:
            if not _cancelled_by_condition(exc):
                raise

    def _write_batch(self, requests: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {self.table_name: requests}
        attempt = 0
        while pending:
            pending = self.bulk_client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if pending:
                attempt += 1
                time.sleep(min(0.05 * 2**attempt, 2))

    def _write(self, requests: list[dict[str, Any]]) -> None:
        """25 items a request (BatchWriteItem's most), WRITES_IN_FLIGHT requests at a time."""
        batches = [requests[start : start + 25] for start in range(0, len(requests), 25)]
        if len(batches) <= 1:
            for batch in batches:
                self._write_batch(batch)
            return
        with ThreadPoolExecutor(min(WRITES_IN_FLIGHT, len(batches))) as pool:
            for done in pool.map(self._write_batch, batches):
                del done

    def put_users(self, profile_id: str, entries: list[tuple[str, str]], base: str | None) -> None:
        self._write([{"PutRequest": {"Item": _change_item(profile_id, json.loads(e), base)}} for _, e in entries])

    def delete_users(self, profile_id: str, user_ids: list[str], base: str | None) -> None:
        """Users the app no longer lists: a change that says so over a base; without one, their items go."""
        if base:
            left = [_change_item(profile_id, {"id": user_id, "left_app": True}, base) for user_id in user_ids]
            self._write([{"PutRequest": {"Item": item}} for item in left])
            return
        self._write(
            [
                {"DeleteRequest": {"Key": {"pk": {"S": f"USERS#{profile_id}"}, "sk": {"S": user_id}}}}
                for user_id in user_ids
            ]
        )

    def put_base(self, profile_id: str, base: str, entries: Iterable[tuple[str, str]]) -> int:
        """Write a base's pages from (user id, JSON entry) in id order; the snapshot record names it after.

        Returns the number of pages. Written again whole by a retried commit: the same keys, the same items.
        """
        pages = base_pages(profile_id, base, entries)
        self._write([{"PutRequest": {"Item": page}} for page in pages])
        return len(pages)

    def drop_other_bases(self, profile_id: str, base: str) -> int:
        """After a new base is named: delete the changes of any other base and the pages of every other base.

        Safe to run again (a commit retried after it died here) and at any time after the swap.
        """
        keys: list[dict[str, Any]] = [
            {"pk": {"S": f"USERS#{profile_id}"}, "sk": {"S": change["id"]}}
            for change in self._changes(profile_id, None, "sk, of_base")
            if change.get("of_base") != base
        ]
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"USER_PAGES#{profile_id}"}},
            ProjectionExpression="pk, sk",
        ):
            keys += [{"pk": i["pk"], "sk": i["sk"]} for i in page["Items"] if not i["sk"]["S"].startswith(f"{base}#")]
        self._write([{"DeleteRequest": {"Key": key}} for key in keys])
        return len(keys)

    def users(self, profile_id: str, after: str | None, limit: int) -> tuple[list[SaaSUser], str | None]:
        while True:
            base = self.base(profile_id)
            found = list(islice(self._current(profile_id, base, after), limit))
            # Fewer than asked for ends the list: unless a new base was named while its pages went (see _each).
            if len(found) == limit or self.base(profile_id) == base:
                return [_user(entry) for entry in found], (found[-1]["id"] if len(found) == limit else None)

    def snapshot(self, profile_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "SNAPSHOT"}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        found: dict[str, Any] = json.loads(item["document"]["S"])
        found.pop("fingerprints_of", None)  # the item's own attribute says it, and only while it holds
        if "fingerprints_of" in item:
            found["fingerprints_of"] = item["fingerprints_of"]["S"]
        if "changed_outside" in item:
            found["changed_outside"] = int(item["changed_outside"]["N"])
        return found

    def put_snapshot(self, profile_id: str, snapshot: dict[str, Any], *, changed_outside: int | None = None) -> None:
        # The figures before this sync stay beside it: reclamation compares the two.
        before = self.snapshot(profile_id)
        if before is not None:
            for name in ("fingerprints_of", "changed_outside", "base", "changes"):
                before.pop(name, None)
            if before.get("run_id") == snapshot["run_id"]:  # a retried commit: the one before is still before
                before = before.get("previous")
            else:
                before.pop("previous", None)
        document = {k: v for k, v in snapshot.items() if k != "fingerprints_of"}
        if before is not None:
            document["previous"] = before
        item: dict[str, Any] = {
            "pk": {"S": f"PROFILE#{profile_id}"},
            "sk": {"S": "SNAPSHOT"},
            "document": {"S": json.dumps(document)},
        }
        if changed_outside is not None:
            item["changed_outside"] = {"N": str(changed_outside)}
        if snapshot.get("fingerprints_of"):
            try:
                self.client.put_item(
                    TableName=self.table_name,
                    Item={**item, "fingerprints_of": {"S": snapshot["fingerprints_of"]}},
                    ConditionExpression="attribute_not_exists(changed_outside) OR changed_outside = :seen",
                    ExpressionAttributeValues={":seen": {"N": str(changed_outside or 0)}},
                )
                return
            except ClientError as exc:
                if not _cancelled_by_condition(exc):
                    raise
            # Users changed outside this commit while it ran: the record names no object, the next commit reads them.
            item["changed_outside"] = {"N": str((self.snapshot(profile_id) or {}).get("changed_outside", 0))}
        self.client.put_item(TableName=self.table_name, Item=item)

    # --- runs ---------------------------------------------------------------------------

    def lock_sync(self, profile_id: str, run_id: str) -> bool:
        # A day: a lock older than that belongs to a run that died without releasing it.
        return self._take_lease({"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "SYNC_LOCK"}}, run_id, 86400)

    def unlock_sync(self, profile_id: str, run_id: str) -> None:
        self._end_lease({"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "SYNC_LOCK"}}, run_id)

    def put_run(self, run: SyncRun) -> None:
        item = {"pk": {"S": f"RUN#{run.run_id}"}, "sk": {"S": "RUN"}}
        item |= {k: _attribute(v) for k, v in run.model_dump(exclude={"run_id"}, exclude_none=True).items()}
        self.client.put_item(TableName=self.table_name, Item=item)

    def get_run(self, run_id: str) -> SyncRun:
        from seatkeeper.sync import SyncRun, run_error

        item = self.client.get_item(
            TableName=self.table_name, Key={"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "RUN"}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            raise RunNotFound(run_id)
        plain = _plain(item)
        plain["error"] = run_error(plain.get("error"))
        return SyncRun.model_validate({"run_id": run_id, **plain})

    def update_run(self, run_id: str, **changes: Any) -> None:
        names = {f"#{k}": k for k in changes}
        self.client.update_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "RUN"}},
            UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in changes),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":{k}": _attribute(v) for k, v in changes.items()},
        )


class DynamoDBReconciliations(_Table):
    """ReconciliationStore, and the positions it keeps, on the seatkeeper table."""

    def put_position(self, position: LicensePosition) -> None:
        document = {"document": {"S": position.model_dump_json()}}
        key = f"PROFILE#{position.profile_id}"
        self.client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": {
                            "pk": {"S": key},
                            "sk": {"S": f"POSITION#{position.reconciled_at.isoformat()}"},
                            **document,
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": {"pk": {"S": key}, "sk": {"S": "POSITION"}, **document},
                    }
                },
            ]
        )

    def latest_position(self, profile_id: str) -> LicensePosition | None:
        from seatkeeper.position import LicensePosition

        item = self.client.get_item(
            TableName=self.table_name, Key={"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "POSITION"}}
        ).get("Item")
        return LicensePosition.model_validate_json(item["document"]["S"]) if item else None

    def latest_positions(self, profile_ids: list[str]) -> list[LicensePosition]:
        from seatkeeper.position import LicensePosition

        found: list[LicensePosition] = []
        for start in range(0, len(profile_ids), 100):
            keys = [{"pk": {"S": f"PROFILE#{i}"}, "sk": {"S": "POSITION"}} for i in profile_ids[start : start + 100]]
            # Consistent: today's trend point is summed from them right after one of them was written.
            pending: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
            while pending:
                answer = self.client.batch_get_item(RequestItems=pending)
                found += [
                    LicensePosition.model_validate_json(i["document"]["S"])
                    for i in answer["Responses"].get(self.table_name, [])
                ]
                pending = answer.get("UnprocessedKeys") or {}
        return found

    def standing_positions(self) -> list[LicensePosition]:
        """The latest position of every profile there is (deleted profiles leave theirs out)."""
        ids: list[str] = []
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :kind",
            ExpressionAttributeValues={":kind": {"S": "PROFILES"}},
            ProjectionExpression="pk",
        ):
            ids += [i["pk"]["S"].removeprefix("PROFILE#") for i in page["Items"]]
        return self.latest_positions(ids)

    def positions(self, profile_id: str, limit: int) -> list[LicensePosition]:
        from seatkeeper.position import LicensePosition

        answer = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :history)",
            ExpressionAttributeValues={":pk": {"S": f"PROFILE#{profile_id}"}, ":history": {"S": "POSITION#"}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [LicensePosition.model_validate_json(i["document"]["S"]) for i in answer["Items"]]

    def put_trend_point(self, point: TrendPoint) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "pk": {"S": "TREND"},
                "sk": {"S": point.date.isoformat()},
                "document": {"S": point.model_dump_json()},
            },
        )

    def trend_points(self, since: date) -> list[TrendPoint]:
        """The days' points from `since` on, oldest first: one query, however many profiles there are."""
        # Only the overview reads them: the other functions need not load its models at cold start.
        from seatkeeper.analytics import TrendPoint

        points: list[TrendPoint] = []
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :trend AND sk >= :since",
            ExpressionAttributeValues={":trend": {"S": "TREND"}, ":since": {"S": since.isoformat()}},
        ):
            points += [TrendPoint.model_validate_json(i["document"]["S"]) for i in page["Items"]]
        return points

    @staticmethod
    def _reconciliation_item(reconciliation: Reconciliation) -> dict[str, Any]:
        # Gzipped: with a position for each of up to 500 profiles (MAX_PROFILES) the JSON comes to
        # 0.75-1 KB a profile, at or over DynamoDB's 400 KB an item; gzipped, a tenth of that.
        return {
            "pk": {"S": f"RECONCILIATION#{reconciliation.id}"},
            "sk": {"S": "RECONCILIATION"},
            "status": {"S": reconciliation.status},
            "document_gz": {"B": gzip.compress(reconciliation.model_dump_json().encode(), mtime=0)},
        }

    def mark_renewal_reminder(self, profile_id: str, renewal_date: date, days: int) -> bool:
        return self._put_if_absent(
            {
                "pk": {"S": f"PROFILE#{profile_id}"},
                "sk": {"S": f"RENEWAL_REMINDER#{renewal_date.isoformat()}#{days}"},
                # Kept a while past the renewal, then gone: the next renewal has another date.
                "expires_at": {"N": str(int(time.time()) + 800 * 86400)},
            }
        )

    def put_reconciliation(self, reconciliation: Reconciliation) -> None:
        self.client.put_item(TableName=self.table_name, Item=self._reconciliation_item(reconciliation))

    def replace_reconciliation(self, reconciliation: Reconciliation, *, expected_status: str) -> None:
        from seatkeeper.reconciliation import ReconciliationConflict

        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=self._reconciliation_item(reconciliation),
                # Items written before the status had an attribute of its own say it only in the document.
                ConditionExpression="attribute_not_exists(#status) OR #status = :expected",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":expected": {"S": expected_status}},
            )
        except ClientError as exc:
            if _cancelled_by_condition(exc):
                raise ReconciliationConflict(
                    f"reconciliation {reconciliation.id} is no longer {expected_status}"
                ) from None
            raise

    def get_reconciliation(self, reconciliation_id: str) -> Reconciliation:
        from seatkeeper.reconciliation import Reconciliation, ReconciliationNotFound

        item = self.client.get_item(
            TableName=self.table_name,
            ConsistentRead=True,
            Key={"pk": {"S": f"RECONCILIATION#{reconciliation_id}"}, "sk": {"S": "RECONCILIATION"}},
        ).get("Item")
        if item is None:
            raise ReconciliationNotFound(reconciliation_id)
        if "document_gz" in item:
            return Reconciliation.model_validate_json(gzip.decompress(item["document_gz"]["B"]))
        return Reconciliation.model_validate_json(item["document"]["S"])  # written before it was gzipped


class DynamoDBReclamations(_Table):
    """ReclamationStore on the seatkeeper table, with the lists and sums the dashboard reads."""

    def _key(self, reclamation_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"RECLAMATION#{reclamation_id}"}, "sk": {"S": "RECLAMATION"}}

    def _item(self, reclamation: Reclamation) -> dict[str, Any]:
        from seatkeeper.reclamation import ReclamationSummary

        return {
            **self._key(reclamation.id),
            "status": {"S": reclamation.status},
            "gsi1pk": {"S": f"RECLAMATIONS#{reclamation.profile_id}"},
            "gsi1sk": {"S": f"{reclamation.created_at}#{reclamation.id}"},
            "summary": {"S": ReclamationSummary.of(reclamation).model_dump_json()},
            "document": {"S": reclamation.model_dump_json()},
        }

    @staticmethod
    def _waiting_key(reclamation: Reclamation) -> dict[str, Any]:
        return {"pk": {"S": "AWAITING_APPROVAL"}, "sk": {"S": f"{reclamation.created_at}#{reclamation.id}"}}

    def _bookkeeping(self, reclamation: Reclamation, *, was: str | None) -> list[TransactWriteItemTypeDef]:
        """What else changes with the reclamation: the approval queue, and the year's savings once it is done."""
        from seatkeeper.reclamation import ReclamationSummary, Saving

        writes: list[TransactWriteItemTypeDef] = []
        key = self._waiting_key(reclamation)
        if reclamation.status == "awaiting_approval" and was != "awaiting_approval":
            summary = ReclamationSummary.of(reclamation).model_dump_json()
            writes.append({"Put": {"TableName": self.table_name, "Item": {**key, "summary": {"S": summary}}}})
        elif was == "awaiting_approval" and reclamation.status != "awaiting_approval":
            writes.append({"Delete": {"TableName": self.table_name, "Key": key}})
        saving = Saving.of(reclamation)
        if was == "running" and saving is not None:
            # Keyed by the reclamation: a retried finish writes the same item again, never a second one.
            item = {
                "pk": {"S": f"SAVINGS#{saving.finished_at.year}"},
                "sk": {"S": f"{reclamation.finished_at}#{reclamation.id}"},
                "document": {"S": saving.model_dump_json()},
            }
            writes.append({"Put": {"TableName": self.table_name, "Item": item}})
        return writes

    def put_reclamation(self, reclamation: Reclamation) -> None:
        put: TransactWriteItemTypeDef = {"Put": {"TableName": self.table_name, "Item": self._item(reclamation)}}
        self.client.transact_write_items(TransactItems=[put, *self._bookkeeping(reclamation, was=None)])

    def get_reclamation(self, reclamation_id: str) -> Reclamation:
        from seatkeeper.reclamation import Reclamation, ReclamationNotFound

        item = self.client.get_item(TableName=self.table_name, Key=self._key(reclamation_id), ConsistentRead=True).get(
            "Item"
        )
        if item is None:
            raise ReclamationNotFound(reclamation_id)
        return Reclamation.model_validate_json(item["document"]["S"])

    def replace_reclamation(self, reclamation: Reclamation, *, expected_status: str) -> None:
        from seatkeeper.reclamation import ReclamationConflict

        put: TransactWriteItemTypeDef = {
            "Put": {
                "TableName": self.table_name,
                "Item": self._item(reclamation),
                "ConditionExpression": "#status = :expected",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":expected": {"S": expected_status}},
            }
        }
        try:
            self.client.transact_write_items(TransactItems=[put, *self._bookkeeping(reclamation, was=expected_status)])
        except ClientError as exc:
            if _cancelled_by_condition(exc):
                raise ReclamationConflict(f"reclamation {reclamation.id} is no longer {expected_status}") from None
            raise

    def reclamations(self, profile_id: str, limit: int) -> list[ReclamationSummary]:
        """The profile's reclamations, newest first."""
        from seatkeeper.reclamation import ReclamationSummary

        answer = self.client.query(
            TableName=self.table_name,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :kind",
            ExpressionAttributeValues={":kind": {"S": f"RECLAMATIONS#{profile_id}"}},
            ProjectionExpression="summary",
            ScanIndexForward=False,
            Limit=limit,
        )
        return [ReclamationSummary.model_validate_json(i["summary"]["S"]) for i in answer["Items"]]

    def awaiting_approval(self) -> list[ReclamationSummary]:
        """Every reclamation that waits for an admin, oldest first."""
        from seatkeeper.reclamation import ReclamationSummary

        found: list[ReclamationSummary] = []
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            ConsistentRead=True,
            KeyConditionExpression="pk = :queue",
            ExpressionAttributeValues={":queue": {"S": "AWAITING_APPROVAL"}},
        ):
            found += [ReclamationSummary.model_validate_json(i["summary"]["S"]) for i in page["Items"]]
        return found

    def savings(self, year: int) -> list[Saving]:
        """What each reclamation that finished in `year` saves, in the order they finished."""
        from seatkeeper.reclamation import Saving

        found: list[Saving] = []
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            ConsistentRead=True,
            KeyConditionExpression="pk = :year",
            ExpressionAttributeValues={":year": {"S": f"SAVINGS#{year}"}},
        ):
            # Sums written before savings were kept per reclamation have no document: they cannot be dated.
            found += [Saving.model_validate_json(i["document"]["S"]) for i in page["Items"] if "document" in i]
        return found

    def reclaimed(self, profile_id: str) -> set[str]:
        base = DynamoDBSync(self.table_name, self._client).base(profile_id)
        found: set[str] = set()
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            FilterExpression="attribute_exists(reclaimed_at)",
            ExpressionAttributeValues={":pk": {"S": f"USERS#{profile_id}"}},
            ProjectionExpression="sk, of_base",
        ):
            found.update(i["sk"]["S"] for i in page["Items"] if i.get("of_base", {}).get("S") == base)
        return found

    def claim_action(self, reclamation_id: str, user_id: str) -> bool:
        return self._put_if_absent(
            {
                "pk": {"S": f"RECLAMATION#{reclamation_id}"},
                "sk": {"S": f"USER#{user_id}"},
                "claimed_at": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
            }
        )

    def finish_action(self, reclamation_id: str, profile_id: str, outcome: UserOutcome) -> None:
        from seatkeeper.reclamation import TOOK_BACK

        self.client.update_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"RECLAMATION#{reclamation_id}"}, "sk": {"S": f"USER#{outcome.user_id}"}},
            UpdateExpression="SET outcome = :outcome",
            ExpressionAttributeValues={":outcome": {"S": outcome.model_dump_json()}},
        )
        if outcome.outcome in TOOK_BACK:
            # The stored user changes outside a commit: the next commit reads the users, not the last object.
            DynamoDBSync._forget_fingerprints(self.client, self.table_name, profile_id, outside_a_commit=True)
            # Shown on the new tier, or as reclaimed, until the next sync reads the user's state from the app.
            changed = (
                {"tier": outcome.tier, "fingerprint": "downgraded"}
                if outcome.tier is not None
                else {
                    "active": False,
                    "reclaimed_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "fingerprint": "reclaimed",
                }
            )
            DynamoDBSync(self.table_name, self._client).change_user(profile_id, outcome.user_id, changed)

    def action_outcome(self, reclamation_id: str, user_id: str) -> UserOutcome | None:
        from seatkeeper.reclamation import UserOutcome

        item = self.client.get_item(
            TableName=self.table_name,
            ConsistentRead=True,
            Key={"pk": {"S": f"RECLAMATION#{reclamation_id}"}, "sk": {"S": f"USER#{user_id}"}},
        ).get("Item")
        if item is None or "outcome" not in item:
            return None
        return UserOutcome.model_validate_json(item["outcome"]["S"])

    def acted_on(self, reclamation_id: str) -> dict[str, UserOutcome | None]:
        from seatkeeper.reclamation import UserOutcome

        found: dict[str, UserOutcome | None] = {}
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            ConsistentRead=True,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :user)",
            ExpressionAttributeValues={":pk": {"S": f"RECLAMATION#{reclamation_id}"}, ":user": {"S": "USER#"}},
        ):
            for item in page["Items"]:
                outcome = item.get("outcome", {}).get("S")
                found[item["sk"]["S"].removeprefix("USER#")] = (
                    UserOutcome.model_validate_json(outcome) if outcome else None
                )
        return found

    # --- keep links (seatkeeper.keep) -----------------------------------------------------

    # A used or expired link answers 410 for a month, then is gone (404) like any unknown one.
    KEEP_TICKET_KEPT_SECONDS = 30 * 86400

    def put_keep_ticket(self, digest: str, ticket: KeepTicket) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "pk": {"S": f"KEEP#{digest}"},
                "sk": {"S": "KEEP"},
                "document": {"S": ticket.model_dump_json()},
                "deadline": {"N": str(int(ticket.deadline.timestamp()))},
                "expires_at": {"N": str(int(ticket.deadline.timestamp()) + self.KEEP_TICKET_KEPT_SECONDS)},
            },
        )

    def keep_ticket(self, digest: str) -> KeepTicket | None:
        from seatkeeper.keep import KeepTicket

        item = self.client.get_item(
            TableName=self.table_name, Key={"pk": {"S": f"KEEP#{digest}"}, "sk": {"S": "KEEP"}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        ticket = KeepTicket.model_validate_json(item["document"]["S"])
        return ticket.model_copy(update={"used_at": item["used_at"]["S"]}) if "used_at" in item else ticket

    def use_keep_ticket(self, digest: str, ticket: KeepTicket, decision: Decision, now: datetime) -> bool:
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": {"pk": {"S": f"KEEP#{digest}"}, "sk": {"S": "KEEP"}},
                            "UpdateExpression": "SET used_at = :at",
                            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(used_at) "
                            "AND deadline > :now",
                            "ExpressionAttributeValues": {
                                ":at": {"S": decision.at},
                                ":now": {"N": str(int(now.timestamp()))},
                            },
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": self._decision_item(ticket.reclamation_id, decision),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as exc:
            if _cancelled_by_condition(exc):
                return False
            raise
        return True

    def _decision_item(self, reclamation_id: str, decision: Decision) -> dict[str, Any]:
        return {
            "pk": {"S": f"RECLAMATION#{reclamation_id}"},
            "sk": {"S": f"DECISION#{decision.user_id}"},
            "status": {"S": decision.status},
            "document": {"S": decision.model_dump_json()},
        }

    def settle_decision(self, reclamation_id: str, decision: Decision) -> bool:
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=self._decision_item(reclamation_id, decision),
                ConditionExpression="#status = :awaiting",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":awaiting": {"S": "awaiting_approval"}},
            )
        except ClientError as exc:
            if _cancelled_by_condition(exc):
                return False
            raise
        return True

    def decisions(self, reclamation_id: str) -> dict[str, Decision]:
        from seatkeeper.reclamation import Decision

        found: dict[str, Decision] = {}
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            ConsistentRead=True,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :decision)",
            ExpressionAttributeValues={":pk": {"S": f"RECLAMATION#{reclamation_id}"}, ":decision": {"S": "DECISION#"}},
        ):
            for item in page["Items"]:
                decision = Decision.model_validate_json(item["document"]["S"])
                found[decision.user_id] = decision
        return found

    def keep_seat(self, profile_id: str, user_id: str, until: datetime) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "pk": {"S": f"PROFILE#{profile_id}"},
                "sk": {"S": f"KEPT#{user_id}"},
                "until": {"S": until.isoformat(timespec="seconds")},
                "expires_at": {"N": str(int(until.timestamp()))},
            },
        )

    def kept(self, profile_id: str) -> dict[str, str]:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        found: dict[str, str] = {}
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :kept)",
            ExpressionAttributeValues={":pk": {"S": f"PROFILE#{profile_id}"}, ":kept": {"S": "KEPT#"}},
        ):
            # TTL deletes late (within days): an expired protection is over now, whatever is still stored.
            found |= {
                i["sk"]["S"].removeprefix("KEPT#"): i["until"]["S"] for i in page["Items"] if i["until"]["S"] > now
            }
        return found
