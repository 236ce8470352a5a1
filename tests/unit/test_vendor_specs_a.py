"""Issue 25, share a: okta ... salesforce, fact by fact, against their vendors' own descriptions.

Each test names the document it follows, an extract in tests/vendor_specs/<vendor>/ that names its
source: an OpenAPI document cut by scripts/vendor_extract.py (GitHub, Okta), Google's discovery
documents, Dropbox's stone, Zoom's SDK types, or the vendor's documentation page quoted with its
address and the date read. CONFIRMS is what these tests confirm, per template and fact, and from
which extracts: scripts/catalog_facts.py says the same (tests/unit/test_catalog_facts.py compares).
Where a vendor contradicts what a template used to say, the test quotes the vendor's words.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import ValidationError
from requests.structures import CaseInsensitiveDict
from scim2_models import PatchOp, User

from seatkeeper.identity.provider import ProfileFromIdp, app_profile_fields
from seatkeeper.licensing.reclamation import warnings_for
from seatkeeper.profiles.catalog import templates
from seatkeeper.profiles.model import Profile, Subscription, UserFields
from seatkeeper.profiles.records import ProfileRecord
from seatkeeper.saas.pacing import GOOGLE_QUOTA_REASONS, announced_quota, wait_requested
from seatkeeper.saas.records import read_user
from tests.vendor_fakes import SLACK_GUEST as GUEST
from tests.vendor_fakes import Request, people, vendors
from tests.vendor_spec_checks import (
    SPECS,
    declares,
    deref,
    fields_read,
    operation,
    parameter_names,
    record_schema,
    response_schema,
    spec,
    spec_path,
    undeclared,
    validate,
)

FAKES = vendors("http://127.0.0.1:1")
PAGING_PARAMETERS = ("limit_param", "cursor_param", "offset_param", "page_param", "size_param")
S = "tests/vendor_specs/"
USERS = ("users_path", "paging", "page_size", "email", "last_activity", "seat")

CONFIRMS: dict[str, dict[str, tuple[str, ...]]] = {
    "okta": {"rate_limit": (S + "okta/rate-limits.yaml",)},
    "okta_sso": {
        **dict.fromkeys(USERS, (S + "okta/management.yaml",)),
        "reclaim": (S + "okta/sso.yaml",),
        "loses_data": (S + "okta/sso.yaml",),
        "rate_limit": (S + "okta/rate-limits.yaml",),
    },
    "microsoft_graph": {
        **dict.fromkeys(
            ("users_path", "paging", "page_size", "email", "rate_limit"), (S + "microsoft_graph/users-list.yaml",)
        ),
        "seat": (S + "microsoft_graph/licensing.yaml",),
        "reclaim": (S + "microsoft_graph/users-list.yaml", S + "microsoft_graph/licensing.yaml"),
    },
    "entra_sso": dict.fromkeys((*USERS, "rate_limit"), (S + "microsoft_graph/users-list.yaml",)),
    "google_workspace": {
        **dict.fromkeys(USERS[:5], (S + "google/directory-users.yaml",)),
        "reclaim": (S + "google/licensing.yaml",),
        "rate_limit": (S + "google/directory-limits.yaml",),
    },
    "google_sso": {
        **dict.fromkeys(USERS[:5], (S + "google/directory-users.yaml",)),
        "rate_limit": (S + "google/directory-limits.yaml",),
    },
    "github_org": {
        **dict.fromkeys(
            ("users_path", "paging", "page_size", "last_activity", "reclaim"),
            (S + "github/org-members.yaml", S + "github/outside-collaborators.yaml"),
        ),
        "loses_data": (S + "github/remove-member.yaml",),
        "rate_limit": (S + "github/rate-limits.yaml",),
    },
    "github_copilot": {
        **dict.fromkeys((*USERS, "reclaim", "loses_data"), (S + "github/copilot-seats.yaml",)),
        "rate_limit": (S + "github/rate-limits.yaml",),
    },
    "github_enterprise": {
        **dict.fromkeys((*USERS, "reclaim"), (S + "github/enterprise-consumed-licenses.yaml",)),
        "seat": (S + "github/enterprise-consumed-licenses.yaml", S + "github/enterprise-license-users.yaml"),
        "rate_limit": (S + "github/rate-limits.yaml",),
    },
    "slack": {
        **dict.fromkeys(("users_path", "paging", "page_size", "reclaim", "rate_limit"), (S + "slack/scim.yaml",)),
        **dict.fromkeys(("email", "last_activity"), (S + "slack/scim-users.yaml",)),
        "loses_data": (S + "slack/scim.yaml", S + "slack/fair-billing.yaml"),
    },
    "zoom": {
        **dict.fromkeys(("users_path", "email", "last_activity", "reclaim"), (S + "zoom/users.yaml",)),
        **dict.fromkeys(("paging", "page_size"), (S + "zoom/users.yaml", S + "zoom/pagination.yaml")),
        "seat": (S + "zoom/users.yaml", S + "zoom/user-types.yaml"),
        "rate_limit": (S + "zoom/rate-limits.yaml",),
    },
    "webex": {
        **dict.fromkeys(("users_path", "paging", "rate_limit"), (S + "webex/people.yaml",)),
        **dict.fromkeys(("email", "last_activity"), (S + "webex/python-sdk.yaml",)),
    },
    "dropbox": dict.fromkeys((*USERS, "reclaim", "loses_data"), (S + "dropbox/team-members.yaml",)),
    "box": {"last_activity": (S + "box/users.yaml",), "rate_limit": (S + "box/rate-limits.yaml",)},
    "salesforce": {
        **dict.fromkeys(("users_path", "paging", "page_size"), (S + "salesforce/query.yaml",)),
        **dict.fromkeys(("email", "last_activity"), (S + "salesforce/user-object.yaml",)),
    },
    "scim2": {
        **dict.fromkeys(("users_path", "email", "last_activity"), (S + "scim/rfc7643-schemas.yaml",)),
        "paging": (S + "scim/rfc7644-protocol.yaml",),
        "reclaim": (S + "scim/rfc7643-schemas.yaml", S + "scim/rfc7644-protocol.yaml"),
        "rate_limit": (S + "scim/rfc7644-protocol.yaml",),
    },
}


SHARE_A = sorted(CONFIRMS.keys() | {"scim2"})
FACTS = (*USERS, "reclaim", "loses_data", "rate_limit")
# What tests/unit/test_vendor_specs.py confirms of these templates (okta/management.yaml, box/users.yaml,
# microsoft_graph/signinactivity.yaml).
CONFIRMED_ELSEWHERE = {
    "okta": (*USERS, "reclaim", "loses_data"),
    "box": ("users_path", "paging", "page_size", "email", "seat", "reclaim", "loses_data"),
    "microsoft_graph": ("last_activity",),
}


def _fields(name: str, *keys: str) -> set[str]:
    fields = templates()[name].profile["users"]["fields"]
    return set().union(*(fields_read(fields[key]) for key in keys if key in fields))


def test_every_fact_of_share_a_is_confirmed_or_unverified_in_its_template():
    # Given the fifteen templates of share a, and the facts tests/unit/test_vendor_specs.py confirms of them
    for name in SHARE_A:
        template = templates()[name]
        confirmed, unverified = set(CONFIRMS.get(name, {})), set(template.unverified)
        not_applicable = {"loses_data"} if template.reclaim is None and template.app_reclaim is None else set()
        # Then each fact has exactly one verdict: confirmed, or unverified with its reason, or not
        # applicable (without a reclaim request nothing is lost)
        facts = [*confirmed, *unverified, *CONFIRMED_ELSEWHERE.get(name, ()), *not_applicable]
        assert sorted(facts) == sorted(FACTS), (name, sorted(facts))
        assert all(len(reason) > 40 for reason in template.unverified.values())


# --- Okta: okta/okta-management-openapi-spec 2026.06.3, and Okta's rate limit page ------------


def test_okta_sso_lists_users_as_okta_s_list_users_documents():
    document = spec("okta", "management")
    users = templates()["okta_sso"].profile["users"]
    # Given Okta's listUsers, the operation the okta template is checked against too
    assert operation(document, "GET", users["path"])["operationId"] == "listUsers"
    limit = next(
        deref(document, p)
        for p in operation(document, "GET", users["path"])["parameters"]
        if deref(document, p).get("name") == "limit"
    )
    # Then the IdP template pages with limit (and the Link header's after) at Okta's default size
    assert users["pagination"]["type"] == "link_header"
    assert {users["pagination"]["limit_param"], "after"} <= parameter_names(document, "GET", users["path"])
    assert users["pagination"]["page_size"] == limit["schema"]["default"]
    # And every field it reads is one Okta's User declares, with statuses Okta has
    user = response_schema(document, "GET", users["path"])["items"]
    read = _fields("okta_sso", *users["fields"])
    assert read and {f for f in read if not declares(document, user, f)} == set()
    statuses = set(deref(document, deref(document, user)["properties"]["status"])["enum"])
    assert set(re.findall(r"'([A-Z_]+)'", users["fields"]["active"])) <= statuses


def test_okta_sso_s_manual_unassign_is_okta_s_and_the_note_says_okta_calls_it_destructive():
    document = spec("okta", "sso")
    note = templates()["okta_sso"].reclaim_note or ""
    # Given Okta's "Unassign an application user"
    unassign = operation(document, "DELETE", "/api/v1/apps/{appId}/users/{userId}")
    # Okta's words:
    assert "This is a destructive operation. You can't recover the user's app profile." in unassign["description"]
    # Then the step the template names is that operation, and the template says what Okta says
    assert "DELETE /api/v1/apps/{app}/users/{user}" in note
    assert spec_path(document, "/api/v1/apps/{app}/users/{user}") == "/api/v1/apps/{appId}/users/{userId}"
    assert "destructive" in note and "cannot be recovered" in note


def test_profiles_made_from_okta_apps_carry_okta_s_words_that_unassigning_is_destructive():
    document = spec("okta", "sso")
    facts = templates()["okta_sso"].app_reclaim
    # Given Okta's "Unassign an application user", the request a profile made from an Okta app reclaims with
    unassign = operation(document, "DELETE", "/api/v1/apps/{appId}/users/{userId}")["description"]
    # Okta's words:
    assert "This is a destructive operation. You can't recover the user's app profile." in unassign
    assert "configured to deactivate users, the user is also deactivated in the target app" in unassign
    # Then the IdP template says so of its apps' profiles: unassigning loses data, in Okta's words
    assert facts is not None and (facts.effect, facts.loses_data) == ("unassign", True)
    assert "destructive operation" in facts.note and "cannot be recovered" in facts.note
    assert "deactivates the user in the app too" in facts.note
    # And a profile made from an Okta app, reclaiming with that request, is planned with that warning
    # (an Entra app's profile, whose unassign no Microsoft source here describes, carries none)
    idp = ProfileRecord.model_validate(
        {
            "id": "prf_" + "0" * 20,
            "own": {},
            "profile": {**templates()["okta_sso"].profile, "name": "Okta", "base_url": "https://corp.okta.com"},
            "created_at": "2026-12-06T00:00:00Z",
            "updated_at": "2026-12-06T00:00:00Z",
        }
    )
    own = app_profile_fields(
        idp, "okta", "0oaslack0000000000001", ProfileFromIdp(name="Slack", subscription={"licenses_purchased": 10})
    )
    (warning,) = warnings_for(Profile.model_validate(own))
    assert warning.startswith("Okta (identity provider): reclaiming loses the user's data. Okta calls unassigning")
    changed = Profile.model_validate(
        {**own, "reclaim": {"method": "POST", "path": "/api/v1/users/{id}/lifecycle/suspend"}}
    )
    assert warnings_for(changed) == []


@pytest.mark.parametrize("name", ["okta", "okta_sso"])
def test_okta_answers_carry_the_rate_limit_headers_okta_documents_and_the_pacer_reads_them(name):
    words = spec("okta", "rate-limits")
    # Given Okta's words: "Okta provides three headers in each response", the reset "in UTC epoch time (in seconds)"
    assert "three headers in each response" in words["says"]
    assert "UTC epoch time (in seconds)" in words["headers"]["X-Rate-Limit-Reset"]
    # When the pacer reads Okta's own example, with the window exhausted and resetting in 30 s
    headers = dict(line.split(": ", 1) for line in words["example"].splitlines()[1:])
    quota = announced_quota({**headers, "X-Rate-Limit-Reset": "1609459230"}, now=1609459200)
    exhausted = {**headers, "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": "1609459230"}
    # Then it knows the ceiling and what is left, and waits until the reset
    assert quota is not None and (quota.limit, quota.remaining) == (1200, 1199)
    assert wait_requested(exhausted, now=1609459200) == 30
    # And the template spends only its share of the org-wide budget, as every integration draws on it
    assert templates()[name].profile["rate_limit"]["scope"] == "org"


# --- Microsoft Graph: List users, Paging and Throttling pages (read 2026-12-06) --------------


@pytest.mark.parametrize("name", ["microsoft_graph", "entra_sso"])
def test_graph_templates_list_users_with_the_query_microsoft_documents(name):
    words = spec("microsoft_graph", "users-list")
    users = templates()[name].profile["users"]
    # Given Microsoft's words: GET /users takes $top (not $skip) and $select, and pages with @odata.nextLink
    assert (words["request"], users["path"]) == ("GET /users", "/users")
    assert "$top" in words["query_parameters"] and "$skip isn't supported" in words["query_parameters"]
    assert "@odata.nextLink" in words["paging"]
    # Then the template pages with $top, follows @odata.nextLink and never skips
    pagination = users["pagination"]
    assert (pagination["type"], pagination["limit_param"], pagination["next_url_path"]) == (
        "next_url",
        "$top",
        '"@odata.nextLink"',
    )
    assert "$skip" not in str(users)
    # And the e-mail it reads (mail, else userPrincipalName) is among the properties Graph returns
    assert fields_read(users["fields"]["email"]) == {"mail", "userPrincipalName"}
    assert {"mail", "userPrincipalName"} <= set(users["params"]["$select"].split(","))
    assert all(p in words["default_properties"] for p in ("mail", "userPrincipalName"))


def test_microsoft_graph_pages_by_500_because_microsoft_caps_pages_that_select_sign_in_activity():
    words = spec("microsoft_graph", "users-list")
    users = templates()["microsoft_graph"].profile["users"]
    # Given Microsoft's words (zh-cn page, as published): the maximum page size is 999, but 500
    # when signInActivity is selected or filtered
    assert "默认和最大页面大小分别为 100 和 999 个用户对象" in words["page_sizes"]["zh-cn"]
    assert "signInActivity选择或筛选后,最大页面大小为 500" in words["page_sizes"]["zh-cn"]
    # Then the template, which selects signInActivity, asks for no more than 500 (it asked for 999)
    assert "signInActivity" in users["params"]["$select"].split(",")
    assert users["pagination"]["page_size"] == 500
    # And the Entra IdP template, which does not select it, may ask for 999
    entra = templates()["entra_sso"].profile["users"]
    assert "signInActivity" not in entra["params"]["$select"] and entra["pagination"]["page_size"] == 999


def test_the_graph_fake_refuses_a_page_larger_than_microsoft_allows():
    vendor, records = FAKES["microsoft_graph"], [FAKES["microsoft_graph"].record(p) for p in people(3)]

    def page(top: int, select: str) -> int:
        return vendor.page(
            vendor, Request("GET", "/users", {"$top": [str(top)], "$select": [select]}, {}, None), records
        )[0]

    # Then 500 with signInActivity and 999 without are answered, one more is refused
    assert (page(500, "id,signInActivity"), page(501, "id,signInActivity")) == (200, 400)
    assert (page(999, "id,mail"), page(1000, "id,mail")) == (200, 400)


def test_microsoft_graph_s_manual_reclaim_is_graph_s_assign_license_with_remove_licenses():
    words = spec("microsoft_graph", "users-list")["assign_license"]
    template = templates()["microsoft_graph"]
    note = template.reclaim_note or ""
    # Given Microsoft's assignLicense: "Add or remove licenses for the user", removeLicenses "A collection
    # of GUIDs that identify the licenses to remove", least privileged as an app LicenseAssignment.ReadWrite.All
    assert words["request"] == "POST /users/{id | userPrincipalName}/assignLicense"
    assert "identify the licenses to remove" in words["removeLicenses"]
    # Then the template presets no reclaim (it needs the customer's SKU id) and its note names that request,
    # body and permission
    assert template.reclaim is None and template.profile.get("reclaim") is None
    assert "POST /users/{id}/assignLicense" in note and '"removeLicenses": ["<sku-id>"]' in note
    assert words["least_privileged_application_permission"] in note


# Microsoft's licensing words: tests/vendor_specs/microsoft_graph/licensing.yaml (microsoft-graph-docs-contrib
# and microsoft-365-docs, each file at the commit its header names, read 2026-12-07).


def _graph_user(*, enabled: bool, licensed: bool) -> dict[str, Any]:
    # A user as Graph's user page documents one (the extract's microsoft.graph.user schema checks it below)
    licenses = [{"skuId": "c7df2760-2c81-4ef7-b578-5b5392b571df", "disabledPlans": []}] if licensed else []
    return {
        "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
        "mail": "AdeleV@contoso.com",
        "userPrincipalName": "AdeleV@contoso.com",
        "accountEnabled": enabled,
        "assignedLicenses": licenses,
        "signInActivity": {"lastSuccessfulSignInDateTime": "2026-01-05T09:00:00Z"},
    }


def test_microsoft_graph_counts_a_seat_for_each_user_with_assigned_licenses_blocked_from_sign_in_or_not():
    words = spec("microsoft_graph", "licensing")
    fields = UserFields.model_validate(templates()["microsoft_graph"].profile["users"]["fields"])
    # Given Microsoft's words: a SKU's consumedUnits is "The number of licenses that have been assigned",
    # assignedLicenses "The licenses that are assigned to the user, including inherited (group-based) licenses";
    # blocking a former employee is step 1 ("Block sign-in"), and "If you don't want to pay for a license after
    # someone leaves your organization, you need to remove their Microsoft 365 license" is step 6
    assert words["subscribedSku"]["consumedUnits"] == "The number of licenses that have been assigned."
    assert words["user"]["assignedLicenses"].startswith(
        "The licenses that are assigned to the user, including inherited (group-based) licenses."
    )
    assert "**Block sign-in**" in words["block_sign_in"]["steps"]
    assert words["remove_license"]["pay"].startswith(
        "If you don't want to pay for a license after someone leaves your organization, you need to remove their"
        " Microsoft 365 license"
    )
    # When the template reads a user blocked from signing in who still has a license, and users around them
    blocked_licensed = read_user(fields, _graph_user(enabled=False, licensed=True))
    enabled_licensed = read_user(fields, _graph_user(enabled=True, licensed=True))
    enabled_unlicensed = read_user(fields, _graph_user(enabled=True, licensed=False))
    # Then the blocked user holds a seat, as Microsoft still counts (and bills) their license: the rule
    # `accountEnabled && length(assignedLicenses) > 0` left them out, so their seat was never reclaimed
    assert blocked_licensed.active is True
    assert (enabled_licensed.active, enabled_unlicensed.active) == (True, False)
    # And the rule reads the assigned licenses alone, and the template no longer doubts it (nor defaults to dry run)
    assert fields_read(templates()["microsoft_graph"].profile["users"]["fields"]["active"]) == {"assignedLicenses"}
    assert "seat" not in templates()["microsoft_graph"].unverified and templates()["microsoft_graph"].verified


def test_the_graph_fake_answers_users_in_the_shape_microsoft_documents_blocked_license_holders_among_them():
    document = spec("microsoft_graph", "licensing")
    schema = {"$ref": "#/components/schemas/microsoft.graph.userCollectionResponse"}
    vendor = FAKES["microsoft_graph"]
    select = templates()["microsoft_graph"].profile["users"]["params"]["$select"]
    # Given a page of the fake's users, as the template asks for them
    records = [vendor.record(p) for p in people(40)]
    status, page, _ = vendor.page(
        vendor, Request("GET", "/users", {"$top": ["20"], "$select": [select]}, {}, None), records
    )
    # Then it validates against the user page's properties and carries none Microsoft does not document
    assert status == 200
    validate(document, schema, page)
    assert undeclared(document, schema, page) == []
    # And it selects nothing the user page does not document either
    assert set(select.split(",")) <= set(document["components"]["schemas"]["microsoft.graph.user"]["properties"])
    # And among its users are license holders blocked from signing in, and blocked users without a license
    kinds = {(r["accountEnabled"], bool(r["assignedLicenses"])) for r in records}
    assert {(False, True), (False, False), (True, True), (True, False)} <= kinds
    # And a field the user page does not have fails the check
    assert undeclared(document, schema, {**page, "value": [{**page["value"][0], "licenseCount": 1}]}) == [
        "value[].licenseCount"
    ]


def test_removing_a_microsoft_license_loses_the_mailbox_after_30_days_and_the_manual_step_says_so():
    words = spec("microsoft_graph", "licensing")
    template = templates()["microsoft_graph"]
    note = template.reclaim_note or ""
    # Given Microsoft's words: assignLicense's removeLicenses are "GUIDs that identify the licenses to remove";
    # then "Exchange Online data that is associated with that account is held for 30 days. After the 30-day grace
    # period, the data is deleted and can't be recovered", while OneDrive files "aren't deleted unless the user is
    # deleted"
    assert words["assign_license"]["request"] == "POST /users/{id | userPrincipalName}/assignLicense"
    assert "identify the licenses to remove" in words["assign_license"]["removeLicenses"]
    assert (
        "held for 30 days. After the 30-day grace period, the data is deleted and can't be recovered"
        in (words["unassign_licenses"]["exchange"])
    )
    assert "After 30 days, all the user's data" in words["remove_license"]["data"]
    assert words["unassign_licenses"]["onedrive"].startswith("Files saved in OneDrive for Business aren't deleted")
    # Then the manual step the template names (it presets no reclaim: it needs the customer's SKU id) is that
    # request, and says the mailbox goes 30 days after, so that a person saves it first
    assert template.reclaim is None
    assert "POST /users/{id}/assignLicense" in note and '"removeLicenses"' in note
    assert "Exchange Online data is held for 30 days, then deleted" in note and "save the mailbox first" in note


def test_entra_sso_reads_no_sign_in_activity_from_users_as_graph_returns_none_unless_selected():
    words = spec("microsoft_graph", "users-list")
    users = templates()["entra_sso"].profile["users"]
    # Given Microsoft's words: "the signInActivity property isn't returned by default"
    assert "signInActivity property isn't returned by default" in words["query_parameters"]
    # Then the IdP template's users carry no last activity (its activity is the sign-in log), and it
    # counts the enabled accounts, as accountEnabled is "true if the account is enabled"
    assert "last_activity" not in users["fields"] and templates()["entra_sso"].activity_note
    assert users["fields"]["active"] == "accountEnabled"
    assert words["properties"]["accountEnabled"].startswith("true if the account is enabled")


@pytest.mark.parametrize("name", ["microsoft_graph", "entra_sso"])
def test_graph_throttles_with_429_and_retry_after_which_the_pacer_waits_for(name):
    words = spec("microsoft_graph", "users-list")
    # Given Microsoft's words: 429, and "a suggested wait time in the response header": Retry-After
    assert "Returns HTTP status code 429 Too Many Requests and the requests fail." in words["throttling"]
    assert "Wait the number of seconds specified in the Retry-After header" in words["throttling_best_practice"]["says"]
    # Then the pacer waits that long (the template says nothing more: Graph publishes no budget)
    assert wait_requested({"Retry-After": "7"}, now=0) == 7
    assert "rate_limit" not in templates()[name].profile


# --- Google: Admin SDK discovery documents (pypi:google-api-python-client 2.202.0) ------------


def _discovery_schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    """A discovery schema as JSON Schema: its $refs name other schemas of the document."""

    def convert(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: convert(v) for k, v in node.items() if k not in {"annotations", "readOnly"}}
            if "$ref" in node:
                return {"$ref": f"#/definitions/{node['$ref']}"}
            if out.get("type") == "any":
                del out["type"]  # discovery's "any": whatever JSON value
            if out.get("type") in {"integer", "number"} and out.get("format") in {"int64", "uint64"}:
                out["type"] = ["string", "integer"]  # discovery sends 64-bit integers as strings
            return out
        if isinstance(node, list):
            return [convert(v) for v in node]
        return node

    schemas = {key: {k: v for k, v in value.items() if k != "id"} for key, value in document["schemas"].items()}
    return {"$ref": f"#/definitions/{name}", "definitions": convert(schemas)}


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema refusing properties it does not declare (a field Google does not return fails)."""

    def close(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: close(v) for k, v in node.items()}
            if "properties" in out and "additionalProperties" not in out:
                out["additionalProperties"] = False
            return out
        if isinstance(node, list):
            return [close(v) for v in node]
        return node

    return close(schema)


