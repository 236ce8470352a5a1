"""The layer installs exactly what the tests ran with: its requirements are constraints.txt's pins."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
generate = runpy.run_path(str(ROOT / "scripts" / "layer_requirements.py"))


def test_the_layer_requirements_are_generated_from_the_constraints():
    # Given pyproject.toml's dependencies and constraints.txt's pins
    # When the layer's requirements are generated
    expected = generate["layer_requirements"](ROOT / "pyproject.toml", ROOT / "constraints.txt")
    # Then layers/seatkeeper/requirements.txt is exactly that (run scripts/layer_requirements.py when this fails)
    assert (ROOT / "layers" / "seatkeeper" / "requirements.txt").read_text() == expected


def test_every_requirement_is_pinned_to_the_tested_version():
    pinned = generate["pins"](ROOT / "constraints.txt")
    lines = [
        line
        for line in (ROOT / "layers" / "seatkeeper" / "requirements.txt").read_text().splitlines()
        if line[:1] != "#"
    ]
    names = {line.split("==")[0].lower().replace("_", "-") for line in lines}
    # Then each is an exact pin, the layer's direct dependencies and what they need are there, and nothing
    # the Lambda runtime brings (boto3) or only the tests and the tracer need (moto, aws-xray-sdk).
    assert all("==" in line for line in lines)
    assert {"pydantic", "pydantic-core", "aws-lambda-powertools", "requests", "urllib3", "jmespath"} <= names
    assert not names & {"boto3", "botocore", "aws-xray-sdk", "wrapt", "moto"}
    assert f"pydantic=={pinned['pydantic']}" in lines


def test_a_changed_pin_makes_the_requirements_out_of_date(tmp_path):
    # Given constraints.txt with pydantic moved on, as a `pip freeze` after an upgrade would write it
    moved = (ROOT / "constraints.txt").read_text().replace("pydantic==", "pydantic==9.9.9\n# was pydantic==")
    (tmp_path / "constraints.txt").write_text(moved)
    # When the requirements are generated from it
    text = generate["layer_requirements"](ROOT / "pyproject.toml", tmp_path / "constraints.txt")
    # Then they differ from the file, which the first test would report
    assert "pydantic==9.9.9\n" in text
    assert text != (ROOT / "layers" / "seatkeeper" / "requirements.txt").read_text()


def test_a_dependency_without_a_pin_is_refused(tmp_path):
    # Given constraints.txt without a pin for requests
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    (tmp_path / "constraints.txt").write_text("\n".join(line for line in lines if not line.startswith("requests==")))
    # When / Then generating refuses rather than leaving requests unpinned
    with pytest.raises(SystemExit, match="requests"):
        generate["layer_requirements"](ROOT / "pyproject.toml", tmp_path / "constraints.txt")
