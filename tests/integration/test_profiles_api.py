"""The profile and template routes through the local gateway, against moto's DynamoDB."""

from __future__ import annotations

import time
import uuid

import boto3
import jwt
import pytest
from cfnlint.decode.cfn_yaml import load as load_cloudformation_yaml

from seatkeeper_local.stack.tokens import LOCAL_KID

ACME = {
    "template": "scim2",
    "base_url": "https://acme.example.com/scim/v2",
    "subscription": {"licenses_purchased": 100, "cost_per_license": 12.5, "currency": "USD"},
}


def new_profile(**changes):
    return {"name": f"App {uuid.uuid4().hex[:8]}", **ACME, **changes}


def items_of(stack, profile_id):
    table = stack.template.physical_name("Table")
    return boto3.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"PROFILE#{profile_id}"}},
    )["Items"]


def test_health_and_openapi_need_no_token(api):
    assert api(None).get("/health").json() == {"status": "ok"}
    document = api(None).get("/openapi.json").json()
    assert {"/profiles", "/profiles/{profile_id}", "/templates", "/templates/{name}"} <= set(document["paths"])


@pytest.mark.parametrize("header", [None, "Bearer not-a-jwt", "Basic dXNlcjpwYXNz"])
def test_no_token_or_a_malformed_one_is_401(api, header):
    client = api(None)
    if header:
        client.headers["Authorization"] = header
    assert client.get("/profiles").status_code == 401


