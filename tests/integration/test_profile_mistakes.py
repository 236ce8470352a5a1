"""Two ordinary mistakes in a profile cannot pass a sync silently (issue #28, SPEC "Authoring profiles").

Through the local stack, against the paging app of our own (seatkeeper_local.fakes.paging_app), set to
answer as the app of the issue does: a `last_login_at` field, a cursor at `meta.next_cursor`.
"""

from __future__ import annotations

from tests.integration.connection_checks import make_profile, wait_for
from tests.integration.test_sync import stored_users, sync
from tests.paging_app import paging_app, profile_fields


def connected(client, app, kind, **changes):
    fields = profile_fields(app, kind, page_size=10)
    fields["users"]["fields"].update(changes.pop("fields", {}))
    fields["users"]["pagination"].update(changes.pop("pagination", {}))
    fields["reclaim"] = {"method": "PATCH", "path": "/users/{id}", "body": {"active": False}}
    fields["policy"] = {"inactivity_days": 1, "max_reclaim_percent": 100, "max_reclaim_count": 1000}
    profile = make_profile(client, **fields)
    client.post(f"/profiles/{profile['id']}/connection", json={"token": "t"})
    assert wait_for(client, profile["id"], {"connected", "failed"})["status"] == "connected"
    return profile


def with_last_login_at(app):
    for user in app.users:
        user["last_login_at"] = user.pop("last_login")


def test_a_last_activity_path_that_matches_nothing_warns_and_blocks_removals_by_inactivity(api):
    integrator = api("sam_integrator")
    with paging_app(37) as app:
        # Given an app whose records have last_login_at, and a profile that maps lastLogin
        with_last_login_at(app)
        profile = connected(integrator, app, "offset", fields={"last_activity": "lastLogin"})

        # When it syncs
        run = sync(integrator, profile["id"])

        # Then the sync succeeds, with a warning that names the field and the key it should be
        assert (run["status"], run["users_fetched"]) == ("succeeded", 37)
        [warning] = run["warnings"]
        assert warning["kind"] == "field_unmatched" and warning["blocks_inactivity"] is True
        assert (warning["field"], warning["path"], warning["matched"], warning["of"]) == (
            "users.fields.last_activity",
            "lastLogin",
            0,
            37,
        )
        assert warning["suggestion"] == "last_login_at" and "last_login_at" in warning["keys_seen"]
        snapshot = integrator.get(f"/profiles/{profile['id']}/snapshot").json()
        assert [w["field"] for w in snapshot["warnings"]] == ["users.fields.last_activity"]

        # And no reclamation plans removals by inactivity, dry or real: no data is not "never signed in"
        for dry_run in (True, False):
            refused = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": dry_run})
            assert refused.status_code == 409, refused.text
            assert "users.fields.last_activity" in refused.json()["message"]
        assert app.reclaim_requests == []

        # When the path is fixed and the app synced again
        fixed = integrator.patch(
            f"/profiles/{profile['id']}",
            json={
                "users": {
                    **profile["users"],
                    "fields": {**profile["users"]["fields"], "last_activity": "last_login_at"},
                }
            },
        )
        assert fixed.status_code == 200, fixed.text
        again = sync(integrator, profile["id"])

        # Then the warning is gone and a plan is made again
        assert (again["status"], again["warnings"]) == ("succeeded", [])
        plan = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": True})
        assert plan.status_code == 201, plan.text
        assert plan.json()["candidates"]


def test_a_cursor_path_that_matches_nothing_warns_naming_the_path_and_the_keys_seen(api):
    integrator = api("sam_integrator")
    with paging_app(37, cursor_key="meta.next_cursor") as app:
        # Given an app that puts the next cursor at meta.next_cursor, and a profile that reads next_cursor
        profile = connected(integrator, app, "cursor", pagination={"cursor_path": "next_cursor"})

        # When it syncs
        run = sync(integrator, profile["id"])

        # Then the one full page it read is not passed off as the whole list
        assert (run["status"], run["users_fetched"]) == ("succeeded", 10)
        [warning] = run["warnings"]
        assert (warning["kind"], warning["field"], warning["path"]) == (
            "paging_ended_early",
            "users.pagination.cursor_path",
            "next_cursor",
        )
        assert "meta.next_cursor" in warning["keys_seen"] and warning["suggestion"] == "meta.next_cursor"
        assert "meta.next_cursor" in warning["message"]
        assert integrator.get(f"/profiles/{profile['id']}/snapshot").json()["warnings"][0]["kind"] == (
            "paging_ended_early"
        )


