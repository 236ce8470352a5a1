"""Sync runs, snapshots and the users they hold, on the seatkeeper table (key design: the package's docstring)."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from seatkeeper.aws.dynamodb.table import KEY, Table, cancelled_by_condition, from_item, key, to_item
from seatkeeper.core.errors import RunNotFound
from seatkeeper.saas.records import SaaSUser

# Cold start: the domain models of this aggregate's items are imported by the methods that read them,
# so that a function that only writes or lists them does not load them (README, Benchmarks: cold start).
if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    from seatkeeper.sync.runs import SyncRun


def _change_item(profile_id: str, values: dict[str, Any], base: str | None) -> dict[str, Any]:
    """A change to a base: one user's item, from its plain values (an entry, or a stored user changed)."""
    item: dict[str, Any] = key(f"USERS#{profile_id}", values["id"])
    if base:
        item["of_base"] = {"S": base}
    # Typed by hand, not by to_item: a commit builds one of these for each user that changed (all of a
    # first sync's 20,000 and more), and TypeSerializer took 1.6x as long (20,000 items: 230 ms, not 145).
    # A user's values are strings and booleans; a number is an N, as to_item writes it.
    for name, value in values.items():
        if name not in ("id", "of_base") and value is not None:
            if isinstance(value, bool):
                item[name] = {"BOOL": value}
            elif isinstance(value, int | float):
                item[name] = {"N": str(value)}
            else:
                item[name] = {"S": str(value)}
    return item


def _user(entry: dict[str, Any]) -> SaaSUser:
    """A stored user (a page's entry, or a change item as plain values with its id) as the model."""
    return SaaSUser.model_validate({k: v for k, v in entry.items() if k not in _BOOKKEEPING})


_BOOKKEEPING = ("fingerprint", "reclaimed_at", "of_base", "left_app")


def _change(item: dict[str, Any]) -> dict[str, Any]:
    """A change item as plain values, with its id.

    Read by hand, not by from_item: reading the stored users reads every change item (all of them for
    users stored before there were bases), and TypeDeserializer took 3.6x as long (20,000 items: 143 ms,
    not 40). A change item holds S and BOOL attributes, read as they are (an N would read as its string).
    """
    return {"id": item["sk"]["S"], **{k: next(iter(v.values())) for k, v in item.items() if k not in KEY}}


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
        # Typed by hand like the key: one B a page, nothing for TypeSerializer to decide (it makes the same item).
        pages.append({**key(f"USER_PAGES#{profile_id}", f"{base}#{first}"), "page_users": {"B": base_page(page)}})

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


def _run_key(run_id: str) -> dict[str, AttributeValueTypeDef]:
    return key(f"RUN#{run_id}", "RUN")