def test_a_token_signed_with_another_secret_or_expired_is_401(api, stack):
    forged = jwt.encode(
        {"sub": "x", "exp": int(time.time()) + 60, "cognito:groups": ["admin"]},
        "another-secret-of-at-least-32-bytes",
        "HS256",
    )
    expired = jwt.encode(
        {"sub": "x", "exp": int(time.time()) - 5, "cognito:groups": ["admin"]}, stack.jwt_secret, "HS256"
    )
    for token in (forged, expired):
        assert api(None).get("/profiles", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_token_without_a_seatkeeper_group_is_403(api, stack):
    token = jwt.encode(
        {"sub": "x", "exp": int(time.time()) + 60, "cognito:groups": ["finance"]},
        stack.jwt_secret,
        "HS256",
        headers={"kid": LOCAL_KID},
    )
    assert api(None).get("/profiles", headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_a_token_whose_exp_is_a_string_or_whose_kid_is_unknown_is_401_as_api_gateway_answers(api, stack):
    # Given tokens signed with the local stack's own secret that API Gateway's JWT authorizer refuses
    far = int(time.time()) + 10**9
    as_string = jwt.encode(
        {"sub": "x", "exp": str(far), "cognito:groups": ["admin"]},
        stack.jwt_secret,
        "HS256",
        headers={"kid": LOCAL_KID},
    )
    unknown_kid = jwt.encode(
        {"sub": "x", "exp": far, "cognito:groups": ["admin"]}, stack.jwt_secret, "HS256", headers={"kid": "other"}
    )
    # When they call the API through the local gateway, Then each is 401 before any function runs
    for token in (as_string, unknown_kid):
        assert api(None).get("/profiles", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_templates_list_and_detail(api):
    items = api("sam_viewer").get("/templates").json()["items"]
    names = [t["name"] for t in items]
    assert "scim2" in names and len(names) >= 25
    # Each says what it can do, the scopes it needs, and what reclaiming costs.
    box = next(t for t in items if t["name"] == "box")
    assert box["capabilities"] == {
        "users": True,
        "activity": False,
        "reclaim": True,
        "downgrade": False,
        "tiers": False,
    }
    assert box["scopes"] and box["reclaim"]["loses_data"] is True and "SSO" in box["activity_note"]
    assert (box["endpoint"], box["pagination"], box["auth"]) == ("GET /users", "cursor", "oauth2_authorization_code")
    assert all(set(t["capabilities"]) == {"users", "activity", "reclaim", "downgrade", "tiers"} for t in items)
    scim2 = api("sam_viewer").get("/templates/scim2").json()
    assert scim2["profile"]["users"]["records_path"] == "Resources"
    assert api("sam_viewer").get("/templates/nope").status_code == 404


def test_an_integrator_creates_reads_lists_changes_and_deletes_a_profile(api, stack):
    integrator = api("sam_integrator", subject="alice")
    created = integrator.post("/profiles", json=new_profile())
    assert created.status_code == 201, created.text
    profile = created.json()
    assert created.headers["Location"] == f"/profiles/{profile['id']}"
    assert (profile["created_by"], profile["version"]) == ("alice", 1)
    assert profile["users"]["pagination"]["offset_param"] == "startIndex"

    assert api("sam_viewer").get(f"/profiles/{profile['id']}").json() == profile
    listed = api("sam_viewer").get("/profiles", params={"limit": 100}).json()
    assert profile["id"] in [p["id"] for p in listed["items"]]

    changed = integrator.patch(
        f"/profiles/{profile['id']}",
        json={"subscription": {"licenses_purchased": 80}, "policy": {"inactivity_days": 30}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["subscription"] == {**profile["subscription"], "licenses_purchased": 80}
    assert (changed.json()["policy"]["inactivity_days"], changed.json()["version"]) == (30, 2)

    assert integrator.delete(f"/profiles/{profile['id']}").status_code == 204
    assert api("sam_viewer").get(f"/profiles/{profile['id']}").status_code == 404
    assert items_of(stack, profile["id"]) == []
    assert (
        integrator.post("/profiles", json={**ACME, "name": profile["name"]}).status_code == 201
    )  # the name is free again


def test_a_viewer_may_not_change_anything(api):
    profile = api("admin").post("/profiles", json=new_profile()).json()
    viewer = api("sam_viewer")
    assert viewer.post("/profiles", json=new_profile()).status_code == 403
    assert viewer.patch(f"/profiles/{profile['id']}", json={"name": "x"}).status_code == 403
    assert viewer.delete(f"/profiles/{profile['id']}").status_code == 403
    assert api("sam_viewer").get(f"/profiles/{profile['id']}").status_code == 200


def test_a_duplicate_name_is_409_and_so_is_renaming_onto_one(api):
    admin = api("admin")
    first = admin.post("/profiles", json=new_profile()).json()
    second = admin.post("/profiles", json=new_profile()).json()
    assert admin.post("/profiles", json={**ACME, "name": first["name"].upper()}).status_code == 409
    assert admin.patch(f"/profiles/{second['id']}", json={"name": first["name"]}).status_code == 409
    assert admin.get(f"/profiles/{second['id']}").json()["name"] == second["name"]


def field_paths(response):
    return [e["loc"] for e in response.json()["detail"]]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (new_profile(template="does-not-exist"), ["body", "template"]),
        (new_profile(subscription={"licenses_purchased": -1}), ["body", "subscription", "licenses_purchased"]),
        (new_profile(users={"pagination": {"type": "infinite-scroll"}}), ["body", "users", "pagination"]),
        (new_profile(auth={"type": "saml"}), ["body", "auth"]),
        (new_profile(base_url="http://169.254.169.254/latest/meta-data"), ["body", "base_url"]),
        (new_profile(base_url="http://10.0.0.8/scim"), ["body", "base_url"]),
        (new_profile(colour="blue"), ["body", "colour"]),
        ({**ACME}, ["body", "name"]),
    ],
)
def test_bad_input_is_422_with_the_field_path(api, body, loc):
    response = api("sam_integrator").post("/profiles", json=body)
    assert response.status_code == 422, response.text
    assert any(path[: len(loc)] == loc for path in field_paths(response)), response.text


@pytest.mark.parametrize("character", ["\r", "\n", "\r\n", "\x00", "\x7f"])
@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        (lambda v: {"headers": {"X-Tenant": f"acme{v}X-Injected: 1"}}, ["body", "headers", "X-Tenant"]),
        (lambda v: {"auth": {"type": "api_key", "prefix": f"SSWS{v} "}}, ["body", "auth", "api_key", "prefix"]),
        (lambda v: {"auth": {"type": "bearer", "scheme": f"Bearer{v}"}}, ["body", "auth", "bearer", "scheme"]),
        (
            lambda v: {"reclaim": {"method": "DELETE", "path": "/Users/{id}", "headers": {"X-Why": f"idle{v}"}}},
            ["body", "reclaim", "headers", "X-Why"],
        ),
    ],
)
def test_a_header_value_with_a_control_character_is_422_with_its_path_and_never_stored(api, fields, loc, character):
    # Given a profile whose header value holds CR, LF or NUL (a header injection every HTTP client refuses to send)
    integrator = api("sam_integrator")
    body = new_profile(**fields(character))
    # When it is created
    answer = integrator.post("/profiles", json=body)
    # Then it is 422 at the field's path, saying why, and nothing is stored
    assert answer.status_code == 422, answer.text
    errors = [e for e in answer.json()["detail"] if e["loc"][: len(loc)] == loc]
    assert errors and "control character" in errors[0]["msg"], answer.text
    assert body["name"] not in {p["name"] for p in integrator.get("/profiles?limit=100").json()["items"]}
    # And a valid profile cannot be changed into one either
    created = integrator.post("/profiles", json=new_profile()).json()
    patched = integrator.patch(f"/profiles/{created['id']}", json=fields(character))
    assert patched.status_code == 422, patched.text
    assert integrator.get(f"/profiles/{created['id']}").json() == created
    assert integrator.delete(f"/profiles/{created['id']}").status_code == 204


@pytest.mark.parametrize(
    ("host", "said"),
    [
        ("a" * 300 + ".example.com", "label 1 is 300 characters long, at most 63"),
        ("xn--.example.com", "IDNA 2008"),
        ("xn--zz-zzzzz.example.com", "IDNA 2008"),
    ],
)
def test_a_base_url_whose_host_is_no_valid_dns_name_is_422_at_creation(api, host, said):
    # Given a base URL whose host can never resolve
    integrator = api("sam_integrator")
    body = new_profile(base_url=f"https://{host}/scim/v2")
    # When the profile is created, Then it is refused at body.base_url, saying which rule the name breaks
    answer = integrator.post("/profiles", json=body)
    assert answer.status_code == 422, answer.text
    assert field_paths(answer) == [["body", "base_url"]]
    assert "not a valid DNS name" in answer.text and said in answer.text
    assert body["name"] not in {p["name"] for p in integrator.get("/profiles?limit=100").json()["items"]}


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ("", "application/json"),
        ("name=x", "application/x-www-form-urlencoded"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_422(api, data, content_type):
    response = api("sam_integrator").post("/profiles", data=data, headers={"Content-Type": content_type})
    assert response.status_code == 422, response.text


def test_an_oversized_body_is_413_and_nothing_is_stored(api):
    before = len(api("admin").get("/profiles", params={"limit": 100}).json()["items"])
    response = api("sam_integrator").post("/profiles", json=new_profile(policy={"protected_users": ["x" * 300] * 1000}))
    assert response.status_code == 413
    assert len(api("admin").get("/profiles", params={"limit": 100}).json()["items"]) == before


def test_unknown_and_malformed_ids(api):
    assert api("admin").get("/profiles/prf_00000000000000000000").status_code == 404
    assert api("admin").patch("/profiles/prf_00000000000000000000", json={"name": "x"}).status_code == 404
    assert api("admin").delete("/profiles/prf_00000000000000000000").status_code == 404
    assert api("admin").get("/profiles/..%2F..%2Fetc").status_code in (404, 422)
    assert api("admin").get("/profiles/PRF-NOT-AN-ID").status_code == 422


def test_listing_pages_with_an_opaque_cursor(api):
    admin = api("admin")
    for _ in range(3):
        admin.post("/profiles", json=new_profile())
    seen, cursor = [], None
    while True:
        page = admin.get("/profiles", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) >= 3
    assert admin.get("/profiles", params={"cursor": "garbage!"}).status_code == 422
    assert admin.get("/profiles", params={"limit": 0}).status_code == 422


def test_the_table_has_the_key_schema_of_the_template(stack, root):
    # Read with cfn-lint's own parser, not the local stack's, so that the two cannot agree on a mistake.
    declared = load_cloudformation_yaml(str(root / "template.yaml"))["Resources"]["Table"]["Properties"]
    table = boto3.client("dynamodb").describe_table(TableName=stack.template.physical_name("Table"))["Table"]
    assert table["KeySchema"] == declared["KeySchema"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["gsi1"]


GUESTS = {"kind": "guest", "path": "/Guests", "fields": {"id": "id", "name": "userName"}}


@pytest.mark.parametrize(
    ("also", "loc", "says"),
    [
        # two lists of one kind: which one's removal a user of that kind gets would be a guess
        ([GUESTS, {**GUESTS, "path": "/MoreGuests"}], ["body", "users"], "the kind guest names more than one list"),
        # a removal naming a field its list does not map: every one of its users' removals would fail
        (
            [{**GUESTS, "reclaim": {"method": "DELETE", "path": "/Guests/{email}"}}],
            ["body", "users"],
            "also[0].reclaim.path names email in braces, which the 'guest' list does not map",
        ),
        # so is a removal whose body names one, deep in its JSON (a GraphQL mutation's variables, say)
        (
            [
                {
                    **GUESTS,
                    "reclaim": {
                        "method": "POST",
                        "path": "/Guests/{id}/remove",
                        "body": {"query": "mutation { remove }", "variables": {"who": ["{id}", "{email}"]}},
                    },
                }
            ],
            ["body", "users"],
            "also[0].reclaim.body names email in braces, which the 'guest' list does not map",
        ),
        ([{**GUESTS, "kind": "Guest Users"}], ["body", "users", "also", 0, "kind"], "should match pattern"),
        ([{**GUESTS, "colour": "blue"}], ["body", "users", "also", 0, "colour"], "Extra inputs"),
        ([{**GUESTS, "path": "https://elsewhere.example/Guests"}], ["body", "users", "also", 0, "path"], "relative"),
        ([{**GUESTS, "kind": f"k{i}"} for i in range(5)], ["body", "users", "also"], "at most 4"),
    ],
)
def test_a_bad_more_list_of_seat_holders_is_422_with_its_path_and_nothing_is_stored(api, also, loc, says):
    client = api("sam_integrator")
    before = client.get("/profiles").json()
    # Given a profile whose users list has more lists of seat holders (users.also) that cannot work
    body = new_profile(users={"also": also})
    # When it is created
    response = client.post("/profiles", json=body)
    # Then it is 422 at the field's path, saying why, and no profile is stored
    assert response.status_code == 422, response.text
    matching = [e for e in response.json()["detail"] if e["loc"][: len(loc)] == loc]
    assert matching and any(says in e["msg"] for e in matching), response.text
    assert client.get("/profiles").json() == before


def test_a_more_list_whose_removal_names_only_what_it_maps_is_stored_with_its_kind(api):
    client = api("sam_integrator")
    # Given a more list that maps the e-mail its removal names, in its path and its body (where braces
    # around whitespace, a GraphQL selection's, are no placeholder)
    guests = {
        **GUESTS,
        "fields": {"id": "id", "email": "emails[0].value"},
        "reclaim": {
            "method": "DELETE",
            "path": "/Guests/{email}",
            "body": {"query": "mutation { remove { ok } }", "who": ["{email}", "{kind}"]},
        },
    }
    # When the profile is created
    response = client.post("/profiles", json=new_profile(users={"also": [guests]}))
    # Then it is stored with the list, its kind and its own removal
    assert response.status_code == 201, response.text
    stored = client.get(f"/profiles/{response.json()['id']}").json()
    assert stored["users"]["also"][0]["kind"] == "guest"
    assert stored["users"]["also"][0]["reclaim"]["path"] == "/Guests/{email}"
    client.delete(f"/profiles/{response.json()['id']}")


SMARTSHEET_UBM = {
    "template": "smartsheet_ubm",
    "subscription": {"licenses_purchased": 50, "cost_per_license": 24, "currency": "USD"},
}


@pytest.mark.parametrize(
    ("body", "blanks"),
    [
        # smartsheet_ubm's plan id goes in the users list's query and in the downgrade's path
        (
            SMARTSHEET_UBM,
            {("body", "users", "params", "planId"): "<plan-id>", ("body", "reclaim", "path"): "<plan-id>"},
        ),
        # atlassian's organization id in the users path; the directory id in the suspend path too
        (
            {**SMARTSHEET_UBM, "template": "atlassian"},
            {("body", "users", "path"): "<org-id>", ("body", "reclaim", "path"): "<directory-id>"},
        ),
        # a blank copied into a profile of no template
        (
            new_profile(template=None, base_url="https://acme.example.com/orgs/<org-id>/scim"),
            {("body", "base_url"): "<org-id>"},
        ),
    ],
)
def test_a_template_blank_left_unfilled_is_422_at_each_field_that_holds_it_and_nothing_is_stored(api, body, blanks):
    # Given a profile that still holds a template's blank for the customer's own value (`<plan-id>`), which was
    # stored before and failed only at the connection test, or at the first removal, with the app's 404
    client = api("sam_integrator")
    before = client.get("/profiles?limit=100").json()
    body = {"name": f"Blank {uuid.uuid4().hex[:8]}", **{k: v for k, v in body.items() if k != "name"}}
    body = {k: v for k, v in body.items() if v is not None}
    if body.get("template") is None:
        body["auth"] = {"type": "bearer"}
        body["users"] = {"path": "/Users", "fields": {"id": "id"}}
    # When it is created
    response = client.post("/profiles", json=body)
    # Then it is 422 at every field that holds a blank, naming the blank, and nothing is stored
    assert response.status_code == 422, response.text
    said = {tuple(e["loc"]): e["msg"] for e in response.json()["detail"] if e["type"] == "template_blank"}
    for loc, blank in blanks.items():
        assert loc in said and f"fill in {blank}" in said[loc], response.text
    assert client.get("/profiles?limit=100").json() == before


def test_a_template_blank_filled_in_is_stored_and_a_patch_cannot_bring_one_back(api):
    client = api("sam_integrator")
    # Given smartsheet_ubm with its plan id filled in, in the query and in the downgrade's path
    body = {
        **SMARTSHEET_UBM,
        "name": f"Smartsheet {uuid.uuid4().hex[:8]}",
        "users": {"params": {"planId": "7382910"}},
        "reclaim": {"path": "/users/{id}/plans/7382910/downgrade"},
    }
    # When it is created, Then it is stored with the template's own placeholder {id} left for each user
    created = client.post("/profiles", json=body)
    assert created.status_code == 201, created.text
    stored = created.json()
    assert stored["reclaim"]["path"] == "/users/{id}/plans/7382910/downgrade"
    # And a patch that puts a blank back is 422 at its path, the stored profile unchanged
    patched = client.patch(f"/profiles/{stored['id']}", json={"reclaim": {"path": "/users/{id}/plans/<plan-id>/x"}})
    assert patched.status_code == 422, patched.text
    assert [e["loc"] for e in patched.json()["detail"]] == [["body", "reclaim", "path"]]
    assert client.get(f"/profiles/{stored['id']}").json() == stored
    assert client.delete(f"/profiles/{stored['id']}").status_code == 204
