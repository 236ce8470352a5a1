"""What the HTTP API promises about trust: roles from whole group names, the grant link only for
those who may connect, hostile bodies answered with a 4xx, and the role checked before the body."""

from __future__ import annotations

import json
import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from seatkeeper_local.stack.tokens import LOCAL_KID
from tests.integration.connection_checks import make_profile, wait_for

UNKNOWN_RECLAMATION = f"/reclamations/rcl_{'0' * 20}/approve"


def signed_in_with(api, stack, groups):
    """A client whose local JWT carries exactly these cognito:groups, as any identity provider could set them."""
    claims = {"sub": f"someone-{uuid.uuid4().hex[:6]}", "exp": int(time.time()) + 600, "cognito:groups": groups}
    client = api(None)
    token = jwt.encode(claims, stack.jwt_secret, "HS256", headers={"kid": LOCAL_KID})  # the local issuer's key
    client.headers["Authorization"] = f"Bearer {token}"
    return client


# --- roles from whole group names -------------------------------------------------------------

FORGED = {
    "comma": ["contractors,admin"],
    "opening bracket": ["[admin"],
    "closing bracket": ["admin]"],
    "leading space": [" admin"],
    "two words in one name": ["admin sam_viewer"],
    "beside a real group": ["sam_viewer", "contractors,admin"],
}


@pytest.mark.parametrize("groups", FORGED.values(), ids=FORGED.keys())
def test_a_group_whose_name_only_contains_admin_grants_nothing(api, stack, groups):
    # Given a token whose groups, once API Gateway has written them as "[a b]", could be read as admin
    client = signed_in_with(api, stack, groups)
    # When it approves a reclamation (admins only) and reads profiles (any role)
    approving = client.post(UNKNOWN_RECLAMATION)
    reading = client.get("/profiles")
    # Then both are refused: the names could have been split differently, so they grant nothing
    assert approving.status_code == 403, approving.text
    assert reading.status_code == 403, reading.text


WHOLE = {
    "admin": (["admin"], 404),
    "viewer and admin": (["sam_viewer", "admin"], 404),
    "viewer": (["sam_viewer"], 403),
    "viewer and another group": (["finance", "sam_viewer"], 403),
}


@pytest.mark.parametrize(("groups", "approving"), WHOLE.values(), ids=WHOLE.keys())
def test_whole_group_names_give_their_roles(api, stack, groups, approving):
    client = signed_in_with(api, stack, groups)
    assert client.get("/profiles").status_code == 200
    # An admin gets as far as finding no such reclamation; anyone else is refused before that.
    assert client.post(UNKNOWN_RECLAMATION).status_code == approving


