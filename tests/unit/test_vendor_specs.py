"""The catalog's templates and our vendor fakes, against the vendors' own API descriptions.

Each test names the document it follows: an extract in tests/vendor_specs/<vendor>/, cut from
the vendor's published document by scripts/vendor_extract.py (its `x-source` says from where).
Where the vendor contradicts what a template used to say, the test quotes the vendor's words.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml

from seatkeeper.identity import provider as identity_provider
from seatkeeper.profiles.catalog import templates
from seatkeeper.profiles.model import UserMatching
from tests.vendor_fakes import ATLASSIAN_NEEDS, people, vendors
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

ROOT = Path(__file__).parents[2]
OKTA = "okta", "management"  # okta/okta-management-openapi-spec dist/2026.06.3/management-minimal.yaml
FAKES = vendors("http://127.0.0.1:1")
# Facts a template relies on that its vendor's document does not declare: each is marked
# unverified in the template ("verified": false), which makes its reclaim a dry run by default.
KNOWN_UNDECLARED: dict[str, set[str]] = {"asana": {"user.email"}}


# --- the extracts say where they come from -------------------------------------------------


@pytest.mark.parametrize("extract", sorted(SPECS.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_extract_names_its_source(extract):
    # Given an extract of a vendor's document
    text = extract.read_text(encoding="utf-8")
    source = yaml.safe_load(text)["x-source"]
    # Then its header and its x-source say where it was read: a repository at a commit, or a URL on a date
    assert text.startswith("# Extract of ")
    assert {"repository", "path", "commit"} <= set(source) or {"url", "read"} <= set(source), source


def test_an_extract_cut_again_from_itself_is_the_same(tmp_path):
    # Given the Okta extract, cut by scripts/vendor_extract.py from Okta's full document
    extract = SPECS / "okta" / "management.yaml"
    cut = yaml.safe_load(extract.read_text(encoding="utf-8"))
    source = cut["x-source"]
    # When the same operations are cut from the extract itself
    again = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "vendor_extract.py"), str(extract)]
        + ["--repository", source["repository"], "--path", source["path"], "--commit", source["commit"]]
        + [f"--operation={m.upper()} {p}" for p, item in cut["paths"].items() for m in item if m != "parameters"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # Then nothing is missing: every reference the operations make was carried into the extract
    assert yaml.safe_load(again) == cut


# --- Okta: okta/okta-management-openapi-spec, dist/2026.06.3/management-minimal.yaml ---------


def test_okta_template_lists_users_with_the_operation_and_parameters_okta_documents():
    document = spec(*OKTA)
    users = templates()["okta"].profile["users"]
    # Given Okta's listUsers
    list_users = operation(document, "GET", users["path"])
    assert list_users["operationId"] == "listUsers"
    # Then the template pages with its `limit` and `after` (Link header), at the size Okta defaults to
    assert {users["pagination"]["limit_param"], "after"} <= parameter_names(document, "GET", users["path"])
    limit = next(p for p in list_users["parameters"] if deref(document, p).get("name") == "limit")
    assert users["pagination"]["page_size"] == limit["schema"]["default"] == 200


def test_okta_template_reads_only_fields_okta_declares_on_a_user():
    document = spec(*OKTA)
    users = templates()["okta"].profile["users"]
    user = response_schema(document, "GET", users["path"])["items"]
    # Given the fields the template maps from a user record
    read = set().union(*(fields_read(expression) for expression in users["fields"].values()))
    # Then Okta's User schema declares each of them
    assert read and {f for f in read if not declares(document, user, f)} == set()
    # And the statuses it counts as holding a seat are Okta's
    statuses = deref(document, deref(document, user)["properties"]["status"])["enum"]
    counted = set(re.findall(r"'([A-Z_]+)'", users["fields"]["active"]))
    assert "ACTIVE" in counted and counted <= set(statuses), counted - set(statuses)


def test_okta_fake_answers_users_in_the_shape_okta_documents():
    document = spec(*OKTA)
    schema = response_schema(document, "GET", "/api/v1/users")
    # Given the fake's page of users, with and without a sign-in
    page = [FAKES["okta"].record(person) for person in people(30)]
    # Then it validates against listUsers' 200 response and sends no field Okta does not declare
    validate(document, schema, page)
    assert undeclared(document, schema, page) == []


def test_a_field_okta_does_not_declare_fails_the_check():
    # Given a record with a field Okta does not have, and one with a field of the wrong type
    document = spec(*OKTA)
    schema = response_schema(document, "GET", "/api/v1/users")
    record = FAKES["okta"].record(people(1)[0])
    # Then each fails
    assert undeclared(document, schema, [{**record, "lastSeen": "2026-01-01T00:00:00Z"}]) == ["[].lastSeen"]
    with pytest.raises(jsonschema.ValidationError):
        validate(document, schema, [{**record, "status": "GONE"}])


def test_okta_deactivation_is_marked_as_losing_data_because_okta_says_it_is_destructive():
    document = spec(*OKTA)
    template = templates()["okta"]
    reclaim = template.profile["reclaim"]
    # Given Okta's deactivateUser, the operation the template reclaims with
    deactivate = operation(document, reclaim["method"], reclaim["path"])
    assert deactivate["operationId"] == "deactivateUser"
    # Okta's words:
    assert "Deactivating a user is a **destructive** operation" in deactivate["description"]
    assert "might destroy their data such as email or files" in deactivate["description"]
    assert "**This action cannot be recovered!**" in deactivate["description"]
    # Then the template says so, and a real run warns
    assert template.reclaim is not None and template.reclaim.loses_data is True
    assert "destructive" in template.reclaim.note


def test_okta_fake_leaves_deactivated_users_out_of_the_list_as_okta_does():
    document = spec(*OKTA)
    # Okta's words on listUsers:
    assert (
        "omits users that have a status of `DEPROVISIONED`"
        in operation(document, "GET", "/api/v1/users")["description"]
    )
    # Then the fake shows no DEPROVISIONED user, and a reclaimed user leaves the list
    assert {FAKES["okta"].record(p)["status"] for p in people(30)} <= {"ACTIVE", "SUSPENDED"}
    assert FAKES["okta"].removes is True


# --- Atlassian: https://developer.atlassian.com/cloud/admin/changelog/ (read 2026-12-06) ------

ATLASSIAN_TEMPLATES = ["atlassian", "confluence", "jira"]


@pytest.mark.parametrize("name", ATLASSIAN_TEMPLATES)
def test_atlassian_templates_suspend_with_the_v2_api_not_the_one_stopped_after_june_2026(name):
    changelog = spec("atlassian", "admin-changelog")
    reclaim = templates()[name].profile["reclaim"]
    # Given Atlassian's changelog: "The following v1 APIs will stop working after June 30, 2026:"
    assert "will stop working after June 30, 2026" in changelog["changelog"]["says"]
    assert "POST /v1/orgs/{orgId}/directory/users/{accountId}/suspend-access" in changelog["changelog"]["removed"]
    # Then no Atlassian template reclaims with the v1 suspend-access
    assert "suspend-access" not in reclaim["path"]
    # And each uses the v2 suspend Atlassian made generally available, per directory
    v2 = "POST /v2/orgs/{orgId}/directories/{directoryId}/users/{accountId}/suspend"
    assert v2 in changelog["announcement"]["generally_available"]
    shape = v2.split(" ")[1].replace("{orgId}", "<org-id>").replace("{directoryId}", "<directory-id>")
    assert (reclaim["method"], reclaim["path"]) == ("POST", shape.replace("{accountId}", "{id}"))
    # And the fake, filled in as a person would, answers only that request
    assert ATLASSIAN_NEEDS["reclaim.path"].endswith("/users/{id}/suspend")
    assert "reclaim.path" in templates()[name].needs and "users.path" in templates()[name].needs


# --- every template with an OpenAPI source: the same checks, from the vendor's document -------


@dataclass(frozen=True)
class Source:
    vendor: str
    extract: str
    prefix: str = ""  # what the template's base_url adds to the document's paths
    users_path: str | None = None  # the document's list path, where the template's is marked unverified


SOURCES = {
    "okta": Source("okta", "management"),
    "box": Source("box", "users"),  # box/box-openapi openapi.json
    "asana": Source("asana", "workspace-memberships", "/workspaces/{workspace_gid}"),  # Asana/openapi
    "hubspot": Source("hubspot", "user-provisioning"),  # HubSpot-public-api-spec-collection, User Provisioning v3
    "miro": Source("miro", "organization-members", "/v2/orgs/{org_id}"),  # miroapp/api-clients spec.json
}
PAGING_PARAMETERS = ("limit_param", "cursor_param", "offset_param", "page_param", "size_param")


def _users(name: str):
    source = SOURCES[name]
    document = spec(source.vendor, source.extract)
    users = templates()[name].profile["users"]
    if source.users_path is not None:
        # The vendor lists its users elsewhere: the template says so, and the rest is checked there.
        assert "users_path" in templates()[name].unverified
        assert source.prefix + users["path"] not in document["paths"]
        return document, users, source.users_path
    return document, users, spec_path(document, source.prefix + users["path"])


def _opt_fields(document, path: str) -> set[str]:
    """The optional fields a request may ask for by name (Asana's opt_fields enum)."""
    for reference in operation(document, "GET", path)["parameters"]:
        parameter = deref(document, reference)
        if parameter.get("name") == "opt_fields":
            return set(parameter["schema"].get("items", {}).get("enum", []))
    return set()


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_a_template_pages_with_the_parameters_its_vendor_documents(name):
    document, users, path = _users(name)
    # Given the vendor's list operation
    declared = parameter_names(document, users.get("method", "GET"), path)
    pagination = users["pagination"]
    # Then every paging parameter the template sends, and every fixed parameter, is one of its parameters
    sent = {pagination[key] for key in PAGING_PARAMETERS if key in pagination} | set(users.get("params", {}))
    assert sent - declared == set(), f"{name} sends {sent - declared}, which {path} does not take"
    # And the page size is within the vendor's maximum
    limit = next(
        deref(document, p)
        for p in operation(document, "GET", path)["parameters"]
        if deref(document, p).get("name") == pagination.get("limit_param", pagination.get("size_param"))
    )
    assert pagination["page_size"] <= limit["schema"].get("maximum", pagination["page_size"])


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_a_template_reads_fields_its_vendor_returns(name):
    document, users, path = _users(name)
    record = record_schema(document, response_schema(document, "GET", path), users["records_path"])
    optional = _opt_fields(document, path)
    # Given every field the template maps from a record
    read = set().union(*(fields_read(expression) for expression in users["fields"].values()))
    # Then the vendor's record schema declares it, or the request may ask for it by name
    missing = {f for f in read if not declares(document, record, f) and f not in optional}
    assert missing == KNOWN_UNDECLARED.get(name, set()), missing
    # And a field it reads that the vendor does not declare is marked unverified in the template
    facts = {FACT_OF.get(key, key) for key, e in users["fields"].items() for f in missing if f in fields_read(e)}
    assert facts <= set(templates()[name].unverified), facts


FACT_OF = {"active": "seat", "id": "users_path", "name": "users_path", "created_at": "users_path", "role": "seat"}


@pytest.mark.parametrize("name", sorted(n for n in SOURCES if templates()[n].reclaim is not None))
def test_a_template_reclaims_with_an_operation_its_vendor_documents(name):
    source = SOURCES[name]
    document = spec(source.vendor, source.extract)
    reclaim = templates()[name].profile["reclaim"]
    # Then the reclaim request is an operation of the vendor's, with that method
    path = spec_path(document, source.prefix + reclaim["path"])
    assert reclaim["method"].lower() in document["paths"][path]


@pytest.mark.parametrize("name", ["okta", "box", "hubspot", "miro"])
def test_a_fake_answers_only_what_its_vendor_declares(name):
    document, users, path = _users(name)
    schema = response_schema(document, "GET", path)
    # Given a page of the fake's records, in the answer's shape
    records = [FAKES[name].record(person) for person in people(20)]
    answer = records if users["records_path"] == "@" else {users["records_path"]: records}
    # Then it validates against the vendor's 200 answer and carries no field the vendor does not declare
    validate(document, schema, answer)
    assert undeclared(document, schema, answer) == []


# --- Microsoft Graph: https://learn.microsoft.com/graph/api/resources/signinactivity (read 2026-12-06)


def test_microsoft_graph_counts_only_successful_sign_ins_as_activity():
    words = spec("microsoft_graph", "signinactivity")
    fields = templates()["microsoft_graph"].profile["users"]["fields"]
    # Given Microsoft's words: signInActivity gives the last sign-in *attempt*; only
    # lastSuccessfulSignInDateTime is "the last successful sign-in time for a specific user"
    assert "sign-in attempt time" in words["says"]
    assert "the last successful sign-in time for a specific user" in words["successful"]
    assert "whether it succeeded or not" in words["properties"]["lastSignInDateTime"]
    # Then the template reads last activity from the successful sign-ins alone, with no fallback to
    # a field that a failed attempt moves forward
    read = fields_read(fields["last_activity"])
    assert read == {"signInActivity.lastSuccessfulSignInDateTime"}
    assert not read & {f"signInActivity.{p}" for p in ("lastSignInDateTime", "lastNonInteractiveSignInDateTime")}


# --- Microsoft Graph: users by id, app role assignments (tests/vendor_specs/microsoft_graph/users_by_id.yaml)


def test_an_entra_app_s_people_are_read_by_id_fifteen_at_a_time_with_the_fields_graph_returns_only_on_select():
    words = spec("microsoft_graph", "users_by_id")
    # Given Microsoft's words: a user's id supports `in`, an `in` clause holds 15 expressions by default,
    # and accountEnabled (who left) is returned only on $select
    assert "Supports `$filter` (`eq`, `ne`, `NOT`, `in`)" in words["user"]["id"]
    assert "limited to 15 expressions in the filter clause by default" in words["known_issues"]["in_operator"]
    assert "Returned only on `$select`" in words["user"]["accountEnabled"]
    ids = [f"0000beef-0000-4000-8000-{i:012d}" for i in range(identity_provider.ENTRA_IDS_PER_REQUEST)]
    # When seatkeeper asks for the people of an app's assignments
    query = identity_provider.assigned_people_query(ids)
    # Then it asks by id with `in`, never more than 15 at once, and selects accountEnabled
    assert query.path == "/users"
    assert re.fullmatch(r"id in \('[^']+'(,'[^']+'){14}\)", query.params["$filter"])
    assert "accountEnabled" in query.params["$select"].split(",")
    with pytest.raises(ValueError):
        identity_provider.assigned_people_query([*ids, "one-more"])


def test_an_entra_group_assignment_names_no_person_to_read():
    words = spec("microsoft_graph", "users_by_id")
    # Given Graph's words: a principal is a `User`, a `Group` or a `ServicePrincipal`, and a group's members
    # hold the role through the group
    assert "`User`, `Group` or `ServicePrincipal`" in words["appRoleAssignment"]["principalType"]
    assert "direct members of the group are also considered" in words["appRoleAssignment"]["says"]
    # When the staged assignments of an app name two people and a group
    staged = [{"id": "u2"}, {"id": "u1"}, {"id": "g1", "assigned_via_group": "Design team"}, {"id": "u1"}]
    # Then only the people are read, each once, in a stable order (a resumed reading finds its place)
    assert identity_provider.assigned_person_ids(staged) == ["u1", "u2"]


# --- Microsoft Graph: users by address (tests/vendor_specs/microsoft_graph/users_by_address.yaml) ------


def test_an_app_s_own_accounts_are_looked_up_in_entra_by_mail_or_principal_name_fifteen_at_a_time():
    words = spec("microsoft_graph", "users_by_address")
    # Given Microsoft's words: mail and userPrincipalName support `in`; the aliases in proxyAddresses do not
    assert "`in`" in words["user"]["mail"] and "`in`" in words["user"]["userPrincipalName"]
    assert "`in`" not in words["user"]["proxyAddresses"]
    addresses = [f"User{i}@Tenant.Example" for i in range(identity_provider.ENTRA_IDS_PER_REQUEST)]
    # When seatkeeper asks for the people of an app's own accounts
    by_mail = identity_provider.people_by_address_query("mail", addresses)
    by_name = identity_provider.people_by_address_query("userPrincipalName", ["o'neil@tenant.example"])
    # Then it asks by mail or by principal name with `in`, as the app spells them, never more than 15 at once
    assert by_mail.path == "/users" and "accountEnabled" in by_mail.params["$select"].split(",")
    assert re.fullmatch(r"mail in \('User0@Tenant\.Example'(,'[^']+'){14}\)", by_mail.params["$filter"])
    assert by_name.params["$filter"] == "userPrincipalName in ('o''neil@tenant.example')"  # OData doubles a quote
    with pytest.raises(ValueError):
        identity_provider.people_by_address_query("mail", [*addresses, "one-more@tenant.example"])
    with pytest.raises(ValueError):
        identity_provider.people_by_address_query("proxyAddresses", addresses[:1])


def test_an_app_s_accounts_name_each_address_once_whatever_its_case_and_their_alias_domain_as_the_idp_writes_it():
    # Given accounts with the same address in two cases, one under an alias domain, one without an address
    staged = [
        {"id": "a", "email": "Ann@Corp.example"},
        {"id": "b", "email": "ann@corp.example"},
        {"id": "c", "email": "bob@corp-old.example"},
        {"id": "d", "email": None},
        {"id": "e", "email": "not-an-address"},
    ]
    matching = UserMatching(alias_domains={"Corp-Old.example": "corp.example"})
    # When the addresses to look up are listed
    addresses = identity_provider.account_addresses(staged, matching)
    # Then each is there once, the alias under both domains, in a stable order
    assert addresses == ["Ann@Corp.example", "bob@corp-old.example", "bob@corp.example"]


# --- Miro: miroapp/api-clients packages/generator/spec.json (REST API v2) ---------------------


def test_miro_s_seat_rule_is_marked_unverified_for_the_license_kinds_miro_lists_and_it_leaves_out():
    document = spec("miro", "organization-members")
    users = templates()["miro"].profile["users"]
    record = record_schema(document, response_schema(document, "GET", "/v2/orgs/{org_id}/members"), "data")
    # Given the license kinds Miro lists for an organization member
    kinds = set(deref(document, record)["properties"]["license"]["enum"])
    assert {"advanced", "standard", "basic", "full", "occasional", "free", "free_restricted", "full_trial"} <= kinds
    # Then the seat rule names only kinds Miro has
    counted = set(re.findall(r"'([a-z_]+)'", users["fields"]["active"]))
    assert counted and counted <= kinds
    # And since it leaves out kinds whose billing no source here states, the template says so
    left_out = kinds - counted - {"free", "free_restricted", "unknown"}
    assert left_out == {"advanced", "standard", "basic", "full_trial"}
    reason = templates()["miro"].unverified["seat"]
    assert all(kind in reason for kind in ("advanced", "standard", "basic"))
