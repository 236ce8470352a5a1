"""The largest app one sync commits: beyond it, the run fails naming the limit, and the stored snapshot stays whole."""

from __future__ import annotations

from dataclasses import replace

from tests.integration.test_sync import connected_profile, stored_users, sync
from tests.paging_app import paging_app, profile_fields


def lower_the_limit(stack, monkeypatch, users: int) -> None:
    # Each function has its module of its own here, as each has its own runtime in Lambda.
    for function in ("FetchUsersFunction", "CommitSnapshotFunction"):
        module = stack.functions.handler(function).__wrapped__.__globals__
        monkeypatch.setitem(module, "settings", replace(module["settings"], max_app_users=users))


def test_an_app_beyond_the_limit_fails_its_sync_and_leaves_the_snapshot_before_whole(api, stack, monkeypatch):
    # Given a profile synced with 120 users, whose app then grows to 160 and renames the first ones
    integrator = api("sam_integrator")
    with paging_app(160) as app:
        grown = app.users[120:]
        del app.users[120:]
        profile = connected_profile(integrator, **profile_fields(app, "offset"))
        first = sync(integrator, profile["id"])
        assert (first["status"], first["items_written"]) == ("succeeded", 120)
        before = stored_users(integrator, profile["id"])
        snapshot_before = integrator.get(f"/profiles/{profile['id']}/snapshot").json()
        app.users += grown
        for user in app.users[:10]:
            user["name"] = "Renamed"

        # When it syncs with the sync's limit lowered to 150 users (FetchUsers and CommitSnapshot share it)
        lower_the_limit(stack, monkeypatch, 150)
        run = sync(integrator, profile["id"])

        # Then the run failed, saying how many users the app has and what the limit is
        assert run["status"] == "failed"
        assert "160 users" in run["error"] and "at most 150" in run["error"], run["error"]
        # and not one stored user changed: the snapshot is the one before, whole
        assert stored_users(integrator, profile["id"]) == before
        assert integrator.get(f"/profiles/{profile['id']}/snapshot").json() == snapshot_before

        # and under the limit the same app syncs again (the failed run released its lock)
        monkeypatch.undo()
        again = sync(integrator, profile["id"])
    assert (again["status"], again["users_fetched"], again["items_written"]) == ("succeeded", 160, 50)
    integrator.delete(f"/profiles/{profile['id']}")


def test_the_fetch_stops_at_the_page_that_goes_over_the_limit(api, stack, monkeypatch):
    # Given an app of 100 users in pages of 10, one after the other, and a limit of 25 users
    integrator = api("sam_integrator")
    with paging_app(100) as app:
        profile = connected_profile(integrator, **profile_fields(app, "cursor", page_size=10))
        lower_the_limit(stack, monkeypatch, 25)
        served = app.requests

        # When it syncs,
        run = sync(integrator, profile["id"])
        asked = app.requests - served

    # then FetchUsers stopped at the third page (30 users) rather than read the whole app first,
    assert asked == 3
    # and the run failed saying so, with nothing stored.
    assert run["status"] == "failed"
    assert "more than 25 users" in run["error"] and "at most 25" in run["error"], run["error"]
    assert stored_users(integrator, profile["id"]) == []
    integrator.delete(f"/profiles/{profile['id']}")