def test_a_right_cursor_path_reads_every_page_without_a_warning(api):
    integrator = api("sam_integrator")
    with paging_app(40, cursor_key="meta.next_cursor") as app:
        # Given the same app, 40 users (the last page full too), and the right path
        profile = connected(integrator, app, "cursor", pagination={"cursor_path": "meta.next_cursor"})

        # When it syncs
        run = sync(integrator, profile["id"])

        # Then every user is read and nothing is said
        assert (run["status"], run["users_fetched"], run["warnings"]) == ("succeeded", 40, [])
        assert len(stored_users(integrator, profile["id"])) == 40


def test_activity_that_falls_away_since_the_last_sync_blocks_removals_by_inactivity(api):
    integrator = api("sam_integrator")
    with paging_app(40) as app:
        # Given a profile that synced with activity for most users
        profile = connected(integrator, app, "offset")
        first = sync(integrator, profile["id"])
        assert (first["status"], first["warnings"]) == ("succeeded", [])

        # When the app's activity feed breaks for most of them, a few still reporting
        for user in app.users[5:]:
            user["last_login"] = None
        run = sync(integrator, profile["id"])

        # Then the sync warns, and planning is refused naming the field
        assert run["status"] == "succeeded"
        assert [(w["kind"], w["field"]) for w in run["warnings"]] == [
            ("activity_dropped", "users.fields.last_activity")
        ]
        refused = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": True})
        assert refused.status_code == 409 and "users.fields.last_activity" in refused.json()["message"]


def test_an_activity_endpoint_path_that_matches_nothing_warns_and_blocks_removals_by_inactivity(api):
    integrator = api("sam_integrator")
    with paging_app(30) as app:
        # Given a profile whose last activity comes from a bulk activity endpoint, mapped to lastLogin where the
        # app's records have last_login_at, and the users' own records mapped to none
        with_last_login_at(app)
        profile = connected(integrator, app, "offset", fields={"last_activity": None})
        activity = {
            "mode": "bulk",
            "path": "/users",
            "records_path": "items",
            "pagination": {"type": "offset", "page_size": 10},
            "fields": {"user_id": "id", "last_activity": "lastLogin"},
        }
        assert integrator.patch(f"/profiles/{profile['id']}", json={"activity": activity}).status_code == 200

        # When it syncs
        run = sync(integrator, profile["id"])

        # Then the sync succeeds with a warning naming the activity endpoint's field and the key it should be
        assert run["status"] == "succeeded", run
        [warning] = [w for w in run["warnings"] if w["field"] == "activity.fields.last_activity"]
        assert (warning["matched"], warning["of"], warning["suggestion"]) == (0, 30, "last_login_at")
        assert warning["blocks_inactivity"] is True
        # And no reclamation plans removals by inactivity: no data is not "never signed in"
        refused = integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": True})
        assert refused.status_code == 409 and "activity.fields.last_activity" in refused.json()["message"]

        # When the activity path is fixed and it syncs again
        activity["fields"]["last_activity"] = "last_login_at"
        assert integrator.patch(f"/profiles/{profile['id']}", json={"activity": activity}).status_code == 200
        again = sync(integrator, profile["id"])
    # Then no warning blocks a plan any more
    assert again["status"] == "succeeded" and not any(w["blocks_inactivity"] for w in again["warnings"]), again
    assert integrator.post(f"/profiles/{profile['id']}/reclamations", json={"dry_run": True}).status_code == 201
