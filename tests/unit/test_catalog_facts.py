"""docs/catalog.md is what scripts/catalog_facts.py makes of the templates today, and its
`confirmed` verdicts are the ones tests/unit/test_vendor_specs.py checks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from seatkeeper.profiles.catalog import templates
from tests.unit import test_vendor_specs, test_vendor_specs_a, test_vendor_specs_b

ROOT = Path(__file__).parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("catalog_facts", ROOT / "scripts" / "catalog_facts.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_catalog_is_the_script_s_output_for_the_templates_of_today():
    # When the table is generated again from the templates
    # Then it is the one checked in (run: PYTHONPATH=layers/seatkeeper python scripts/catalog_facts.py > docs/catalog.md)
    assert (ROOT / "docs" / "catalog.md").read_text(encoding="utf-8") == _script().render()


def test_a_fact_is_called_confirmed_only_where_a_test_checks_it_against_the_vendor_s_document():
    checked = _script().CHECKED
    # Then the templates with an OpenAPI extract are exactly those test_vendor_specs checks, from the same file
    openapi = {name for name, (_, facts) in checked.items() if "users_path" in facts}
    assert openapi == set(test_vendor_specs.SOURCES) | set(test_vendor_specs_b.DESCRIBED)
    for name, source in test_vendor_specs.SOURCES.items():
        assert checked[name][0] == f"tests/vendor_specs/{source.vendor}/{source.extract}.yaml"
    for name, extract in test_vendor_specs_b.DESCRIBED.items():
        assert checked[name][0] == f"tests/vendor_specs/{extract}.yaml"
    # And the Atlassian reclaim requests are those test_vendor_specs checks against the changelog
    assert {n for n, (_, facts) in checked.items() if facts == ("reclaim",)} == set(
        test_vendor_specs.ATLASSIAN_TEMPLATES
    )


def test_share_a_s_confirmed_facts_are_those_test_vendor_specs_a_checks_from_the_same_extracts():
    # Then what the script calls confirmed for okta ... salesforce is exactly what that module's tests check
    assert _script().CONFIRMED_A == test_vendor_specs_a.CONFIRMS


def test_a_fact_is_confirmed_from_quoted_documentation_only_where_a_test_checks_the_quote():
    script = _script()
    # Then the quoted extracts are exactly those test_vendor_specs_b checks, and each names the facts it backs
    assert set(script.DOCS_CHECKED) == set(test_vendor_specs_b.DOCS)
    for name, (path, facts) in script.DOCS_CHECKED.items():
        assert path == f"tests/vendor_specs/{test_vendor_specs_b.DOCS[name]}.yaml"
        assert set(facts) == set(test_vendor_specs_b.docs(name)["facts"]), name
    # And a "none" is confirmed only where a test reads the vendor's whole list
    assert script.ABSENCE_CHECKED == test_vendor_specs_b.ABSENCE


def test_the_table_shows_each_unverified_fact_with_the_template_s_reason():
    text = (ROOT / "docs" / "catalog.md").read_text(encoding="utf-8")
    for template in templates().values():
        for reason in template.unverified.values():
            assert f"| **unverified** | {reason} |" in text
