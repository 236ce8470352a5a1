"""Every sample event in events/ runs through its function, as `seatkeeper invoke` and `sam local invoke` would."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from seatkeeper.store import DynamoDBProfiles

EXPECTED_STATUS = {
    "api_health.json": 200,
    "api_list_templates.json": 200,
    "api_create_profile.json": 201,
    "api_create_profile_invalid.json": 422,
    "api_create_profile_as_viewer.json": 403,
    "api_list_profiles.json": 200,
}


def test_every_sample_event_has_an_expectation(root):
    assert {p.name for p in (root / "events").glob("*.json")} == set(EXPECTED_STATUS)


@pytest.mark.parametrize("name", sorted(EXPECTED_STATUS))
def test_a_sample_event_gives_the_expected_answer(stack, root, name):
    event = json.loads((root / "events" / name).read_text())
    answer = stack.functions.invoke("ApiFunction", event)
    assert answer["statusCode"] == EXPECTED_STATUS[name], answer
    body = json.loads(answer["body"])
    if answer["statusCode"] == 201:  # leave the shared stack as it was, so that the event can run again
        DynamoDBProfiles(stack.template.physical_name("Table")).delete(body["id"])


def test_seatkeeper_invoke_runs_one_function_with_a_sample_event(root):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "seatkeeper_local.cli",
            "invoke",
            "ApiFunction",
            "--event",
            "events/api_create_profile.json",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": f"{root}/local:{root}/layers/seatkeeper"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["statusCode"] == 201
    assert json.loads(answer["body"])["name"] == "Acme HR"
