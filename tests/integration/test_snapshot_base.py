"""A snapshot's users as a base and its changes (aws.dynamodb.snapshots.DynamoDBSync): what a commit writes, what readers read."""

from __future__ import annotations

import gzip
import json
from itertools import islice

import boto3
import pytest
from botocore.exceptions import ClientError

from seatkeeper.aws.dynamodb.snapshots import PAGE_BYTES, DynamoDBSync
from tests.integration.test_sync import DynamoDBCalls, connected_profile, stored_users, sync
from tests.paging_app import make_user, paging_app, profile_fields


def written_items(calls: DynamoDBCalls, partition: str) -> int:
    """Items put or deleted under one partition key by the calls counted: what DynamoDB bills as writes."""
    count = 0
    for action, body in calls.calls:
        if action == "batch_write_item":
            for requests in body["RequestItems"].values():
                for request in requests:
                    key = (request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"])["pk"]["S"]
                    count += key == partition
        elif action in ("put_item", "delete_item", "update_item"):
            count += (body.get("Item") or body.get("Key"))["pk"]["S"] == partition
    return count


def partition(stack, key: str) -> list[dict]:
    table = stack.template.physical_name("Table")
    pages = (
        boto3.client("dynamodb")
        .get_paginator("query")
        .paginate(TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": key}})
    )
    return [item for page in pages for item in page["Items"]]


def as_listed(users: list[dict]) -> dict[str, tuple]:
    return {u["id"]: (u["name"], u["email"], u["active"]) for u in users}


def test_a_first_sync_writes_its_users_a_thousand_to_an_item(api, stack, monkeypatch):
    # Given a connected app of 2,500 users
    integrator = api("sam_integrator")
    with paging_app(2500) as app:
        profile = connected_profile(integrator, **profile_fields(app, "offset"))

        # When it syncs for the first time
        calls = DynamoDBCalls(monkeypatch)
        run = sync(integrator, profile["id"])

    # Then the commit wrote three pages of a base, not 2,500 items, and every user reads back as the app lists it
    assert (run["status"], run["items_written"]) == ("succeeded", 2500)
    assert written_items(calls, f"USER_PAGES#{profile['id']}") == 3
    assert written_items(calls, f"USERS#{profile['id']}") == 0
    listed = stored_users(integrator, profile["id"], sort="id", limit=97)
    assert [u["id"] for u in listed] == sorted(u["id"] for u in app.users)
    assert as_listed(listed) == as_listed(app.users)


def test_changes_read_over_the_base_in_id_order_across_its_pages(api, stack, monkeypatch):
    # Given a synced app of 2,500 users (three pages of a base)
    integrator = api("sam_integrator")
    with paging_app(2500) as app:
        profile = connected_profile(integrator, **profile_fields(app, "offset"))
        assert sync(integrator, profile["id"])["status"] == "succeeded"

        # When 40 users are renamed, 30 leave and 25 join between the ids there are, and it syncs again
        for i in range(0, 2500, 62):
            app.users[i] = {**app.users[i], "name": f"Renamed {i}"}
        leaving = {app.users[i]["id"] for i in range(31, 2500, 83)}
        joining = [{**make_user(i), "id": f"u{i:06d}+"} for i in range(5, 2500, 100)]
        app.users = [u for u in app.users if u["id"] not in leaving] + joining
        calls = DynamoDBCalls(monkeypatch)
        run = sync(integrator, profile["id"])

    # Then it wrote one item a change and no page, and every reader sees the app's users, in id order
    assert (run["status"], run["items_written"], run["items_deleted"]) == ("succeeded", 41 + 25, 30)
    assert written_items(calls, f"USER_PAGES#{profile['id']}") == 0
    assert written_items(calls, f"USERS#{profile['id']}") == 41 + 25 + 30
    listed = stored_users(integrator, profile["id"], sort="id", limit=97)
    assert [u["id"] for u in listed] == sorted(u["id"] for u in app.users)
    assert as_listed(listed) == as_listed(app.users)
    stale = stored_users(integrator, profile["id"], sort="id", status="inactive")
    assert {u["id"] for u in stale} == {u["id"] for u in app.users if not u["active"]}
    by_name = stored_users(integrator, profile["id"], sort="name")
    assert len(by_name) == len(app.users) and by_name[0]["name"] == "Renamed 0"


def test_changes_that_outgrow_the_base_become_a_new_base_and_the_old_one_goes(api, stack, monkeypatch):
    # Given a synced app of 1,200 users whose app then renames 1,100 of them (more than REBASE_AT_LEAST)
    integrator = api("sam_integrator")
    with paging_app(1200) as app:
        profile = connected_profile(integrator, **profile_fields(app, "offset"))
        assert sync(integrator, profile["id"])["status"] == "succeeded"
        first_pages = {item["sk"]["S"] for item in partition(stack, f"USER_PAGES#{profile['id']}")}
        for user in app.users[:1100]:
            user["name"] = f"Renamed {user['id']}"

        # When it syncs
        calls = DynamoDBCalls(monkeypatch)
        run = sync(integrator, profile["id"])
        # and then once more after five more renames
        for user in app.users[1100:1105]:
            user["name"] = f"Renamed {user['id']}"
        after = sync(integrator, profile["id"])

    # Then the second sync wrote a new base of two pages in place of 1,100 changes, and the old pages went
    assert (run["status"], run["items_written"]) == ("succeeded", 1100)
    assert written_items(calls, f"USERS#{profile['id']}") == 5  # the third sync's changes only
    pages = {item["sk"]["S"] for item in partition(stack, f"USER_PAGES#{profile['id']}")}
    assert len(pages) == 2 and not pages & first_pages and all(p.startswith(f"{run['run_id']}#") for p in pages)
    # and the third wrote five changes of that base
    assert (after["status"], after["items_written"]) == ("succeeded", 5)
    changes = partition(stack, f"USERS#{profile['id']}")
    assert {c["of_base"]["S"] for c in changes} == {run["run_id"]} and len(changes) == 5
    assert as_listed(stored_users(integrator, profile["id"], sort="id")) == as_listed(app.users)


def to_the_layout_before_bases(stack, profile_id: str) -> int:
    """Store a profile's users as seatkeeper did before bases: one item a user, a record that names no base."""
    client, table = boto3.client("dynamodb"), stack.template.physical_name("Table")
    for page in partition(stack, f"USER_PAGES#{profile_id}"):
        for entry in json.loads(gzip.decompress(page["page_users"]["B"])):
            item = {"pk": {"S": f"USERS#{profile_id}"}, "sk": {"S": entry.pop("id")}}
            item["fingerprint"] = {"S": entry.pop("fingerprint")}
            for name, value in {"active": True, "orphaned": False, "unmatched": False, **entry}.items():
                item[name] = {"BOOL": value} if isinstance(value, bool) else {"S": str(value)}
            client.put_item(TableName=table, Item=item)
        client.delete_item(TableName=table, Key={"pk": page["pk"], "sk": page["sk"]})
    key = {"pk": {"S": f"PROFILE#{profile_id}"}, "sk": {"S": "SNAPSHOT"}}
    record = client.get_item(TableName=table, Key=key)["Item"]
    document = json.loads(record["document"]["S"])
    document.pop("base"), document.pop("changes")
    client.put_item(TableName=table, Item={**record, "document": {"S": json.dumps(document)}})
    return len(partition(stack, f"USERS#{profile_id}"))


def test_users_stored_before_there_were_bases_are_read_and_move_to_a_base_at_the_next_commit(api, stack):
    # Given an app of 1,100 users stored as a stack deployed before bases stored them
    integrator = api("sam_integrator")
    with paging_app(1100) as app:
        profile = connected_profile(integrator, **profile_fields(app, "offset"))
        assert sync(integrator, profile["id"])["status"] == "succeeded"
        assert to_the_layout_before_bases(stack, profile["id"]) == 1100

        # Then they read as before
        assert as_listed(stored_users(integrator, profile["id"], sort="id")) == as_listed(app.users)

        # When it syncs again, nothing changed in the app
        run = sync(integrator, profile["id"])

    # Then the commit moved them to a base (no user changed) and the 1,100 items went
    assert (run["status"], run["items_written"], run["items_deleted"]) == ("succeeded", 0, 0)
    assert partition(stack, f"USERS#{profile['id']}") == []
    assert len(partition(stack, f"USER_PAGES#{profile['id']}")) == 2
    assert as_listed(stored_users(integrator, profile["id"], sort="id")) == as_listed(app.users)


def test_a_new_base_cut_short_before_or_after_it_is_named_is_finished_by_the_retry(api, stack, monkeypatch):
    # Given a synced app of 1,200 users, five of them renamed since (changes of its base),
    integrator = api("sam_integrator")
    with paging_app(1200) as app:
        profile = connected_profile(integrator, **profile_fields(app, "offset"))
        assert sync(integrator, profile["id"])["status"] == "succeeded"
        names = {u["id"]: u["name"] for u in app.users}
        for user in app.users[1150:1155]:
            user["name"] = f"Early {user['id']}"
        assert sync(integrator, profile["id"])["items_written"] == 5
        old_pages = {item["sk"]["S"] for item in partition(stack, f"USER_PAGES#{profile['id']}")}
        # whose app then takes those names back and renames 1,100 others: the commit writes a new base
        for user in app.users[1150:1155]:
            user["name"] = names[user["id"]]
        for user in app.users[:1100]:
            user["name"] = f"Renamed {user['id']}"

        # When its first attempt dies after writing one page, and its second after naming the base
        put_base, drop_other_bases, failures, seen = DynamoDBSync.put_base, DynamoDBSync.drop_other_bases, [], []

        def one_page_then_fail(store, profile_id, base, entries):
            if "put_base" in failures:
                return put_base(store, profile_id, base, entries)
            failures.append("put_base")
            put_base(store, profile_id, base, islice(entries, 1000))
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "cut short"}}, "BatchWriteItem")

        def fail_once(store, profile_id, base):
            if "drop" in failures:
                return drop_other_bases(store, profile_id, base)
            failures.append("drop")
            seen.extend(store.users(profile_id, None, 2000)[0])  # the old base's five changes are still stored
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "cut short"}}, "BatchWriteItem")

        monkeypatch.setattr(DynamoDBSync, "put_base", one_page_then_fail)
        monkeypatch.setattr(DynamoDBSync, "drop_other_bases", fail_once)
        run = sync(integrator, profile["id"])

    # Then the retries finished it: the new base whole, the old one gone, the users the app's
    assert run["status"] == "succeeded" and failures == ["put_base", "drop"]
    pages = {item["sk"]["S"] for item in partition(stack, f"USER_PAGES#{profile['id']}")}
    assert len(pages) == 2 and not pages & old_pages
    assert partition(stack, f"USERS#{profile['id']}") == []
    assert as_listed(stored_users(integrator, profile["id"], sort="id")) == as_listed(app.users)
    # and while the old base's changes were still there, they read as nothing: the new base said it all
    assert {u.id: u.name for u in seen} == {u["id"]: u["name"] for u in app.users}


