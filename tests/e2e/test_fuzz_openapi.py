"""Fuzz the whole API from its own /openapi.json with schemathesis, through the local stack.

A few hundred generated requests, valid and invalid, as each role: no 5xx, and every
answer matches the documented status codes, content types and schemas.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from seatkeeper_local.stack.tokens import mint
from tests.conftest import forget_every_profile

pytestmark = pytest.mark.e2e
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_schema(stack, api):
    forget_every_profile(stack)  # its own reconcile-all runs must find no profile whose app is gone
    # A profile to find, so that generated ids sometimes hit one that exists.
    api("admin").post(
        "/profiles",
        json={
            "name": "Fuzz target",
            "template": "scim2",
            "base_url": "https://fuzz.example.com/scim/v2",
            "subscription": {"licenses_purchased": 5},
        },
    )
    return schemathesis.openapi.from_url(f"{stack.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error_or_an_undocumented_answer(case, stack):
    for role in ("admin", "sam_viewer"):  # each generated request, as a role that may write and one that may not
        # The fuzz itself starts reconcile-all runs that sync every connected profile in this one
        # process: under that load an answer can take more than requests' usual 10 s.
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {mint(stack.jwt_secret, role)}"}, checks=CHECKS, timeout=60
        )
        assert response.status_code < 500