def approve_as(stack, root, claim, headers=None):
    """The sample event of an admin's approval, with this cognito:groups claim, straight into the function."""
    event = json.loads((root / "events" / "api_approve_reclamation.json").read_text())
    event["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] = claim
    event["headers"].update(headers or {})
    return stack.functions.invoke("ApiFunction", event)["statusCode"]


HANDED_OVER = {
    "API Gateway's form": ("[admin]", 404),
    "API Gateway's form, two groups": ("[sam_viewer admin]", 404),
    "a JSON list": (["admin"], 404),
    "a JSON list, two groups": (["sam_viewer", "admin"], 404),
    "a comma in a listed name": (["contractors,admin"], 403),
    "two words in a listed name": (["admin sam_viewer"], 403),
    "a comma in a written name": ("[contractors,admin]", 403),
    "a bracket in a written name": ("[[admin]", 403),
    "a bracket after a written name": ("[admin]]", 403),
    "a space before a written name": ("[ admin]", 403),
    "two spaces between names": ("[sam_viewer  admin]", 403),
    "not in brackets": ("admin", 403),
    "a number": (7, 403),
}


@pytest.mark.parametrize(("claim", "status"), HANDED_OVER.values(), ids=HANDED_OVER.keys())
def test_the_claim_is_read_in_the_form_the_authorizer_hands_it_over_and_nothing_else(stack, root, claim, status):
    assert approve_as(stack, root, claim) == status


def test_a_name_of_two_words_is_told_from_two_names_by_the_verified_token(stack, root):
    # Given a token whose one group is "admin sam_viewer", which API Gateway writes as "[admin sam_viewer]"
    token = jwt.encode(
        {"sub": "x", "cognito:groups": ["admin sam_viewer"]}, "any-key-of-32-bytes-or-more-here!", "HS256"
    )
    # When the function reads the claim beside the token the authorizer verified
    status = approve_as(stack, root, "[admin sam_viewer]", {"authorization": f"Bearer {token}"})
    # Then the two disagree on the names, and nothing is granted
    assert status == 403
    # ...while the same claim with a token that does carry two groups is an admin's
    token = jwt.encode(
        {"sub": "x", "cognito:groups": ["admin", "sam_viewer"]}, "any-key-of-32-bytes-or-more-here!", "HS256"
    )
    assert approve_as(stack, root, "[admin sam_viewer]", {"authorization": f"Bearer {token}"}) == 404


# --- the pending grant's link ------------------------------------------------------------------


def test_only_those_who_may_connect_see_the_pending_grant_link(api, oidc, saas):
    # Given an integrator's OAuth connection waiting for its grant
    integrator = api("sam_integrator")
    profile = make_profile(
        integrator,
        base_url=f"{saas.url}/oauth",
        auth={
            "type": "oauth2_authorization_code",
            "authorize_url": f"{oidc}/oauth2/authorize",
            "token_url": f"{oidc}/oauth2/token",
        },
    )
    started = integrator.post(f"/profiles/{profile['id']}/connection", json={"client_id": "c", "client_secret": "s"})
    assert started.status_code == 202, started.text
    link = wait_for(integrator, profile["id"], {"awaiting_grant"})["authorize_url"]
    query = parse_qs(urlsplit(link).query)
    state, challenge = query["state"][0], query["code_challenge"][0]
    # When a viewer and an admin read the connection
    as_viewer = api("sam_viewer").get(f"/profiles/{profile['id']}/connection")
    as_admin = api("admin").get(f"/profiles/{profile['id']}/connection")
    # Then the viewer sees its status but no authorize_url anywhere, nor the state or the PKCE challenge
    assert as_viewer.status_code == 200 and as_viewer.json()["status"] == "awaiting_grant"
    assert re.findall(r'"authorize_url":\s*("[^"]*")', as_viewer.text) == []
    assert state not in as_viewer.text and challenge not in as_viewer.text
    # ...and the admin, who may connect, sees the link as the integrator does
    assert as_admin.json()["authorize_url"] == link
    assert as_admin.json()["records"]["connection"]["authorize_url"] == link
    assert as_admin.json()["records"]["app_registry"]["authorize_url"] == f"{oidc}/oauth2/authorize"
    integrator.delete(f"/profiles/{profile['id']}")


# --- hostile bodies ----------------------------------------------------------------------------


def nested_object(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


HOSTILE = {
    "arrays 5,000 deep": "[" * 5000 + "]" * 5000,
    "objects 5,000 deep": nested_object(5000),
    "objects 65 deep": nested_object(65),
    "a 5,000-digit number": '{"name": ' + "7" * 5000 + "}",
    "a 5,000-digit number deep inside": '{"subscription": {"licenses_purchased": ' + "7" * 5000 + "}}",
    "a 5,000-digit fraction": '{"subscription": {"cost_per_license": 0.' + "1" * 5000 + "}}",
    "a number beyond a float": '{"subscription": {"cost_per_license": 1e999}}',
    "NaN": '{"subscription": {"cost_per_license": NaN}}',
    "-Infinity": '{"subscription": {"cost_per_license": -Infinity}}',
    "a JMESPath of 499 nots": json.dumps(
        {"users": {"path": "/Users", "records_path": "!" * 499 + "a", "fields": {"id": "id"}}}
    ),
    "a JMESPath of 40 nested lists": json.dumps(
        {"users": {"path": "/Users", "fields": {"id": "[" * 40 + "id" + "]" * 40}}}
    ),
    "a reclaim body 900 deep": json.dumps(
        {"reclaim": {"method": "PATCH", "path": "/Users/{id}", "body": json.loads(nested_object(900))}}
    ),
    "a reclaim body 40 deep": json.dumps(
        {"reclaim": {"method": "PATCH", "path": "/Users/{id}", "body": json.loads(nested_object(40))}}
    ),
    "not JSON": "{'name': 'x'",
    "an unpaired surrogate": '{"name": "\\ud800"}',
}


@pytest.fixture(scope="module")
def target(api):
    return make_profile(api("admin"), base_url="https://hostile.example.com/scim/v2")["id"]


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/profiles"),
        ("PATCH", "/profiles/{id}"),
        ("POST", "/profiles/{id}/connection"),
        ("POST", "/reconciliations"),
        ("POST", "/profiles/{id}/reclamations"),
    ],
)
def test_a_hostile_body_is_a_4xx_with_a_reason_on_every_route_that_reads_one(api, target, method, path, body):
    # Given a body made to hurt a parser or a model (each alone, or under a profile's fields)
    if method == "POST" and path == "/profiles":
        body = body.replace("{", '{"name": "Hostile", "template": "scim2", ', 1) if body.startswith('{"') else body
    # When an admin sends it
    answer = api("admin").request(
        method, path.format(id=target), data=body.encode(), headers={"Content-Type": "application/json"}
    )
    # Then it is refused with a reason, never a 500, and nothing was created
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["message"]
    assert answer.status_code != 201


