"""Sync benchmarks: fetch throughput against the latency floor, delta writes, and peak memory at scale.

1. 20,000 users, 100 a page, from a local app that adds 40 ms to every page: users/second and
   the ratio to the latency floor (pages x 40 ms / concurrency). Targets: within 1.3x for
   offset and page pagination (4 pages at once), within 1.2x of the sequential floor for cursor.
2. A re-sync of those 20,000 users in which 1% changed: items written by the commit.
3. 200,000 users fetched and committed in a fresh process, over a stored base of as many users
   all of which changed (so the commit writes a new base): its peak memory (RSS). S3 and
   DynamoDB are remote from a Lambda, so staging goes to local files and the store keeps only
   the fingerprints that DynamoDB would return; everything the steps hold is measured.
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "local"), str(ROOT / "layers" / "seatkeeper")]

from seatkeeper.aws.dynamodb.snapshots import base_pages  # noqa: E402
from seatkeeper.profiles.catalog import build_profile  # noqa: E402
from seatkeeper.profiles.records import ProfileRecord  # noqa: E402
from seatkeeper.saas.http import SaaSClient  # noqa: E402
from seatkeeper.saas.network_guard import NetworkPolicy  # noqa: E402
from seatkeeper.saas.paging import fetch_users  # noqa: E402
from seatkeeper.saas.records import SaaSUser  # noqa: E402
from seatkeeper.sync.fetch import fetch_step  # noqa: E402
from seatkeeper.sync.runs import SyncRun, commit_step  # noqa: E402
from seatkeeper_local.fakes.paging_app import paging_app, profile_fields  # noqa: E402

LATENCY = 0.040
USERS = 20_000
PAGE = 100


class FileStaging:
    """Staging on local disk, as S3 would keep it: gzipped JSON lines per chunk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put_chunk(self, run_id: str, kind: str, number: int, rows: list[dict[str, Any] | str]) -> None:
        path = self.folder / run_id / f"{kind}-{number:06d}.jsonl.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = (r if isinstance(r, str) else json.dumps(r) for r in rows)  # text: a user's JSON line already
        path.write_bytes(gzip.compress("".join(line + "\n" for line in lines).encode(), 6))

    def rows(self, run_id: str, kind: str) -> Iterator[dict[str, Any]]:
        return (json.loads(line) for line in self.lines(run_id, kind))

    def lines(self, run_id: str, kind: str) -> Iterator[bytes]:
        for path in sorted((self.folder / run_id).glob(f"{kind}-*.jsonl.gz")):
            yield from gzip.decompress(path.read_bytes()).splitlines()

    def discard(self, run_id: str) -> None:
        for path in (self.folder / run_id).glob("*"):
            path.unlink()

    def _fingerprints_path(self, profile_id: str, run_id: str) -> Path:
        return self.folder / "snapshots" / f"{profile_id}-{run_id}.json.gz"

    def put_fingerprints(self, profile_id: str, run_id: str, marks: dict[str, str]) -> None:
        path = self._fingerprints_path(profile_id, run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(json.dumps({"run_id": run_id, "fingerprints": marks}).encode(), 6))

    def fingerprints(self, profile_id: str, run_id: str) -> dict[str, str] | None:
        path = self._fingerprints_path(profile_id, run_id)
        if not path.exists():
            return None
        marks: dict[str, str] = json.loads(gzip.decompress(path.read_bytes()))["fingerprints"]
        return marks

    def forget_fingerprints(self, profile_id: str, run_id: str) -> None:
        self._fingerprints_path(profile_id, run_id).unlink(missing_ok=True)


class RemoteStore:
    """What the commit sees of DynamoDB: the stored fingerprints; writes are counted and sent away."""

    def __init__(self, fingerprints: dict[str, str] | None = None) -> None:
        self.stored = fingerprints or {}
        self.written = 0
        self.deleted = 0
        self.record: dict[str, Any] | None = None
        self.table_reads = 0

    def fingerprints(self, profile_id: str) -> dict[str, str]:
        self.table_reads += 1
        return dict(self.stored)

    def forget_fingerprints(self, profile_id: str) -> None:
        if self.record is not None:
            self.record.pop("fingerprints_of", None)

    def snapshot(self, profile_id: str) -> dict[str, Any] | None:
        return dict(self.record) if self.record is not None else None

    def put_users(self, profile_id: str, entries: list[tuple[str, str]], base: str | None) -> None:
        self.written += len(entries)
        self.stored.update((user_id, json.loads(entry)["fingerprint"]) for user_id, entry in entries)

    def delete_users(self, profile_id: str, user_ids: list[str], base: str | None) -> None:
        self.deleted += len(user_ids)
        for user_id in user_ids:
            self.stored.pop(user_id, None)

    def put_base(self, profile_id: str, base: str, entries: Iterable[tuple[str, str]]) -> int:
        """The store's own pages, gzipped as they would be sent; the fingerprints the next commit reads are
        the object this commit writes, which the record names."""
        pages = len(base_pages(profile_id, base, entries))
        self.written += pages
        return pages

    def drop_other_bases(self, profile_id: str, base: str) -> int:
        return 0

    def users(self, profile_id: str, after: str | None, limit: int) -> tuple[list[SaaSUser], str | None]:
        raise NotImplementedError

    # RunStore, as far as the commit uses it
    def put_snapshot(self, profile_id: str, snapshot: dict[str, Any], *, changed_outside: int | None = None) -> None:
        self.record = dict(snapshot)

    def update_run(self, run_id: str, **changes: Any) -> None:
        pass

    def unlock_sync(self, profile_id: str, run_id: str) -> None:
        pass


