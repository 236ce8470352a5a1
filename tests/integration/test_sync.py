"""Sync runs end to end: the API, the sync state machine on moto's engine, staging in S3, the snapshot."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.secretsmanager.models import SecretsManagerBackend

from seatkeeper.profiles.catalog import templates
from seatkeeper_local.demo.client import wait_until
from tests.integration.connection_checks import connect_at_certified_provider, make_profile, wait_for
from tests.oidc_provider import ODD_CLIENT_SECRET
from tests.paging_app import make_user, paging_app, profile_fields
from tests.saas_apps import scim_server, scim_user
from tests.vendor_fakes import vendor_app


def wait_for_run(client, run_id, timeout=120):
    return wait_until(
        lambda: client.get(f"/runs/{run_id}").json(), lambda run: run["status"] != "running", timeout=timeout, pause=0.1
    )


def connected_profile(client, **fields):
    profile = make_profile(client, **fields)
    client.post(f"/profiles/{profile['id']}/connection", json={"token": fields.pop("token", "t")})
    assert wait_for(client, profile["id"], {"connected", "failed"})["status"] == "connected"
    return profile


def sync(client, profile_id):
    answer = client.post(f"/profiles/{profile_id}/sync")
    assert answer.status_code == 202, answer.text
    return wait_for_run(client, answer.json()["run_id"])


def stored_users(client, profile_id, **params):
    users, cursor = [], None
    while True:
        page = client.get(
            f"/profiles/{profile_id}/users", params={"limit": 500, **params, **({"cursor": cursor} if cursor else {})}
        ).json()
        users += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return users


def test_a_scim2_server_with_a_few_hundred_users_syncs_them_all(api):
    integrator = api("sam_integrator")
    with scim_server() as scim:
        scim.add_users([scim_user(i) for i in range(260)])
        profile = make_profile(integrator, base_url=scim.url)
        integrator.post(f"/profiles/{profile['id']}/connection", json={"token": scim.token})
        wait_for(integrator, profile["id"], {"connected"})
        run = sync(integrator, profile["id"])
    assert (run["status"], run["users_fetched"], run["items_written"], run["items_deleted"]) == (
        "succeeded",
        260,
        260,
        0,
    )
    users = stored_users(api("sam_viewer"), profile["id"])
    assert len(users) == len({u["id"] for u in users}) == 260
    assert {u["email"] for u in users} == {f"user{i}@example.com" for i in range(260)}
    assert all(u["status"] == "unknown" for u in users)  # SCIM has no activity attribute


def test_the_snapshot_classifies_users_and_a_resync_writes_only_what_changed(api, stack):
    integrator = api("sam_integrator")
    with paging_app(1050) as app:
        profile = connected_profile(integrator, **profile_fields(app, "offset"))
        first = sync(integrator, profile["id"])
        assert (first["status"], first["users_fetched"], first["items_written"]) == ("succeeded", 1050, 1050)

        cutoff = datetime.now(UTC) - timedelta(days=90)
        # Stale: holds a license and was last active before the window, or never was and joined before it.
        expected_stale = [
            u["id"]
            for u in app.users
            if u["active"] and (u["last_login"] is None or datetime.fromtimestamp(u["last_login"], UTC) < cutoff)
        ]
        assert sorted(u["id"] for u in stored_users(integrator, profile["id"], status="stale")) == sorted(
            expected_stale
        )
        assert len(stored_users(integrator, profile["id"], status="inactive")) == sum(
            not u["active"] for u in app.users
        )

        # 1% of the users change, five leave the app, two join.
        for i in range(0, 1050, 100):
            app.users[i] = {**app.users[i], "name": f"Renamed {i}"}
        gone = [u["id"] for u in app.users[-5:]]
        app.users = [*app.users[:-5], make_user(5000), make_user(5001)]
        second = sync(integrator, profile["id"])

    assert second["status"] == "succeeded"
    assert second["items_written"] == 11 + 2 and second["items_deleted"] == 5
    ids = {u["id"] for u in stored_users(integrator, profile["id"])}
    assert len(ids) == 1047 and not ids & set(gone) and {"u005000", "u005001"} <= ids

    # Sorted by last activity, newest first, across pages; users never active come last.
    by_activity = stored_users(integrator, profile["id"], sort="last_activity", order="desc", status="stale")
    stamps = [u["last_activity"] for u in by_activity]
    known = [s for s in stamps if s is not None]
    assert known == sorted(known, reverse=True) and stamps == known + [None] * (len(stamps) - len(known))
    assert {u["status"] for u in by_activity} == {"stale"}
    # By name, numbers by value ("User 2" before "User 10"): the order people expect, and the default.
    by_name = stored_users(integrator, profile["id"], sort="name")
    word_then_number = [(u["name"].split()[0].casefold(), int(u["name"].split()[1])) for u in by_name]
    assert word_then_number == sorted(word_then_number)
    assert word_then_number[:2] == [("renamed", 0), ("renamed", 100)] and word_then_number[-1] == ("user", 5001)
    assert stored_users(integrator, profile["id"]) == by_name
    first = integrator.get(f"/profiles/{profile['id']}/users", params={"limit": 3}).json()
    assert (first["sort"], first["order"]) == ("name", "asc")
    by_id = integrator.get(f"/profiles/{profile['id']}/users", params={"sort": "id", "limit": 3}).json()
    assert [u["id"] for u in by_id["items"]] == sorted(ids)[:3] and by_id["sort"] == "id"
    mixed = integrator.get(f"/profiles/{profile['id']}/users", params={"sort": "name", "limit": 5}).json()
    other_order = integrator.get(
        f"/profiles/{profile['id']}/users", params={"sort": "email", "cursor": mixed["next_cursor"]}
    )
    assert other_order.status_code == 422 and other_order.json()["detail"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize(
    "problem", [{"broken_page": 7}, {"malformed_page": 3}, {"html_page": 5}, {"refused_redirect_page": 2}]
)
def test_a_sync_that_fails_part_way_changes_nothing_and_says_what_failed(api, stack, problem):
    integrator = api("sam_integrator")
    with paging_app(900) as app:
        profile = connected_profile(integrator, **profile_fields(app, "cursor"))
        assert sync(integrator, profile["id"])["status"] == "succeeded"
        before = stored_users(integrator, profile["id"])
        for user in app.users:
            user["name"] = "Changed"
        for key, value in problem.items():
            setattr(app, key, value)
        run = sync(integrator, profile["id"])
    assert run["status"] == "failed"
    assert run["error"] and (
        "500" in run["error"] or "JSON" in run["error"] or "text/html" in run["error"] or "metadata" in run["error"]
    )
    assert stored_users(integrator, profile["id"]) == before
    # The profile can sync again: the failed run released its lock.
    assert integrator.post(f"/profiles/{profile['id']}/sync").status_code == 202


def test_sync_needs_a_connected_profile_and_one_run_at_a_time(api):
    integrator = api("sam_integrator")
    with paging_app(400, latency=0.05) as app:
        profile = make_profile(integrator, **profile_fields(app, "cursor"))
        assert integrator.post(f"/profiles/{profile['id']}/sync").status_code == 409
        integrator.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
        wait_for(integrator, profile["id"], {"connected"})
        first = integrator.post(f"/profiles/{profile['id']}/sync")
        assert first.status_code == 202
        assert integrator.post(f"/profiles/{profile['id']}/sync").status_code == 409
        assert api("sam_viewer").post(f"/profiles/{profile['id']}/sync").status_code == 403
        assert wait_for_run(integrator, first.json()["run_id"])["status"] == "succeeded"
    assert api("admin").get("/runs/run_00000000000000000000").status_code == 404
    assert api("admin").post("/profiles/prf_00000000000000000000/sync").status_code == 404


def test_a_long_sync_continues_across_invocations_from_its_checkpoint(api, stack, monkeypatch):
    integrator = api("sam_integrator")
    fetch_module = stack.functions.handler("FetchUsersFunction").__wrapped__.__globals__
    # Every invocation believes it is nearly out of time: it fetches one page and hands on.
    monkeypatch.setitem(fetch_module, "RESERVE_MILLIS", 10**9)
    with paging_app(650) as app:
        profile = connected_profile(integrator, **profile_fields(app, "page"))
        answer = integrator.post(f"/profiles/{profile['id']}/sync").json()
        run = wait_for_run(integrator, answer["run_id"])
    assert (run["status"], run["users_fetched"], run["pages"]) == ("succeeded", 650, 7)
    history = boto3.client("stepfunctions").get_execution_history(
        executionArn=stack.template.arn("SyncUsersStateMachine").replace(":stateMachine:", ":execution:")
        + ":"
        + answer["run_id"]
    )
    invocations = [
        e
        for e in history["events"]
        if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == "FetchUsers"
    ]
    assert len(invocations) == 7
    assert len({u["id"] for u in stored_users(integrator, profile["id"])}) == 650


def test_activity_from_a_per_user_endpoint(api):
    integrator = api("sam_integrator")
    with paging_app(40) as app:
        fields = profile_fields(app, "none")
        fields["users"]["fields"].pop("last_activity")
        fields["activity"] = {"mode": "per_user", "path": "/users/{id}", "fields": {"last_activity": "last_login"}}
        profile = connected_profile(integrator, **fields)
        run = sync(integrator, profile["id"])
    assert run["status"] == "succeeded"
    users = {u["id"]: u for u in stored_users(integrator, profile["id"])}
    for expected in app.users:
        seen = users[expected["id"]]["last_activity"]
        assert (seen is None) == (expected["last_login"] is None)
        if seen:
            assert datetime.fromisoformat(seen).timestamp() == expected["last_login"]
    assert app.requests >= 41  # the list, then one request per user


def test_activity_from_a_bulk_endpoint_is_merged_at_commit(api):
    integrator = api("sam_integrator")
    with paging_app(450) as app:
        fields = profile_fields(app, "offset")
        fields["users"]["fields"].pop("last_activity")
        # A second list endpoint that gives every user's last activity, with pagination of its own.
        fields["activity"] = {
            "mode": "bulk",
            "path": "/users",
            "records_path": "items",
            "pagination": {**fields["users"]["pagination"], "page_size": 200},
            "fields": {"user_id": "id", "last_activity": "last_login"},
        }
        profile = connected_profile(integrator, **fields)
        run = sync(integrator, profile["id"])
    assert run["status"] == "succeeded", run
    users = {u["id"]: u for u in stored_users(integrator, profile["id"])}
    assert len(users) == 450
    for expected in app.users:
        seen = users[expected["id"]]["last_activity"]
        assert (seen is None) == (expected["last_login"] is None)


def test_an_oauth_profile_reads_its_secret_once_for_a_sync_of_many_pages(api, stack, root, certified_oidc, monkeypatch):
    # Given an OAuth profile, connected with a token good for an hour, whose app has 7 pages of users
    integrator = api("sam_integrator")
    with paging_app(650) as app:
        fields = profile_fields(app, "page")
        profile, view = connect_at_certified_provider(
            integrator,
            stack,
            certified_oidc,
            client_auth="client_secret_basic",
            client_secret=ODD_CLIENT_SECRET,
            base_url=fields["base_url"],
            users=fields["users"],
        )
        assert view["status"] == "connected", view
        secret = view["records"]["credential"]["secret_arn"]
        reads: list[str] = []
        get_secret_value = SecretsManagerBackend.get_secret_value

        def counted(backend, secret_id, *args, **kwargs):
            reads.append(secret_id)
            return get_secret_value(backend, secret_id, *args, **kwargs)

        monkeypatch.setattr(SecretsManagerBackend, "get_secret_value", counted)
        made: list[str] = []
        make_client = boto3.client

        def counted_client(*args, **kwargs):
            # Only seatkeeper's own clients: moto's Step Functions engine makes one per task.
            caller = Path(sys._getframe(1).f_code.co_filename)
            if any(caller.is_relative_to(root / part) for part in ("layers", "functions")):
                made.append(args[0] if args else kwargs["service_name"])
            return make_client(*args, **kwargs)

        monkeypatch.setattr(boto3, "client", counted_client)

        # When it syncs, in one FetchUsers invocation (and the API's and CommitSnapshot's)
        run = sync(integrator, profile["id"])

    # Then every page went out with the token read once from Secrets Manager, not once a page,
    # and no invocation made an AWS client that an earlier one had made already
    assert (run["status"], run["users_fetched"], run["pages"]) == ("succeeded", 650, 7)
    assert reads.count(secret) == 1
    assert len(made) == len(set(made)), made


class DynamoDBCalls:
    """Every DynamoDB request that moto's server answers, as (action, body): what a Lambda would be billed for."""

    ACTIONS = ("query", "batch_write_item", "put_item", "update_item", "delete_item", "transact_write_items")

    def __init__(self, monkeypatch):
        from moto.dynamodb.responses import DynamoHandler

        self.calls: list[tuple[str, dict]] = []
        for action in self.ACTIONS:
            original = getattr(DynamoHandler, action)

            def counted(handler, action=action, original=original):
                body = handler.body
                self.calls.append((action, body if isinstance(body, dict) else json.loads(body)))
                return original(handler)

            monkeypatch.setattr(DynamoHandler, action, counted)

    def touching_users_of(self, profile_id: str) -> list[tuple[str, dict]]:
        partition = f'"USERS#{profile_id}"'
        return [(action, body) for action, body in self.calls if partition in json.dumps(body)]


