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

from seatkeeper_local.tokens import mint

pytestmark = pytest.mark.e2e
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def forget_every_profile(admin) -> None:
    """The fuzz's own reconcile-all runs sync every connected profile: the ones earlier tests left,
    whose apps are long gone, would each retry for seconds and make the fuzz take many minutes.

    An identity provider answers 409 while profiles still read from it: it goes in a later round."""
    while ids := every_profile_id(admin):
        answers = [admin.delete(f"/profiles/{profile_id}").status_code for profile_id in ids]
        assert set(answers) <= {204, 409} and 204 in answers, answers


def every_profile_id(admin) -> list[str]:
    ids, cursor = [], None
    while True:
        page = admin.get("/profiles", params={"limit": 100, **({"cursor": cursor} if cursor else {})}).json()
        ids += [profile["id"] for profile in page["items"]]
        if not (cursor := page["next_cursor"]):
            return ids


@pytest.fixture(scope="module")
def api_schema(stack, api):
    forget_every_profile(api("admin"))
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