def client_for(app: Any, kind: str, concurrency: int = 4) -> tuple[SaaSClient, ProfileRecord]:
    profile = build_profile(
        {
            "name": "bench",
            "subscription": {"licenses_purchased": USERS},
            **profile_fields(app, kind, page_size=PAGE, max_concurrency=concurrency),
        }
    )
    record = ProfileRecord(
        id="prf_bench", own={}, profile=profile, created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:00:00Z"
    )
    return SaaSClient(profile, {"token": "t"}, policy=NetworkPolicy.from_entries(["127.0.0.0/8"])), record


def throughput() -> bool:
    print(f"\n1. fetch {USERS:,} users, {PAGE} a page, {LATENCY * 1000:.0f} ms added per page")
    print(
        f"   {'pagination':<12}{'concurrency':>12}{'seconds':>10}{'users/s':>10}{'floor s':>10}{'x floor':>9}  target"
    )
    ok = True
    with paging_app(USERS, latency=LATENCY) as app:
        for kind, concurrency, target in (("offset", 4, 1.3), ("page", 4, 1.3), ("cursor", 1, 1.2)):
            client, _ = client_for(app, kind, concurrency)
            started = time.perf_counter()
            count = sum(len(users) for users, _ in fetch_users(client))
            seconds = time.perf_counter() - started
            assert count == USERS, count
            floor = USERS / PAGE * LATENCY / concurrency
            ratio = seconds / floor
            ok &= ratio <= target
            print(
                f"   {kind:<12}{concurrency:>12}{seconds:>10.2f}{count / seconds:>10,.0f}{floor:>10.2f}{ratio:>9.2f}"
                f"  <= {target} {'ok' if ratio <= target else 'OVER'}"
            )
    return ok


def delta_writes() -> bool:
    print(f"\n2. re-sync of {USERS:,} users in which 1% changed")
    with paging_app(USERS) as app, tempfile.TemporaryDirectory() as folder:
        client, record = client_for(app, "offset")
        staging, store = FileStaging(Path(folder)), RemoteStore()
        for run_id in ("run-1", "run-2"):
            if run_id == "run-2":
                for i in range(0, USERS, 100):
                    app.users[i] = {**app.users[i], "name": f"Renamed {i}"}
            fetch_step(client, staging, run_id, None, out_of_time=lambda: False)
            before, reads_before = store.written, store.table_reads
            result = commit_step(
                record,
                staging,
                store,
                store,  # type: ignore[arg-type]
                SyncRun(run_id=run_id, profile_id=record.id, status="running", started_at="now"),
            )
            print(
                f"   {run_id}: {result.users:,} users, {store.written - before:,} items written, "
                f"{result.deleted} deleted; stored fingerprints read from "
                f"{'the table' if store.table_reads > reads_before else 'the last commit object'}"
            )
    changed = USERS // 100
    ok = result.written == changed
    print(f"   expected {changed} written for {changed} changed users: {'ok' if ok else 'OVER'}")
    return ok


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def memory_from_here() -> int:
    """The memory (KB) the run starts from. On Linux the peak is also reset to it: building the app's users
    and the stored fingerprints peaks higher than what they keep, and at 500,000 users higher than the
    run itself, which then measured as nothing."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _status_kb("VmRSS")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_memory_since() -> int:
    try:
        return _status_kb("VmHWM")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_memory_child(count: int) -> None:
    """In a fresh process: fetch and commit `count` users over a previous snapshot of them."""
    with paging_app(count) as app, tempfile.TemporaryDirectory() as folder:
        client, record = client_for(app, "offset", concurrency=8)
        client.profile.users.pagination.page_size = 1000
        previous = {f"u{i:06d}": "0" * 24 for i in range(count)}  # a stored snapshot, all of it to rewrite
        store = RemoteStore(previous)
        store.record = {"run_id": "run-0", "users": count, "base": "run-0", "changes": 0}  # a base, as stored now
        del previous, app.users[:0]
        baseline = memory_from_here()
        started = time.perf_counter()
        fetch_step(client, FileStaging(Path(folder)), "run-big", None, out_of_time=lambda: False)
        fetched = time.perf_counter()
        result = commit_step(
            record,
            FileStaging(Path(folder)),
            store,
            store,  # type: ignore[arg-type]
            SyncRun(run_id="run-big", profile_id=record.id, status="running", started_at="now"),
        )
        peak = peak_memory_since()
        print(
            json.dumps(
                {
                    "users": result.users,
                    "fetch_s": fetched - started,
                    "commit_s": time.perf_counter() - fetched,
                    "baseline_mb": baseline / 1024,
                    "peak_mb": peak / 1024,
                }
            )
        )


def peak_memory() -> bool:
    count = int(os.environ.get("SYNC_BENCH_BIG", "200000"))
    print(f"\n3. {count:,} users fetched and committed in a fresh process")
    out = subprocess.run([sys.executable, __file__, "--child", str(count)], capture_output=True, text=True, check=True)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    # The test app serving the users lives in the same process; its share is the 'baseline' before the run.
    print(
        f"   fetch {figures['fetch_s']:.1f} s, commit {figures['commit_s']:.1f} s; peak RSS {figures['peak_mb']:.0f} MB "
        f"(of which {figures['baseline_mb']:.0f} MB before the run: interpreter, test app and its {count:,} users, "
        f"and the stored fingerprints)"
    )
    print(
        f"   the sync's own peak: {figures['peak_mb'] - figures['baseline_mb']:.0f} MB, against the functions' "
        f"1,024 MB (FetchUsers) and 1,769 MB (CommitSnapshot)"
    )
    return figures["users"] == count and figures["peak_mb"] - figures["baseline_mb"] < 1024


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        peak_memory_child(int(sys.argv[2]))
        sys.exit(0)
    results = [throughput(), delta_writes(), peak_memory()]
    sys.exit(0 if all(results) else 1)