def test_an_unchanged_resync_reads_no_stored_user_and_writes_none(api, monkeypatch):
    # Given a profile whose 1,050 users were synced once
    integrator = api("sam_integrator")
    with paging_app(1050) as app:
        profile = connected_profile(integrator, **profile_fields(app, "offset"))
        assert sync(integrator, profile["id"])["items_written"] == 1050

        # When it syncs again and nothing changed in the app
        calls = DynamoDBCalls(monkeypatch)
        run = sync(integrator, profile["id"])

    # Then the commit neither queried the users' partition nor wrote to it: it read one fingerprint object
    assert (run["status"], run["users_fetched"], run["items_written"], run["items_deleted"]) == (
        "succeeded",
        1050,
        0,
        0,
    )
    assert calls.touching_users_of(profile["id"]) == []
    assert len(stored_users(integrator, profile["id"])) == 1050


def cut_short(monkeypatch, *, times: int):
    """The next `times` commits write half of their first batch of users, then fail as DynamoDB can."""
    from seatkeeper.aws.dynamodb.snapshots import DynamoDBSync

    put_users, failures = DynamoDBSync.put_users, [times]

    def half_then_fail(store, profile_id, users, base):
        if failures[0] == 0:
            return put_users(store, profile_id, users, base)
        failures[0] -= 1
        put_users(store, profile_id, users[: len(users) // 2], base)
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "cut short"}}, "BatchWriteItem")

    monkeypatch.setattr(DynamoDBSync, "put_users", half_then_fail)


