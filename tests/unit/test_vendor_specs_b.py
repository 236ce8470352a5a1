"""The catalog's templates against their vendors' own words: documentation quoted, and DocuSign's description.

Most of these vendors publish no OpenAPI document of the API a template uses (Zendesk, Smartsheet,
Calendly, monday.com's GraphQL, Notion's, Figma's and 1Password's SCIM, Adobe's UMAPI), or publish
it only on a site that was not reachable here (Atlassian). For them the extract in
tests/vendor_specs/<vendor>/ quotes the vendor's reference pages verbatim, each quote with its URL
and the date it was read (or the repository, path and commit of the vendor's documentation source),
under the fact it backs. The check is the same for every template: each name the template relies on
for a fact (a path segment, a parameter, a field, a status, a header) must be in the vendor's words.
Change a template's field to one the vendor does not name, and its test fails.

DocuSign publishes a Swagger 2 description: its template and fake are checked against it the way
tests/unit/test_vendor_specs.py checks the OpenAPI vendors.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jmespath
import jsonschema
import pytest
import requests
import yaml

from seatkeeper.licensing.reclamation import unverified_reason
from seatkeeper.profiles.catalog import ConfigurationTemplate, build_profile, templates
from seatkeeper.profiles.model import RateLimit
from seatkeeper.saas.pacing import RATE_LIMIT_PREFIXES, announced_quota
from tests.vendor_fakes import SMARTSHEET_PLAN, people, vendors
from tests.vendor_spec_checks import SPECS, declares, deref, fields_read, operation, undeclared, validate

ROOT = Path(__file__).parents[2]
FAKES = vendors("http://127.0.0.1:1")

# Each template's extract of its vendor's documentation. Keep in step with scripts/catalog_facts.py's
# DOCS_CHECKED: tests/unit/test_catalog_facts.py compares the two.
DOCS = {
    "adobe": "adobe/umapi-docs",
    "atlassian": "atlassian/organization-docs",
    "jira": "atlassian/organization-docs",
    "confluence": "atlassian/organization-docs",
    "asana": "asana/docs",
    "calendly": "calendly/docs",
    "docusign": "docusign/docs",
    "hubspot": "hubspot/docs",
    "monday": "monday/docs",
    "figma": "figma/scim-docs",
    "onepassword": "onepassword/scim-docs",
    "smartsheet": "smartsheet/docs",
    "smartsheet_ubm": "smartsheet/ubm-docs",
    "zendesk": "zendesk/docs",
}
# The headers saas/pacing.py reads, in every style it knows (X-Rate-Limit alone: Zendesk's name for its limit).
PACER_READS = {"retry-after", "x-rate-limit"} | {
    f"{prefix}-{part}".lower() for prefix in RATE_LIMIT_PREFIXES for part in ("Limit", "Remaining", "Reset")
}
# A field whose name says it is a time of use: what an "activity" field would be called.
ACTIVITY_NAME = re.compile(r"last(?!_?name)|login|logon|seen|sign_?in|activity", re.IGNORECASE)
# A parameter whose name says it sizes a page.
SIZE_NAME = re.compile(r"limit|count|size|per_page|max", re.IGNORECASE)


def docs(name: str) -> dict[str, Any]:
    return yaml.safe_load((SPECS / f"{DOCS[name]}.yaml").read_text(encoding="utf-8"))


def _static_segments(path: str) -> set[str]:
    """The segments of a path a person does not fill in: not <org-id>, not {id}."""
    return {s for s in path.split("/") if s and not s.startswith(("<", "{"))}


def _leaves(expression: str) -> set[str]:
    """The field names (last segment of each dotted path) an expression reads."""
    return {path.split(".")[-1] for path in fields_read(expression)}


def _literals(expression: str) -> set[str]:
    return set(re.findall(r"'([^']+)'", expression))


def _keys(body: Any) -> set[str]:
    if isinstance(body, dict):
        return set(body) | set().union(*(_keys(v) for v in body.values()))
    if isinstance(body, list):
        return set().union(*(_keys(v) for v in body)) if body else set()
    return set()


def claims(template: ConfigurationTemplate, fact: str) -> set[str]:
    """The names a template relies on for one fact: each must be in the vendor's words."""
    profile = template.profile
    users = profile.get("users") or {}
    pagination = users.get("pagination") or {}
    fields = users.get("fields") or {}
    reclaim = profile.get("reclaim") or {}
    if fact == "users_path":
        return _static_segments(users["path"]) | ({users["method"]} if users.get("method", "GET") != "GET" else set())
    if fact == "paging":
        named = {v for k, v in pagination.items() if k.endswith("_param") and v}
        for key in ("cursor_path", "next_url_path", "total_path", "total_pages_path", "has_more_path"):
            if pagination.get(key):
                named |= _leaves(pagination[key].lstrip("!")) - {"null"}
        return named
    if fact == "page_size":
        return {str(pagination["page_size"])} if "page_size" in pagination else set()
    if fact == "email":
        return _leaves(fields["email"])
    if fact == "last_activity":
        activity = fields.get("last_activity") or (profile.get("activity") or {}).get("fields", {}).get("last_activity")
        return _leaves(activity) if activity else set()
    if fact == "seat":
        return _leaves(fields["active"]) | _literals(fields["active"]) if "active" in fields else set()
    if fact == "reclaim":
        if not reclaim:
            return set()
        return {reclaim["method"]} | _static_segments(reclaim["path"]) | _keys(reclaim.get("body"))
    if fact == "rate_limit":
        # A declared limit must be the vendor's number (as the vendor writes it: 1,500).
        limit = profile.get("rate_limit") or {}
        return {f"{limit['requests']:,}"} if limit.get("requests") else set()
    return set()


def said(entry: dict[str, Any]) -> str:
    """A fact's quote and the quotes it adds from the vendor's other pages (`also`): all the vendor's words on it."""
    also = entry.get("also") or []
    return "\n".join([entry["quote"], *(each["quote"] for each in (also if isinstance(also, list) else [also]))])


def names(quote: str, word: str) -> bool:
    """Whether the vendor's words name `word` as a word of its own: "page" is not named by "pagination"."""
    # Letters and digits bound a word; Markdown's __bold__ underscores do not.
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(word)}(?![A-Za-z0-9])", quote) is not None


def within_maximum(template: ConfigurationTemplate, entry: dict[str, Any]) -> bool:
    """Whether the template's page is one the vendor serves, where the vendor gives only its largest."""
    return 0 < template.profile["users"]["pagination"]["page_size"] <= entry["maximum"]


def _checked() -> list[tuple[str, str]]:
    return [(name, fact) for name in sorted(DOCS) for fact in docs(name)["facts"]]


# --- every quoted extract ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DOCS))
def test_a_quoted_extract_says_where_each_quote_was_read(name):
    # Given the extract of a vendor's documentation
    extract = docs(name)
    text = (SPECS / f"{DOCS[name]}.yaml").read_text(encoding="utf-8")
    assert text.startswith("# Extract of ")
    # Then each quote names its page (a URL, or a file of the vendor's documentation at a commit)
    for fact, entry in extract["facts"].items():
        assert entry["quote"].strip(), fact
        source = entry.get("source") or extract["x-source"]
        assert isinstance(source, str) and (source.startswith("https://") or "@" in source), (fact, source)


