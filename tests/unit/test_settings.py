"""Each function reads its environment once, at cold start, and a missing variable stops it there by name."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path

import pytest

from seatkeeper.core.settings import ApiSettings, ReconcileSettings, SettingsError, SyncSettings
from seatkeeper_local.stack.template import Template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = Template(ROOT / "template.yaml")


def cold_start(logical_id: str, environment: dict[str, str], monkeypatch):
    """Import the function's handler module with exactly this environment, as Lambda starts it."""
    spec = TEMPLATE.functions()[logical_id]
    for name in list(__import__("os").environ):
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.syspath_prepend(str(spec.code_dir))
    for cached in [m for m in sys.modules if m == "routes" or m.startswith("routes.")]:
        monkeypatch.delitem(sys.modules, cached)
    module_name = spec.handler.rsplit(".", 1)[0]
    loader = importlib.util.spec_from_file_location(f"cold_{uuid.uuid4().hex}", spec.code_dir / f"{module_name}.py")
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    before = set(sys.modules)
    try:
        loader.loader.exec_module(module)
    finally:
        # A function's own modules (routes.*) read this made-up environment: no later test may see them.
        for name in set(sys.modules) - before:
            if not name.startswith(("seatkeeper", "aws_lambda_powertools", "pydantic", "boto", "jmespath")):
                del sys.modules[name]
    return module


@pytest.mark.parametrize("logical_id", sorted(TEMPLATE.functions()))
def test_every_function_starts_with_the_environment_the_template_gives_it(logical_id, monkeypatch):
    spec = TEMPLATE.functions()[logical_id]
    module = cold_start(logical_id, spec.environment, monkeypatch)
    assert callable(getattr(module, spec.handler.rsplit(".", 1)[1]))


@pytest.mark.parametrize(
    ("logical_id", "variable"),
    [
        ("ApiFunction", "CONNECTION_STATE_MACHINE_ARN"),  # once fell back to "" and started the wrong saga
        ("ApiFunction", "SYNC_STATE_MACHINE_ARN"),
        ("ApiFunction", "TABLE_NAME"),
        ("FetchUsersFunction", "STAGING_BUCKET"),
        ("StartSyncRunFunction", "SYNC_STATE_MACHINE_ARN"),
        ("ReclaimSeatsFunction", "TABLE_NAME"),
    ],
)
def test_a_missing_variable_stops_the_function_at_cold_start_naming_it(logical_id, variable, monkeypatch):
    environment = dict(TEMPLATE.functions()[logical_id].environment)
    del environment[variable]
    with pytest.raises(SettingsError, match=f"{variable} is not set"):
        cold_start(logical_id, environment, monkeypatch)


def test_an_empty_variable_is_as_missing_as_an_absent_one():
    with pytest.raises(SettingsError, match="SYNC_STATE_MACHINE_ARN is not set"):
        ReconcileSettings.from_environment({"TABLE_NAME": "t", "SYNC_STATE_MACHINE_ARN": ""})


def test_every_problem_is_named_at_once():
    with pytest.raises(SettingsError) as refused:
        SyncSettings.from_environment({})
    assert "TABLE_NAME is not set" in str(refused.value) and "STAGING_BUCKET is not set" in str(refused.value)


def test_numbers_are_read_as_numbers_and_refused_when_they_are_not():
    arns = {
        name: f"arn:{name}"
        for name in (
            "TABLE_NAME",
            "DATA_KEY_ARN",
            "CONNECTION_STATE_MACHINE_ARN",
            "SYNC_STATE_MACHINE_ARN",
            "RECONCILE_STATE_MACHINE_ARN",
            "RECLAIM_STATE_MACHINE_ARN",
        )
    }
    assert ApiSettings.from_environment(arns).grant_timeout_seconds == 900
    assert ApiSettings.from_environment({**arns, "GRANT_TIMEOUT_SECONDS": "60"}).grant_timeout_seconds == 60
    for bad in ("soon", "0", "-5"):
        with pytest.raises(SettingsError, match="GRANT_TIMEOUT_SECONDS is not valid"):
            ApiSettings.from_environment({**arns, "GRANT_TIMEOUT_SECONDS": bad})
    with pytest.raises(SettingsError, match="together"):
        ApiSettings.from_environment({**arns, "DASHBOARD_SIGN_IN_URL": "https://signin.example"})


def test_the_largest_app_a_sync_commits_is_the_domain_limit_unless_lowered():
    from seatkeeper.sync.runs import MAX_APP_USERS

    needed = {"TABLE_NAME": "t", "STAGING_BUCKET": "b"}
    assert SyncSettings.from_environment(needed).max_app_users == MAX_APP_USERS
    assert SyncSettings.from_environment({**needed, "SEATKEEPER_MAX_APP_USERS": "150"}).max_app_users == 150
    with pytest.raises(SettingsError, match="SEATKEEPER_MAX_APP_USERS is not valid"):
        SyncSettings.from_environment({**needed, "SEATKEEPER_MAX_APP_USERS": "0"})