GOOGLE = ["google_sso", "google_workspace"]


@pytest.mark.parametrize("name", GOOGLE)
def test_google_templates_list_users_with_the_method_and_parameters_google_documents(name):
    document = spec("google", "directory-users")
    template = templates()[name]
    users = template.profile["users"]
    method = document["resources"]["users"]["methods"]["list"]
    # Given Google's directory.users.list, at its rootUrl + path
    assert document["rootUrl"] + method["path"] == template.profile["base_url"] + users["path"]
    assert method["httpMethod"] == users.get("method", "GET")
    # Then every parameter the template sends is one of the method's, with a value Google allows
    pagination = users["pagination"]
    sent = {pagination[k] for k in PAGING_PARAMETERS if k in pagination} | set(users["params"])
    assert sent <= set(method["parameters"]), sent - set(method["parameters"])
    for key, value in users["params"].items():
        assert value in method["parameters"][key].get("enum", [value]) or key == "customer"
    assert "my_customer" in method["parameters"]["customer"]["description"]
    assert pagination["page_size"] <= int(method["parameters"]["maxResults"]["maximum"]) == 500
    # And it reads the next page's token where Google's Users answer has it, and the users too
    answer = document["schemas"][method["response"]["$ref"]]["properties"]
    assert pagination["cursor_path"] in answer and "users" in fields_read(users["records_path"])


