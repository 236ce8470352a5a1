"""Write docs/catalog.md: every fact of every built-in template, with its verdict and source.

    PYTHONPATH=layers/seatkeeper python scripts/catalog_facts.py > docs/catalog.md

A fact is `confirmed` when a test checks it against an extract of the vendor's own API
description (tests/vendor_specs/, tests/unit/test_vendor_specs.py), `unverified` when the template
itself says no vendor source confirms it (its `unverified` field, with the reason), and
`not checked` when only the vendor's documentation page the template links to backs it.
tests/unit/test_catalog_facts.py regenerates the file and compares, so the table cannot go stale.
"""

from __future__ import annotations

import sys
from typing import Any

from seatkeeper.profiles.catalog import ConfigurationTemplate, templates

FACTS = {
    "users_path": "users endpoint",
    "paging": "paging style and parameters",
    "page_size": "page size",
    "email": "e-mail field",
    "last_activity": "last-activity field",
    "seat": "who holds a seat",
    "reclaim": "reclaim request",
    "loses_data": "reclaiming loses data",
    "rate_limit": "rate-limit answer",
}

# What tests/unit/test_vendor_specs.py checks, per template, against which extract. Keep in step
# with that module's SOURCES: tests/unit/test_catalog_facts.py compares the two.
OPENAPI_CHECKED = ("users_path", "paging", "page_size", "email", "last_activity", "seat", "reclaim")
CHECKED: dict[str, tuple[str, tuple[str, ...]]] = {
    "okta": ("tests/vendor_specs/okta/management.yaml", (*OPENAPI_CHECKED, "loses_data")),
    "box": ("tests/vendor_specs/box/users.yaml", (*OPENAPI_CHECKED, "loses_data")),
    "asana": ("tests/vendor_specs/asana/workspace-memberships.yaml", (*OPENAPI_CHECKED, "loses_data")),
    "hubspot": ("tests/vendor_specs/hubspot/user-provisioning.yaml", OPENAPI_CHECKED),
    # and, in tests/unit/test_vendor_specs_b.py, Miro's 429 and that its members API only reads
    "miro": ("tests/vendor_specs/miro/organization-members.yaml", (*OPENAPI_CHECKED, "rate_limit")),
    "atlassian": ("tests/vendor_specs/atlassian/admin-changelog.yaml", ("reclaim",)),
    "jira": ("tests/vendor_specs/atlassian/admin-changelog.yaml", ("reclaim",)),
    "confluence": ("tests/vendor_specs/atlassian/admin-changelog.yaml", ("reclaim",)),
    "microsoft_graph": ("tests/vendor_specs/microsoft_graph/signinactivity.yaml", ("last_activity",)),
    # tests/unit/test_vendor_specs_b.py: DocuSign's Swagger 2 description (eSignature v2.1)
    "docusign": ("tests/vendor_specs/docusign/users.yaml", (*OPENAPI_CHECKED, "loses_data")),
    # and Calendly's OpenAPI document (2.0.0), as speakeasy-sdks/calendly-python vendors it
    "calendly": ("tests/vendor_specs/calendly/organization-memberships.yaml", OPENAPI_CHECKED),
}
# What tests/unit/test_vendor_specs_b.py checks against extracts of the vendors' own documentation
# pages and reference documents (quoted verbatim, each with its URL and the date read, or its
# repository, path and commit): the facts of each template that its extract's `facts` name.
ATLASSIAN_DOCS = ("users_path", "paging", "page_size", "email", "last_activity", "seat", "rate_limit")
DOCS_CHECKED: dict[str, tuple[str, tuple[str, ...]]] = {
    "adobe": ("tests/vendor_specs/adobe/umapi-docs.yaml", (*OPENAPI_CHECKED, "loses_data", "rate_limit")),
    "asana": ("tests/vendor_specs/asana/docs.yaml", ("rate_limit",)),
    **dict.fromkeys(
        ("atlassian", "confluence", "jira"), ("tests/vendor_specs/atlassian/organization-docs.yaml", ATLASSIAN_DOCS)
    ),
    "calendly": ("tests/vendor_specs/calendly/docs.yaml", ("users_path", "rate_limit")),
    "docusign": ("tests/vendor_specs/docusign/docs.yaml", ("rate_limit",)),
    "hubspot": ("tests/vendor_specs/hubspot/docs.yaml", ("rate_limit",)),
    "monday": (
        "tests/vendor_specs/monday/docs.yaml",
        ("users_path", "paging", "email", "last_activity", "seat", "rate_limit"),
    ),
    "figma": (
        "tests/vendor_specs/figma/scim-docs.yaml",
        ("users_path", "paging", "page_size", "email", "last_activity", "seat", "reclaim"),
    ),
    "onepassword": ("tests/vendor_specs/onepassword/scim-docs.yaml", ("users_path", "loses_data")),
    "smartsheet": (
        "tests/vendor_specs/smartsheet/docs.yaml",
        ("users_path", "page_size", "email", "last_activity", "seat", "reclaim", "rate_limit"),
    ),
    "smartsheet_ubm": (
        "tests/vendor_specs/smartsheet/ubm-docs.yaml",
        ("users_path", "page_size", "email", "last_activity", "seat", "reclaim", "loses_data", "rate_limit"),
    ),
    "zendesk": (
        "tests/vendor_specs/zendesk/docs.yaml",
        ("users_path", "paging", "page_size", "email", "last_activity", "seat", "reclaim", "rate_limit"),
    ),
}
# Where the template says the vendor has no such thing (no activity field, no page-size parameter),
# and the extract's field or parameter list shows that it has none: that is confirmed too.
ABSENCE_CHECKED: set[tuple[str, str]] = {
    ("adobe", "last_activity"),
    ("atlassian", "page_size"),
    ("confluence", "page_size"),
    ("jira", "page_size"),
    ("asana", "last_activity"),
    ("figma", "last_activity"),
    ("hubspot", "last_activity"),
    ("calendly", "last_activity"),
    ("calendly", "reclaim"),
    ("miro", "reclaim"),
}
# Share a of issue 25 (okta ... salesforce): per template, each fact and the extracts that confirm it, as
# tests/unit/test_vendor_specs_a.py checks them (its CONFIRMS: tests/unit/test_catalog_facts.py compares the
# two). A fact named here is confirmed even where the template says there is none ("none", "—"): the test
# checks that the vendor's document has no such field, or that the manual step it names is the vendor's.
S = "tests/vendor_specs/"
CONFIRMED_A: dict[str, dict[str, tuple[str, ...]]] = {
    "okta": {"rate_limit": (S + "okta/rate-limits.yaml",)},
    "okta_sso": {
        **dict.fromkeys(
            ("users_path", "paging", "page_size", "email", "last_activity", "seat"), (S + "okta/management.yaml",)
        ),
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
    "entra_sso": dict.fromkeys(
        ("users_path", "paging", "page_size", "email", "last_activity", "seat", "rate_limit"),
        (S + "microsoft_graph/users-list.yaml",),
    ),
    "google_workspace": {
        **dict.fromkeys(
            ("users_path", "paging", "page_size", "email", "last_activity"), (S + "google/directory-users.yaml",)
        ),
        "reclaim": (S + "google/licensing.yaml",),
        "rate_limit": (S + "google/directory-limits.yaml",),
    },
    "google_sso": {
        **dict.fromkeys(
            ("users_path", "paging", "page_size", "email", "last_activity"), (S + "google/directory-users.yaml",)
        ),
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
        **dict.fromkeys(
            ("users_path", "paging", "page_size", "email", "last_activity", "seat", "reclaim", "loses_data"),
            (S + "github/copilot-seats.yaml",),
        ),
        "rate_limit": (S + "github/rate-limits.yaml",),
    },
    "github_enterprise": {
        **dict.fromkeys(
            ("users_path", "paging", "page_size", "email", "last_activity", "reclaim"),
            (S + "github/enterprise-consumed-licenses.yaml",),
        ),
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
    "dropbox": dict.fromkeys(
        ("users_path", "paging", "page_size", "email", "last_activity", "seat", "reclaim", "loses_data"),
        (S + "dropbox/team-members.yaml",),
    ),
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
# Facts the vendor contradicted, fixed in the template to what the vendor says (issue 25).
FIXED = {
    ("okta", "loses_data"): "Okta: deactivating a user is a destructive operation",
    ("atlassian", "reclaim"): "Atlassian: v1 suspend-access stopped working after 2026-06-30",
    ("jira", "reclaim"): "Atlassian: v1 suspend-access stopped working after 2026-06-30",
    ("confluence", "reclaim"): "Atlassian: v1 suspend-access stopped working after 2026-06-30",
    ("microsoft_graph", "last_activity"): "Microsoft: lastSignInDateTime records failed attempts too",
    ("microsoft_graph", "page_size"): "Microsoft: with signInActivity selected, the maximum page size is 500",
    ("microsoft_graph", "seat"): "Microsoft counts each assigned license: a user blocked from signing in holds one too",
    ("github_org", "loses_data"): "GitHub: private forks can be restored for three months (the note said deleted)",
    ("slack", "loses_data"): "Slack: billing stops after 28 days without use, not 14 as the note said",
    ("asana", "loses_data"): "Asana: private resources must be made public before removal to keep access",
    ("figma", "users_path"): "Figma: GET Users lists only the users provisioned through SCIM",
    ("onepassword", "users_path"): "1Password: the SCIM bridge's endpoints are /scim/Users, not /scim/v2",
    (
        "hubspot",
        "users_path",
    ): "HubSpot: User Provisioning v3 lists users at /settings/users/v3, not /settings/v3/users/",
    ("zendesk", "last_activity"): "Zendesk: last_login_at moves on an API request made with the user's token too",
}


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ") if text not in (None, "") else "—"


def what_it_says(template: ConfigurationTemplate) -> dict[str, str]:
    profile = template.profile
    users = profile.get("users") or {}
    pagination = users.get("pagination") or {}
    fields = users.get("fields") or {}
    reclaim = profile.get("reclaim")
    parameters = [f"{k}={v}" for k, v in sorted(pagination.items()) if k.endswith("_param")]
    activity = fields.get("last_activity") or (profile.get("activity") or {}).get("fields", {}).get("last_activity")
    # A more list of seat holders (users.also: GitHub's outside collaborators) is read and removed by its own requests.
    also = users.get("also") or []
    lists = "".join(f"; {more['kind']}: `GET {more['path']}`" for more in also)
    removals = "".join(
        f"; {more['kind']}: `{more['reclaim']['method']} {more['reclaim']['path']}`"
        for more in also
        if more.get("reclaim")
    )
    return {
        "users_path": f"`{template.endpoint}`" + lists,
        "paging": f"{template.pagination}" + (f" ({', '.join(parameters)})" if parameters else ""),
        "page_size": str(pagination.get("page_size", "—")),
        "email": f"`{fields['email']}`" if fields.get("email") else "—",
        "last_activity": f"`{activity}`"
        if activity
        else (f"none: {template.activity_note[:80]}…" if template.activity_note else "—"),
        "seat": f"`{fields['active']}`" if fields.get("active") else "every listed user",
        "reclaim": f"`{reclaim['method']} {reclaim['path']}`" + removals if reclaim else "none (manual)",
        "loses_data": ("yes" if facts.loses_data else "no")
        if (facts := template.reclaim or template.app_reclaim)
        else "—",
        "rate_limit": "429 with Retry-After, or the vendor's own answer (read generically)" + _declared(profile),
    }


def _declared(profile: dict[str, Any]) -> str:
    limit = profile.get("rate_limit")
    if not limit:
        return ""
    window, scope = limit.get("window_seconds", 60), limit.get("scope", "org")
    if not limit.get("requests"):
        # The size of the window comes from the app's headers (Okta's, Zendesk's): only whose budget it is.
        return f"; declared: the limit the app's headers announce ({scope})"
    return f"; declared: {limit['requests']} requests per {window:g} s ({scope})"


def verdict(template: ConfigurationTemplate, fact: str, says: str) -> tuple[str, str]:
    if fact in template.unverified:
        return "**unverified**", template.unverified[fact]  # type: ignore[index]
    if fact == "loses_data" and template.reclaim is None and template.app_reclaim is None:
        # Without a reclaim request seatkeeper takes nothing back, so there is nothing to lose: no fact. (An
        # identity provider's template without one still has the unassign of the profiles made from its apps.)
        return "not applicable", "no reclaim request"
    sources = CONFIRMED_A.get(template.name, {}).get(fact)
    if sources:
        fixed = FIXED.get((template.name, fact))
        cited = ", ".join(f"`{source}`" for source in sources)
        return ("confirmed, fixed" if fixed else "confirmed"), cited + (f" ({fixed})" if fixed else "")
    for checked in (CHECKED, DOCS_CHECKED):
        source, facts = checked.get(template.name, ("", ()))
        # The checks confirm the fields a template reads; that a vendor has no such field, only a
        # check of the vendor's whole field (or parameter) list does.
        absent = says.startswith(("none", "—"))
        if fact in facts and (not absent or (template.name, fact) in ABSENCE_CHECKED):
            fixed = FIXED.get((template.name, fact))
            return ("confirmed, fixed" if fixed else "confirmed"), f"`{source}`" + (f" ({fixed})" if fixed else "")
    return "not checked", template.documentation


def render() -> str:
    catalog = templates()
    counts = {"confirmed": 0, "unverified": 0, "not applicable": 0, "not checked": 0}
    sections = []
    for name, template in catalog.items():
        says = what_it_says(template)
        rows = []
        for fact, title in FACTS.items():
            word, source = verdict(template, fact, says[fact])
            counts[next((kind for kind in counts if kind in word), "not checked")] += 1
            rows.append(f"| {title} | {_cell(says[fact])} | {word} | {_cell(source)} |")
        lifecycle = f"API version: {template.api_version}" + (f"; sunset {template.sunset}" if template.sunset else "")
        sections.append(
            f"## `{name}` — {template.title}\n\n{lifecycle}.\n\n| fact | the template says | verdict | source |\n"
            "|---|---|---|---|\n" + "\n".join(rows) + "\n"
        )
    total = sum(counts.values())
    head = (
        "# The catalog, fact by fact\n\n"
        "Generated by `scripts/catalog_facts.py` from the templates"
        " (`layers/seatkeeper/seatkeeper/profiles/templates/`) and checked by"
        " `tests/unit/test_catalog_facts.py`: do not edit, regenerate.\n\n"
        "A fact is *confirmed* when `tests/unit/test_vendor_specs*.py` check it against an extract of the"
        " vendor's own API description (`tests/vendor_specs/`, each naming its source), *unverified* when the"
        " template says no vendor source confirms it (and why), and *not checked* when only the vendor's"
        " documentation page the template links to backs it. Whether reclaiming loses data is *not applicable*"
        " to a template without a reclaim request.\n\n"
        f"{total} facts in {len(catalog)} templates: {counts['confirmed']} confirmed,"
        f" {counts['unverified']} unverified, {counts['not applicable']} not applicable,"
        f" {counts['not checked']} not checked.\n\n"
    )
    return head + "\n".join(sections)


if __name__ == "__main__":
    sys.stdout.write(render())
