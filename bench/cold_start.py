"""Cold start: import+init time of each function's handler module in a fresh interpreter.

Measured as Lambda loads it: only the layer's runtime dependencies on the path (installed
into build/bench-layer from layers/seatkeeper/requirements.txt, as `sam build` would), the
layer package and the function's own folder; the function's environment from template.yaml.
Runs are interleaved with a bare `import boto3` so that machine noise hits both alike.
Target: each handler within 1.5x of bare boto3 (median of the runs).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "local"), str(ROOT / "layers" / "seatkeeper")]

from seatkeeper_local.template import Template  # noqa: E402

LAYER = ROOT / "build" / "bench-layer"
RUNS = int(os.environ.get("COLD_START_RUNS", "15"))
TARGET = 1.5
PROBE = (
    "import time, importlib; t = time.perf_counter(); importlib.import_module({module!r}); "
    "print(time.perf_counter() - t)"
)


def build_layer() -> None:
    stamp = LAYER / ".stamp"
    requirements = ROOT / "layers" / "seatkeeper" / "requirements.txt"
    if stamp.exists() and stamp.stat().st_mtime >= requirements.stat().st_mtime:
        return
    print("installing the layer's runtime dependencies into build/bench-layer ...", flush=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--upgrade",
            "--target",
            str(LAYER),
            "-c",
            str(ROOT / "constraints.txt"),
            "-r",
            str(requirements),
            "boto3",
        ],
        check=True,
    )
    stamp.touch()


def seconds(module: str, path: list[Path], env: dict[str, str]) -> float:
    # -S: no site-packages of this venv, as in Lambda only the runtime, the layer and the code.
    command = [sys.executable, "-S", "-c", PROBE.format(module=module)]
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(map(str, path)), **env}
    out = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{module} failed to import:\n{out.stderr}")
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    build_layer()
    functions = Template(ROOT / "template.yaml").functions()
    lambda_env = {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": "/var/task",
    }
    samples: dict[str, list[float]] = {"boto3": [], **{name: [] for name in functions}}
    for _ in range(RUNS):
        samples["boto3"].append(seconds("boto3", [LAYER], lambda_env))
        for name, spec in functions.items():
            env = {**lambda_env, **spec.environment, "AWS_LAMBDA_FUNCTION_NAME": name}
            samples[name].append(
                seconds(spec.handler.rsplit(".", 1)[0], [spec.code_dir, ROOT / "layers" / "seatkeeper", LAYER], env)
            )
    baseline = statistics.median(samples["boto3"])
    print(f"\ncold start, median of {RUNS} fresh interpreters (Python {sys.version.split()[0]})")
    print(f"{'function (handler)':<46}{'import+init':>14}{'x boto3':>10}   target <= {TARGET}x")
    print(f"{'bare import boto3':<46}{baseline * 1000:>11.1f} ms{1:>10.2f}")
    failed = []
    for name in functions:
        median = statistics.median(samples[name])
        ratio = median / baseline
        verdict = "ok" if ratio <= TARGET else "OVER"
        if ratio > TARGET:
            failed.append(name)
        label = f"{name} ({functions[name].handler})"
        print(f"{label:<46}{median * 1000:>11.1f} ms{ratio:>10.2f}   {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