class DynamoDBSync(Table):
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
            "ExpressionAttributeValues": to_item({":pk": f"USERS#{profile_id}", ":after": after}),
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
            ExpressionAttributeValues=to_item(
                {":pk": f"USER_PAGES#{profile_id}", ":first": f"{base}#", ":user": f"{base}#{user_id}"}
            ),
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
            ExpressionAttributeValues=to_item(
                {
                    ":pk": f"USER_PAGES#{profile_id}",
                    ":first": from_item(holding)["sk"] if holding else f"{base}#",
                    ":end": f"{base}{_PAGES_END}",
                }
            ),
            ConsistentRead=True,  # the record names the base once its pages are written: read them as written
            PaginationConfig={"PageSize": 2},
        ):
            for item in page["Items"]:
                for entry in json.loads(gzip.decompress(from_item(item)["page_users"])):
                    if after is None or entry["id"] > after:
                        yield entry

    def stored_user(self, profile_id: str, user_id: str) -> tuple[dict[str, Any] | None, str | None]:
        """One stored user as plain values (None when there is none), and the base it is read over."""
        base = self.base(profile_id)
        item = self.client.get_item(
            TableName=self.table_name, Key=key(f"USERS#{profile_id}", user_id), ConsistentRead=True
        ).get("Item")
        change = _change(item) if item is not None else None
        if change is not None and change.get("of_base") == base:
            return (None if change.get("left_app") else change), base
        page = self._page_holding(profile_id, base, user_id, whole=True) if base else None
        entries = json.loads(gzip.decompress(from_item(page)["page_users"])) if page else []
        return next((entry for entry in entries if entry["id"] == user_id), None), base

    def user(self, profile_id: str, user_id: str) -> SaaSUser | None:
        values, _ = self.stored_user(profile_id, user_id)
        return _user(values) if values is not None else None

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
                Key=key(f"PROFILE#{profile_id}", "SNAPSHOT"),
                UpdateExpression="REMOVE fingerprints_of" + (" ADD changed_outside :one" if outside_a_commit else ""),
                ConditionExpression="attribute_exists(pk)",
                **({"ExpressionAttributeValues": to_item({":one": 1})} if outside_a_commit else {}),  # type: ignore[arg-type]
            )
        except ClientError as exc:
            if not cancelled_by_condition(exc):
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
        self._write([{"DeleteRequest": {"Key": key(f"USERS#{profile_id}", user_id)}} for user_id in user_ids])

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
        keys = [
            key(f"USERS#{profile_id}", change["id"])
            for change in self._changes(profile_id, None, "sk, of_base")
            if change.get("of_base") != base
        ]
        for page in self.client.get_paginator("query").paginate(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=to_item({":pk": f"USER_PAGES#{profile_id}"}),
            ProjectionExpression="pk, sk",
        ):
            pages = map(from_item, page["Items"])
            keys += [key(p["pk"], p["sk"]) for p in pages if not p["sk"].startswith(f"{base}#")]
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
            TableName=self.table_name, Key=key(f"PROFILE#{profile_id}", "SNAPSHOT"), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        values = from_item(item)
        found: dict[str, Any] = json.loads(values["document"])
        found.pop("fingerprints_of", None)  # the item's own attribute says it, and only while it holds
        for name in ("fingerprints_of", "changed_outside"):
            if name in values:
                found[name] = values[name]
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
        item = {
            **key(f"PROFILE#{profile_id}", "SNAPSHOT"),
            **to_item({"document": json.dumps(document), "changed_outside": changed_outside}),
        }
        if snapshot.get("fingerprints_of"):
            try:
                self.client.put_item(
                    TableName=self.table_name,
                    Item={**item, **to_item({"fingerprints_of": snapshot["fingerprints_of"]})},
                    ConditionExpression="attribute_not_exists(changed_outside) OR changed_outside = :seen",
                    ExpressionAttributeValues=to_item({":seen": changed_outside or 0}),
                )
                return
            except ClientError as exc:
                if not cancelled_by_condition(exc):
                    raise
            # Users changed outside this commit while it ran: the record names no object, the next commit reads them.
            item |= to_item({"changed_outside": (self.snapshot(profile_id) or {}).get("changed_outside", 0)})
        self.client.put_item(TableName=self.table_name, Item=item)

    # --- runs ---------------------------------------------------------------------------

    def lock_sync(self, profile_id: str, run_id: str) -> bool:
        # A day: a lock older than that belongs to a run that died without releasing it.
        return self._take_lease(key(f"PROFILE#{profile_id}", "SYNC_LOCK"), run_id, 86400)

    def unlock_sync(self, profile_id: str, run_id: str) -> None:
        self._end_lease(key(f"PROFILE#{profile_id}", "SYNC_LOCK"), run_id)

    def put_run(self, run: SyncRun) -> None:
        values = run.model_dump(exclude={"run_id"}, exclude_none=True)
        # With the profile's pointer to its latest run (GET /profiles/{id}/sync), in one write.
        self.client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": self.table_name, "Item": {**_run_key(run.run_id), **to_item(values)}}},
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": {**key(f"PROFILE#{run.profile_id}", "LAST_RUN"), **to_item({"run_id": run.run_id})},
                    }
                },
            ]
        )

    def latest_run(self, profile_id: str) -> SyncRun | None:
        """The profile's running sync, or its last one; None before its first."""
        item = self.client.get_item(
            TableName=self.table_name, Key=key(f"PROFILE#{profile_id}", "LAST_RUN"), ConsistentRead=True
        ).get("Item")
        return self.get_run(from_item(item)["run_id"]) if item else None

    def get_run(self, run_id: str) -> SyncRun:
        # Cold start: the sync's models where a run is read (module docstring).
        from seatkeeper.sync.runs import SyncRun, run_error

        item = self.client.get_item(TableName=self.table_name, Key=_run_key(run_id), ConsistentRead=True).get("Item")
        if item is None:
            raise RunNotFound(run_id)
        values = from_item(item, skip=KEY)
        values["error"] = run_error(values.get("error"))
        return SyncRun.model_validate({"run_id": run_id, **values})

    def update_run(self, run_id: str, **changes: Any) -> None:
        names = {f"#{k}": k for k in changes}
        self.client.update_item(
            TableName=self.table_name,
            Key=_run_key(run_id),
            UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in changes),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item({f":{k}": v for k, v in changes.items()}),
        )
