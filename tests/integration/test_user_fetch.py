"""Fetching all users through the SaaS client, against a paging app of our own that misbehaves on cue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import scim2_server

from seatkeeper.core.errors import AddressRefused, SaaSRequestFailed, SaaSUnavailable, UnreadableResponse
from seatkeeper.profiles.catalog import build_profile, templates
from seatkeeper.saas.http import RetryPolicy, SaaSClient
from seatkeeper.saas.network_guard import NetworkPolicy
from seatkeeper.saas.paging import PageCursor, fetch_users, first_page_of_users
from seatkeeper.sync.fetch import fetch_step
from tests.integration.test_saas_http import Rows, client_of, recording
from tests.paging_app import paging_app, profile_fields
from tests.saas_apps import fake_saas, scim_server, scim_user
from tests.vendor_fakes import ADOBE_CLIENT_ID, vendor_app

KINDS = ["none", "offset", "page", "cursor", "next_url", "link_header"]
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=2, budget_seconds=10)


def client_for(app, kind, retries=FAST, **settings):
    profile = build_profile(
        {"name": "t", "subscription": {"licenses_purchased": 1}, **profile_fields(app, kind, **settings)}
    )
    return SaaSClient(profile, {"token": "t"}, policy=NetworkPolicy.from_entries(["127.0.0.0/8"]), retries=retries)


def all_ids(client, start=None):
    return [u.id for users, _ in fetch_users(client, start) for u in users]


@pytest.mark.parametrize("kind", KINDS)
def test_every_pagination_type_fetches_every_user_once_in_order(kind):
    with paging_app(1050) as app:
        ids = all_ids(client_for(app, kind))
    assert ids == [f"u{i:06d}" for i in range(1050)]


@pytest.mark.parametrize("kind", KINDS[1:])
def test_a_fetch_stopped_after_a_page_resumes_from_its_cursor(kind):
    with paging_app(730) as app:
        client = client_for(app, kind)
        first, cursor = [], None
        for users, cursor in fetch_users(client):
            first += [u.id for u in users]
            if cursor.pages_done == 3:
                break
        rest = all_ids(client, cursor)
    assert first + rest == [f"u{i:06d}" for i in range(730)]


def test_pages_are_fetched_concurrently_up_to_the_bound_over_kept_alive_connections():
    with paging_app(2000, latency=0.05) as app:
        ids = all_ids(client_for(app, "offset", max_concurrency=4))
    assert len(ids) == 2000
    assert app.most_in_flight == 4
    assert app.connections <= 5  # one pool of kept-alive connections, not one per page


def test_users_fields_and_timestamps_are_read_as_the_profile_maps_them():
    with paging_app(30) as app:
        users = [u for page, _ in fetch_users(client_for(app, "offset")) for u in page]
    assert users[0].email == "user0@example.com" and users[0].role == "admin" and users[0].active is False
    assert users[1].last_activity is not None and users[13].last_activity is None
    assert users[1].created_at.year == 2023


def test_rate_limited_answers_are_waited_out_together():
    with paging_app(1200, rate_limit=4, rate_window=1.0) as app:
        ids = all_ids(client_for(app, "offset", retries=RetryPolicy(max_attempts=8, budget_seconds=30)))
    assert len(ids) == 1200
    assert app.rate_limited > 0


def test_flaky_server_errors_are_retried():
    with paging_app(500, flaky_pages={2: 2, 4: 1}) as app:
        assert len(all_ids(client_for(app, "cursor"))) == 500


def test_a_permanent_failure_mid_way_stops_the_fetch_with_what_failed():
    with (
        paging_app(500, broken_page=3) as app,
        pytest.raises(SaaSUnavailable, match=r"answered 500 .*after 4 attempts"),
    ):
        all_ids(client_for(app, "cursor"))


@pytest.mark.parametrize(
    ("settings", "error", "match"),
    [
        ({"malformed_page": 2}, UnreadableResponse, "not JSON"),
        ({"html_page": 2}, UnreadableResponse, "text/html"),
        ({"records_key": "data"}, UnreadableResponse, "nothing at records_path"),
        ({"refused_redirect_page": 2}, AddressRefused, "metadata"),
        ({"foreign_next_url": True}, SaaSRequestFailed, "elsewhere.example.com"),
    ],
)
def test_answers_that_are_not_what_the_profile_describes(settings, error, match):
    records_key = settings.pop("records_key", None)
    with paging_app(300, **settings) as app:
        client = client_for(app, "next_url")
        if records_key:  # the profile looks for records where the app has none
            client.profile.users.records_path = records_key
        with pytest.raises(error, match=match):
            all_ids(client)


def test_each_user_field_in_the_activity_path_is_one_segment():
    # Given an app whose user ids hold a slash, a query and a percent sign
    with recording() as app:
        app.users = [{"id": "team/alice"}, {"id": "bob?admin=1"}, {"id": "50%"}]
        # When the sync asks for each user's activity
        fetch_step(client_of(app, "api_key header"), Rows(), "run", None, out_of_time=lambda: False)
    # Then each id stays inside its own segment of the path
    assert sorted(r["path"] for r in app.seen if r["path"].endswith("/activity")) == [
        "/v1/users/50%25/activity",
        "/v1/users/bob%3Fadmin%3D1/activity",
        "/v1/users/team%2Falice/activity",
    ]


@pytest.mark.parametrize("user_id", ["..", ".", "%2e%2E"])
def test_a_dot_segment_id_never_moves_the_activity_request(user_id):
    # Given an app that lists a user whose id is a dot segment
    with recording() as app:
        app.users = [{"id": "u1"}, {"id": user_id}]
        # When the sync asks for each user's activity, Then it refuses that path rather than send it elsewhere
        with pytest.raises(SaaSRequestFailed, match="cannot be a path segment"):
            fetch_step(client_of(app, "api_key header"), Rows(), "run", None, out_of_time=lambda: False)
    assert all(r["path"] in ("/v1/users", "/v1/users/u1/activity") for r in app.seen)


def test_the_connection_test_reads_an_empty_scim_list_as_the_sync_does():
    # Given a SCIM app with no users, which leaves Resources out (totalResults 0)
    with fake_saas(users=[]) as empty:
        profile = build_profile(
            {
                "name": "t",
                "template": "scim2",
                "base_url": f"{empty.url}/scim",
                "subscription": {"licenses_purchased": 1},
            }
        )
        client = SaaSClient(profile, {"token": "t"}, policy=NetworkPolicy.from_entries(["127.0.0.0/8"]))
        # When the connection test and the sync read the first page, Then both find no users and no fault
        assert first_page_of_users(client) == []
        assert [users for users, _ in fetch_users(client)] == [[]]


def vendor_client(app, **auth):
    """A client of a template's profile against its vendor's fake (tests/vendor_fakes.py), with a small page."""
    own = {
        "name": "t",
        "template": app.vendor.template,
        "base_url": app.base_url,
        "subscription": {"licenses_purchased": 1},
        "users": {"pagination": {"page_size": app.vendor.page_size}},
        "auth": auth or {"type": "bearer"},
    }
    for dotted, value in app.vendor.needs.items():
        *parents, leaf = dotted.split(".")
        section = own
        for key in parents:
            section = section.setdefault(key, {})
        section[leaf] = value
    credential = {"token": "t", "client_id": ADOBE_CLIENT_ID}
    return SaaSClient(
        build_profile(own),
        credential,
        policy=NetworkPolicy.from_entries(["127.0.0.0/8"]),
        access_token=lambda: "t",
        retries=FAST,
    )


def test_a_list_that_continues_at_another_endpoint_resumes_there_with_its_cursor():
    # Given Dropbox's team members: list_v2 with a limit, then list/continue_v2 with the cursor alone,
    # the cursor still there on the last page and has_more false
    with vendor_app("dropbox", 130) as app:
        client = vendor_client(app)
        # When a fetch stops after two pages and resumes from its cursor
        first, cursor = [], None
        for users, cursor in fetch_users(client):
            first += [u.id for u in users]
            if cursor.pages_done == 2:
                break
        rest = all_ids(client, cursor)
    # Then every member comes once, in order, and the fetch ends where has_more says, not at a repeated cursor
    assert first + rest == [app.vendor.user_id(p) for p in app.people]
    assert app.list_requests == 4 + 1  # four pages and the one 429 the fake answers


def test_a_page_number_in_the_path_ends_where_the_app_says_the_last_page_is():
    # Given Adobe's users: the page number is the path's last segment, and a page past the end
    # answers the last page again (so a short page alone would never end the list)
    with vendor_app("adobe", 120) as app:
        client = vendor_client(app, type="oauth2_client_credentials", token_url=app.url + "/ims/token/v3")
        # When every page is fetched
        ids = all_ids(client)
    # Then each user comes once: lastPage ended the list, with no query parameter for the page
    assert ids == [app.vendor.user_id(p) for p in app.people]
    assert app.list_requests == 3 + 1 and app.unauthorized == 0


def capped_scim_client(scim, **users):
    profile = build_profile(
        {
            "name": "t",
            "template": "scim2",
            "base_url": scim.url,
            "subscription": {"licenses_purchased": 1},
            **({"users": users} if users else {}),
        }
    )
    return SaaSClient(profile, {"token": scim.token}, policy=NetworkPolicy.from_entries(["127.0.0.0/8"]), retries=FAST)


CAPPED = json.loads(
    (Path(scim2_server.__file__).parent / "resources" / "default-service-provider-config.json").read_text()
) | {"filter": {"supported": True, "maxResults": 50}}


def test_a_scim_provider_that_caps_its_pages_below_the_size_asked_for_has_every_user_read():
    # Given scim2-server (third party) announcing filter.maxResults 50: it answers at most 50 users a page,
    # as RFC 9865 allows of count ("MAY return fewer results"), to the scim2 template's count=100
    with scim_server(service_provider_config=CAPPED) as scim:
        scim.add_users([scim_user(i) for i in range(130)])
        client = capped_scim_client(scim)
        assert client.profile.users.pagination.page_size == 100
        # When the users are fetched, Then each is read once: the offsets follow the 50 answered, none skipped
        pages = [[u.email for u in users] for users, _ in fetch_users(client)]
    assert [len(page) for page in pages] == [50, 50, 30]
    assert sorted(email for page in pages for email in page) == sorted(f"user{i}@example.com" for i in range(130))


def test_a_fetch_resumed_at_a_size_the_provider_caps_stops_rather_than_skip_users():
    with scim_server(service_provider_config=CAPPED) as scim:
        scim.add_users([scim_user(i) for i in range(130)])
        client = capped_scim_client(scim)
        # Given a fetch resumed with the total already known, as a stored cursor carries it: it reads no
        # first page alone, so it cannot learn the cap from one
        resumed = PageCursor(offset=1, total=130, pages_done=0)
        # When it goes on, Then the first page shorter than asked for stops it, saying what to set
        with pytest.raises(SaaSRequestFailed, match=r"answered 50 records where 100 were asked for.*page_size to 50"):
            list(fetch_users(client, resumed))


class StagedChunks:
    """Staging as the commit reads it back: the rows of each kind's chunks, in chunk order."""

    def __init__(self) -> None:
        self.chunks: dict[tuple[str, int], list[dict]] = {}

    def put_chunk(self, run_id: str, kind: str, number: int, rows: list[dict | str]) -> None:
        assert (kind, number) not in self.chunks, "a chunk is staged once"
        # A row given as text is its JSON line (a user with its fingerprint): read back as a dict, as from S3.
        self.chunks[(kind, number)] = [json.loads(row) if isinstance(row, str) else row for row in rows]

    def rows(self, kind: str) -> list[dict]:
        return [row for (k, _), rows in sorted(self.chunks.items()) if k == kind for row in rows]


