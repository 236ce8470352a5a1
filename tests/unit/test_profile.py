"""The profile model: every pagination and auth type, durations, money."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from seatkeeper.profiles.model import (
    Auth,
    Pagination,
    Policy,
    ReclaimRequest,
    Subscription,
    UsersEndpoint,
    iso_duration_seconds,
)

PAGINATIONS = [
    {"type": "none"},
    {
        "type": "offset",
        "offset_param": "startIndex",
        "limit_param": "count",
        "first_offset": 1,
        "total_path": "totalResults",
    },
    {"type": "page", "page_param": "page", "size_param": "per_page", "total_pages_path": "meta.pages"},
    {
        "type": "cursor",
        "cursor_path": "response_metadata.next_cursor",
        "cursor_param": "cursor",
        "limit_param": "limit",
    },
    {"type": "next_url", "next_url_path": '"@odata.nextLink"'},
    {"type": "link_header", "limit_param": "limit"},
    {"type": "page", "page_param": "page", "size_param": None, "first_page": 0, "has_more_path": "!lastPage"},
    {
        "type": "cursor",
        "cursor_path": "cursor",
        "has_more_path": "has_more",
        "next_request": {"path": "/team/members/list/continue_v2", "body": {"cursor": "{cursor}"}},
    },
]
AUTHS = [
    {"type": "api_key", "location": "query", "name": "api_token"},
    {"type": "basic"},
    {"type": "bearer"},
    {
        "type": "oauth2_authorization_code",
        "authorize_url": "https://idp.example.com/authorize",
        "token_url": "https://idp.example.com/token",
        "scopes": ["users:read"],
        "client_auth": "client_secret_post",
    },
    {
        "type": "oauth2_client_credentials",
        "token_url": "https://ims-na1.adobelogin.com/ims/token/v3",
        "scopes": ["openid,AdobeID,user_management_sdk"],
        "client_id_header": "X-Api-Key",
    },
]


@pytest.mark.parametrize("pagination", PAGINATIONS, ids=lambda p: p["type"])
def test_every_pagination_type_validates(pagination):
    assert TypeAdapter(Pagination).validate_python(pagination).type == pagination["type"]


@pytest.mark.parametrize("auth", AUTHS, ids=lambda a: a["type"])
def test_every_auth_type_validates(auth):
    assert TypeAdapter(Auth).validate_python(auth).type == auth["type"]


def test_a_cursor_pagination_needs_the_path_to_its_cursor():
    with pytest.raises(ValidationError) as raised:
        TypeAdapter(Pagination).validate_python({"type": "cursor"})
    assert raised.value.errors()[0]["loc"] == ("cursor", "cursor_path")


def test_the_api_key_header_name_must_be_a_header_name():
    with pytest.raises(ValidationError):
        TypeAdapter(Auth).validate_python({"type": "api_key", "name": "X-Key\r\nInjected: yes"})


@pytest.mark.parametrize(("text", "seconds"), [("PT0S", 0), ("P7D", 604800), ("PT12H", 43200), ("P1DT30M", 88200)])
def test_grace_periods_are_iso_8601_durations(text, seconds):
    assert iso_duration_seconds(text) == seconds
    assert Policy(grace_period=text).grace_period == text


@pytest.mark.parametrize("text", ["", "P", "PT", "7 days", "P1W", "P1Y", "P2M", "-P1D"])
def test_other_durations_are_refused(text):
    with pytest.raises(ValidationError):
        Policy(grace_period=text)


def test_money_is_decimal_inside_and_a_number_on_the_wire():
    subscription = Subscription(licenses_purchased=3, cost_per_license="12.35")
    assert subscription.cost_per_license == Decimal("12.35")
    assert subscription.model_dump(mode="json")["cost_per_license"] == 12.35


def test_a_subscription_may_name_the_cost_center_that_pays_for_it():
    assert Subscription(licenses_purchased=1).cost_center is None
    assert Subscription(licenses_purchased=1, cost_center="Sales EMEA").cost_center == "Sales EMEA"
    for refused in ("", "x" * 129):
        with pytest.raises(ValidationError):
            Subscription(licenses_purchased=1, cost_center=refused)


def test_policy_defaults_match_the_spec():
    policy = Policy()
    assert (policy.inactivity_days, policy.max_reclaim_percent, policy.max_reclaim_count, policy.grace_period) == (
        90,
        10,
        50,
        "PT0S",
    )


@pytest.mark.parametrize(
    "expression",
    ["!" * 499 + "a", "!" * 100 + "a", "[" * 40 + "a" + "]" * 40],
    ids=["499 nots", "100 nots", "40 nested lists"],
)
def test_a_jmespath_nested_too_deeply_is_refused_with_its_reason(expression):
    # Given an expression whose parser or evaluation would recurse hundreds of levels deep
    # When a profile names it
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(Pagination).validate_python({"type": "cursor", "cursor_path": expression})
    # Then it is a validation error saying why, not a RecursionError
    assert "nested deeper than 32 levels" in str(refused.value)


def test_a_usual_jmespath_still_compiles():
    expression = "Resources[?active == `true`].emails[?primary].value | [0]"
    assert TypeAdapter(Pagination).validate_python({"type": "cursor", "cursor_path": expression}).cursor_path


def test_a_reclaim_body_nested_too_deeply_is_refused_and_a_scim_patch_is_not():
    scim_patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace"}]}
    assert ReclaimRequest(method="PATCH", path="/Users/{id}", body=scim_patch).body == scim_patch
    deep: object = {"active": False}
    for _ in range(900):
        deep = {"value": deep}
    with pytest.raises(ValidationError) as refused:
        ReclaimRequest(method="PATCH", path="/Users/{id}", body=deep)
    assert refused.value.errors()[0]["loc"] == ("body",)
    assert "nested deeper than 32 levels" in refused.value.errors()[0]["msg"]


def users_endpoint(path: str, pagination: dict) -> dict:
    return {"path": path, "pagination": pagination, "fields": {"id": "id"}}


def test_a_page_number_may_stand_in_the_path_and_nothing_else_may():
    # Given Adobe's users path, with the page number as its last segment
    page = {"type": "page", "page_param": "page", "size_param": None, "first_page": 0, "has_more_path": "!lastPage"}
    assert UsersEndpoint.model_validate(users_endpoint("/users/12345@AdobeOrg/{page}", page)).path.endswith("{page}")
    # When a path names in braces something that is no parameter of a page's request
    for path in ("/users/{org}/{page}", "/users/{page", "/users/{}"):
        # Then the profile is refused where it is written, not at every sync
        with pytest.raises(ValidationError):
            UsersEndpoint.model_validate(users_endpoint(path, page))
    # And a cursor may stand only in the path of the requests after the first page
    cursor = {"type": "cursor", "cursor_path": "cursor", "next_request": {"path": "/list/{cursor}"}}
    assert UsersEndpoint.model_validate(users_endpoint("/list", cursor))
    with pytest.raises(ValidationError):
        UsersEndpoint.model_validate(users_endpoint("/list/{cursor}", cursor))


@pytest.mark.parametrize("path", ["https://elsewhere.example.com/continue", "continue"])
def test_the_request_for_the_following_pages_stays_on_the_app_s_own_origin(path):
    # Given a cursor pagination whose following pages would be asked for at another host
    pagination = {"type": "cursor", "cursor_path": "cursor", "next_request": {"path": path, "body": {"c": "{cursor}"}}}
    # When a profile names it, Then it is refused: the credential goes only where base_url is
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(Pagination).validate_python(pagination)
    assert refused.value.errors()[0]["loc"] == ("cursor", "next_request", "path")