@pytest.mark.parametrize("name", GOOGLE)
def test_google_templates_read_only_fields_google_declares_on_a_user(name):
    document = spec("google", "directory-users")
    schema = _discovery_schema(document, "User")
    read = _fields(name, "id", "email", "name", "active", "last_activity", "created_at", "role")

    def declared(dotted: str) -> bool:
        node: Any = document["schemas"]["User"]
        for part in dotted.split("."):
            node = node.get("properties", {}).get(part)
            if node is None:
                return False
            node = document["schemas"][node["$ref"]] if "$ref" in node else node
        return True

    # Then every field the template maps from a user is a property of Google's User
    assert read and {f for f in read if not declared(f)} == set()
    assert "User's last login time." in document["schemas"]["User"]["properties"]["lastLoginTime"]["description"]
    assert schema["definitions"]["User"]["properties"]["lastLoginTime"]["format"] == "date-time"


def test_the_google_fake_answers_users_in_the_shape_google_documents():
    document = spec("google", "directory-users")
    vendor = FAKES["google_workspace"]
    records = [vendor.record(p) for p in people(20)]
    # Given a page of the fake's users, as the fake answers them
    status, page, _ = vendor.page(
        vendor, Request("GET", "/users", {"customer": ["my_customer"], "maxResults": ["5"]}, {}, None), records
    )
    assert status == 200
    # Then it is a Users answer, with no property Google's schema does not declare
    strict = _strict(_discovery_schema(document, "Users"))
    jsonschema.Draft4Validator(strict).validate(page)
    # And a field Google does not have fails the check
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(strict).validate({**page, "users": [{**records[0], "lastSeen": "2026-01-01"}]})


def test_google_workspace_s_manual_reclaim_is_the_license_manager_s_delete():
    document = spec("google", "licensing")
    note = templates()["google_workspace"].reclaim_note or ""
    delete = document["resources"]["licenseAssignments"]["methods"]["delete"]
    # Given Google's licenseAssignments.delete, with the scope it needs
    shown = "/" + delete["path"]
    # Then the manual step the template names is that method, with its scope
    assert f"DELETE {shown}" in note and delete["httpMethod"] == "DELETE"
    assert "https://www.googleapis.com/auth/apps.licensing" in delete["scopes"]
    assert "https://www.googleapis.com/auth/apps.licensing" in note


@pytest.mark.parametrize("name", GOOGLE)
def test_google_s_quota_errors_are_403s_with_the_reasons_the_pacer_slows_down_for(name):
    words = spec("google", "directory-limits")
    # Given Google's quota errors: 403 with a reason in the body
    reasons = {e["reason"] for e in words["errors"] if e["code"] == 403}
    assert {"userRateLimitExceeded", "quotaExceeded"} <= reasons
    # Then the pacer treats each of those reasons as "slow down", not as a refused credential
    assert reasons <= GOOGLE_QUOTA_REASONS
    # And the fake says slow down the same way
    if name in FAKES:  # the IdP template's fake is test_identity_provider's
        status, body, _ = FAKES[name].rate_limit(FAKES[name])  # type: ignore[misc]
        assert status == 403 and body["error"]["errors"][0]["reason"] in reasons


# --- GitHub: npm:@octokit/openapi 23.0.2 (github/rest-api-description), github/docs ----------

GITHUB = {"github_org": "org-members", "github_copilot": "copilot-seats"}