@pytest.mark.parametrize(("name", "fact"), _checked(), ids=lambda v: v)
def test_each_name_a_template_relies_on_is_in_its_vendor_s_words(name, fact):
    template = templates()[name]
    entry = docs(name)["facts"][fact]
    quote = said(entry)
    # Given what the template relies on for this fact
    relied_on = claims(template, fact)
    # (Where the vendor gives only its largest page, the template's page is checked against that number instead)
    if fact == "page_size" and "maximum" in entry:
        assert names(quote, f"{entry['maximum']}") and within_maximum(template, entry), entry["maximum"]
        relied_on = set()
    # Then the vendor's words name each of them
    missing = {word for word in relied_on if not names(quote, word)}
    assert missing == set(), f"{name}'s {fact}: the vendor's words do not name {missing}"
    # And where the template says the vendor has no such thing, the vendor's list shows none
    if not relied_on and fact in ("last_activity", "page_size") and "maximum" not in entry:
        listed = entry["fields"] if fact == "last_activity" else entry["parameters"]
        assert listed and all(item in quote for item in listed), f"{name}'s {fact}: list not in the quote"
        pattern = ACTIVITY_NAME if fact == "last_activity" else SIZE_NAME
        assert [item for item in listed if pattern.search(item)] == [], f"{name}'s {fact}"
    # And a statement of whether reclaiming loses data is the one the vendor's words make
    if fact == "loses_data":
        assert template.reclaim is not None and template.reclaim.loses_data is entry["loses_data"]
    # And the rate-limit headers the vendor documents are in its words, and each is one the pacer reads
    # or is listed as one it does not (then the pacer adapts to the bare 429)
    if fact == "rate_limit":
        # The vendor's refusal is a 429, or it announces its quota in headers the pacer reads (Docusign's)
        read = [h for h in entry.get("headers", []) if h not in entry.get("not_read", [])]
        assert "429" in quote or read, f"{name}: neither a 429 nor a header the pacer reads"
        for header in entry.get("headers", []):
            assert header in quote, header
            assert (header.lower() in PACER_READS) is (header not in entry.get("not_read", [])), header


def test_adobe_reclaims_without_deleting_the_account_as_adobe_says_true_would():
    # Adobe's words: deleteAccount true "implies loss of account metadata and associated cloud assets"
    quote = docs("adobe")["facts"]["loses_data"]["quote"]
    assert "implies loss of account metadata and associated cloud assets" in quote
    # Then the template's removeFromOrg says false, every time
    body = templates()["adobe"].profile["reclaim"]["body"]
    assert [step["removeFromOrg"] for step in body[0]["do"]] == [{"deleteAccount": False}]


def test_a_name_the_vendor_does_not_use_fails_the_check():
    # Given Zendesk's quoted words for the e-mail field, and a template that read another field
    quote = docs("zendesk")["facts"]["email"]["quote"]
    template = templates()["zendesk"]
    users = {**template.profile["users"], "fields": {**template.profile["users"]["fields"], "email": "primary_email"}}
    moved = template.model_copy(update={"profile": {**template.profile, "users": users}})
    # Then the check finds it missing, and finds nothing missing for the template as it is
    assert {w for w in claims(moved, "email") if not names(quote, w)} == {"primary_email"}
    assert {w for w in claims(template, "email") if not names(quote, w)} == set()
    # And a name only contained in a longer word is not named: "page" is not in "pagination"
    assert not names("enforced pagination on users", "page") and names("users(page: 1)", "page")


def test_the_absence_check_finds_an_activity_field_in_a_vendor_s_list():
    # Given Adobe's quoted list of a user's fields, which has no time of use, and the same list with one
    listed = docs("adobe")["facts"]["last_activity"]["fields"]
    # Then only the second would fail
    assert not [f for f in listed if ACTIVITY_NAME.search(f)]
    assert [f for f in [*listed, "lastLogin"] if ACTIVITY_NAME.search(f)] == ["lastLogin"]


# --- DocuSign: docusign/eSign-OpenAPI-Specification esignature.rest.swagger-v2.1.json (Swagger 2.0)

DOCUSIGN_PREFIX = "/v2.1/accounts/{accountId}"
# The templates checked here against a vendor's own Swagger 2 or OpenAPI description, and its extract.
DESCRIBED = {"docusign": "docusign/users", "calendly": "calendly/organization-memberships"}


def _docusign() -> dict[str, Any]:
    return yaml.safe_load((SPECS / f"{DESCRIBED['docusign']}.yaml").read_text(encoding="utf-8"))