RENAMED = 600  # of 1,050: fewer than REBASE_AT_LEAST, so the commit writes them as changes to the base


def test_a_commit_cut_short_is_retried_whole_and_writes_only_what_is_still_missing(api, monkeypatch):
    # Given a synced profile, whose app then renames 600 of its users
    integrator = api("sam_integrator")
    with paging_app(1050) as app:
        profile = connected_profile(integrator, **profile_fields(app, "offset"))
        assert sync(integrator, profile["id"])["status"] == "succeeded"
        for user in app.users[:RENAMED]:
            user["name"] = f"Renamed {user['id']}"

        # When the commit dies after writing half of the changed users, once, and the state machine retries it
        cut_short(monkeypatch, times=1)
        run = sync(integrator, profile["id"])

    # Then the retry wrote only the half still missing, and the snapshot is the app's
    assert (run["status"], run["items_written"]) == ("succeeded", RENAMED - RENAMED // 2)
    assert {u["id"]: u["name"] for u in stored_users(integrator, profile["id"])} == {
        u["id"]: u["name"] for u in app.users
    }


def test_a_fingerprint_object_never_outlives_a_commit_that_failed_part_way(api, monkeypatch):
    # Given a synced profile whose app renames 600 users, and a commit that dies part-way on every attempt
    integrator = api("sam_integrator")
    with paging_app(1050) as app:
        profile = connected_profile(integrator, **profile_fields(app, "offset"))
        assert sync(integrator, profile["id"])["status"] == "succeeded"
        names = {u["id"]: u["name"] for u in app.users}
        for user in app.users[:RENAMED]:
            user["name"] = f"Renamed {user['id']}"
        cut_short(monkeypatch, times=4)
        assert sync(integrator, profile["id"])["status"] == "failed"
        monkeypatch.undo()
        half_written = sum(u["name"].startswith("Renamed") for u in stored_users(integrator, profile["id"]))
        assert RENAMED // 2 <= half_written < RENAMED

        # When the app takes back the old names (the last good fingerprints again) and it syncs
        for user in app.users:
            user["name"] = names[user["id"]]
        run = sync(integrator, profile["id"])

    # Then what the failed commit wrote is rewritten, and only that: the stored users are the app's again
    assert (run["status"], run["items_written"]) == ("succeeded", half_written)
    assert {u["id"]: u["name"] for u in stored_users(integrator, profile["id"])} == names


def test_a_profiles_sync_shows_its_progress_while_it_runs_and_the_run_once_it_ended(api):
    integrator, viewer = api("sam_integrator"), api("sam_viewer")
    # Given a slow app: 30 pages of 50 users, 0.15 s a page, one page at a time (4.5 s in all)
    with paging_app(1500, latency=0.15) as app:
        profile = connected_profile(integrator, **profile_fields(app, "offset", page_size=50, max_concurrency=1))
        path = f"/profiles/{profile['id']}/sync"
        # (never synced: nothing to show yet)
        assert viewer.get(path).status_code == 404
        # When it syncs, and a viewer asks for the profile's sync while it runs
        run_id = integrator.post(path).json()["run_id"]
        running = wait_until(lambda: viewer.get(path).json(), lambda found: found["pages"] > 0, timeout=30, pause=0.1)
        # Then it is this run, running, with the pages and users so far (fewer than all, far before its
        # first chunk of 5,000 is staged), the requests made and the pace it holds
        assert (running["run_id"], running["status"]) == (run_id, "running"), running
        assert 0 < running["pages"] < 30 and running["users_fetched"] == running["pages"] * 50, running
        assert running["requests"] >= running["pages"] and running["refused"] == 0, running
        assert running["quota_wait_seconds"] == 0 and 0 < running["pace_per_second"] < 10, running
        ended = wait_for_run(integrator, run_id)
    # And once it ended, the profile's sync is that run as GET /runs/{id} has it
    assert ended["status"] == "succeeded" and ended["users_fetched"] == 1500
    assert viewer.get(path).json() == ended
    # And an unknown profile has none: 404; the route is in the API's OpenAPI document
    assert viewer.get("/profiles/prf_00000000000000000000/sync").status_code == 404
    assert "get" in integrator.get("/openapi.json").json()["paths"]["/profiles/{profile_id}/sync"]


def test_a_sync_whose_paging_loops_fails_saying_so_and_changes_nothing(api):
    integrator = api("sam_integrator")
    with paging_app(300) as app:
        # Given a profile synced once, whose app then points its second page back at itself
        profile = connected_profile(integrator, **profile_fields(app, "cursor"))
        assert sync(integrator, profile["id"])["status"] == "succeeded"
        before = stored_users(integrator, profile["id"])
        app.loops_from_page = 2
        app.users.append(make_user(300))
        # When it syncs again
        run = sync(integrator, profile["id"])
    # Then the run fails naming the loop and where the pointer was read, rather than reading forever or
    # committing a list that never ended
    assert run["status"] == "failed", run
    assert "repeats itself" in run["error"] and "cursor_path 'next'" in run["error"], run["error"]
    assert stored_users(integrator, profile["id"]) == before


def test_a_user_two_lists_hold_is_stored_once_as_the_users_list_has_it(api):
    integrator = api("sam_integrator")
    with paging_app(230) as app:
        fields = profile_fields(app, "offset", page_size=100)
        # Given a profile whose more list (users.also) lists the same users again, as guests of another role
        fields["users"]["also"] = [
            {
                "kind": "guest",
                "path": "/users",
                "pagination": fields["users"]["pagination"],
                "records_path": app.records_key,
                "fields": {**fields["users"]["fields"], "role": "`guest`"},
            }
        ]
        profile = connected_profile(integrator, **fields)
        # When it is synced through the local stack
        run = sync(integrator, profile["id"])
    # Then both lists were read, each user twice, and every user is stored once: as the users list has it
    assert (run["status"], run["users_fetched"]) == ("succeeded", 460), run
    users = stored_users(api("sam_viewer"), profile["id"])
    assert len(users) == len({u["id"] for u in users}) == 230
    assert {u["kind"] for u in users} == {None} and "guest" not in {u["role"] for u in users}


def test_a_more_list_s_field_that_matches_none_of_its_records_warns_at_its_place_and_blocks_inactivity(api):
    integrator = api("sam_integrator")
    # Given GitHub's organization (tests/vendor_fakes.py, after npm:@octokit/openapi 23.0.2) and a github_org
    # profile whose members' last activity is a stand-in the records have (x_last_seen, as an SSO profile would
    # give), while its outside collaborators map their own last activity at a path their records lack
    outside = templates()["github_org"].profile["users"]["also"][0]
    with vendor_app("github_org", 40) as app:
        collaborators = sum(app.vendor.kind(p) == "outside_collaborator" for p in app.people)
        profile = connected_profile(
            integrator,
            template="github_org",
            base_url=app.base_url,
            users={
                "fields": {"last_activity": "x_last_seen"},
                "also": [{**outside, "fields": {"id": "login", "name": "login", "last_activity": "last_seen_at"}}],
            },
            policy={"inactivity_days": 1, "max_reclaim_percent": 100, "max_reclaim_count": 1000},
        )
        # When it is synced through the local stack
        run = sync(integrator, profile["id"])
        # Then the sync succeeds, warning of the outside collaborators' field alone, counted over their records
        assert (run["status"], run["users_fetched"]) == ("succeeded", len(app.people)), run
        [warning] = run["warnings"]
        assert (warning["field"], warning["path"], warning["matched"], warning["of"]) == (
            "users.also[0].fields.last_activity",
            "last_seen_at",
            0,
            collaborators,
        )
        # And no removal by inactivity is planned: their missing activity is not "never signed in"
        refused = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": True})
        assert refused.status_code == 409, refused.text
        assert "users.also[0].fields.last_activity" in refused.json()["message"]
        integrator.delete(f"/profiles/{profile['id']}")
