"""Cold start: import+init time of each function's handler module in a fresh interpreter.

Measured as Lambda loads it: only the layer's runtime dependencies on the path (installed
into build/bench-layer from layers/seatkeeper/requirements.txt, as `sam build` would), the
layer package and the function's own folder; the function's environment from template.yaml.
Runs are interleaved with a bare `import boto3` so that machine noise hits both alike.
Target: each handler within 1.3x of bare boto3 (median of the runs).

Each run reports wall time and the CPU time (user+sys) the interpreter spent on it. In Lambda the
import is CPU-bound, so on an idle machine the two agree; on a shared machine other work stretches
the wall time (the load average is printed), so the target is judged on the CPU-time ratio.
Heavy load inflates CPU time too (shared caches); COLD_START_INSTRUCTIONS=1 adds, where valgrind is
installed, each import's instruction count over bare boto3's: the same on a busy machine as on an
idle one, a cross-check of the ratios rather than a time (a few minutes more).

For the API function it also measures the first request end to end in a fresh interpreter:
import and init, then GET /profiles (events/api_list_profiles.json: routing, validation of the
JWT claims and query, and a DynamoDB query against moto on this machine), against the same
bare boto3 import. That request's own DynamoDB round trip is in it; here moto answers. And the
first request for the dashboard's page (GET /dashboard), which needs no AWS call: the API
imports a route module on the first request to one of its paths.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "local"), str(ROOT / "layers" / "seatkeeper")]

from seatkeeper_local.stack.template import Template  # noqa: E402

LAYER = ROOT / "build" / "bench-layer"
RUNS = int(os.environ.get("COLD_START_RUNS", "9"))
TARGET = 1.3
PROBE = (
    "import time, importlib; t = time.perf_counter(); c = time.process_time(); importlib.import_module({module!r}); "
    "print(time.perf_counter() - t, time.process_time() - c)"
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


FIRST_REQUEST = (
    "import time, importlib, json, types; t = time.perf_counter(); c = time.process_time(); "
    "m = importlib.import_module({module!r}); "
    "context = types.SimpleNamespace(function_name='ApiFunction', memory_limit_in_mb=1024, aws_request_id='r', "
    "invoked_function_arn='arn:aws:lambda:us-east-1:123456789012:function:ApiFunction'); "
    "answer = m.{function}(json.load(open({event!r})), context); "
    "assert answer['statusCode'] == 200, answer; print(time.perf_counter() - t, time.process_time() - c)"
)


def seconds(module: str, path: list[Path], env: dict[str, str], probe: str | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh interpreter's import (and request)."""
    # -S: no site-packages of this venv, as in Lambda only the runtime, the layer and the code.
    command = [sys.executable, "-S", "-c", probe or PROBE.format(module=module)]
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(map(str, path)), **env}
    out = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{module} failed to import:\n{out.stderr}")
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


# The API's first requests measured, and their sample events.
FIRST = {
    "ApiFunction: first request, GET /profiles": "api_list_profiles.json",
    "ApiFunction: first request, GET /dashboard": "api_dashboard.json",
}