def _answer(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    # Swagger 2 puts a response's schema on the response itself, not under content.
    return deref(document, operation(document, method, path)["responses"]["200"])["schema"]


def _parameter(document: dict[str, Any], method: str, path: str, name: str) -> dict[str, Any]:
    return next(p for p in operation(document, method, path)["parameters"] if deref(document, p).get("name") == name)


def test_docusign_template_lists_users_with_the_parameters_docusign_documents():
    document = _docusign()
    users = templates()["docusign"].profile["users"]
    path = DOCUSIGN_PREFIX + users["path"]
    # Given DocuSign's Users_GetUsers
    assert operation(document, "GET", path)["operationId"] == "Users_GetUsers"
    declared = {deref(document, p)["name"] for p in operation(document, "GET", path)["parameters"]}
    pagination = users["pagination"]
    # Then every parameter the template sends is one of its parameters
    sent = {pagination["offset_param"], pagination["limit_param"], *users["params"]}
    assert sent <= declared, sent - declared
    # And the page size is DocuSign's most: "less than or equal to `100`"
    assert "less than or equal to `100`" in _parameter(document, "GET", path, "count")["description"]
    assert pagination["page_size"] <= 100
    # And the status it asks for and the one it counts as a seat are DocuSign's
    status = _parameter(document, "GET", path, "status")["description"]
    assert f"`{users['params']['status']}`" in status
    assert "Active" in _literals(users["fields"]["active"])
    # And additional_info, which the last login needs, is a parameter DocuSign documents
    assert users["params"]["additional_info"] == "true"


def test_docusign_template_reads_only_fields_docusign_declares():
    document = _docusign()
    users = templates()["docusign"].profile["users"]
    answer = _answer(document, "GET", DOCUSIGN_PREFIX + users["path"])
    record = deref(document, answer)["properties"][users["records_path"]]["items"]
    # Given every field the template maps from a user, and the total it pages by
    read = set().union(*(fields_read(e) for e in users["fields"].values()))
    # Then DocuSign's userInformation declares each, and userInformationList the total
    assert read and {f for f in read if not declares(document, record, f)} == set()
    assert declares(document, answer, users["pagination"]["total_path"])
    # DocuSign's words on the activity field: the last login, successful by its name
    assert (
        deref(document, record)["properties"]["lastLogin"]["description"]
        == "The date and time when the user last logged in to the system."
    )


def test_docusign_reclaim_closes_the_user_and_docusign_says_users_are_never_deleted():
    document = _docusign()
    template = templates()["docusign"]
    reclaim = template.profile["reclaim"]
    path = DOCUSIGN_PREFIX + reclaim["path"]
    # Given DocuSign's Users_DeleteUsers, the operation the template reclaims with
    delete = operation(document, reclaim["method"], path)
    assert delete["operationId"] == "Users_DeleteUsers"
    # DocuSign's words:
    assert "Users are never deleted from an account" in delete["description"]
    assert "closing a user prevents them from using account functions" in delete["description"]
    # Then the body the template sends is DocuSign's userInfoList: users[].userId
    body = next(deref(document, p) for p in delete["parameters"] if deref(document, p).get("in") == "body")
    user_info = deref(document, deref(document, body["schema"])["properties"]["users"]["items"])
    assert set(reclaim["body"]) == {"users"} and set(reclaim["body"]["users"][0]) <= set(user_info["properties"])
    # And the template says the user's data stays
    assert template.reclaim is not None and template.reclaim.loses_data is False


def test_docusign_fake_answers_users_in_the_shape_docusign_documents():
    document = _docusign()
    answer = _answer(document, "GET", DOCUSIGN_PREFIX + "/users")
    fake = FAKES["docusign"]
    # Given a page of the fake's users, in the fake's answer shape
    records = [fake.record(person) for person in people(20)]
    page = {"users": records, "resultSetSize": "20", "totalSetSize": "20", "startPosition": "0", "endPosition": "19"}
    # Then it validates against DocuSign's userInformationList and sends nothing DocuSign does not declare
    validate(document, answer, page)
    assert undeclared(document, answer, page) == []
    # And the statuses it shows are DocuSign's (Active, Closed), as the status filter spells them
    assert {r["userStatus"] for r in records} <= {
        "ActivationRequired",
        "ActivationSent",
        "Active",
        "Closed",
        "Disabled",
    }
    # And a total of the wrong type fails (DocuSign's totals are strings)
    with pytest.raises(jsonschema.ValidationError):
        validate(document, answer, {**page, "totalSetSize": 20})


# --- Calendly: its OpenAPI document ("Calendly API" 2.0.0), as speakeasy-sdks/calendly-python vendors it
# (openapi/openapi.yaml at bbc8217a, 2024-04-02); Calendly's own copy is not in the sources searched.

CALENDLY_LIST, CALENDLY_REMOVE = "/organization_memberships", "/organization_memberships/{uuid}"


def _calendly() -> dict[str, Any]:
    from tests.vendor_spec_checks import spec

    return spec("calendly", "organization-memberships")


def test_calendly_template_pages_memberships_with_the_parameters_calendly_documents():
    from tests.vendor_spec_checks import parameter_names

    document = _calendly()
    users = templates()["calendly"].profile["users"]
    pagination = users["pagination"]
    # Given Calendly's List Organization Memberships
    assert users["path"] == CALENDLY_LIST
    assert operation(document, "GET", CALENDLY_LIST)["operationId"] == "list-organization-memberships"
    # Then the cursor, the page size and the organization filter it sends are parameters Calendly takes
    sent = {pagination["cursor_param"], pagination["limit_param"], *users["params"]}
    assert sent <= parameter_names(document, "GET", CALENDLY_LIST)
    # And the page size is at most Calendly's maximum for count (100)
    count = deref(document, _parameter(document, "GET", CALENDLY_LIST, "count"))["schema"]
    assert count["maximum"] == 100 and pagination["page_size"] <= count["maximum"]
    # And the next cursor is where Calendly's Pagination gives it, null on the last page
    answer = deref(document, response_schema_of(document, CALENDLY_LIST))
    assert users["records_path"] in answer["required"]
    page = deref(document, answer["properties"]["pagination"])
    assert pagination["cursor_path"] == "pagination.next_page_token"
    assert (
        '"null" indicates no additional results are available' in page["properties"]["next_page_token"]["description"]
    )


def response_schema_of(document: dict[str, Any], path: str) -> dict[str, Any]:
    from tests.vendor_spec_checks import response_schema

    return response_schema(document, "GET", path)


def test_calendly_template_reads_only_fields_of_calendly_s_membership():
    from tests.vendor_spec_checks import record_schema

    document = _calendly()
    users = templates()["calendly"].profile["users"]
    record = record_schema(document, response_schema_of(document, CALENDLY_LIST), users["records_path"])
    # Given every field the template maps from a membership (user.email among them)
    read = set().union(*(fields_read(e) for e in users["fields"].values()))
    # Then Calendly's OrganizationMembership declares each
    assert "user.email" in read and {f for f in read if not declares(document, record, f)} == set()
    assert deref(document, record)["properties"]["user"]["properties"]["email"]["description"] == (
        "The user's email address"
    )


def test_calendly_fake_answers_memberships_in_the_shape_calendly_documents():
    from tests.vendor_fakes import Request

    document = _calendly()
    schema = response_schema_of(document, CALENDLY_LIST)
    fake = FAKES["calendly"]
    # Given a first page of 20 from the fake, asked as the template asks
    request = Request(
        "GET", CALENDLY_LIST, {"organization": [fake.needs["users.params.organization"]], "count": ["20"]}, {}, None
    )
    status, page, _ = fake.page(fake, request, [fake.record(person) for person in people(30)])
    # Then it validates against Calendly's 200 answer (every required field there) and sends nothing undeclared
    assert status == 200 and page["pagination"]["next_page_token"]
    validate(document, schema, page)
    assert undeclared(document, schema, page) == []
    # And a membership without the updated_at Calendly requires fails
    del page["collection"][0]["updated_at"]
    with pytest.raises(jsonschema.ValidationError):
        validate(document, schema, page)


def test_calendly_has_no_preset_reclaim_because_its_removal_needs_a_uuid_the_membership_gives_only_in_its_uri():
    from tests.vendor_spec_checks import record_schema

    document = _calendly()
    template = templates()["calendly"]
    # Given Calendly's Remove User from Organization, the request the reclaim note names
    remove = operation(document, "DELETE", CALENDLY_REMOVE)
    assert remove["summary"] == "Remove User from Organization"
    assert f"DELETE {CALENDLY_REMOVE}" in template.reclaim_note
    path_parameters = [deref(document, p) for p in remove["parameters"]]
    assert [p["name"] for p in path_parameters if p["in"] == "path"] == ["uuid"]
    # And a membership as Calendly declares it: its identifier is the uri, no field holds the uuid alone
    record = deref(document, record_schema(document, response_schema_of(document, CALENDLY_LIST), "collection"))
    assert "uuid" not in record["properties"] and "id" not in record["properties"]
    assert record["properties"]["uri"]["description"] == "Canonical reference (unique identifier) for the membership"
    # Then the template presets no reclaim, and says why
    assert template.reclaim is None and template.profile.get("reclaim") is None
    assert "only inside its uri" in template.reclaim_note


# --- what a template says its vendor does not have, from the vendor's OpenAPI description ----

# Facts where a template says "none" (no activity field) and a
# test here reads the vendor's own list to show it. Keep in step with scripts/catalog_facts.py's
# ABSENCE_CHECKED: tests/unit/test_catalog_facts.py compares the two.
ABSENCE = {
    ("adobe", "last_activity"),  # the quoted schema model, above
    ("atlassian", "page_size"),  # the list's query parameters: the cursor alone
    ("jira", "page_size"),
    ("confluence", "page_size"),
    ("figma", "last_activity"),  # the quoted core User attributes, above
    ("asana", "last_activity"),
    ("hubspot", "last_activity"),
    ("calendly", "last_activity"),  # OrganizationMembership and its user, in Calendly's OpenAPI document
    ("calendly", "reclaim"),  # the removal needs the uuid no membership field holds, above
    ("miro", "reclaim"),  # every method Miro's description has for organization members: GET alone
}
LISTS = {
    # template: (extract, list path, records_path)
    "asana": ("asana/workspace-memberships", "/workspaces/{workspace_gid}/workspace_memberships", "data"),
    "hubspot": ("hubspot/user-provisioning", "/settings/users/v3", "results"),
    "calendly": ("calendly/organization-memberships", "/organization_memberships", "collection"),
}


def _field_names(document: dict[str, Any], schema: Any, depth: int = 0) -> list[str]:
    """Every property of a record, its nested objects' too (user.name), as the vendor declares them."""
    from tests.vendor_spec_checks import _properties  # the same reading of allOf the other checks use

    names = []
    for key, declared in _properties(document, schema)[0].items():
        names.append(key)
        value = deref(document, declared)
        if depth < 2 and (value.get("properties") or value.get("allOf")):
            names += [f"{key}.{n}" for n in _field_names(document, value, depth + 1)]
    return names


@pytest.mark.parametrize("name", sorted(LISTS))
def test_a_template_without_activity_lists_records_whose_vendor_declares_no_time_of_use(name):
    from tests.vendor_spec_checks import record_schema, response_schema, spec

    vendor, extract = LISTS[name][0].split("/")
    document = spec(vendor, extract)
    record = record_schema(document, response_schema(document, "GET", LISTS[name][1]), LISTS[name][2])
    # Given a template that says its vendor gives no activity
    assert templates()[name].activity is None and templates()[name].activity_note
    # Then the vendor's record declares fields, and none of them is a time of use
    names = _field_names(document, record)
    assert len(names) >= 5, names
    assert [n for n in names if ACTIVITY_NAME.search(n.split(".")[-1])] == []


def test_asana_removal_is_marked_as_losing_data_because_asana_says_private_work_must_be_made_public_first():
    from tests.vendor_spec_checks import spec

    document = spec("asana", "workspace-memberships")
    template = templates()["asana"]
    reclaim = template.profile["reclaim"]
    # Given Asana's removeUser, the operation the template reclaims with
    remove = operation(document, reclaim["method"], "/workspaces/{workspace_gid}" + reclaim["path"])
    # Asana's words:
    words = " ".join(remove["description"].split())
    assert "If you wish to retain access to a user\N{RIGHT SINGLE QUOTATION MARK}s private resources" in words
    assert "you have to make them public manually (or ask the user to do so) before removal" in words
    # Then the template says the removal loses data (it used to say it did not), and a real run warns
    assert template.reclaim is not None and template.reclaim.loses_data is True
    assert "private" in template.reclaim.note and "before removal" in template.reclaim.note


def test_smartsheet_protects_the_users_whose_licence_smartsheet_refuses_to_take_back():
    import jmespath

    # Smartsheet's words on Update user:
    quote = docs("smartsheet")["facts"]["reclaim"]["quote"]
    assert "You can't revoke the licensed sheet creator status (that is, set licensedSheetCreator to false)" in quote
    assert (
        "for a user who is either a Group Admin (groupAdmin: true) or a Resource Viewer (resourceViewer: true)" in quote
    )
    template = templates()["smartsheet"]
    role = template.profile["users"]["fields"]["role"]
    protected = set(template.profile["policy"]["protected_roles"])
    # Given a licensed Group Admin and a licensed Resource Viewer, as List users shows them
    seen = {
        "status": "ACTIVE",
        "licensedSheetCreator": True,
        "admin": False,
        "groupAdmin": False,
        "resourceViewer": False,
    }
    group_admin, resource_viewer = {**seen, "groupAdmin": True}, {**seen, "resourceViewer": True}
    # Then their roles are protected, so no reclamation asks Smartsheet for what it refuses
    assert {jmespath.search(role, group_admin), jmespath.search(role, resource_viewer)} <= protected
    # And a plain licensed user, and a System Admin, are not
    assert jmespath.search(role, seen) not in protected and jmespath.search(role, {**seen, "admin": True}) == "admin"
    # And on the user subscription model, where Smartsheet allows the change "only ... for a System Admin user",
    # the template says its reclaim is unverified: a real run waits for an admin
    assert "On the user model, you can only update licensedSheetCreator for a System Admin user" in quote
    assert "only update licensedSheetCreator for a System Admin user" in template.unverified["reclaim"]


def test_smartsheet_ubm_s_seat_is_a_member_as_smartsheet_says_who_is_paid():
    # Smartsheet's words on the user subscription model's seat types:
    words = said(docs("smartsheet_ubm")["facts"]["seat"])
    assert "Members: Paid users with full access to create, edit, and manage items" in words
    assert "Provisional Members: Users who gain full functionality right away at no cost for at least 30 days" in words
    assert "seatType - Shows when you specify either or both the planId and seatType query parameters." in words
    template = templates()["smartsheet_ubm"]
    active = template.profile["users"]["fields"]["active"]
    # Given an active user of each seat type Smartsheet lists (and CONTRIBUTOR, VIEWER's replacement)
    seat_of = {
        kind: jmespath.search(active, {"status": "ACTIVE", "seatType": kind})
        for kind in ("MEMBER", "PROVISIONAL_MEMBER", "GUEST", "VIEWER", "CONTRIBUTOR")
    }
    # Then only the paid Member holds a seat, and a deactivated Member holds none
    assert seat_of == {
        "MEMBER": True,
        "PROVISIONAL_MEMBER": False,
        "GUEST": False,
        "VIEWER": False,
        "CONTRIBUTOR": False,
    }
    assert not jmespath.search(active, {"status": "DEACTIVATED", "seatType": "MEMBER"})
    # And the list asks for the plan, without which Smartsheet shows no seatType: a placeholder the customer fills
    assert template.profile["users"]["params"]["planId"] == "<plan-id>"
    assert {"users.params.planId", "reclaim.path"} <= set(template.needs)


def test_smartsheet_ubm_downgrades_to_contributor_since_smartsheet_stopped_accepting_viewer():
    # Smartsheet's words on Downgrade user, and its migration guide's on VIEWER:
    entry = docs("smartsheet_ubm")["facts"]["reclaim"]
    assert "Endpoint: POST /users/{userId}/plans/{planId}/downgrade" in entry["quote"]
    assert "`seatType` (string, required) User's seat type." in entry["quote"]
    guide = entry["also"]["quote"]
    assert (
        "The `'seatType': 'VIEWER'` request body parameter in downgrade requests is no longer accepted" in guide
        and "(October 30, 2026)" in guide
    )
    assert "`CONTRIBUTOR` replaces `VIEWER`" in guide and entry["also"]["free_seat_type"] == "CONTRIBUTOR"
    template = templates()["smartsheet_ubm"]
    reclaim = template.profile["reclaim"]
    # Then the template's removal is that request, to CONTRIBUTOR, never the VIEWER the reference's enum still lists
    assert (reclaim["method"], reclaim["path"]) == ("POST", "/users/{id}/plans/<plan-id>/downgrade")
    assert reclaim["body"] == {"seatType": "CONTRIBUTOR"}
    # And it keeps the user's items, as Smartsheet says: "does not affect their existing permissions"
    assert "Downgrading a user does not affect their existing permissions on owned or shared items." in said(
        docs("smartsheet_ubm")["facts"]["loses_data"]
    )
    assert template.reclaim is not None and template.reclaim.loses_data is False
    # And the removal and seat rule are confirmed, so a real run needs no admin's approval for them
    assert {"reclaim", "seat", "loses_data"}.isdisjoint(template.unverified)
    # And a System Admin, whom Smartsheet requires to be a Member, is protected
    assert template.profile["policy"]["protected_roles"] == ["admin"]


def test_smartsheet_ubm_s_fake_answers_in_the_names_and_seat_types_smartsheet_documents():
    # Given Smartsheet's words on List users' attributes, its seat types and the downgrade's answer
    facts = docs("smartsheet_ubm")["facts"]
    attributes, seat_types, downgrade = facts["users_path"]["quote"], said(facts["seat"]), said(facts["reclaim"])
    fake = FAKES["smartsheet_ubm"]
    records = [fake.record(p) for p in people(60)]
    # Then each role and seat attribute of its users is one Smartsheet lists for System Admins
    for name in ("admin", "groupAdmin", "isInternal", "licensedSheetCreator", "resourceViewer", "seatType", "status"):
        assert all(name in r for r in records) and names(attributes, name), name
    # And each seat type it shows is Smartsheet's: a paid MEMBER, a PROVISIONAL_MEMBER, and CONTRIBUTOR for VIEWER
    shown = {r["seatType"] for r in records}
    assert shown == {"MEMBER", "PROVISIONAL_MEMBER", "CONTRIBUTOR"}
    assert all(names(seat_types + downgrade, kind) for kind in shown)
    # And a downgrade answers with the fields and values its Response 200 gives
    status, body, _ = fake.reclaim_answer(people(1)[0])
    assert status == 200 and set(body) == {"message", "resultCode"}
    assert names(downgrade, body["message"]) and f"'{body['resultCode']}' Success" in downgrade


def test_the_collaborator_model_smartsheet_template_sends_user_subscription_model_plans_to_smartsheet_ubm():
    # Given the older template, whose licensedSheetCreator request Smartsheet refuses on the user model
    old = templates()["smartsheet"]
    # Then its description and the reasons of its unverified seat and reclaim name the new template
    assert "smartsheet_ubm" in old.description
    assert "smartsheet_ubm" in old.unverified["seat"] and "smartsheet_ubm" in old.unverified["reclaim"]
    # And its reclaim stays unverified, so a real run on such a plan still waits for an admin
    own = {"name": "Smartsheet", "template": "smartsheet", "subscription": {"licenses_purchased": 10}}
    assert "reclaim" in (unverified_reason(build_profile(own)) or "")
    # While a profile of the new one, its plan id filled in, has no such doubt
    plan = SMARTSHEET_PLAN
    new = {
        "name": "Smartsheet UBM",
        "template": "smartsheet_ubm",
        "subscription": {"licenses_purchased": 10},
        "users": {"params": {"planId": plan}},
        "reclaim": {"path": f"/users/{{id}}/plans/{plan}/downgrade"},
    }
    assert unverified_reason(build_profile(new)) is None


def test_zendesk_s_activity_says_an_api_token_request_moves_last_login_at_as_zendesk_does():
    # Zendesk's words on last_login_at:
    quote = docs("zendesk")["facts"]["last_activity"]["quote"]
    assert "Last time the user signed in to Zendesk Support or made an API request using an API token" in quote
    template = templates()["zendesk"]
    # Then the template reads that field, and says what moves it (it used to say: signing in)
    assert template.profile["users"]["fields"]["last_activity"] == "last_login_at"
    assert (
        template.activity is not None
        and "an API request made with the user's API token" in template.activity.meaningful
    )


def test_zendesk_s_quota_is_read_whole_from_the_two_names_zendesk_gives_it_and_half_of_it_spent():
    entry = docs("zendesk")["facts"]["rate_limit"]
    # Given Zendesk's words: the account's limit "and the number of requests remaining for the current minute",
    # and the headers of a list endpoint, the limit and what is left under two names, the reset under one
    words = entry["list_endpoints_quote"]
    assert "the account's rate limit and the number of requests remaining for the current minute" in words
    example = words.splitlines()[3]
    headers = requests.structures.CaseInsensitiveDict(
        {name: re.search(rf"(?:^|\d){re.escape(name)}: (\d+)", example).group(1) for name in entry["list_headers"]}
    )
    assert dict(headers.lower_items()) == {
        "x-rate-limit": "700",
        "ratelimit-limit": "700",
        "x-rate-limit-remaining": "699",
        "ratelimit-remaining": "699",
        "ratelimit-reset": "41",
    }
    # When the pacer reads them, Then it knows the limit, what is left and when the minute starts again
    quota = announced_quota(headers, now=1609459200)
    assert quota is not None and (quota.limit, quota.remaining, quota.reset_after) == (700, 699, 41)
    # And with only the account-wide pair every Zendesk answer carries, it still knows the limit
    bare = announced_quota(
        requests.structures.CaseInsensitiveDict({"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "9"})
    )
    assert bare is not None and (bare.limit, bare.remaining) == (700, 9)
    # And the budget is the account's, shared with the customer's other integrations: the template spends half
    rate_limit = RateLimit.model_validate(templates()["zendesk"].profile["rate_limit"])
    assert (rate_limit.scope, rate_limit.spendable, rate_limit.window_seconds) == ("org", 0.5, 60)


def test_zendesk_lists_agents_and_admins_with_the_role_filter_zendesk_documents():
    extract = docs("zendesk")["facts"]
    users = templates()["zendesk"].profile["users"]
    # Zendesk's words: List Users is GET /api/v2/users, role[] filters by more than one role
    assert "* `GET /api/v2/users`" in extract["users_path"]["quote"]
    assert "role[]| string| Query| false| Filters the results by more than one role" in extract["users_path"]["quote"]
    # Then the template asks for agents and admins, by the roles Zendesk names
    assert users["path"] == "/api/v2/users" and sorted(users["params"]["role[]"]) == ["admin", "agent"]
    # And the reclaim is Zendesk's Update User with a role it lists, the downgrade that "frees up their agent seat"
    assert "* `PUT /api/v2/users/{user_id}`" in extract["reclaim"]["quote"]
    assert templates()["zendesk"].profile["reclaim"]["body"] == {"user": {"role": "end-user"}}
    best_practices = extract["seat"]["also"][1]["quote"]
    assert "role frees up their agent seat for someone else to use." in best_practices


def test_zendesk_counts_suspended_agents_and_not_light_agents_as_zendesk_bills_them():
    import jmespath

    seat = docs("zendesk")["facts"]["seat"]
    template = templates()["zendesk"]
    rule = template.profile["users"]["fields"]["active"]
    licenses, best_practices, other_products = (entry["quote"] for entry in seat["also"])
    # Given Zendesk's words: "Anyone who is an agent in any capacity, including administrators and the account owner,
    # takes up an agent seat, except for light agents and contributors only. Suspended agents take up a seat."
    assert "takes up an agent seat, except for light agents and contributors only" in licenses
    assert (
        "Suspended agents take up a seat." in licenses
        and "Suspended agents still take up an agent seat." in best_practices
    )
    # And the Users API's role_type: "1 for a light agent", "3 for a chat agent added to the Support account as a
    # contributor", 2 a chat agent, 0 a custom agent, 4 an admin
    assert "0 for a custom agent, 1 for a light agent, 2 for a chat agent, 3 for a chat agent added" in seat["quote"]
    agent = {"active": True, "suspended": False, "role": "agent", "role_type": None}
    # Then an agent of any kind holds a seat, suspended too (the rule used to leave suspended agents out)
    for role_type in (None, 0, 2, 4):
        assert jmespath.search(rule, {**agent, "role_type": role_type}) is True, role_type
    assert jmespath.search(rule, {**agent, "suspended": True}) is True
    # And a light agent, an end user and a deleted user hold none
    assert not jmespath.search(rule, {**agent, "role_type": 1})
    assert not jmespath.search(rule, {**agent, "role": "end-user"}) and not jmespath.search(
        rule, {**agent, "active": False}
    )
    # And what the Users API cannot show stays unverified, in Zendesk's words: light agents and contributors "who are
    # also Chat agents or Guide agents ... take up an agent seat", and a contributor is itself a chat agent (counted)
    assert (
        "who are also Chat agents or Guide agents, or Explore Admins or Explore Editors, take up an agent seat"
        in licenses
    )
    assert jmespath.search(rule, {**agent, "role_type": 3}) is True
    assert "seat assignment is interdependent" in other_products
    reason = template.unverified["seat"]
    assert "who are also Chat agents or Guide agents" in reason and "role_type 3" in reason
    # And the fake lists each kind, the seat rule counting exactly those the fake says hold a seat
    shown = [(FAKES["zendesk"].record(p), FAKES["zendesk"].holds_seat(p)) for p in people(120)]
    kinds = {(r["role"], r["role_type"], r["suspended"]) for r, _ in shown}
    assert {("agent", 1, False), ("agent", 2, False), ("agent", 3, False), ("end-user", None, False)} <= kinds
    assert any(r["suspended"] for r, _ in shown)
    assert [bool(jmespath.search(rule, r)) for r, _ in shown] == [held for _, held in shown]


def test_figma_pages_by_startindex_and_count_and_reads_the_total_figma_s_list_answer_carries():
    quote = docs("figma")["facts"]["paging"]["quote"]
    pagination = templates()["figma"].profile["users"]["pagination"]
    # Figma's words: count is "The number of users to return. Maximum: 3000", startIndex the offset to start from,
    # and the list answer is a SCIM ListResponse with totalResults
    assert "The number of users to return. Maximum: 3000." in quote and "this is the start index offset" in quote
    assert '"totalResults": 1,' in quote and "urn:ietf:params:scim:api:messages:2.0:ListResponse" in quote
    # Then the template pages with those parameters from 1, by the total, at a page Figma allows
    assert (pagination["offset_param"], pagination["limit_param"], pagination["total_path"]) == (
        "startIndex",
        "count",
        "totalResults",
    )
    assert pagination["first_offset"] == 1 and "startIndex=1" in quote and pagination["page_size"] <= 3000


def test_a_page_size_above_the_vendor_s_maximum_fails_the_check():
    # Given Figma's largest page, and a template asking for one more
    entry = docs("figma")["facts"]["page_size"]
    template = templates()["figma"]
    users = template.profile["users"]
    larger = {**users, "pagination": {**users["pagination"], "page_size": entry["maximum"] + 1}}
    moved = template.model_copy(update={"profile": {**template.profile, "users": larger}})
    # Then only the larger page is refused
    assert within_maximum(template, entry) and not within_maximum(moved, entry)


def test_smartsheet_refuses_with_a_429_and_its_rate_limit_error_code_the_pacer_slows_down_on():
    # Smartsheet's words: a throttled integration sees "a wall of 429s", whose body is errorCode 4003
    quote = docs("smartsheet")["facts"]["rate_limit"]["quote"]
    assert "The logs show a wall of 429s" in quote
    assert '"errorCode": 4003,\n "message": "Rate limit exceeded."' in quote
    # Then the template declares no quota of its own (Smartsheet's page names none), and no header is relied on
    assert not templates()["smartsheet"].profile.get("rate_limit")
    assert docs("smartsheet")["facts"]["rate_limit"]["headers"] == []


def test_figma_s_template_says_its_list_holds_only_the_users_scim_provisioned():
    # Figma's words on GET Users:
    quote = docs("figma")["facts"]["users_path"]["quote"]
    assert "Returns a list of currently SCIM provisioned users in the organization" in quote
    # Then the template says so (it used to call them the organization's members), so a count is read for what it is
    assert "Returns a list of currently SCIM provisioned users in the organization" in templates()["figma"].description
    # And its reclaim is the attribute Figma documents for deactivating: active, false, in a PatchOp
    body = templates()["figma"].profile["reclaim"]["body"]
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]
    assert body["Operations"] == [{"op": "replace", "path": "active", "value": False}]
    assert "Deactivated users are removed from the organization" in docs("figma")["facts"]["reclaim"]["quote"]


def test_figma_counts_a_seat_for_the_full_dev_and_collab_seats_figma_bills_and_not_for_view():
    billing = docs("figma")["billing"]
    template = templates()["figma"]
    rule = template.profile["users"]["fields"]["active"]
    # Given Figma's words (help.figma.com "Guide to billing at Figma", read 2026-12-07): "Your Figma subscription
    # cost is determined by two key factors: your plan type and the number of Full, Dev, and Collab seats in your
    # plan", of the four seat types its SCIM roles take ("must be one of Full , Dev , Collab , or View")
    assert "the number of Full, Dev, and Collab seats in your plan" in billing["guide"]["quote"]
    assert billing["seats"]["seat_types"] == ["Full", "Dev", "Collab", "View"]
    assert "must be one of Full , Dev , Collab , or View" in docs("figma")["facts"]["seat"]["quote"]

    def user(active: bool, seat: str | None) -> dict[str, Any]:
        return {"active": active, "roles": [{"type": "seatType", "value": seat}] if seat else []}

    # When the rule reads an active user of each seat type, a deactivated Full seat, and one with no seat type
    read = {seat: jmespath.search(rule, user(True, seat)) for seat in billing["seats"]["seat_types"]}
    # Then Full, Dev and Collab hold a seat and View does not (the old rule, `active`, counted View too)
    assert read == {"Full": True, "Dev": True, "Collab": True, "View": False}
    assert jmespath.search(rule, user(False, "Full")) is False
    # And a user without a seatType role (it is "Enterprise plan only") is counted, as Figma names no free seat there
    assert jmespath.search(rule, user(True, None)) is True
    # And the seat rule is no longer doubted, nor is it why a real run waits
    assert "seat" not in template.unverified
    own = {
        "name": "Figma",
        "template": "figma",
        "base_url": "https://www.figma.com/scim/v2/1",
        "subscription": {"licenses_purchased": 10},
    }
    reason = unverified_reason(build_profile(own)) or ""
    assert "loses_data (" in reason and "seat (" not in reason


def test_figma_s_fake_lists_each_seat_type_and_counts_only_those_figma_bills():
    shown = [(FAKES["figma"].record(p), FAKES["figma"].holds_seat(p)) for p in people(100)]
    rule = templates()["figma"].profile["users"]["fields"]["active"]
    # Then the fake lists active users of every seat type, View among them, and deactivated users
    kinds = {(r["active"], r["roles"][0]["value"]) for r, _ in shown}
    assert {(True, "Full"), (True, "Dev"), (True, "Collab"), (True, "View"), (False, "View")} <= kinds
    # And the template's rule counts exactly those the fake says hold a seat: an active View user is not one
    assert [bool(jmespath.search(rule, r)) for r, _ in shown] == [held for _, held in shown]
    assert not any(held for r, held in shown if r["roles"][0]["value"] == "View")


def test_onepassword_s_scim_bridge_is_read_where_1password_lists_its_scim_endpoints():
    # 1Password's words: the bridge's SCIM protocol endpoints are /scim/Users, /scim/Groups, ...
    quote = docs("onepassword")["facts"]["users_path"]["quote"]
    assert "SCIM protocol endpoints\n/scim/Users/scim/Groups" in quote
    template = templates()["onepassword"]
    # Then the template's base_url ends in /scim (it used to say /scim/v2), and the users are /scim/Users
    assert "https://<your-scim-bridge>/scim " in template.description and "/scim/v2" not in template.description
    assert "/scim" + template.profile["users"]["path"] == "/scim/Users"
    # And the fake serves them there, as the bridge does
    assert FAKES["onepassword"].prefix == "/scim"


def test_onepassword_s_suspension_keeps_vaults_and_the_note_claims_no_billing_1password_does_not_state():
    extract = docs("onepassword")
    template = templates()["onepassword"]
    assert template.reclaim is not None
    # Given 1Password's words: suspending is "To temporarily revoke someone's access to vaults and items", undone by
    # "Reactivate"; deleting is what revokes it "permanently"
    quote = extract["facts"]["loses_data"]["quote"]
    assert "To temporarily revoke someone" in quote and "click Reactivate on their details page" in quote
    assert "To permanently revoke someone" in quote
    # Then the template suspends, losing nothing
    assert (template.reclaim.effect, template.reclaim.loses_data) == ("suspend", False)
    # And since no 1Password Business page read says who is billed (its MSP page counts "active, awaiting confirmation,
    # or recovery" users; a forum reply says deactivated members are charged), the note claims no freed seat any more
    assert "active, awaiting confirmation, or recovery status" in extract["billing"]["msp"]["quote"]
    assert "simply remove them from the team" in extract["billing"]["community"]["answer"]
    assert "no longer counts as a billed seat" not in template.reclaim.note
    assert "Whether a suspended member is still billed" in template.reclaim.note
    assert "simply remove them from the team" in template.unverified["seat"]
    # And the SCIM request that suspends stays unverified: the bridge's examples say only that it will "suspend users"
    assert "suspend users" in extract["provisioning"]["quote"] and "suspend users" in template.unverified["reclaim"]


def test_notion_s_own_sdk_types_another_api_than_its_scim_so_every_notion_fact_stays_unverified():
    extract = yaml.safe_load((SPECS / "notion" / "sdk-and-help.yaml").read_text(encoding="utf-8"))
    template = templates()["notion"]
    users = template.profile["users"]
    listed = extract["sdk"]["list_users"]
    # Given Notion's SDK (makenotion/notion-sdk-js src/api-endpoints/users.ts): "List all users" is GET users with
    # start_cursor and page_size, answering next_cursor and has_more: the public API, not SCIM
    assert (listed["says"], listed["method"], listed["path"]) == ("List all users", "get", "users")
    assert listed["queryParams"] == ["start_cursor", "page_size"]
    assert {"next_cursor", "has_more", "results"} <= set(listed["ListUsersResponse"])
    # Then the template's SCIM request (/Users at /scim/v2, startIndex and count) is not the SDK's, which can confirm
    # none of it
    assert template.profile["base_url"].endswith("/scim/v2") and users["path"] == "/Users"
    assert {users["pagination"]["offset_param"], users["pagination"]["limit_param"]} == {"startIndex", "count"}
    assert not {users["pagination"]["offset_param"], users["pagination"]["limit_param"]} & set(listed["queryParams"])
    # And the public API's user carries no time of use, as the activity note says
    fields = {*extract["sdk"]["UserObjectResponseCommon"], *extract["sdk"]["PersonUserObjectResponse"]}
    assert fields == {"id", "object", "name", "avatar_url", "type", "person"} and not any(
        ACTIVITY_NAME.search(f) for f in fields
    )
    assert "public APIs give no last activity" in template.activity_note
    # And Notion's help page names no endpoint: "Retrieve the members in your workspace", guests not managed
    assert "Retrieve the members in your workspace." in extract["help"]["quote"]
    assert "manage workspace guests using Notion" in extract["help"]["quote"]
    # So each of the nine facts stays unverified, citing the extract, and a real run waits for an admin
    assert set(template.unverified) == {
        "users_path",
        "paging",
        "page_size",
        "email",
        "last_activity",
        "seat",
        "reclaim",
        "loses_data",
        "rate_limit",
    }
    assert all("tests/vendor_specs/notion/sdk-and-help.yaml" in reason for reason in template.unverified.values())
    own = {"name": "Notion", "template": "notion", "subscription": {"licenses_purchased": 10}}
    assert "seat" in (unverified_reason(build_profile(own)) or "")


def test_monday_pages_users_from_page_1_as_monday_numbers_them_and_reads_when_a_user_was_last_active():
    extract = docs("monday")["facts"]
    users = templates()["monday"].profile["users"]
    # monday.com's words on the users query's arguments:
    assert "page Int | The page number to return. Starts at 1." in extract["paging"]["quote"]
    assert "limit Int | The number of users to get." in extract["paging"]["quote"]
    # Then the template's query passes both, and its first page is 1
    assert "users(page: $page, limit: $limit)" in users["body"]["query"] and users["pagination"]["first_page"] == 1
    # And the users are read where the API client monday.com ships sends its requests
    assert "--request POST 'https://api.monday.com/v2'" in extract["users_path"]["quote"]
    assert templates()["monday"].profile["base_url"] + users["path"] == "https://api.monday.com/v2"
    # And the activity is the field monday.com's generated User type describes as the last time the user was active
    assert "/** Last date & time when user was active */" in extract["last_activity"]["quote"]
    assert "last_activity" in users["body"]["query"].split("users(")[1]


def test_monday_counts_no_seat_for_the_viewers_and_guests_monday_does_not_bill():
    billing = docs("monday")["billing"]
    template = templates()["monday"]
    rule = template.profile["users"]["fields"]["active"]
    # Given monday.com's words (support.monday.com, read 2026-12-07): "Viewers do not count toward billing"; on "the
    # Pro and Enterprise plans, you can invite an unlimited number of guests"; "Deactivated users don't count towards
    # your paying plan"
    assert "Viewers do not count toward billing." in billing["levels"]["viewers"]
    assert "On the Pro and Enterprise plans, you can invite an unlimited number of guests." in " ".join(
        billing["levels"]["guests"].split()
    )
    assert "Deactivated users don't count towards your paying plan." in billing["deactivated"]["quote"]

    def user(status: str, kind: str) -> dict[str, Any]:
        return {"status": status, "kind": kind}

    # When the rule reads an active user of each kind, and a deactivated member
    read = {kind: jmespath.search(rule, user("ACTIVE", kind)) for kind in ("admin", "member", "viewer", "guest")}
    # Then admins and members hold a seat, viewers and guests do not (the old rule counted every active user)
    assert read == {"admin": True, "member": True, "viewer": False, "guest": False}
    assert jmespath.search(rule, user("INACTIVE", "member")) is False
    # And the seat stays unverified, saying exactly why: Standard's every fourth guest, and kind values no schema shows
    reason = template.unverified["seat"]
    assert "Every fourth guest will be considered a paid member" in reason and "no User.kind" in reason
    assert "Every fourth guest will be considered a paid member." in " ".join(billing["levels"]["guests"].split())


def test_monday_s_fake_lists_viewers_guests_and_deactivated_users_and_counts_only_admins_and_members():
    shown = [(FAKES["monday"].record(p), FAKES["monday"].holds_seat(p)) for p in people(120)]
    rule = templates()["monday"].profile["users"]["fields"]["active"]
    # Then the fake lists each kind monday.com names, viewers and guests active, and deactivated members
    kinds = {(r["status"], r["kind"]) for r, _ in shown}
    assert {("ACTIVE", "admin"), ("ACTIVE", "member"), ("ACTIVE", "viewer"), ("ACTIVE", "guest")} <= kinds
    assert ("INACTIVE", "member") in kinds
    # And the rule counts exactly those the fake says hold a seat
    assert [bool(jmespath.search(rule, r)) for r, _ in shown] == [held for _, held in shown]


# --- HubSpot: HubSpot-public-api-spec-collection User Provisioning v3 at 99893791, cut with --all-methods


def test_hubspot_lists_users_where_its_user_provisioning_v3_lists_them():
    from tests.vendor_spec_checks import spec

    document = spec("hubspot", "user-provisioning")
    template = templates()["hubspot"]
    # Given HubSpot's description: the users list is GET /settings/users/v3 (it lists no GET /settings/v3/users/,
    # the path the template used to read); a single user, and its removal, stay under /settings/v3/users/{userId}
    assert (
        operation(document, "GET", "/settings/users/v3")["operationId"] == "get-/settings/users/v3_/settings/users/v3"
    )
    assert "/settings/v3/users/" not in document["paths"]
    assert document["paths"]["/settings/v3/users/{userId}"]["x-methods"] == ["delete", "get", "put"]
    # Then the template lists users there, and removes them with the DELETE HubSpot lists
    assert template.profile["users"]["path"] == "/settings/users/v3" and "users_path" not in template.unverified
    assert template.profile["reclaim"] == {"method": "DELETE", "path": "/settings/v3/users/{id}"}


# --- Miro: miroapp/api-clients packages/generator/spec.json at 3a2506b6 (REST API v2), cut with --all-methods

MIRO_MEMBERS = ("/v2/orgs/{org_id}/members", "/v2/orgs/{org_id}/members/{member_id}")


def test_miro_presets_no_reclaim_because_its_rest_api_only_reads_organization_members():
    from tests.vendor_spec_checks import spec

    document = spec("miro", "organization-members")
    template = templates()["miro"]
    # Given every method Miro's REST API v2 description has for its organization members
    methods = {path: document["paths"][path]["x-methods"] for path in MIRO_MEMBERS}
    # Then it only reads them: no removal, no change of license (a team's members, which Miro does let one
    # delete, are not the organization's license holders)
    assert methods == {path: ["get"] for path in MIRO_MEMBERS}
    # And the template presets no reclaim, and says the members API is read-only
    assert template.reclaim is None and "The organization members API is read-only" in template.reclaim_note


def test_miro_counts_the_full_and_occasional_licenses_miro_bills_and_not_the_free_ones():
    from tests.vendor_spec_checks import spec

    words = spec("miro", "licenses")
    template = templates()["miro"]
    rule = template.profile["users"]["fields"]["active"]
    # Given Miro's words (help.miro.com, Account access levels (Enterprise plan), read 2026-12-07): "The license
    # defines whether you need to pay for user access to the account"; Full is "billed monthly or yearly", Occasional
    # "consumes daily if applied" its Day Passes; Free and Free Restricted are viewing and commenting
    assert "The license defines whether you need to pay for user access" in " ".join(words["current"]["says"].split())
    assert "billed monthly or yearly" in words["earlier"]["full"]
    assert "consumes daily if applied" in " ".join(words["earlier"]["occasional"].split())
    assert words["current"]["free_restricted"].startswith("Free Restricted - viewing and commenting")
    assert "viewing and commenting option for guests only" in " ".join(words["current"]["free"].split())
    # When the rule reads an active member of each license Miro's description lists
    licenses = spec("miro", "organization-members")["components"]["schemas"]["OrganizationMember"]["properties"]
    held = {kind: jmespath.search(rule, {"active": True, "license": kind}) for kind in licenses["license"]["enum"]}
    # Then the licenses Miro says are paid hold a seat, and the free ones do not
    assert (held["full"], held["occasional"], held["free"], held["free_restricted"]) == (True, True, False, False)
    # And the seat stays unverified, naming exactly the licenses no Miro page says are billed
    reason = template.unverified["seat"]
    assert all(kind in reason for kind in ("advanced", "standard", "basic", "full_trial"))
    assert "billed monthly or yearly" in reason and "consumes daily if applied" in reason


def test_miro_s_fake_lists_every_license_miro_s_description_has_but_unknown():
    from tests.vendor_spec_checks import spec

    shown = [(FAKES["miro"].record(p), FAKES["miro"].holds_seat(p)) for p in people(300)]
    rule = templates()["miro"].profile["users"]["fields"]["active"]
    licenses = spec("miro", "organization-members")["components"]["schemas"]["OrganizationMember"]["properties"]
    # Then the fake lists each license but "unknown", and the rule counts exactly the fake's seat holders
    assert {r["license"] for r, _ in shown} == set(licenses["license"]["enum"]) - {"unknown"}
    assert [bool(jmespath.search(rule, r)) for r, _ in shown] == [held for _, held in shown]
    assert {r["license"] for r, held in shown if held} == {"full", "occasional"}


def test_miro_answers_its_members_list_with_a_429_the_pacer_adapts_to():
    from tests.vendor_spec_checks import spec

    document = spec("miro", "organization-members")
    listing = operation(document, "GET", MIRO_MEMBERS[0])
    # Given Miro's description: the members list is rate limited (its tier: Level 3), and its responses name a
    # 429 whose component the document does not define, so the extract lists it as unresolved
    assert (
        '<h3>Rate limiting</h3> <a target=_blank href="/reference/rate-limiting#rate-limit-tiers">Level 3</a>'
        in (listing["description"])
    )
    assert "#/components/responses/429" in document["x-unresolved"]
    # Then the template declares no quota of its own: the pacer slows down on the 429 as it comes
    assert not templates()["miro"].profile.get("rate_limit")


def test_asana_s_declared_rate_limit_is_asana_s_paid_quota_per_token():
    # Asana's words: limits "are allocated per authorization token", 1,500 requests per minute on a paid domain
    quote = docs("asana")["facts"]["rate_limit"]["quote"]
    assert "Limits are allocated per authorization token." in quote and "| Paid | 1,500 |" in quote
    # Then the template declares that quota, per minute, as the credential's own (not an org-wide budget)
    assert templates()["asana"].profile["rate_limit"] == {"requests": 1500, "window_seconds": 60, "scope": "connection"}


def test_atlassian_fake_answers_only_fields_atlassian_s_example_answer_has():
    import json

    # Given the 200 answer Atlassian's Users page shows for GET /v1/orgs/{orgId}/users (developer.atlassian.com)
    example = json.loads(docs("atlassian")["facts"]["email"]["quote"])
    documented = set(example["data"][0])
    # Then every field of the fake's managed accounts is one of the documented ones
    records = [FAKES["atlassian"].record(person) for person in people(20)]
    assert {key for record in records for key in record} <= documented
    # And the answer's paging is where the template reads it
    assert (
        "next" in example["links"]
        and templates()["atlassian"].profile["users"]["pagination"]["cursor_path"] == "links.next"
    )