def _github(name: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    document = spec("github", GITHUB[name])
    users = templates()[name].profile["users"]
    return document, users, spec_path(document, "/orgs/{org}" + users["path"])


@pytest.mark.parametrize("name", sorted(GITHUB))
def test_github_templates_page_with_the_parameters_github_documents(name):
    document, users, path = _github(name)
    pagination = users["pagination"]
    # Given GitHub's list operation
    declared = parameter_names(document, "GET", path)
    per_page = next(
        deref(document, p)
        for p in operation(document, "GET", path)["parameters"]
        if deref(document, p)["name"] == "per_page"
    )
    # Then the template's paging parameters are its own, at most GitHub's "(max 100)"
    sent = {pagination[k] for k in PAGING_PARAMETERS if k in pagination}
    assert sent <= declared, sent - declared
    assert "The number of results per page (max 100)." in per_page["description"]
    assert pagination["page_size"] <= 100
    # And a Link-header template reads the Link header GitHub's answer carries
    if pagination["type"] == "link_header":
        assert "Link" in operation(document, "GET", path)["responses"]["200"]["headers"]


@pytest.mark.parametrize("name", sorted(GITHUB))
def test_github_templates_read_only_fields_github_declares(name):
    document, users, path = _github(name)
    record = record_schema(document, response_schema(document, "GET", path), users["records_path"])
    # Then every field the template maps is declared on GitHub's record
    read = _fields(name, *users["fields"])
    assert read and {f for f in read if not declares(document, record, f)} == set()
    # And a GitHub member has no activity field, as the org template says
    if name == "github_org":
        properties = set(deref(document, record)["properties"])
        assert not {p for p in properties if re.search(r"activ|last_|login_at|seen", p)}
        assert "last_activity" not in users["fields"] and templates()[name].activity_note


@pytest.mark.parametrize("name", sorted(GITHUB))
def test_github_fakes_answer_only_what_github_declares(name):
    document, users, path = _github(name)
    schema = response_schema(document, "GET", path)
    records = [FAKES[name].record(p) for p in people(20)]
    answer = records if users["records_path"] == "@" else {"total_seats": len(records), users["records_path"]: records}
    # Then the fake's page validates against GitHub's 200 answer, with no field GitHub does not declare
    validate(document, schema, answer)
    assert undeclared(document, schema, answer) == []


def test_github_copilot_counts_seats_and_cancels_them_as_github_documents():
    document, users, path = _github("github_copilot")
    seat = deref(document, record_schema(document, response_schema(document, "GET", path), "seats"))
    template = templates()["github_copilot"]
    reclaim = template.profile["reclaim"]
    # Given GitHub's words: pending_cancellation_date "will be null unless the assignee's Copilot
    # access has been canceled during the current billing cycle"
    pending = seat["properties"]["pending_cancellation_date"]["description"]
    assert "This will be null unless the assignee's Copilot access has been canceled" in pending
    # Then a seat is held while that date is null
    # (as a JMESPath literal: a bare `null` would be a field of that name, absent, so null only by luck)
    assert users["fields"]["active"] == "pending_cancellation_date == `null`"
    # And the reclaim request is GitHub's DELETE, with the body it takes
    delete = operation(document, reclaim["method"], spec_path(document, "/orgs/{org}" + reclaim["path"]))
    body = delete["requestBody"]["content"]["application/json"]["schema"]
    assert set(reclaim["body"]) == set(body["required"]) == {"selected_usernames"}
    # GitHub's words: the seats become "pending cancellation", the users "lose access to GitHub Copilot
    # at the end of the current billing cycle unless they retain access through team membership"
    assert 'Sets seats for all users specified to "pending cancellation".' in delete["description"]
    assert "unless they retain access through team membership" in delete["description"]
    # Then nothing is lost but access, and the note says when the saving starts and what a team does
    assert template.reclaim is not None and template.reclaim.loses_data is False
    assert "next cycle" in template.reclaim.note and "team" in template.reclaim.note


def _outside_collaborators() -> tuple[dict[str, Any], dict[str, Any], str]:
    document = spec("github", "outside-collaborators")
    (listing,) = templates()["github_org"].profile["users"]["also"]
    return document, listing, spec_path(document, "/orgs/{org}" + listing["path"])


def test_github_org_reads_outside_collaborators_as_github_s_rest_description_lists_them():
    # Given GitHub's "List outside collaborators for an organization" (npm:@octokit/openapi 23.0.2)
    document, listing, path = _outside_collaborators()
    listed = operation(document, "GET", path)
    assert listed["description"] == "List all users who are outside collaborators of an organization."
    per_page = next(deref(document, p) for p in listed["parameters"] if deref(document, p)["name"] == "per_page")
    # Then the template reads it as its outside_collaborator list, paging by GitHub's Link header with
    # GitHub's own parameter, at most its "(max 100)"
    assert listing["kind"] == "outside_collaborator" and path == "/orgs/{org}/outside_collaborators"
    pagination = listing["pagination"]
    assert pagination["type"] == "link_header" and "Link" in listed["responses"]["200"]["headers"]
    assert {pagination["limit_param"]} <= parameter_names(document, "GET", path)
    assert "The number of results per page (max 100)." in per_page["description"] and pagination["page_size"] <= 100
    # And a record is a Simple User as a member's is: the members' fields (the list maps none of its own)
    # are all declared on it, and none of its properties is an activity
    record = record_schema(document, response_schema(document, "GET", path), listing["records_path"])
    assert "fields" not in listing
    read = _fields("github_org", *templates()["github_org"].profile["users"]["fields"])
    assert read and {f for f in read if not declares(document, record, f)} == set()
    assert not {p for p in deref(document, record)["properties"] if re.search(r"activ|last_|login_at|seen", p)}


def test_github_org_s_fake_outside_collaborators_answer_only_what_github_declares():
    document, listing, path = _outside_collaborators()
    fake = FAKES["github_org"]
    # Given the fake's outside collaborators, as its outside_collaborators path answers them
    answer = [fake.record(p) for p in people(20) if fake.kind(p) == listing["kind"]]
    assert answer and fake.lists[listing["kind"]] == listing["path"]
    # Then the page validates against GitHub's 200 answer, with no field GitHub does not declare
    schema = response_schema(document, "GET", path)
    validate(document, schema, answer)
    assert undeclared(document, schema, answer) == []


def test_github_org_removes_an_outside_collaborator_with_github_s_remove_outside_collaborator():
    document, listing, _ = _outside_collaborators()
    reclaim = listing["reclaim"]
    path = spec_path(document, "/orgs/{org}" + reclaim["path"])
    remove = operation(document, reclaim["method"], path)
    # Given GitHub's words: "Removing a user from this list will remove them from all the organization's
    # repositories", and a 422 "if user is a member of the organization"
    assert (
        remove["description"]
        == "Removing a user from this list will remove them from all the organization's repositories."
    )
    assert remove["responses"]["422"]["description"] == "Unprocessable Entity if user is a member of the organization"
    # Then an outside collaborator is removed by that request, never by the members' one
    assert path == "/orgs/{org}/outside_collaborators/{username}" and reclaim["method"] == "DELETE"
    assert templates()["github_org"].profile["reclaim"]["path"] == "/members/{id}"
    # And the profile made from the template validates, its list's removal naming only what the list maps
    profile = Profile.model_validate(
        {
            **templates()["github_org"].profile,
            "name": "GitHub",
            "base_url": "https://api.github.com/orgs/acme",
            "subscription": {"licenses_purchased": 10},
        }
    )
    assert profile.users.also[0].reclaim is not None and profile.users.also[0].fields is None


def test_github_org_s_seat_rule_counts_outside_collaborators_and_says_pending_invitations_are_left_out():
    words = spec("github", "license-users")["team"]
    invitations = spec("github", "invitations")
    template = templates()["github_org"]
    users = template.profile["users"]
    # Given GitHub's words: it bills members, outside collaborators on private repositories, and pending
    # invitations to become one
    assert words["billed"][0] == "Organization members, including owners"
    outside = next(b for b in words["billed"] if b.startswith("Outside collaborators on private repositories"))
    pending = next(b for b in words["billed"] if b.startswith("Anyone with a pending invitation to become an outside"))
    # Then the template counts every member and every outside collaborator (both lists list seat holders only)
    assert users["fields"]["active"] == "`true`" and users["path"] == "/members"
    assert [listing["kind"] for listing in users["also"]] == ["outside_collaborator"]
    # And GitHub lists pending invitations to a repository per repository only: the organization's own
    # invitations filter by member roles, none of them an outside collaborator's (in the full document, the
    # paths with invitations are the org's, a team's, a repository's and the user's own: checked when cut)
    assert spec_path(invitations, "/repos/{owner}/{repo}/invitations") == "/repos/{owner}/{repo}/invitations"
    org_invitations = operation(invitations, "GET", "/orgs/{org}/invitations")
    role = next(deref(invitations, p) for p in org_invitations["parameters"] if deref(invitations, p)["name"] == "role")
    assert set(role["schema"]["enum"]) == {"all", "admin", "direct_member", "billing_manager", "hiring_manager"}
    # And the organization's plan.filled_seats, which might count them, has no description to say what it counts
    org = deref(invitations, response_schema(invitations, "GET", "/orgs/{org}"))
    assert deref(invitations, org["properties"]["plan"])["properties"]["filled_seats"] == {"type": "integer"}
    # So the seat rule stays unverified, naming exactly what it leaves out, in GitHub's words: a real run
    # waits for an admin
    reason = template.unverified["seat"]
    assert pending in reason and outside in reason and "GET /repos/{owner}/{repo}/invitations" in reason
    assert "leaves out outside collaborators" not in reason and "a profile reads one users endpoint" not in reason


def test_github_org_reclaims_with_github_s_remove_member():
    document = spec("github", "org-members")
    reclaim = templates()["github_org"].profile["reclaim"]
    path = spec_path(document, "/orgs/{org}" + reclaim["path"])
    # Then the reclaim request is GitHub's "Remove an organization member"
    remove = operation(document, reclaim["method"], path)
    assert path == "/orgs/{org}/members/{username}" and reclaim["method"] == "DELETE"
    assert "they will no longer have any access to the organization's repositories" in remove["description"]


def test_github_org_s_removal_keeps_private_forks_restorable_and_the_note_says_the_bill_needs_a_downgrade():
    words = spec("github", "remove-member")["warning"]
    template = templates()["github_org"]
    # Given GitHub's words: removed members "lose access to private forks", which "can be restored if the
    # user is reinstated ... within three months"; and "The paid license count does not automatically downgrade."
    assert "will lose access to private forks" in words["forks"] and "within three months" in words["forks"]
    assert words["license"].startswith("The paid license count does not automatically downgrade.")
    # Then removing loses no data for good, and the note says what GitHub says of forks and of the bill
    assert template.reclaim is not None and template.reclaim.loses_data is False
    assert (
        "within three months" in template.reclaim.note
        and "does not lower the paid license count" in template.reclaim.note
    )


def test_a_github_org_plan_warns_that_its_savings_wait_for_the_paid_seats_to_be_lowered():
    words = spec("github", "remove-member")["warning"]
    template = templates()["github_org"]
    own = {
        **template.profile,
        "name": "GitHub",
        "template": "github_org",
        "base_url": "https://api.github.com/orgs/acme",
        "subscription": {"licenses_purchased": 10, "cost_per_license": 4},
    }
    # Given GitHub's words: "The paid license count does not automatically downgrade."
    assert words["license"].startswith("The paid license count does not automatically downgrade.")
    # Then the template says its bill does not drop, and a plan with its removal warns that the savings wait
    assert template.reclaim is not None and template.reclaim.bill_drops is False
    (warning,) = warnings_for(Profile.model_validate(own))
    assert "the bill does not drop by itself" in warning and "does not lower the paid license count" in warning
    # And a profile that removes with a request of its own is not told what GitHub's removal does
    assert warnings_for(Profile.model_validate({**own, "reclaim": {"method": "DELETE", "path": "/x/{id}"}})) == []


@pytest.mark.parametrize("name", sorted({*GITHUB, "github_enterprise"}))
def test_github_s_rate_limit_answers_are_read_by_the_pacer(name):
    words = spec("github", "rate-limits")
    # Given GitHub's words: x-ratelimit-* on every answer; 403 or 429 with remaining 0 until the
    # reset (UTC epoch seconds); a secondary limit's retry-after in seconds
    assert "in UTC epoch seconds" in words["headers"]["x-ratelimit-reset"]
    assert (
        "`403` or `429` response, and the `x-ratelimit-remaining` header will be `0`" in words["exceeding"]["primary"]
    )
    assert "If the `retry-after` response header is present" in words["exceeding"]["secondary"]
    # Then the pacer waits for the reset of an exhausted quota, and for retry-after when it is given
    exhausted = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000060"}
    assert wait_requested(exhausted, now=1700000000) == 60
    assert wait_requested({"Retry-After": "30", "X-RateLimit-Remaining": "12"}, now=0) == 30
    # And the fake answers an exhausted quota the way GitHub documents it
    status, _, headers = FAKES[name].rate_limit(FAKES[name])  # type: ignore[misc]
    assert status in (403, 429) and headers["X-RateLimit-Remaining"] == "0"


def _consumed_licenses() -> tuple[dict[str, Any], dict[str, Any], str]:
    document = spec("github", "enterprise-consumed-licenses")
    users = templates()["github_enterprise"].profile["users"]
    return document, users, spec_path(document, "/enterprises/{enterprise}" + users["path"])


def test_github_enterprise_pages_the_consumed_licenses_as_github_s_ghec_description_documents():
    # Given GitHub's "List enterprise consumed licenses" (npm:@octokit/openapi 23.0.2, generated/ghec.json)
    document, users, path = _consumed_licenses()
    listed = operation(document, "GET", path)
    assert path == "/enterprises/{enterprise}/consumed-licenses" and listed["operationId"].endswith("consumed-licenses")
    per_page = next(deref(document, p) for p in listed["parameters"] if deref(document, p)["name"] == "per_page")
    # Then the template pages by GitHub's own page and per_page, from page 1 (the document's default), at most
    # its "(max 100)"
    pagination = users["pagination"]
    assert pagination["type"] == "page" and {pagination["page_param"], pagination["size_param"]} == {"page", "per_page"}
    assert {"page", "per_page"} <= parameter_names(document, "GET", path)
    page = next(deref(document, p) for p in listed["parameters"] if deref(document, p)["name"] == "page")
    assert pagination["first_page"] == page["schema"]["default"] == 1
    assert "The number of results per page (max 100)." in per_page["description"] and pagination["page_size"] <= 100
    # And it reads no total: total_seats_consumed counts seats, which the document does not say equal its users
    # (a short page ends the list; the answer's Link header, which GitHub declares, is not needed for that)
    schema = deref(document, response_schema(document, "GET", path))
    assert schema["properties"]["total_seats_consumed"] == {"type": "integer"} and "total_path" not in pagination
    assert "Link" in listed["responses"]["200"]["headers"]
    # And the credential is the one GitHub names: "The authenticated user must be an enterprise admin", "the
    # `read:enterprise` scope", and no GitHub App (enabledForGitHubApps: false)
    assert "The authenticated user must be an enterprise admin" in listed["description"]
    assert (
        "need the `read:enterprise` scope" in listed["description"]
        and listed["x-github"]["enabledForGitHubApps"] is False
    )
    (scopes,) = templates()["github_enterprise"].scopes
    assert "read:enterprise" in scopes and "enterprise admin" in scopes and "GitHub Apps cannot" in scopes


def test_github_enterprise_reads_only_fields_github_declares_and_none_is_an_activity():
    document, users, path = _consumed_licenses()
    record = record_schema(document, response_schema(document, "GET", path), users["records_path"])
    # Then every field the template maps is one of GitHub's consumed-license user's
    read = _fields("github_enterprise", *users["fields"])
    assert read and {f for f in read if not declares(document, record, f)} == set()
    # (the e-mail is the first of the verified-domain e-mails, a connected server's for a server-only user)
    assert users["fields"]["email"].startswith("github_com_verified_domain_emails[0]")
    assert deref(document, record)["properties"]["github_com_verified_domain_emails"]["items"] == {"type": "string"}
    # And none of its properties is an activity: the template says so and points to the SSO templates
    properties = set(deref(document, record)["properties"])
    assert not {p for p in properties if re.search(r"activ|last_|login_at|seen", p)}
    note = templates()["github_enterprise"].activity_note or ""
    assert "last_activity" not in users["fields"] and "okta_sso" in note and "entra_sso" in note


def test_github_enterprise_s_fake_answers_only_what_github_declares():
    document, users, path = _consumed_licenses()
    schema = response_schema(document, "GET", path)
    records = [FAKES["github_enterprise"].record(p) for p in people(30)]
    answer = {"total_seats_consumed": len(records), "total_seats_purchased": 40, users["records_path"]: records}
    # Then the fake's page validates against GitHub's 200 answer, with no field GitHub does not declare
    validate(document, schema, answer)
    assert undeclared(document, schema, answer) == []
    # And it lists the kinds the document's example has: a GitHub.com user, and a connected server's user alone
    assert {r["github_com_user"] for r in records} == {True, False}


def test_github_enterprise_s_seat_rule_is_github_s_own_list_of_who_consumes_a_license():
    document, users, path = _consumed_licenses()
    words = spec("github", "enterprise-license-users")["enterprise_cloud"]
    template = templates()["github_enterprise"]
    # Given GitHub's words: the list "Lists the license consumption information for all users, including those
    # from connected servers, associated with an enterprise"
    assert operation(document, "GET", path)["description"].startswith(
        "Lists the license consumption information for all users, including those from connected servers,"
        " associated with an enterprise."
    )
    # and on Enterprise Cloud GitHub bills members, outside collaborators on private or internal repositories and,
    # without Enterprise Managed Users, "Anyone with a pending invitation to become an organization owner or member"
    assert "Organization members, including owners" in words["billed"]
    assert "Anyone with a pending invitation to become an organization owner or member" in words["also_billed"]
    # (GitHub's consumed-license user says which organizations invited them)
    record = deref(document, record_schema(document, response_schema(document, "GET", path), "users"))
    assert "github_com_orgs_with_pending_invites" in record["properties"]
    # Then every listed user holds a seat, and no fact of the template is left unverified
    assert users["fields"]["active"] == "`true`" and users["records_path"] == "users"
    assert template.verified is True and template.unverified == {}
    # And a user of a connected server alone, whose GitHub.com login is empty, is kept by the server's id
    assert users["fields"]["id"] == "github_com_login || enterprise_server_user_ids[0]"
    server_only = FAKES["github_enterprise"].record(people(13)[12])
    assert read_user(UserFields.model_validate(users["fields"]), server_only).id == "ghes.example.com:12"


def test_github_enterprise_has_no_reclaim_and_says_to_reclaim_per_organization_with_github_org():
    document, _, path = _consumed_licenses()
    template = templates()["github_enterprise"]
    # Given the consumed licenses, which GitHub's document only lists (it has no other method on that path),
    # and its one enterprise-level removal of a user, SCIM's, for Enterprise Managed Users (in the full
    # generated/ghec.json, the other DELETEs under /enterprises/{enterprise} with a user in them remove
    # enterprise roles, team memberships and Copilot seats: checked when cut)
    assert document["paths"][path]["x-methods"] == ["get"]
    scim = operation(document, "DELETE", "/scim/v2/enterprises/{enterprise}/Users/{scim_user_id}")["description"]
    # GitHub's words:
    assert "This action will: remove all the user's data" in scim and "This action is irreversible." in scim
    # Then the template presets no reclaim (whether it loses data is not applicable), and its note says why and
    # to remove the person per organization with github_org
    assert template.reclaim is None and "reclaim" not in template.profile
    note = template.reclaim_note or ""
    assert "remove all the user's data" in note and "is irreversible" in note and "github_org" in note
    assert "github_org" in template.description
    # And GitHub's total_seats_purchased, which the profile model cannot read from an answer, is named as not read
    schema = deref(document, response_schema(document, "GET", path))
    assert schema["properties"]["total_seats_purchased"] == {"type": "integer"}
    assert "total_seats_purchased" in note and "not read" in note
    # (a profile's subscription is what a person enters: no field of it is read from the app's answer)
    assert [f for f in Subscription.model_fields if f.endswith("_path")] == []


def test_github_org_says_enterprise_cloud_customers_get_github_s_own_count_from_github_enterprise():
    template = templates()["github_org"]
    # Then the template whose seat rule cannot be confirmed points to the one GitHub's own list confirms
    assert "github_enterprise" in template.description and "github_enterprise" in template.unverified["seat"]


# --- Slack: SCIM API reference, rate limits, pagination changelog (read 2026-12-06) ----------


def test_slack_lists_and_deactivates_users_as_slack_s_scim_reference_says():
    words = spec("slack", "scim")
    template = templates()["slack"]
    users, reclaim = template.profile["users"], template.profile["reclaim"]
    # Given Slack's words: GET /Users "Returns a paginated list of users"; count above 1000 is read as
    # 1000, and "The remainder can be fetched by adjusting the startIndex parameter."
    assert words["endpoints"]["v2.0"]["GET /Users"] == "Returns a paginated list of users"
    assert "will no longer accept values greater than 1000" in words["pagination"]["says"]
    assert "adjusting the startIndex parameter" in words["pagination"]["more"]
    # Then the template lists /Users with count and startIndex, 1000 at most
    assert (users["path"], template.profile["base_url"]) == ("/Users", "https://api.slack.com/scim/v2")
    pagination = users["pagination"]
    assert (pagination["limit_param"], pagination["offset_param"]) == ("count", "startIndex")
    assert pagination["page_size"] <= 1000
    # And reclaims with the DELETE that "Sets a Slack user to deactivated", unlike a group's DELETE,
    # which "Permanently removes a group": deactivating loses nothing
    assert (reclaim["method"], reclaim["path"]) == ("DELETE", "/Users/{id}")
    assert words["endpoints"]["v2.0"]["DELETE /Users/<id>"] == "Sets a Slack user to deactivated"
    assert words["endpoints"]["v2.0"]["DELETE /Groups/<id>"] == "Permanently removes a group"
    assert template.reclaim is not None and template.reclaim.effect == "deactivate" and not template.reclaim.loses_data


def test_slack_s_notes_say_what_its_fair_billing_policy_says():
    words = spec("slack", "fair-billing")
    template = templates()["slack"]
    # Given Slack's words: active for billing means an action "within a 28-day period" (since July 10, 2023);
    # deactivated accounts "must be reactivated to be billable again"
    assert "within a 28-day period" in words["active_for_billing"]
    assert "Deactivated accounts must be reactivated to be billable again." in words["deactivated"]
    # Then the notes say 28 days (they said 14), and deactivating is what frees a billed seat
    assert (
        template.reclaim is not None
        and "over 28 days" in template.reclaim.note
        and "14 days" not in template.description
    )
    assert "over 28 days" in template.description


def test_slack_s_idle_members_are_left_out_of_savings_as_its_fair_billing_policy_says():
    words = spec("slack", "fair-billing")
    facts = templates()["slack"].reclaim
    # Given Slack's words: "Members who take an action in Slack at any time within a 28-day period will be
    # considered active for billing purposes", and "an inactive member is someone who hasn't used Slack in over
    # 28 days"
    assert "within a 28-day period will be considered active for billing purposes" in words["active_for_billing"]
    assert "hasn't used Slack in over 28 days" in words["inactive"]
    # Then the template says Slack stops billing a member idle over 28 days, in Slack's own words, which a plan
    # quotes when it leaves such members out of its savings
    assert facts is not None and facts.unbilled_after_idle_days == 28
    assert facts.billing_says is not None and facts.billing_says in " ".join(words["active_for_billing"].split())
    # And a bill that drops: deactivating a member Slack still bills frees the seat at once
    assert facts.bill_drops and "must be reactivated to be billable again" in words["deactivated"]


def _slack_seat(record: dict[str, Any]) -> bool:
    """Whether the slack template's seat rule counts this SCIM user, as a sync reads it."""
    return read_user(UserFields(**templates()["slack"].profile["users"]["fields"]), record).active


def test_slack_counts_the_members_slack_bills_and_not_single_channel_guests():
    billing, scim = spec("slack", "fair-billing"), spec("slack", "scim-users")
    guests = scim["guests"]
    # Given Slack's words: it bills "Workspace Owners, Workspace Admins, Full members, Multi-Channel Guests",
    # and "Single-Channel Guests, Bots" are free
    assert billing["members"]["paid"] == [
        "Workspace Owners",
        "Workspace Admins",
        "Full members",
        "Multi-Channel Guests",
    ]
    assert billing["members"]["free"] == ["Single-Channel Guests", "Bots"]
    # And its SCIM reference: the guest extension "can be used to designate a user as a multi-channel guest", and
    # "The only valid value for the `type` sub-attribute is `"multi"` string." (the Java SDK: possible values "multi")
    assert "designate a user as a multi-channel guest" in guests["schema"]
    assert 'The only valid value for the `type` sub-attribute is `"multi"` string.' in guests["type"]
    assert 'possible values: "multi"' in scim["sdk"]["model"]["guest_type"]
    # When the seat rule reads Slack's own examples: a full member (GET /Users) and a guest POST /Users created
    (member,) = scim["list_users"]["response"]["Resources"]
    guest = guests["created_guest"]
    assert GUEST not in member and guest[GUEST] == {"type": "multi"}
    # Then both hold a seat, and neither once deactivated
    assert _slack_seat(member) and _slack_seat(guest)
    assert not _slack_seat({**member, "active": False}) and not _slack_seat({**guest, "active": False})
    # And a guest of a type Slack does not document as billed (a Single-Channel Guest, however SCIM v2 names it)
    # holds none, active or not
    assert not _slack_seat({**guest, GUEST: {"type": "single"}})
    assert not _slack_seat({**guest, GUEST: {"type": "ultra_restricted"}})
    # And since how v2 lists a Single-Channel Guest is not in the reference (v1.1's ultra_restricted filter is
    # "Not applicable to SCIM v2.0"), nor whether it lists bots, the seat rule stays unverified, saying so
    assert guests["v1_filter"] == {
        "Multi-Channel-Guest": "restricted",
        "Single-Channel-Guest": "ultra_restricted",
        "v2": "Not applicable to SCIM v2.0.",
    }
    bots = scim["errors"]["cannot_disable_bot_user_with_scim"]
    reason = templates()["slack"].unverified["seat"]
    assert "Not applicable to SCIM v2.0" in reason and bots.split(",")[0] in reason and "28 days" in reason


def test_slack_s_fake_lists_the_kinds_of_member_in_slack_s_shape():
    scim = spec("slack", "scim-users")
    (member,) = scim["list_users"]["response"]["Resources"]
    documented = set(member) | set(scim["guests"]["created_guest"])
    # Given the records the fake answers for sixty people
    shown = [FAKES["slack"].record(person) for person in people(60)]
    # Then every attribute the fake sends is one Slack's examples show, and its guest extension has the SDK's keys
    assert {key for record in shown for key in record} <= documented
    assert {key for r in shown if GUEST in r for key in r[GUEST]} <= set(scim["sdk"]["sample"]["guest_extension"])
    # And it lists all four kinds: full members, Multi-Channel Guests, active Single-Channel Guests, deactivated
    kinds = {("guest " + r[GUEST]["type"] if GUEST in r else "member", r["active"]) for r in shown}
    assert {("member", True), ("guest multi", True), ("guest single", True), ("member", False)} <= kinds
    # And the seat rule counts exactly those the fake says hold a seat
    assert [_slack_seat(r) for r in shown] == [FAKES["slack"].holds_seat(p) for p in people(60)]


def test_slack_reads_the_primary_e_mail_and_no_activity_as_slack_s_scim_users_carry():
    scim = spec("slack", "scim-users")
    fields = templates()["slack"].profile["users"]["fields"]
    (member,) = scim["list_users"]["response"]["Resources"]
    # Given Slack's words: Email is "emails[0]['value']", Multi-Valued and Required; "The primary email may be
    # specified by setting the `primary` sub-attribute to `true`"
    assert scim["attributes"]["profile_fields"]["Email"] == "emails[0]['value']"
    assert "setting the `primary` sub-attribute to `true`" in scim["attributes"]["emails"]
    # Then the template reads the primary address, else the first, from Slack's own example
    assert read_user(UserFields(**fields), member).email == "pamhalpert@slack-corp.com"
    assert read_user(UserFields(**fields), {**member, "emails": [{"value": "a@x.example"}]}).email == "a@x.example"
    # And no attribute of Slack's tables, of its example answer or of the SDK's User is a time of use: the
    # template reads no activity from SCIM (an SSO template gives it)
    listed = {
        *scim["attributes"]["profile_fields"].values(),
        *scim["attributes"]["custom_profile_fields"].values(),
        *member,
        *scim["sdk"]["model"]["user_fields"],
        *scim["sdk"]["model"]["meta_fields"],
    }
    assert [name for name in listed if re.search(r"last|login|seen|activ(?!e$)|sign", name, re.I)] == []
    assert "last_activity" not in fields and templates()["slack"].activity is None


def test_slack_s_scim_budget_is_the_org_s_and_the_template_declares_it():
    words = spec("slack", "scim")
    declared = templates()["slack"].profile["rate_limit"]
    # Given Slack's words: the SCIM limits "apply to all SCIM apps in an org", 600 writes and 1000 reads a
    # minute; on a 429 "parse the Retry-After header"
    assert "apply to all SCIM apps in an org, not on a per-app basis" in words["rate_limits"]["says"]
    limits = words["rate_limits"]["organization_wide"]
    assert "parse the Retry-After header" in words["rate_limits"]["answer"]
    # Then the template declares an org-wide budget no larger than the lower of the two
    assert declared["scope"] == "org"
    assert declared["requests"] / declared["window_seconds"] * 60 <= min(
        v["requests_per_minute"] for v in limits.values()
    )
    # And the pacer waits for Retry-After
    assert wait_requested({"Retry-After": "3"}, now=0) == 3


# --- Zoom: npm:@zoom/rivet 0.4.0 (Zoom's SDK), Zoom's pagination page --------------------------


def _ts_fields(block: str) -> set[str]:
    """The top-level field names of one object in a TypeScript type (the users[] items, here)."""
    return set(re.findall(r"^\s{8}([a-z_]+)\??:", block, re.M))


def test_zoom_lists_users_with_the_endpoint_and_parameters_of_zoom_s_sdk():
    sdk, words = spec("zoom", "users"), spec("zoom", "pagination")
    users = templates()["zoom"].profile["users"]
    # Given Zoom's listUsers: GET /users, with status, page_size and next_page_token
    assert 'method: "GET"' in sdk["endpoints"]["listUsers"] and "`/users`" in sdk["endpoints"]["listUsers"]
    query = sdk["types"]["UsersListUsersQueryParams"]
    pagination = users["pagination"]
    # Then the template sends only those, status one of Zoom's values
    for name in (pagination["cursor_param"], pagination["limit_param"], *users["params"]):
        assert re.search(rf"^\s+{name}\?:", query, re.M), name
    assert f'"{users["params"]["status"]}"' in query
    # And reads the next token where the answer has it: "the next_page_token value will be an empty
    # string" on the last page
    assert re.search(r"^\s{4}next_page_token\?: string;", sdk["types"]["UsersListUsersResponse"], re.M)
    assert "next_page_token value will be an empty string" in words["next_page_token"][0]
    # At most the 300 a page Zoom allows ("Light data retrieval: Up to 300 items per page"; page_size's maximum)
    assert "Up to 300 items per page" in words["response_limits"]["light"]
    assert pagination["page_size"] <= words["openapi_v2_page_size"]["maximum"] == 300


def test_zoom_reads_only_fields_zoom_s_users_carry_and_its_fake_sends_no_other():
    sdk = spec("zoom", "users")
    declared = _ts_fields(sdk["types"]["UsersListUsersResponse"])
    # Then every field the template maps is one of the users[] fields of Zoom's answer
    read = _fields("zoom", *templates()["zoom"].profile["users"]["fields"])
    assert read and read - declared == set()
    # And the fake's users carry no field Zoom's type does not have
    assert set().union(*(FAKES["zoom"].record(p) for p in people(10))) - declared == set()
    assert "lastSeen" not in declared


def test_zoom_reclaims_with_update_user_and_a_type_zoom_s_sdk_takes():
    sdk = spec("zoom", "users")
    reclaim = templates()["zoom"].profile["reclaim"]
    # Given Zoom's updateUser: PATCH /users/{userId}, whose body has type?: 1 | 2 | 4 | 99
    assert (
        'method: "PATCH"' in sdk["endpoints"]["updateUser"] and "`/users/${userId}`" in sdk["endpoints"]["updateUser"]
    )
    assert re.search(r"^\s+type\?: 1 \| 2 \| 4 \| 99;", sdk["types"]["UsersUpdateUserRequestBody"], re.M)
    # Then the template's reclaim is that request with one of those types
    assert (reclaim["method"], reclaim["path"], reclaim["body"]) == ("PATCH", "/users/{id}", {"type": 1})


def test_zoom_counts_a_seat_for_the_licensed_type_2_alone_as_zoom_bills_it():
    sdk, words = spec("zoom", "users"), spec("zoom", "user-types")
    template = templates()["zoom"]
    fields = UserFields.model_validate(template.profile["users"]["fields"])
    # Given Zoom's words ("Zoom user types & roles", read 2026-12-07): "A basic user is a user without a paid
    # license", "A licensed user is a paid account user"; Zoom's own OpenAPI v2 (zoom/api at 44299823) numbers the
    # user's type 1 basic, 2 pro (the paid type, named Licensed since), and its SDK types it 1 | 2 | 4 | 99
    assert "A basic user is a user without a paid license." in words["user_types"]["basic"]
    assert "A licensed user is a paid account user" in words["user_types"]["licensed"]
    described = words["openapi_v2_user_type"]
    assert dict(zip(described["enum"], described["x-enum-descriptions"], strict=True))[1] == "basic"
    assert dict(zip(described["enum"], described["x-enum-descriptions"], strict=True))[2] == "pro"
    assert re.search(r"^\s{8}type: 1 \| 2 \| 4 \| 99;", sdk["types"]["UsersListUsersResponse"], re.M)
    # When the template reads a user of each type the SDK has
    held = {kind: read_user(fields, {"id": "z", "email": "a@b.c", "type": kind}).active for kind in (1, 2, 4, 99)}
    # Then type 2 alone holds a seat: Basic, the 2024 kind without Meetings (4) and None (99) do not
    assert held == {1: False, 2: True, 4: False, 99: False}
    assert "who don't have the ability to schedule or host meetings" in " ".join(words["no_meetings"].split())
    # And the seat rule is confirmed, no longer a reason for a real run to wait
    assert "seat" not in template.unverified
    assert template.profile["users"]["fields"]["tier"] == "type == `2` && 'Licensed' || 'Basic'"


def test_zoom_s_fake_lists_users_of_each_type_and_only_type_2_holds_a_seat():
    shown = [(FAKES["zoom"].record(p), FAKES["zoom"].holds_seat(p)) for p in people(120)]
    fields = UserFields.model_validate(templates()["zoom"].profile["users"]["fields"])
    # Then the fake lists every type Zoom's SDK has, and the rule counts exactly the fake's seat holders
    assert {r["type"] for r, _ in shown} == {1, 2, 4, 99}
    assert [read_user(fields, r).active for r, _ in shown] == [held for _, held in shown]
    assert {r["type"] for r, held in shown if held} == {2}


def test_zoom_s_budget_is_the_account_s_and_its_429_is_read_generically():
    words = spec("zoom", "rate-limits")
    declared = templates()["zoom"].profile["rate_limit"]
    # Given Zoom's words: a limit exceeded answers "a HTTP 429 status code"; limits "are applied at the account
    # level ... shared by users for all apps installed on the account", and depend on the plan
    assert "return a HTTP 429 status code" in words["says"]
    assert any("shared by users for all apps installed on the account" in d for d in words["details"])
    # Then the template spends only its share of that org-wide budget, and declares no number (the plan sets it)
    assert declared == {"scope": "org"}
    # And, as Zoom documents no header, a 429 without one is a refusal the pacer backs off from (AIMD)
    assert wait_requested({}, now=0) is None


# --- Webex: People, REST API basics and rate limiting pages (read 2026-12-06) ----------------


def test_webex_lists_people_paging_by_link_header_as_webex_documents():
    words = spec("webex", "people")
    users = templates()["webex"].profile["users"]
    # Given Webex's words: the list of People needs spark-admin:people_read; pages follow RFC 5988's
    # Link header, rel="next", with max as the page size
    assert "Viewing the list of all People in your organization requires" in words["people"]["says"]
    assert "Link header containing the URLs to the first, next, and previous page" in words["pagination"]["says"]
    assert "/v1/people?" in words["pagination"]["example"] and "&max=10&" in words["pagination"]["example"]
    # Then the template lists /people with max and follows the Link header
    assert (templates()["webex"].profile["base_url"], users["path"]) == ("https://webexapis.com/v1", "/people")
    assert (users["pagination"]["type"], users["pagination"]["limit_param"]) == ("link_header", "max")
    assert "spark-admin:people_read" in templates()["webex"].profile["auth"]["scopes"]


def test_webex_s_429_carries_retry_after_which_the_pacer_waits_for():
    words = spec("webex", "people")
    # Given Webex's words: "Every rate limited request will have a 429 response with a retry-after header"
    assert "429 response with a retry-after header included" in words["rate_limiting"]["says"]
    # Then the pacer waits that long
    assert wait_requested(dict([words["rate_limiting"]["example"].split(": ")]), now=0) == 4


def test_webex_reads_the_e_mail_and_the_last_activity_cisco_s_sdk_documents_on_a_person():
    words = spec("webex", "python-sdk")
    fields = templates()["webex"].profile["users"]["fields"]
    person = words["person"]
    # Given Cisco's Person: emails "The email addresses of the person" (a list of strings, as people are created
    # with), lastActivity "The date and time of the person's last activity within Webex"
    assert person["emails"] == "The email addresses of the person."
    assert "(list of strings)" in words["people_list"]["create_emails"]
    assert "last activity within Webex" in person["lastActivity"]
    # Then the template reads the first address and that time
    assert (fields["email"], fields["last_activity"]) == ("emails[0]", "lastActivity")
    # And every field it maps, and every field the fake answers with, is a property of Cisco's Person
    declared = set(person["properties"])
    assert _fields("webex", *fields) - declared == set()
    assert set().union(*(FAKES["webex"].record(p) for p in people(10))) - declared == set()
    # Webex's words: presence properties "such as `status` or `lastActivity`" are not shown "if the authenticated
    # user has disabled status sharing": such a person has no activity and is unknown, never stale by default
    assert "Presence information will not be shown" in words["people_list"]["says"]


def test_webex_s_page_size_and_seat_rule_stay_unverified_with_cisco_s_words():
    words = spec("webex", "python-sdk")
    template = templates()["webex"]
    # Given Cisco's words: max limits "the maximum number of items returned ... per request" (no number), licenses
    # is "An list of license strings allocated to this person"
    assert "Limit the maximum number of items returned" in words["people_list"]["max"]
    assert words["person"]["licenses"] == "An list of license strings allocated to this person."
    # Then the seat rule, which counts any license, and the size 1000 say why they are unverified
    assert template.profile["users"]["fields"]["active"] == "length(licenses || `[]`) > `0` && loginEnabled != `false`"
    assert "An list of license strings allocated to this person" in template.unverified["seat"]
    assert "Limit the maximum number of items" in template.unverified["page_size"]
    assert set(template.unverified) == {"page_size", "seat", "reclaim"}


# --- Dropbox: dropbox/dropbox-api-spec team.stone (0d994ebe) --------------------------------


def _stone_fields(block: str) -> dict[str, str]:
    """A stone struct's fields and their types (`    name Type`), its docs left out."""
    return dict(re.findall(r"^    ([a-z_]+) ([A-Za-z_.0-9]+(?:\([^)]*\))?\??)", block, re.M))


def _dropbox_declared() -> dict[str, set[str]]:
    stone = spec("dropbox", "team-members")["stone"]
    profile = _stone_fields(stone["struct MemberProfile"]) | _stone_fields(
        stone["struct TeamMemberProfile extends MemberProfile"]
    )
    return {
        "member": set(_stone_fields(stone["struct TeamMemberInfoV2"])),
        "profile": set(profile),
        "name": set(_stone_fields(stone["users.stone struct Name"])),
        "role": set(_stone_fields(stone["struct TeamMemberRole"])),
    }


def test_dropbox_lists_team_members_with_the_routes_and_limit_dropbox_s_stone_declares():
    stone = spec("dropbox", "team-members")["stone"]
    users = templates()["dropbox"].profile["users"]
    # Given Dropbox's routes members/list:2 and members/list/continue:2 (POST /2/team/members/list_v2 and
    # /2/team/members/list/continue_v2), and MembersListArg's limit UInt32(max_value=1000, min_value=1)
    assert "route members/list:2" in stone and "route members/list/continue:2" in stone
    limit = _stone_fields(stone["struct MembersListArg"])["limit"]
    # Then the template starts at list_v2 with limit and include_removed false, and goes on with the cursor alone
    assert (users["method"], users["path"]) == ("POST", "/team/members/list_v2")
    assert set(users["body"]) <= set(_stone_fields(stone["struct MembersListArg"]))
    assert users["body"]["include_removed"] is False
    nxt = users["pagination"]["next_request"]
    assert nxt["path"] == "/team/members/list/continue_v2" and set(nxt["body"]) == set(
        _stone_fields(stone["struct MembersListContinueArg"])
    )
    maximum = int(re.search(r"max_value=(\d+)", limit).group(1))  # type: ignore[union-attr]
    assert users["pagination"]["page_size"] <= maximum == 1000
    # And reads the cursor and has_more where MembersListV2Result has them
    result = _stone_fields(stone["struct MembersListV2Result"])
    assert {users["pagination"]["cursor_path"], users["pagination"]["has_more_path"], users["records_path"]} <= set(
        result
    )


def test_dropbox_reads_only_fields_dropbox_declares_and_counts_the_licensed_members():
    stone = spec("dropbox", "team-members")["stone"]
    declared = _dropbox_declared()
    fields = templates()["dropbox"].profile["users"]["fields"]
    # Then every field the template maps is declared on a TeamMemberInfoV2 and what it holds
    for dotted in _fields("dropbox", *(key for key in fields if key != "role")):
        head, *rest = dotted.split(".")
        assert head == "profile" and rest[0] in declared["profile"], dotted
        if rest[0] == "name":
            assert rest[1] in declared["name"], dotted
    # (the role, roles[0].name: a TeamMemberInfoV2's roles, each a TeamMemberRole with a name)
    assert fields["role"] == "roles[0].name" and "roles" in declared["member"] and "name" in declared["role"]
    # Given Dropbox's words: full "User uses a license", limited "does not use a license" (and is deprecated)
    assert (
        '"User uses a license and has full access to team resources like the shared quota."'
        in stone["union_closed TeamMembershipType"]
    )
    assert "does not use a license" in stone["struct MemberProfile"]
    # Then a seat is a full member who is not removed; and a member has no activity field, as the template says
    assert fields["active"] == "profile.status.\".tag\" != 'removed' && profile.membership_type.\".tag\" == 'full'"
    assert "removed RemovedStatus" in stone["union_closed TeamMemberStatus"]
    assert not {f for f in declared["profile"] if re.search(r"activ|last|login|seen", f)}
    assert "last_activity" not in fields and templates()["dropbox"].activity_note


def test_dropbox_fake_members_carry_only_fields_dropbox_declares():
    declared = _dropbox_declared()
    for person in people(10):
        member = FAKES["dropbox"].record(person)
        # Then each level of the fake's member is one of Dropbox's structs, and unions are {".tag": ...}
        assert set(member) <= declared["member"]
        assert set(member["profile"]) <= declared["profile"]
        assert set(member["profile"]["name"]) <= declared["name"]
        assert all(set(role) <= declared["role"] for role in member["roles"])
        assert {member["profile"]["status"][".tag"], member["profile"]["membership_type"][".tag"]} <= {
            "active",
            "full",
            "limited",
        }
    assert {"lastSeen"} - declared["profile"] == {"lastSeen"}


def test_dropbox_removes_members_with_the_route_dropbox_declares_and_the_template_says_data_is_at_risk():
    stone = spec("dropbox", "team-members")["stone"]
    template = templates()["dropbox"]
    reclaim = template.profile["reclaim"]
    route = stone["route members/remove"]
    # Given Dropbox's members/remove and its arguments (with those it extends)
    arguments = (
        _stone_fields(stone["struct MembersRemoveArg extends MembersDeactivateArg"])
        | _stone_fields(stone["struct MembersDeactivateArg extends MembersDeactivateBaseArg"])
        | _stone_fields(stone["struct MembersDeactivateBaseArg"])
    )
    # Then the template's request is that route with arguments it takes, selecting by team_member_id
    assert (reclaim["method"], reclaim["path"]) == ("POST", "/team/members/remove")
    assert set(reclaim["body"]) <= set(arguments)
    assert reclaim["body"]["user"][".tag"] in _stone_fields(stone["union_closed UserSelectorArg"])
    # Dropbox's words: accounts can be recovered "for a 7 day period", files transferred "for a limited
    # time ... (180 days for most teams)"; wipe_data "controls if the user's data will be deleted on their
    # linked devices" and defaults to true
    assert "for a 7 day period" in route and "(180 days for most teams)" in route
    assert "wipe_data Boolean = true" in stone["struct MembersDeactivateArg extends MembersDeactivateBaseArg"]
    # Then the template sends wipe_data false (the default would wipe devices) and says data is at risk
    assert reclaim["body"]["wipe_data"] is False
    assert template.reclaim is not None and template.reclaim.loses_data is True
    assert "7 days" in template.reclaim.note and "180 days" in template.reclaim.note


# --- Box: box/box-openapi openapi.json (c9a878a9), Box's rate limit guides -------------------


def test_box_users_have_no_activity_field_as_the_template_says():
    document = spec("box", "users")
    record = record_schema(document, response_schema(document, "GET", "/users"), "entries")

    def properties_of(node: Any) -> set[str]:
        node = deref(document, node)
        found = set(node.get("properties", {}))
        for part in node.get("allOf", []):
            found |= properties_of(part)
        return found

    properties = properties_of(record)
    # Then Box's user declares no last-activity or last-login field (login is the e-mail)
    assert "login" in properties and not {p for p in properties if re.search(r"activ|last_|login_at|seen", p)}
    assert "last_activity" not in templates()["box"].profile["users"]["fields"] and templates()["box"].activity_note


def test_box_answers_429_with_retry_after_which_the_pacer_waits_for():
    words = spec("box", "rate-limits")
    # Given Box's words: "The response includes a retry-after header with the number of seconds to wait."
    assert "retry-after header with the number of seconds to wait" in words["says"]
    # Then the pacer waits that long
    # (header names are case-insensitive on the wire, as in the answers the client reads)
    assert wait_requested(CaseInsensitiveDict(dict([words["example"].split(": ")])), now=0) == 100


# --- Salesforce: REST API Developer Guide, Query (read 2026-12-06) --------------------------


def test_salesforce_queries_users_and_follows_next_records_url_as_salesforce_documents():
    words = spec("salesforce", "query")
    template = templates()["salesforce"]
    users = template.profile["users"]
    # Given Salesforce's words: GET /services/data/vXX.X/query?q=, up to 2,000 records a batch, the next
    # batch at nextRecordsUrl, the records in records; batchSize "can range from 200 to 2,000"
    assert (words["method"], words["uri"]) == ("GET", "/services/data/vXX.X/query?q=query")
    assert "the URI of the next set of records (nextRecordsUrl)" in words["response"]
    assert "up to 2,000 records can be returned at a time" in words["says"]
    assert "can range from 200 to 2,000" in words["batch_size"]
    # Then the template queries there, follows nextRecordsUrl, reads records
    assert re.fullmatch(r"/services/data/v\d+\.\d/query", users["path"]) and "q" in users["params"]
    assert users["params"]["q"].startswith("SELECT ") and " FROM User " in users["params"]["q"]
    assert (users["pagination"]["type"], users["pagination"]["next_url_path"], users["records_path"]) == (
        "next_url",
        "nextRecordsUrl",
        "records",
    )
    # And asks for batches within Salesforce's range
    size = int(template.profile["headers"]["Sforce-Query-Options"].removeprefix("batchSize="))
    assert 200 <= size <= 2000


def test_salesforce_reads_the_user_s_e_mail_and_last_successful_login_as_its_object_reference_describes_them():
    words = spec("salesforce", "user-object")["fields"]
    template = templates()["salesforce"]
    users = template.profile["users"]
    # Given Salesforce's words: Email is "Required. The user's email address."; LastLoginDate "The date and time when
    # the user last successfully logged in. This value is updated if 60 seconds elapses since the user's last login."
    assert words["Email"]["description"].startswith("Required. The user") and words["Email"]["type"] == "email"
    assert words["LastLoginDate"]["description"].startswith(
        "The date and time when the user last successfully logged in."
    )
    assert "updated if 60 seconds elapses" in words["LastLoginDate"]["description"]
    # Then the template selects and reads those fields, and says the activity is a successful login, once a minute
    selected = set(re.findall(r"\b[A-Z]\w*(?:\.\w+)?", users["params"]["q"].split(" FROM ")[0].removeprefix("SELECT ")))
    assert {"Email", "LastLoginDate", "IsActive"} <= selected
    assert (users["fields"]["email"], users["fields"]["last_activity"]) == ("Email", "LastLoginDate")
    assert template.activity is not None and template.activity.field == "User.LastLoginDate"
    assert "successful login" in template.activity.meaningful and "60 seconds" in template.activity.meaningful


def test_salesforce_counts_standard_users_and_says_which_license_kinds_it_leaves_out():
    words = spec("salesforce", "user-object")
    user_type = words["fields"]["UserType"]
    template = templates()["salesforce"]
    # Given Salesforce's words: UserType is "The category of user license"; Standard "also includes Salesforce
    # Platform and Salesforce Platform One user licenses"; the other values are partner, portal, Chatter Free, Guest
    assert user_type["description"].startswith("The category of user license.")
    assert (
        "also includes Salesforce Platform and Salesforce Platform One user licenses" in user_type["values"]["Standard"]
    )
    assert "Label is Chatter Free." in user_type["values"]["CsnOnly"]
    # Then the query keeps the Standard users, and the description names every other kind it leaves out
    assert "WHERE UserType = 'Standard'" in template.profile["users"]["params"]["q"]
    assert all(kind in template.description for kind in user_type["values"] if kind != "Standard")
    # And the seat rule reads IsActive, which "Indicates whether the user has access to log in"; that an inactive user
    # holds no license Salesforce says elsewhere, not read: the seat stays unverified, saying so
    assert words["fields"]["IsActive"]["description"].startswith(
        "Indicates whether the user has access to log in (true)"
    )
    assert template.profile["users"]["fields"]["active"] == "IsActive"
    assert "Considerations for Deactivating Users" in template.unverified["seat"]


def test_salesforce_s_reclaim_note_says_what_deactivating_does_to_chatter_follows():
    usage = spec("salesforce", "user-object")["usage"]
    template = templates()["salesforce"]
    # Given Salesforce's words: a deactivated user's subscriptions "are soft deleted" and restored on reactivation,
    # but "if you deactivate multiple users at once and these users follow each other, their subscriptions are hard
    # deleted" and "can't be restored upon user reactivation"
    assert "are soft deleted. If the user is reactivated, the subscriptions are restored." in usage["subscriptions"]
    assert "if you deactivate multiple users at once and these users follow each other" in usage["subscriptions"]
    # Then the note says so, and whether a reclamation loses data stays unverified, quoting it
    assert template.reclaim is not None and "deactivated at once lose them for good" in template.reclaim.note
    assert "if you deactivate multiple users at once" in template.unverified["loses_data"]
    # And IsActive is a field the API may update ("You can modify a User's active status ... via the API"), while the
    # sObject Rows request stays unverified
    assert "Update" in spec("salesforce", "user-object")["fields"]["IsActive"]["properties"]
    assert (
        template.profile["reclaim"]["body"] == {"IsActive": False} and "sObject Rows" in template.unverified["reclaim"]
    )


# --- SCIM 2.0: RFC 7643's schema representation (pypi:scim2-server 0.8.3), RFC 9865's source ------
# (ietf-scim-wg/draft-ietf-scim-cursor-pagination 07c16ba1), RFC 7644 as pypi:scim2-models 0.12.3 quotes it


def _scim_schema(name: str) -> dict[str, Any]:
    return next(s for s in spec("scim", "rfc7643-schemas")["schemas"] if s["name"] == name)


def _scim_attribute(name: str) -> dict[str, Any]:
    return next(a for a in _scim_schema("User")["attributes"] if a["name"] == name)


def test_scim2_lists_users_at_the_endpoint_of_rfc7643_s_user_resource_type():
    schemas, words = spec("scim", "rfc7643-schemas"), spec("scim", "rfc7644-protocol")["rfc9865"]
    users = templates()["scim2"].profile["users"]
    # Given RFC 7643's User resource type: endpoint /Users, schema the core User
    (user,) = schemas["resource_types"]
    assert (user["endpoint"], user["schema"]) == ("/Users", "urn:ietf:params:scim:schemas:core:2.0:User")
    # Then the template lists that endpoint, asking for SCIM's media type as RFC 9865's examples do
    assert users["path"] == user["endpoint"] and words["example_request"].startswith("GET /Users?")
    assert f"Accept: {templates()['scim2'].profile['headers']['Accept']}" in words["example_request"]


def test_scim2_pages_by_start_index_and_count_as_the_scim_rfcs_define():
    document = spec("scim", "rfc7644-protocol")
    words, rfc7644 = document["rfc9865"], document["rfc7644_as_quoted_by_scim2_models"]
    pagination = templates()["scim2"].profile["users"]["pagination"]
    # Given the working group's words: index-based pagination is RFC 7644 section 3.4.2.4's, asked for with
    # startIndex; count "Specifies the desired maximum number of query results per page"; totalResults "the total
    # number of resources for all pages"; and RFC 7644's "1-based index of the first query result"
    assert "index-based pagination defined in Section 3.4.2.4 of [RFC7644]" in words["introduction"]
    assert "clients can use the 'startIndex' and 'cursor' query parameters" in words["default_pagination_method"]
    assert "Specifies the desired maximum number of query results per page" in words["count"]
    assert "totalResults which is the total number of resources for all pages" in words["total_results"]
    assert "1-based index of the first query result" in rfc7644["request_start_index"]
    # Then the template pages by offset from 1 with startIndex and count, and stops at totalResults
    assert (pagination["type"], pagination["offset_param"], pagination["limit_param"]) == (
        "offset",
        "startIndex",
        "count",
    )
    assert pagination["first_offset"] == 1 and pagination["total_path"] == "totalResults"
    # And reads the users from a ListResponse's Resources
    assert templates()["scim2"].profile["users"]["records_path"] == "Resources"
    assert (
        '"Resources":[{' in words["example_response"] and rfc7644["list_response_schema"] in words["example_response"]
    )


def test_scim2_reads_the_e_mail_and_the_names_from_attributes_rfc7643_s_user_declares():
    users = templates()["scim2"].profile["users"]
    emails = _scim_attribute("emails")
    # Given RFC 7643's emails: multi-valued, complex, with value and primary ("The primary attribute value 'true'
    # MUST appear no more than once")
    assert emails["type"] == "complex" and emails["multiValued"] is True
    sub = {a["name"]: a for a in emails["subAttributes"]}
    assert {"value", "primary"} <= set(sub) and "MUST appear no more than once" in sub["primary"]["description"]
    # Then the template reads the primary address, else the first one
    assert users["fields"]["email"] == "(emails[?primary].value | [0]) || emails[0].value"
    # And every other field of a user it maps (bar id and meta, RFC 7643's common attributes) is the User's
    declared = set(_scim_schema("User")["attribute_names"]) | {"name.formatted"}
    read = _fields("scim2", "email", "name", "active", "role") - {"primary", "value"}
    assert read and read - declared == set(), read - declared
    assert _scim_attribute("userName")["required"] is True


def test_scim2_s_users_carry_no_last_activity_attribute_as_the_template_says():
    # Given every attribute name of RFC 7643's User and its enterprise extension
    names = [*_scim_schema("User")["attribute_names"], *_scim_schema("EnterpriseUser")["attribute_names"]]
    # Then none is a last activity or a last sign-in (active is the administrative status, not a time)
    assert "active" in names and not [n for n in names if re.search(r"last|login|seen|activity", n, re.I)]
    template = templates()["scim2"]
    assert "last_activity" not in template.profile["users"]["fields"]
    assert template.activity_note and "no standard last-activity attribute" in template.activity_note


def test_scim2_deactivates_with_the_patch_op_rfc7644_defines_on_rfc7643_s_writable_active():
    words = spec("scim", "rfc7644-protocol")["rfc7644_as_quoted_by_scim2_models"]
    template = templates()["scim2"]
    reclaim = template.profile["reclaim"]
    # Given RFC 7644 section 3.5.2's PatchOp (its URN, its operations "add", "remove", or "replace") and RFC 7643's
    # active: boolean, readWrite
    assert "RFC7644 §3.5.2" in words["patch_op"] and 'MAY be one of "add", "remove",' in words["patch_operation_op"]
    active = _scim_attribute("active")
    assert (active["type"], active["mutability"]) == ("boolean", "readWrite")
    # Then the template PATCHes the user with that message, replacing active by false
    assert (reclaim["method"], reclaim["path"]) == ("PATCH", "/Users/{id}")
    assert reclaim["body"]["schemas"] == [words["patch_op_schema"]]
    assert reclaim["body"]["Operations"] == [{"op": "replace", "path": "active", "value": False}]
    # And scim2-models, which implements the message, reads it as a patch of a User (and refuses what it is not)
    assert PatchOp[User].model_validate(reclaim["body"]).operations[0].path == "active"
    with pytest.raises(ValidationError):
        PatchOp[User].model_validate({**reclaim["body"], "Operations": [{"op": "deactivate", "path": "active"}]})
    assert template.reclaim is not None and template.reclaim.effect == "deactivate"


def test_scim2_s_rate_limit_answer_is_rfc6585_s_429_read_generically():
    words = spec("scim", "rfc7644-protocol")["rfc9865"]
    # Given the working group's words: rate limiting "should adhere to established standards for rate limiting,
    # details of which can be found in [RFC6585]" (429 Too Many Requests); errors are RFC 7644 section 3.12's
    assert "details of which can be found in [RFC6585]" in words["rate_limiting"]
    assert "Section 3.12 of [RFC7644]" in words["errors"]
    # Then the pacer waits for a Retry-After, backs off from a bare 429, and the template declares no budget
    assert wait_requested({"Retry-After": "5"}, now=0) == 5 and wait_requested({}, now=0) is None
    assert "rate_limit" not in templates()["scim2"].profile


def test_scim2_s_page_size_seat_and_data_loss_stay_unverified_in_the_standards_own_words():
    words = spec("scim", "rfc7644-protocol")["rfc9865"]
    template = templates()["scim2"]
    # Given the RFCs' words: a provider "MAY return fewer results" than count asks; active is only the User's
    # "administrative status"
    assert "although it MAY return fewer results" in words["count"]
    assert _scim_attribute("active")["description"] == "A Boolean value indicating the User's administrative status."
    # Then the three facts no standard can settle say why, and a real run waits for an admin (contract test)
    assert set(template.unverified) == {"page_size", "seat", "loses_data"}
    assert "MAY return fewer results" in template.unverified["page_size"]
    assert "administrative status" in template.unverified["seat"]
    assert "administrative status" in template.unverified["loses_data"]


# --- the extracts of share a say where they come from ----------------------------------------


@pytest.mark.parametrize("path", sorted({p for facts in CONFIRMS.values() for ps in facts.values() for p in ps}))
def test_each_extract_share_a_cites_exists_and_names_its_source(path):
    text = (SPECS.parent.parent / path).read_text(encoding="utf-8")
    source = yaml.safe_load(text)["x-source"]
    assert text.startswith("# Extract of ")
    assert {"repository", "path", "commit"} <= set(source) or {"url", "read"} <= set(source), source
