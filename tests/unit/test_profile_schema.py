"""The published JSON Schema of a profile: made from the model, committed, and true of every template."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import jsonschema
import pytest

from seatkeeper.profiles.catalog import build_profile, templates

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "docs" / "profile.schema.json"
generate = runpy.run_path(str(ROOT / "scripts" / "profile_schema.py"))


def test_the_committed_schema_is_the_one_the_model_makes():
    # Given the profile model, When its schema is made again, Then it is the file in docs/, byte for byte
    assert SCHEMA_FILE.read_text() == generate["rendered"](), "run: python scripts/profile_schema.py"


def test_the_schema_is_a_valid_draft_2020_12_schema():
    # Given the committed schema, Then the draft 2020-12 meta-schema accepts it (SchemaError would raise)
    assert jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_FILE.read_text())) is None


@pytest.mark.parametrize("name", sorted(templates()))
def test_every_catalog_template_with_its_needs_given_is_a_profile_the_schema_accepts(name):
    # Given a template and what it needs (a base URL where it asks for one), as a profile file states it in full
    template = templates()[name]
    own = {"name": "x", "template": name, "subscription": {"licenses_purchased": 10, "cost_per_license": 5}}
    if "base_url" in template.needs:
        own["base_url"] = "https://tenant.example.com/api"
    complete = build_profile(own).model_dump(mode="json", exclude_none=True)

    # When it is checked against the published schema, Then there is nothing to say
    errors = list(jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text())).iter_errors(complete))
    assert [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors] == []


def test_the_schema_points_at_the_field_a_mistake_is_in():
    # Given a profile whose pagination is of no known type
    profile = {
        "name": "x",
        "base_url": "https://app.example.com",
        "auth": {"type": "bearer"},
        "users": {"path": "/users", "records_path": "users", "fields": {"id": "id"}, "pagination": {"type": "pages"}},
        "subscription": {"licenses_purchased": 1, "cost_per_license": 1},
    }
    # When it is checked, Then an error is reported under users.pagination
    errors = list(jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text())).iter_errors(profile))
    assert errors and all(list(e.absolute_path)[:2] == ["users", "pagination"] for e in errors)