@pytest.mark.parametrize("size", [1, 10_000, 150_000])
def test_a_page_holds_at_most_page_bytes_of_users_and_every_user_reads_back(stack, size):
    # Given users whose entries are `size` bytes long: a thousand of the largest would be 150 MB
    store = DynamoDBSync(stack.template.physical_name("Table"))
    profile_id = f"prf_pages_{size}"
    entries = [
        (f"u{i:04d}", json.dumps({"id": f"u{i:04d}", "name": "x" * size, "fingerprint": str(i)})) for i in range(1200)
    ][: max(3, min(1200, 3 * PAGE_BYTES // (size + 40)))]
    # When they are written as a base and the record names it
    pages = store.put_base(profile_id, "run_1", entries)
    boto3.client("dynamodb").put_item(
        TableName=store.table_name,
        Item={
            "pk": {"S": f"PROFILE#{profile_id}"},
            "sk": {"S": "SNAPSHOT"},
            "document": {"S": json.dumps({"run_id": "run_1", "users": len(entries), "base": "run_1"})},
        },
    )
    # Then no page is over PAGE_BYTES of JSON, and every user reads back from any point of the list
    sizes = [len(gzip.decompress(item["page_users"]["B"])) for item in partition(stack, f"USER_PAGES#{profile_id}")]
    assert len(sizes) == pages and max(sizes) <= PAGE_BYTES
    assert pages == 2 if size == 1 else pages >= -(-sum(len(e) + 1 for _, e in entries) // PAGE_BYTES) > 1
    ids = [user_id for user_id, _ in entries]
    assert store.fingerprints(profile_id) == {user_id: json.loads(e)["fingerprint"] for user_id, e in entries}
    for after in (None, ids[0], ids[len(ids) // 2], ids[-2], ids[-1]):
        users, cursor = store.users(profile_id, after, 1000)
        expected = [i for i in ids if after is None or i > after][:1000]
        assert [u.id for u in users] == expected
        assert cursor == (expected[-1] if len(expected) == 1000 else None)


def test_deleting_a_profile_deletes_its_base_and_its_changes(api, stack):
    # Given a synced profile with a base and changes to it
    integrator = api("sam_integrator")
    with paging_app(1050) as app:
        profile = connected_profile(integrator, **profile_fields(app, "offset"))
        assert sync(integrator, profile["id"])["status"] == "succeeded"
        app.users[0]["name"] = "Renamed"
        assert sync(integrator, profile["id"])["items_written"] == 1
    assert len(partition(stack, f"USER_PAGES#{profile['id']}")) == 2
    # When it is deleted, then nothing of its users is left
    assert integrator.delete(f"/profiles/{profile['id']}").status_code == 204
    assert partition(stack, f"USER_PAGES#{profile['id']}") == partition(stack, f"USERS#{profile['id']}") == []


def test_a_read_while_a_commit_names_a_new_base_reads_the_new_base_whole(stack, monkeypatch):
    # Given a profile's base of 2,500 users (three pages)
    store = DynamoDBSync(stack.template.physical_name("Table"))
    profile_id = "prf_read_while_rebased"

    def commit(base: str) -> None:
        entries = [
            (f"u{i:05d}", json.dumps({"id": f"u{i:05d}", "name": base, "fingerprint": base})) for i in range(2500)
        ]
        store.put_base(profile_id, base, entries)
        boto3.client("dynamodb").put_item(
            TableName=store.table_name,
            Item={
                "pk": {"S": f"PROFILE#{profile_id}"},
                "sk": {"S": "SNAPSHOT"},
                "document": {"S": json.dumps({"run_id": base, "users": 2500, "base": base})},
            },
        )
        store.drop_other_bases(profile_id, base)

    commit("run_a")
    # and a commit that writes a new base, names it and drops the old one while a read is under way
    pages, swapped = DynamoDBSync._pages, []

    def a_commit_meanwhile(self, profile_id, base, after):
        for entry in pages(self, profile_id, base, after):
            yield entry
            if not swapped:  # the first two pages are read: the third is gone when the read asks for it
                swapped.append(base)
                commit(f"{base}_next")

    monkeypatch.setattr(DynamoDBSync, "_pages", a_commit_meanwhile)
    # When every user is read, then the read is of the new base, whole, not two pages of the old one
    users, cursor = store.users(profile_id, None, 3000)
    assert swapped == ["run_a"] and cursor is None
    assert len(users) == 2500 and {u.name for u in users} == {"run_a_next"}
    # and so is a read of every fingerprint (a commit's, when the last commit's object is not trusted)
    swapped.clear()
    marks = store.fingerprints(profile_id)
    assert swapped == ["run_a_next"] and marks == {f"u{i:05d}": "run_a_next_next" for i in range(2500)}
