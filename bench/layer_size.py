"""Layer size: what `sam build` puts in the layer, unzipped, against Lambda's 250 MB limit.

Installs layers/seatkeeper/requirements.txt as Lambda's python3.13 on arm64 would get it (the
manylinux aarch64 wheels; the local platform's when PyPI cannot be reached) into a temporary
folder, adds the seatkeeper package, and prints the size. The limit holds for a function's code
and all its layers together, unzipped; the functions' own folders are a few kB each.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "layers" / "seatkeeper" / "requirements.txt"
LIMIT_MB = 250
TARGET_MB = 50  # well under: room for the functions and for dependencies yet to come
LAMBDA_PLATFORM = ["--platform", "manylinux2014_aarch64", "--only-binary=:all:", "--python-version", "3.13"]


def install(into: Path, platform: list[str]) -> bool:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(into),
            *platform,
            "-r",
            str(REQUIREMENTS),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        print(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "pip failed")
    return done.returncode == 0


def megabytes(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1_000_000


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="seatkeeper-layer-") as temp:
        python = Path(temp) / "python"
        platform = "Lambda's (python3.13, manylinux2014_aarch64)"
        if not install(python, LAMBDA_PLATFORM):
            platform = f"this machine's (python{sys.version_info.major}.{sys.version_info.minor}): PyPI's Lambda wheels unreachable"
            if not install(python, []):
                return 1
        dependencies = megabytes(python)
        package = megabytes(ROOT / "layers" / "seatkeeper" / "seatkeeper")
        total = dependencies + package
        print(f"layer, unzipped, with {platform} wheels:")
        print(f"  dependencies {dependencies:7.1f} MB  ({REQUIREMENTS.relative_to(ROOT)})")
        print(f"  seatkeeper   {package:7.1f} MB")
        print(f"  total        {total:7.1f} MB of Lambda's {LIMIT_MB} MB ({100 * total / LIMIT_MB:.0f}%)")
        largest = sorted(
            ((megabytes(d), d.name) for d in python.iterdir() if d.is_dir() and not d.name.endswith(".dist-info")),
            reverse=True,
        )[:5]
        print("  largest: " + ", ".join(f"{name} {size:.1f} MB" for size, name in largest))
        if total > TARGET_MB:
            print(f"FAIL: over {TARGET_MB} MB")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