def instructions(statement: str, path: list[Path], env: dict[str, str]) -> int:
    """Instructions one fresh interpreter executes for `statement`, counted by valgrind."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-S", "-c", statement]
    # A fixed hash seed: the count is then the same from run to run.
    environment = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(map(str, path)), **env}
    out = subprocess.run(
        command, env={**environment, "PYTHONHASHSEED": "0"}, capture_output=True, text=True, check=False
    )
    found = re.search(r"Collected : (\d+)", out.stderr)
    if out.returncode != 0 or found is None:
        raise SystemExit(f"valgrind could not count {statement!r}:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def local_aws() -> tuple[Any, dict[str, str]]:
    """moto with the template's table, for the API function's first request."""
    import boto3

    from seatkeeper_local.ports import free_port
    from seatkeeper_local.stack.aws import start_moto
    from seatkeeper_local.stack.local_stack import quiet_werkzeug

    quiet_werkzeug()

    port = free_port()
    server = start_moto("127.0.0.1", port)
    endpoint = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
    }
    dynamodb = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=endpoint["AWS_ENDPOINT_URL"],
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    for table in Template(ROOT / "template.yaml").tables().values():
        dynamodb.create_table(**table["create"])
    return server, endpoint


def main() -> int:
    build_layer()
    functions = Template(ROOT / "template.yaml").functions()
    lambda_env = {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": "/var/task",
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in ["boto3", *FIRST, *functions]}
    moto, endpoint = local_aws()
    api = functions["ApiFunction"]
    module, function = api.handler.rsplit(".", 1)
    first_requests = {
        name: FIRST_REQUEST.format(module=module, function=function, event=str(ROOT / "events" / event))
        for name, event in FIRST.items()
    }
    load_before = os.getloadavg()[0]
    try:
        for _ in range(RUNS):
            samples["boto3"].append(seconds("boto3", [LAYER], lambda_env))
            for name, spec in functions.items():
                env = {**lambda_env, **spec.environment, "AWS_LAMBDA_FUNCTION_NAME": name}
                code = [spec.code_dir, ROOT / "layers" / "seatkeeper", LAYER]
                samples[name].append(seconds(spec.handler.rsplit(".", 1)[0], code, env))
                if name == "ApiFunction":
                    for first, request in first_requests.items():
                        samples[first].append(seconds(module, code, {**env, **endpoint}, request))
    finally:
        moto.stop()
    load_after = os.getloadavg()[0]

    def medians(name: str) -> tuple[float, float]:
        return statistics.median(s[0] for s in samples[name]), statistics.median(s[1] for s in samples[name])

    base_wall, base_cpu = medians("boto3")
    print(f"\ncold start, median of {RUNS} fresh interpreters (Python {sys.version.split()[0]})")
    print(f"load average (1 min) {load_before:.2f} before, {load_after:.2f} after, on {os.cpu_count()} CPUs")
    print(f"{'function (handler)':<58}{'wall':>11}{'x boto3':>9}{'CPU':>11}{'x boto3':>9}   target <= {TARGET}x (CPU)")
    print(f"{'bare import boto3':<58}{base_wall * 1000:>8.1f} ms{1:>9.2f}{base_cpu * 1000:>8.1f} ms{1:>9.2f}")
    within_wall = within_cpu = 0
    for name in [*functions, *FIRST]:
        wall, cpu = medians(name)
        wall_ratio, cpu_ratio = wall / base_wall, cpu / base_cpu
        if name in functions:
            label = f"{name} ({functions[name].handler})"
            verdict = "ok" if cpu_ratio <= TARGET else "OVER"
            within_wall += wall_ratio <= TARGET
            within_cpu += cpu_ratio <= TARGET
        else:  # the first request has no target of its own: it is reported against the same baseline
            label, verdict = name, ""
        print(f"{label:<58}{wall * 1000:>8.1f} ms{wall_ratio:>9.2f}{cpu * 1000:>8.1f} ms{cpu_ratio:>9.2f}   {verdict}")
    print(f"within {TARGET}x: {within_cpu} of {len(functions)} functions by CPU time, {within_wall} by wall time")
    if os.environ.get("COLD_START_INSTRUCTIONS") and shutil.which("valgrind"):
        jobs = {"": ("pass", [LAYER], lambda_env), "boto3": ("import boto3", [LAYER], lambda_env)}
        for name, spec in functions.items():
            env = {**lambda_env, **spec.environment, "AWS_LAMBDA_FUNCTION_NAME": name}
            code = [spec.code_dir, ROOT / "layers" / "seatkeeper", LAYER]
            jobs[name] = (f"import {spec.handler.rsplit('.', 1)[0]}", code, env)
        with ThreadPoolExecutor(os.cpu_count()) as pool:
            counted = dict(zip(jobs, pool.map(lambda job: instructions(*job), jobs.values()), strict=True))
        startup = counted.pop("")  # the interpreter's own start, in every count
        base = counted.pop("boto3") - startup
        print(f"\ninstructions of the import (valgrind), bare import boto3: {base / 1e6:.0f} M")
        for name, count in counted.items():
            print(f"{name:<58}{(count - startup) / base:>9.2f}")
    return 0 if within_cpu == len(functions) else 1


if __name__ == "__main__":
    sys.exit(main())
