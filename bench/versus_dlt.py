"""seatkeeper against dlt, side by side on the same app: the fetch alone, and a whole sync.

The app: 20,000 users, 100 a page, 40 ms added to every page, offset pagination with a total
(bench/sync.py's). Each pair runs back to back in this one process, so that the machine's load
hits both alike; the ratios are what counts.

1. Fetch to the last page: seatkeeper's SaaS client (4 pages at once once it knows the total)
   against dlt's REST client with its OffsetPaginator. Goal: seatkeeper at least 3.5x faster.
2. A whole sync, first and again with nothing changed: seatkeeper through the local stack
   (POST /profiles/{id}/sync until GET /runs/{id} says succeeded: Step Functions, FetchUsers,
   staging in S3, CommitSnapshot into DynamoDB, all on moto) against a dlt pipeline that loads
   the same users into DuckDB (merge on the id, as a re-sync replaces what changed).
   Goal: seatkeeper at least 3x faster, both times.

dlt is a benchmark-only dependency (`pip install -e '.[bench]'`, which `make bench` does).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "local"), str(ROOT / "layers" / "seatkeeper")]
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")

from local_api import LocalApi  # noqa: E402

from seatkeeper.profiles.catalog import build_profile  # noqa: E402
from seatkeeper.saas.http import SaaSClient  # noqa: E402
from seatkeeper.saas.network_guard import NetworkPolicy  # noqa: E402
from seatkeeper.saas.paging import fetch_users  # noqa: E402
from seatkeeper_local.fakes.paging_app import PagingApp, paging_app, profile_fields  # noqa: E402
from seatkeeper_local.stack.local_stack import LocalStack, quiet_werkzeug  # noqa: E402

USERS, PAGE, LATENCY = 20_000, 100, 0.040
FETCH_GOAL, SYNC_GOAL = 3.5, 3.0


def seatkeeper_fetch(app: PagingApp) -> float:
    profile = build_profile(
        {
            "name": "bench",
            "subscription": {"licenses_purchased": USERS},
            **profile_fields(app, "offset", page_size=PAGE),
        }
    )
    client = SaaSClient(profile, {"token": "t"}, policy=NetworkPolicy.from_entries(["127.0.0.0/8"]))
    started = time.perf_counter()
    count = sum(len(users) for users, _ in fetch_users(client))
    assert count == USERS, count
    return time.perf_counter() - started


def dlt_fetch(app: PagingApp) -> float:
    from dlt.sources.helpers.rest_client import RESTClient
    from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
    from dlt.sources.helpers.rest_client.paginators import OffsetPaginator

    client = RESTClient(
        base_url=f"{app.url}/offset",
        auth=BearerTokenAuth("t"),
        paginator=OffsetPaginator(limit=PAGE, offset_param="offset", limit_param="limit", total_path="total"),
        data_selector="items",
    )
    started = time.perf_counter()
    count = sum(len(page) for page in client.paginate("/users"))
    assert count == USERS, count
    return time.perf_counter() - started


def dlt_pipeline(app: PagingApp, folder: Path) -> Any:
    import dlt
    from dlt.sources.helpers.rest_client import RESTClient
    from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
    from dlt.sources.helpers.rest_client.paginators import OffsetPaginator

    @dlt.resource(name="users", primary_key="id", write_disposition="merge")
    def users() -> Any:
        client = RESTClient(
            base_url=f"{app.url}/offset",
            auth=BearerTokenAuth("t"),
            paginator=OffsetPaginator(limit=PAGE, offset_param="offset", limit_param="limit", total_path="total"),
            data_selector="items",
        )
        yield from client.paginate("/users")

    pipeline = dlt.pipeline(
        pipeline_name="bench_users",
        destination=dlt.destinations.duckdb(str(folder / "users.duckdb")),
        dataset_name="saas",
        pipelines_dir=str(folder / "pipelines"),
    )
    return pipeline, users


def timed_dlt_run(pipeline: Any, users: Any) -> float:
    started = time.perf_counter()
    pipeline.run(users())
    seconds = time.perf_counter() - started
    with pipeline.sql_client() as sql:
        (count,) = sql.execute_sql("select count(*) from users")[0]
    assert count == USERS, count
    return seconds


class SeatkeeperSync:
    """One profile of the app on the local stack, synced through the HTTP API."""

    def __init__(self, stack: LocalStack, app: PagingApp) -> None:
        self.api = LocalApi(stack)
        self.app = app
        self.profile_id = self.api.connected_profile(app, "bench", licenses=USERS, page_size=PAGE)

    def timed_sync(self) -> tuple[float, dict[str, Any]]:
        self.app.first_request_at = None
        started = time.perf_counter()
        seconds, run = self.api.synced(self.profile_id)
        assert run["status"] == "succeeded" and run["users_fetched"] == USERS, run
        assert self.app.first_request_at is not None
        # From the POST to the app's first request: what the sync does before it asks for a page.
        run["first_page_after"] = self.app.first_request_at - started
        return seconds, run


def verdict(ratio: float, goal: float) -> str:
    return f"{ratio:5.2f}x faster  (goal >= {goal}x: {'ok' if ratio >= goal else 'UNDER'})"


def main() -> int:
    quiet_werkzeug()
    print(
        f"\nseatkeeper against dlt: {USERS:,} users, {PAGE} a page, {LATENCY * 1000:.0f} ms a page, offset pagination"
    )
    print(f"   machine load (1, 5, 15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    ok = True
    with paging_app(USERS, latency=LATENCY) as app, tempfile.TemporaryDirectory() as temp:
        # 1. The fetch: twice each, alternating; the better of each.
        ours, theirs = [], []
        for _ in range(2):
            ours.append(seatkeeper_fetch(app))
            theirs.append(dlt_fetch(app))
        ratio = min(theirs) / min(ours)
        ok &= ratio >= FETCH_GOAL
        print("1. fetch to the last page")
        print(f"   seatkeeper SaaS client  {min(ours):6.2f} s")
        print(f"   dlt REST client         {min(theirs):6.2f} s")
        print(f"   seatkeeper is {verdict(ratio, FETCH_GOAL)}")

        # 2. The whole sync, first and unchanged.
        pipeline, users = dlt_pipeline(app, Path(temp))
        with LocalStack(ROOT / "template.yaml", port=0, aws_port=0, log_level="WARNING") as stack:
            ours_sync = SeatkeeperSync(stack, app)
            first, first_run = ours_sync.timed_sync()
            dlt_first = timed_dlt_run(pipeline, users)
            again, again_run = ours_sync.timed_sync()
            dlt_again = timed_dlt_run(pipeline, users)
        print("2. a whole sync: seatkeeper through the local stack, dlt into DuckDB")
        print(f"   {'':<26}{'seatkeeper':>11}{'dlt':>9}")
        for label, mine, other, run in (
            ("first sync", first, dlt_first, first_run),
            ("re-sync, nothing changed", again, dlt_again, again_run),
        ):
            ratio = other / mine
            ok &= ratio >= SYNC_GOAL
            print(f"   {label:<26}{mine:>9.2f} s{other:>7.2f} s   {verdict(ratio, SYNC_GOAL)}")
            print(
                f"   {'':<26}(seatkeeper wrote {run['items_written']:,} users;"
                f" first page after {run['first_page_after']:.2f} s)"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