def test_a_sync_reads_github_s_outside_collaborators_after_its_members_and_resumes_in_the_list_it_was_in():
    # Given GitHub's organization (tests/vendor_fakes.py, after npm:@octokit/openapi 23.0.2): members at
    # /members and outside collaborators at /outside_collaborators, both paged by the Link header, and the
    # github_org template's profile, which reads the second as its outside_collaborator list
    with vendor_app("github_org", 500) as app:  # 125 outside collaborators: two of GitHub's pages of 100
        client = vendor_client(app)
        members = [app.vendor.user_id(p) for p in app.people if app.vendor.kind(p) is None]
        outside = [app.vendor.user_id(p) for p in app.people if app.vendor.kind(p) == "outside_collaborator"]
        staging, checkpoint, invocations, seen = StagedChunks(), None, 0, []
        # When the fetch step runs out of time after every page, and each invocation resumes from its checkpoint
        while True:
            invocations += 1
            result = fetch_step(client, staging, "run", checkpoint, out_of_time=lambda: True)
            checkpoint = result.checkpoint
            seen.append((checkpoint.listing, checkpoint.cursor.done if checkpoint.cursor else None))
            if result.done:
                break
            assert invocations < 50
    rows = staging.rows("users")
    # Then every member comes once, then every outside collaborator once, each of its kind
    assert [row["id"] for row in rows] == members + outside
    assert {row["id"]: row.get("kind") for row in rows} == {
        **dict.fromkeys(members),
        **dict.fromkeys(outside, "outside_collaborator"),
    }
    # And an invocation stopped inside the outside collaborators' list went on in that list, not the members'
    assert (1, False) in seen and checkpoint.listing == 1 and checkpoint.users_fetched == len(app.people)
    # And each page was read once (and the fake's one 429 again): the members' 40 a page, as the profile
    # asks, the outside collaborators' 100, as the template's list does
    assert app.list_requests == -(-len(members) // app.vendor.page_size) + 1 + -(-len(outside) // 100)


def test_a_profile_without_more_lists_reads_its_one_list_as_before():
    # Given a profile of the paging app (tests/paging_app.py) with no users.also
    with paging_app(250) as app:
        client = client_for(app, "offset")
        staging = StagedChunks()
        # When its fetch step runs
        result = fetch_step(client, staging, "run", None, out_of_time=lambda: False)
    # Then it reads that one list, its users of no kind, and never moves on to another list
    assert result.done and result.checkpoint.listing == 0
    assert [row["id"] for row in staging.rows("users")] == [f"u{i:06d}" for i in range(250)]
    assert all("kind" not in row or row["kind"] is None for row in staging.rows("users"))


def test_a_more_list_s_records_are_counted_against_its_own_fields_and_its_missing_activity_blocks_inactivity():
    # Given GitHub's organization (tests/vendor_fakes.py, after npm:@octokit/openapi 23.0.2, whose Simple User
    # has no last_seen_at) and the github_org template's profile whose outside collaborators' list maps its
    # own fields, one of them a last activity its records do not have
    with vendor_app("github_org", 90) as app:
        outside = templates()["github_org"].profile["users"]["also"][0]
        client = vendor_client(app)
        client.profile = build_profile(
            {
                **client.profile.model_dump(mode="json", exclude_none=True),
                "users": {
                    **client.profile.users.model_dump(mode="json", exclude_none=True),
                    "also": [{**outside, "fields": {"id": "login", "name": "login", "last_activity": "last_seen_at"}}],
                },
            }
        )
        members = sum(app.vendor.kind(p) is None for p in app.people)
        collaborators = len(app.people) - members
        # When the sync's fetch step reads both lists
        result = fetch_step(client, StagedChunks(), "run", None, out_of_time=lambda: False)
    state = result.checkpoint
    # Then the members are counted against users.fields, and the outside collaborators against their own
    assert result.done and state.tally is not None and state.tally.of == members
    assert state.more_tallies[0].of == collaborators
    assert set(state.more_tallies[0].paths) == {f"users.also[0].fields.{f}" for f in ("id", "name", "last_activity")}
    # And the list's field that matched none of its records is warned of by its own place in the profile,
    # blocking removals by inactivity: no data is not "never signed in"
    (warning,) = [w for w in state.warnings if w["kind"] == "field_unmatched"]
    assert warning["field"] == "users.also[0].fields.last_activity" and warning["path"] == "last_seen_at"
    assert (warning["matched"], warning["of"]) == (0, collaborators)
    assert warning["blocks_inactivity"] is True
    assert "login" in warning["keys_seen"]


def test_a_more_list_without_fields_of_its_own_is_counted_against_the_users_fields_apart():
    # Given the github_org template's profile as it is: its outside collaborators read with users.fields
    with vendor_app("github_org", 90) as app:
        client = vendor_client(app)
        members = sum(app.vendor.kind(p) is None for p in app.people)
        # When the sync's fetch step reads both lists
        result = fetch_step(client, StagedChunks(), "run", None, out_of_time=lambda: False)
    # Then each list has its own count, of the same paths, and none warns: every path matched in each
    state = result.checkpoint
    assert state.tally is not None and state.tally.of == members
    assert state.more_tallies[0].of == len(app.people) - members
    assert sorted(state.more_tallies[0].paths.values()) == sorted(state.tally.paths.values())
    assert [w for w in state.warnings if w["kind"] == "field_unmatched"] == []