def test_a_hostile_query_or_path_parameter_is_a_4xx(api, target):
    admin = api("admin")
    for path in (
        f"/profiles?limit={'9' * 5000}",
        "/profiles?limit=1e999",
        "/profiles?cursor=%00%ff",
        f"/profiles?cursor={'x' * 3000}",
        f"/profiles/{target}/positions?limit=-{'9' * 200}",
        f"/profiles/{target}/users?status=stale&limit=NaN&sort=%5B%5B",
        f"/profiles/{'prf_' + '0' * 5000}",
        "/runs/run_%00",
        "/reconciliations/" + "[" * 2000,
    ):
        answer = admin.get(path)
        assert 400 <= answer.status_code < 500, (path[:80], answer.status_code, answer.text[:200])


# --- the role before the body ------------------------------------------------------------------


INVALID = {
    "a name that is a number": ("/profiles", '{"name": 5}'),
    "not JSON": ("/profiles", "{not json"),
    "nested 5,000 deep": ("/profiles", "[" * 5000 + "]" * 5000),
    "an unknown field": ("/reconciliations", '{"profiles": []}'),
    "dry_run not a boolean": ("/profiles/{id}/reclamations", '{"dry_run": "maybe"}'),
}


@pytest.mark.parametrize(("path", "body"), INVALID.values(), ids=INVALID.keys())
def test_a_viewer_sending_an_invalid_body_is_refused_for_the_role_and_told_nothing_of_the_body(api, target, path, body):
    answer = api("sam_viewer").post(path.format(id=target), data=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 403, answer.text
    assert "detail" not in answer.json() or not answer.json()["detail"]


def test_a_viewer_sending_a_bad_query_to_a_route_for_writers_is_refused_for_the_role(api, target):
    # A route that reads no body: its parameters are validated before its role check too.
    assert api("sam_viewer").delete(f"/profiles/{'x' * 30}").status_code == 403


def test_a_reconciliation_without_a_body_reconciles_all_profiles(api):
    answer = api("sam_integrator").post("/reconciliations")
    assert answer.status_code == 202, answer.text
    assert answer.json()["profile_ids"] is None
