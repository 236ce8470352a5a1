"""profiles.drafting: a profile drafted from an API description, on small documents written for each rule.

The vendors' own documents, and the preview that proves a draft of them, are in
tests/integration/test_profile_drafts.py; these documents are ours, each shaped as the OpenAPI 3.0 / Swagger 2.0
specifications say (the Swagger 2 one has securityDefinitions, host, basePath; the OpenAPI 3 one components).
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seatkeeper.profiles.drafting import NotAnApiDescription, draft_profile, parse_document
from seatkeeper.profiles.model import Profile

USER = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "email": {"type": "string", "format": "email"},
        "full_name": {"type": "string"},
        "is_active": {"type": "boolean"},
        "last_seen_at": {"type": "string", "format": "date-time"},
        "created_at": {"type": "string", "format": "date-time"},
        "team": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
    },
}
OPENAPI_3 = {
    "openapi": "3.0.3",
    "info": {"title": "Acme HR", "version": "1"},
    "servers": [{"url": "https://hr.example.com/api"}],
    "security": [{"basicAuth": []}],
    "components": {
        "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}},
        "schemas": {
            "User": USER,
            "Page": {
                "allOf": [
                    {"type": "object", "properties": {"total": {"type": "integer"}}},
                    {"properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}}},
                ]
            },
        },
    },
    "paths": {
        "/users": {
            "get": {
                "summary": "List users",
                "parameters": [
                    {"name": "offset", "in": "query", "schema": {"type": "integer"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 50}},
                ],
                "responses": {
                    "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}}
                },
            }
        },
        "/users/{user_id}": {
            "patch": {
                "parameters": [{"name": "user_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"is_active": {"type": "boolean"}}}
                        }
                    }
                },
                "responses": {"200": {"description": "ok"}},
            }
        },
        "/groups/{group_id}/users": {
            "get": {
                "responses": {
                    "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}}
                }
            }
        },
        "/audit/users": {
            "get": {
                "responses": {
                    "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}}
                }
            }
        },
    },
}
SWAGGER_2 = {
    "swagger": "2.0",
    "info": {"title": "Chatty", "version": "2"},
    "host": "api.chatty.example",
    "basePath": "/v1",
    "schemes": ["https"],
    "securityDefinitions": {
        "oauth": {
            "type": "oauth2",
            "flow": "accessCode",
            "authorizationUrl": "https://chatty.example/oauth/authorize",
            "tokenUrl": "https://chatty.example/oauth/token",
            "scopes": {"members:read": "", "members:write": "", "files:read": ""},
        }
    },
    "paths": {
        "/members": {
            "get": {
                "security": [{"oauth": ["members:read"]}],
                "parameters": [{"name": "per_page", "in": "query", "type": "integer", "maximum": 200}],
                "responses": {
                    "200": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "members": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "uid": {"type": "string"},
                                            "primary_email": {"type": "string"},
                                            "status": {"type": "string", "enum": ["Active", "Disabled"]},
                                            "lastLoginAt": {"type": "integer"},
                                        },
                                    },
                                },
                                "links": {"type": "object", "properties": {"next": {"type": "string"}}},
                            },
                        }
                    }
                },
            }
        },
        "/members/{member_id}": {
            "delete": {
                "security": [{"oauth": ["members:write"]}],
                "parameters": [{"name": "member_id", "in": "path", "required": True, "type": "string"}],
                "responses": {"204": {"description": "gone"}},
            }
        },
        "/files": {"get": {"responses": {"200": {"schema": {"type": "array", "items": {"type": "object"}}}}}},
    },
}


def test_an_openapi_3_document_gives_a_valid_profile_with_a_note_per_guess():
    # Given an OpenAPI 3 document with its users' list, a group's users, an audit of users, and a PATCH of one user
    # When it is drafted
    draft = draft_profile(parse_document(json.dumps(OPENAPI_3)))
    profile = draft.profile
    # Then the whole list is chosen, not a group's or the audit's, with its records under allOf's `items`
    assert draft.operations == {"users": "GET /users", "removal": "PATCH /users/{user_id}"}
    assert profile["users"]["records_path"] == "items"
    assert profile["users"]["pagination"] == {
        "type": "offset",
        "offset_param": "offset",
        "limit_param": "limit",
        "total_path": "total",
        "page_size": 50,
    }
    assert profile["users"]["fields"] == {
        "id": "id",
        "email": "email",
        "name": "full_name",
        "active": "is_active",
        "last_activity": "last_seen_at",
        "created_at": "created_at",
    }
    assert profile["reclaim"] == {"method": "PATCH", "path": "/users/{id}", "body": {"is_active": False}}
    assert profile["auth"] == {"type": "basic"}
    assert profile["base_url"] == "https://hr.example.com/api"
    # and the draft is a profile the model takes, each guess with its confidence and why
    Profile.model_validate(profile)
    notes = {note.field: note for note in draft.draft_notes}
    assert notes["subscription.licenses_purchased"].confidence == 0
    assert "GET /groups/{group_id}/users" in notes["users.path"].why or "audit" in notes["users.path"].why
    assert all(0 <= note.confidence <= 1 and note.why for note in draft.draft_notes)


def test_a_swagger_2_document_with_an_authorization_code_flow():
    # Given a Swagger 2 document whose members page by a next URL, with an OAuth accessCode flow per operation
    # When it is drafted
    draft = draft_profile(parse_document(json.dumps(SWAGGER_2)))
    profile = draft.profile
    # Then the base URL is host + basePath, the paging a next URL, and the status compared with its enum's value
    assert profile["base_url"] == "https://api.chatty.example/v1"
    assert profile["users"]["pagination"] == {
        "type": "next_url",
        "next_url_path": "links.next",
        "limit_param": "per_page",
        "page_size": 100,
    }
    assert profile["users"]["fields"] == {
        "id": "uid",
        "email": "primary_email",
        "active": "status == 'Active'",
        "last_activity": "lastLoginAt",
    }
    # and the removal is the DELETE of one member, its parameter the user's id
    assert profile["reclaim"] == {"method": "DELETE", "path": "/members/{id}"}
    # and the grant asks for the scopes of the two operations the profile uses, no more
    assert profile["auth"] == {
        "type": "oauth2_authorization_code",
        "authorize_url": "https://chatty.example/oauth/authorize",
        "token_url": "https://chatty.example/oauth/token",
        "scopes": ["members:read", "members:write"],
    }
    Profile.model_validate(profile)


def test_yaml_is_read_as_json_is():
    # Given the same document in YAML
    yaml_text = "openapi: 3.0.3\ninfo: {title: Acme HR, version: '1'}\n" + "paths: " + json.dumps(OPENAPI_3["paths"])
    yaml_text += "\ncomponents: " + json.dumps(OPENAPI_3["components"])
    # When it is drafted
    draft = draft_profile(parse_document(yaml_text.encode()))
    # Then the same operations are chosen
    assert draft.operations["users"] == "GET /users"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"swagger": "1.2", "paths": {}}', "not an OpenAPI 3.x or Swagger 2.0 document"),
        ("<html>not a document</html>", "top level is not an object"),
        ("a: [unclosed", "neither JSON nor YAML"),
        (b"\xff\xfe", "not UTF-8"),
        ('{"openapi": "3.1.0", "info": {}, "paths": {"/files": {"get": {}}}}', "no GET operation"),
    ],
)
def test_what_is_no_api_description_is_refused_saying_why(text, message):
    # Given something that is not a usable API description
    # When it is drafted
    # Then it is refused as bad input (422), saying why
    with pytest.raises(NotAnApiDescription, match=message) as refused:
        draft_profile(parse_document(text))
    assert refused.value.errors[0]["loc"] == ["body"]


def test_a_document_of_aliases_upon_aliases_is_refused_quickly():
    # Given a YAML document that is small as text, but whose user record is allOf of aliases of allOf of aliases
    # (billion laughs: 12 to the 8th schemas to merge)
    levels = ["a0: &a0 {type: object, properties: {id: {type: string}}}"]
    for level in range(1, 9):
        levels.append(f"a{level}: &a{level} {{allOf: [{', '.join([f'*a{level - 1}'] * 12)}]}}")
    text = (
        "openapi: 3.0.0\ninfo: {title: t, version: '1'}\nx-defs:\n"
        + "\n".join(f"  {line}" for line in levels)
        + "\npaths:\n  /users:\n    get:\n      responses:\n        '200':\n          content:\n"
        + "            application/json:\n              schema: {type: array, items: *a8}\n"
    )
    assert len(text) < 2000
    started = time.monotonic()
    # When it is drafted
    # Then it is refused as too intricate, within seconds, not walked for hours
    with pytest.raises(NotAnApiDescription, match="too intricate"):
        draft_profile(parse_document(text))
    assert time.monotonic() - started < 20


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(["users", "id", "email", "#/x", "{id}", "a"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "$ref",
                    "type",
                    "properties",
                    "items",
                    "get",
                    "delete",
                    "parameters",
                    "name",
                    "in",
                    "schema",
                    "responses",
                    "200",
                    "content",
                    "application/json",
                    "allOf",
                    "url",
                    "servers",
                    "security",
                    "flows",
                    "enum",
                    "/users",
                    "/users/{id}",
                    "email",
                    "id",
                    "status",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    paths=st.dictionaries(st.sampled_from(["/users", "/users/{id}", "/a/{b}/members", "x"]), JSON, max_size=3),
    extra=st.dictionaries(st.sampled_from(["servers", "components", "security", "host", "info"]), JSON, max_size=3),
)
def test_any_document_is_drafted_or_refused_never_a_crash(paths, extra):
    # Given a document of the right version whose parts are anything at all
    document = {"openapi": "3.0.0", **extra, "paths": paths}
    # When it is drafted
    # Then it is a valid draft, or refused as bad input (422) saying why: no other exception
    try:
        draft = draft_profile(parse_document(json.dumps(document)))
    except NotAnApiDescription as refused:
        assert str(refused), "a refusal says why"
        return
    profile = Profile.model_validate(draft.profile)
    # and every note of the draft is about a field of the profile it drafted, saying why
    assert profile.name and all(note.field and note.why for note in draft.draft_notes), draft.draft_notes


def _places(node, at=()):
    yield at
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _places(value, (*at, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _places(value, (*at, index))


PLACES = [("openapi", p) for p in _places(OPENAPI_3) if p] + [("swagger", p) for p in _places(SWAGGER_2) if p]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(st.tuples(st.sampled_from(PLACES), JSON), min_size=1, max_size=3))
def test_a_good_document_with_any_part_replaced_is_drafted_or_refused_never_a_crash(changes):
    # Given one of the documents above with up to three of its parts replaced by anything at all
    documents = {"openapi": json.loads(json.dumps(OPENAPI_3)), "swagger": json.loads(json.dumps(SWAGGER_2))}
    kind = changes[0][0][0]
    document = documents[kind]
    for (which, place), value in changes:
        if which != kind or place[:1] in (("openapi",), ("swagger",)):
            continue
        node = document
        try:
            for key in place[:-1]:
                node = node[key]
            node[place[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    # When it is drafted
    # Then it is a valid draft, or refused as bad input (422) saying why: no other exception
    try:
        draft = draft_profile(parse_document(json.dumps(document)))
    except NotAnApiDescription as refused:
        assert str(refused), "a refusal says why"
        return
    profile = Profile.model_validate(draft.profile)
    # and every note of the draft is about a field of the profile it drafted, saying why
    assert profile.name and all(note.field and note.why for note in draft.draft_notes), draft.draft_notes


def _members_document() -> dict:
    """A site-wide /accounts list and an organization's /members list of the same records, only the latter's
    removable, by the member's handle (as GitHub's /users beside /orgs/{org}/members/{username})."""
    member = {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "login": {"type": "string"}, "email": {"type": "string"}},
    }
    listed = {"200": {"content": {"application/json": {"schema": {"type": "array", "items": member}}}}}
    org = {"name": "org", "in": "path", "required": True, "schema": {"type": "string"}}
    username = {"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Code host", "version": "1"},
        "servers": [{"url": "https://code.example.com"}],
        "paths": {
            "/users": {"get": {"summary": "List users", "responses": listed}},
            "/orgs/{org}/members": {"get": {"summary": "List members", "parameters": [org], "responses": listed}},
            "/orgs/{org}/members/{username}": {
                "delete": {"parameters": [org, username], "responses": {"204": {"description": "removed"}}}
            },
        },
    }


def test_the_list_whose_records_the_document_removes_is_chosen_and_its_id_is_what_the_removal_names():
    # Given two lists of the same records, only one with a removal, which names the member by {username}
    # When it is drafted
    draft = draft_profile(_members_document())
    # Then the removable list is the users' list, though "users" is the other one's last segment
    assert draft.operations == {"users": "GET /orgs/{org}/members", "removal": "DELETE /orgs/{org}/members/{username}"}
    [chosen] = [n for n in draft.draft_notes if n.field == "users.path" and n.guess.startswith("GET")]
    assert "removes one of its records" in chosen.why and "next best GET /users" in chosen.why
    # and the id is the login the removal is addressed by, not the numeric id, with a note that says why
    assert draft.profile["users"]["fields"]["id"] == "login"
    assert draft.profile["reclaim"]["path"] == "/orgs/your-org/members/{id}"
    [note] = [n for n in draft.draft_notes if n.field == "users.fields.id"]
    assert "{username}" in note.why and "'login'" in note.why


def test_a_removal_by_the_record_s_own_id_leaves_the_id_alone():
    # Given the same document whose removal names the member by {id}
    document = json.loads(json.dumps(_members_document()).replace("{username}", "{member_id}"))
    document["paths"]["/orgs/{org}/members/{member_id}"]["delete"]["parameters"][1]["name"] = "member_id"
    # When it is drafted, Then the id stays the record's id
    draft = draft_profile(document)
    assert draft.operations["removal"] == "DELETE /orgs/{org}/members/{member_id}"
    assert draft.profile["users"]["fields"]["id"] == "id"
