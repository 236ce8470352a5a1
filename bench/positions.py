"""Computing license positions for 1,000,000 stored users across 500 profiles.

The users are read as the position step reads them — the gzipped pages of each profile's base
(seatkeeper.aws.dynamodb.snapshots) turned into users — from local files of those pages (DynamoDB itself is
remote from a Lambda; its latency is not what is measured). Printed: the time and peak memory of merely reading
every record, of reading and computing every position, and the ratio of the two. Memory is
traced in a separate pass over a tenth of the profiles: tracing slows what it traces.
"""

from __future__ import annotations

import gc
import gzip
import json
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "seatkeeper")]

from seatkeeper.aws.dynamodb.snapshots import PAGE_USERS, _user, base_page  # noqa: E402
from seatkeeper.licensing.position import compute_position  # noqa: E402
from seatkeeper.profiles.catalog import build_profile  # noqa: E402

PROFILES, USERS = 500, 1_000_000
NOW = datetime(2026, 11, 28, tzinfo=UTC)
PROFILE = build_profile(
    {
        "name": "bench",
        "base_url": "https://a.example.com",
        "auth": {"type": "bearer"},
        "users": {"path": "/u", "fields": {"id": "id", "active": "active", "last_activity": "last"}},
        "subscription": {"licenses_purchased": 2500, "cost_per_license": 8},
    }
)


def write_pages(folder: Path) -> None:
    """Each profile's users as the pages of its base, one file a page, in id order."""
    random.seed(7)
    entries: dict[str, list[str]] = {}
    for n in range(USERS):
        entry: dict[str, object] = {"id": f"u{n:07d}", "email": f"user{n}@example.com"}
        if n % 9 == 0:
            entry["active"] = False
        if n % 11:
            entry["last_activity"] = (NOW - timedelta(days=random.randint(0, 400))).isoformat()
        entries.setdefault(f"prf_{n % PROFILES:04d}", []).append(json.dumps({**entry, "fingerprint": "0" * 24}))
    for key, listed in entries.items():
        (folder / key).mkdir()
        for start in range(0, len(listed), PAGE_USERS):
            (folder / key / f"{start:07d}.gz").write_bytes(base_page(listed[start : start + PAGE_USERS]))


def measure(label: str, work, sample) -> tuple[float, float]:
    """Time `work` as it runs, then its peak memory on `sample` (the same work on a tenth of the profiles).

    Apart, because tracemalloc slows every allocation several times over: timed under it,
    code that allocates a little more per user looks much slower than it is.
    """
    gc.collect()
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    gc.collect()
    tracemalloc.start()
    sample()
    peak = tracemalloc.get_traced_memory()[1] / 2**10
    tracemalloc.stop()
    print(f"   {label:<34}{seconds:>9.2f} s{peak:>10.0f} KB   {result:,}")
    return seconds, peak


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        write_pages(Path(folder))

        def records(key: str) -> Iterator[dict]:
            for page in sorted((Path(folder) / key).iterdir()):
                yield from json.loads(gzip.decompress(page.read_bytes()))

        keys = [f"prf_{n:04d}" for n in range(PROFILES)]
        print(f"\npositions for {USERS:,} stored users across {PROFILES} profiles")
        print(f"   {'':<34}{'time':>11}{'peak Python memory':>21}   users")

        def read(chosen: list[str]) -> int:
            return sum(1 for k in chosen for i in records(k) if _user(i))

        def compute(chosen: list[str]) -> int:
            return sum(compute_position(k, PROFILE, (_user(i) for i in records(k)), now=NOW).assigned for k in chosen)

        tenth = keys[: PROFILES // 10]
        read_s, _ = measure("read every record into users", lambda: read(keys), lambda: read(tenth))
        compute_s, _ = measure("read and compute every position", lambda: compute(keys), lambda: compute(tenth))
        print(
            f"   computing adds {compute_s / read_s - 1:+.0%} to reading the records (ratio {compute_s / read_s:.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
