"""At cold start a function imports only what its first invocation needs (README, Benchmarks: cold start).

The SaaS HTTP client (requests, urllib3) is imported by the one step or route that calls an app,
and the AWS SDK by the first call to AWS; `bench/cold_start.py` measures what that saves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seatkeeper_local.stack.template import Template

ROOT = Path(__file__).resolve().parents[2]
# Each handler module under its own name, in one fresh interpreter: what any of them imports stays in sys.modules.
IMPORT_EVERY_HANDLER = """
import importlib.util, json, sys
for n, (code_dir, module) in enumerate(json.loads(sys.argv[1])):
    sys.path.insert(0, code_dir)
    spec = importlib.util.spec_from_file_location(f"handler_{n}", f"{code_dir}/{module}.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & {"requests", "urllib3", "boto3", "s3transfer", "jwt", "cryptography"})))
"""


def test_no_handler_imports_the_saas_client_the_aws_sdk_or_jwt_signing_before_its_first_invocation():
    # Given every function's handler module and the environment the template gives it
    functions = Template(ROOT / "template.yaml").functions()
    handlers = sorted({(str(f.code_dir), f.handler.rsplit(".", 1)[0]) for f in functions.values()})
    environment = {k: v for f in functions.values() for k, v in f.environment.items()}
    path = os.pathsep.join([str(ROOT / "layers" / "seatkeeper"), os.environ.get("PYTHONPATH", "")])

    # When a fresh interpreter imports all of them, as Lambda's init does
    started = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_HANDLER, json.dumps(handlers)],
        env={**os.environ, **environment, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=False,
    )

    # Then none of them brought in requests, urllib3, boto3 or the JWT signing of a few grants
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout) == []


# Domain modules a function's first invocation has no use for: a module that serves several steps
# imports a step's own modules in that step, the store imports each kind of item's models where it
# reads them, and the templates (catalog) load where a profile is built. The API imports no route at
# start, and then only the routes of its request: tests/unit/test_api_routers.py.
OVERVIEW_KEEP_RENEWALS = {"profiles.catalog", "licensing.analytics", "licensing.keep", "licensing.renewals"}
NOT_AT_START = {
    "BeginGrantFunction": OVERVIEW_KEEP_RENEWALS
    | {"sync.runs", "licensing.position", "licensing.reconciliation", "licensing.reclamation"},
    "TestConnectionFunction": OVERVIEW_KEEP_RENEWALS
    | {"sync.runs", "licensing.position", "licensing.reconciliation", "licensing.reclamation"},
    "FetchUsersFunction": OVERVIEW_KEEP_RENEWALS
    | {"licensing.position", "licensing.reconciliation", "licensing.reclamation"},
    "CommitSnapshotFunction": OVERVIEW_KEEP_RENEWALS | {"licensing.reconciliation", "licensing.reclamation"},
    "ChooseProfilesFunction": OVERVIEW_KEEP_RENEWALS | {"licensing.reclamation"},
    "StartSyncRunFunction": OVERVIEW_KEEP_RENEWALS
    | {"licensing.reclamation", "licensing.reconciliation", "licensing.position"},
    "CheckSyncRunFunction": OVERVIEW_KEEP_RENEWALS
    | {"licensing.reclamation", "licensing.reconciliation", "licensing.position"},
    "RecordPositionFunction": {"licensing.keep"},
    "FinishReconciliationFunction": {"licensing.keep", "licensing.renewals"},
    "RecordReconciliationFailureFunction": OVERVIEW_KEEP_RENEWALS | {"licensing.reclamation"},
    "ReclaimSeatsFunction": {"licensing.keep", "licensing.renewals"},
    "AnnounceSeatsFunction": {
        "profiles.catalog",
        "licensing.analytics",
        "licensing.renewals",
        "licensing.reconciliation",
        "sync.runs",
        "identity.provider",
    },
    "EndGracePeriodFunction": OVERVIEW_KEEP_RENEWALS | {"licensing.reconciliation", "sync.runs", "identity.provider"},
    "RecordReclamationFailureFunction": OVERVIEW_KEEP_RENEWALS | {"licensing.reconciliation"},
    # One ended run is a reclamation's, a reconciliation's or a sync's: none needs all of their modules.
    "RecordEndedRunFunction": OVERVIEW_KEEP_RENEWALS | {"licensing.reclamation", "licensing.reconciliation"},
    # Most events it hears ask nobody anything: the SES adapter comes with the first message to send.
    "NotifyFunction": OVERVIEW_KEEP_RENEWALS
    | {"aws.email", "licensing.reconciliation", "sync.runs", "identity.provider", "saas.http"},
}
IMPORT_ONE_HANDLER = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m.removeprefix("seatkeeper.") for m in sys.modules if m.startswith("seatkeeper."))))
"""


@pytest.mark.parametrize("logical_id", sorted(NOT_AT_START))
def test_a_function_imports_at_start_no_domain_module_its_first_invocation_does_not_need(logical_id):
    # Given the function's handler module and the environment the template gives it
    function = Template(ROOT / "template.yaml").functions()[logical_id]
    path = os.pathsep.join(
        [str(function.code_dir), str(ROOT / "layers" / "seatkeeper"), os.environ.get("PYTHONPATH", "")]
    )

    # When a fresh interpreter imports it, as Lambda's init does
    started = subprocess.run(
        [sys.executable, "-c", IMPORT_ONE_HANDLER, function.handler.rsplit(".", 1)[0]],
        env={**os.environ, **function.environment, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=False,
    )

    # Then none of the domain modules its work has no use for was imported
    assert started.returncode == 0, started.stderr
    assert NOT_AT_START[logical_id] & set(json.loads(started.stdout)) == set()
