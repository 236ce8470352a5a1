"""Templates against mocks served from the vendors' own API descriptions, by Prism (npm).

Prism (@stoplight/prism-cli) serves an extract of tests/vendor_specs/ as a mock API: it answers
with records shaped by the vendor's response schema, and it refuses a request that the
vendor's document does not allow (401 without the security scheme, 422 for a parameter out of
range, 404 for a path it does not have). A profile made from the template connects to it
through the local stack, so the template's first request — path, auth, parameters — is the
vendor's, and its answer parses.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
import yaml

from seatkeeper.core.errors import SaaSRequestFailed
from seatkeeper.licensing.reclamation import Candidate
from seatkeeper.profiles.catalog import build_profile, templates
from seatkeeper.saas.http import SaaSClient
from seatkeeper.saas.network_guard import NetworkPolicy
from seatkeeper.saas.paging import fetch_users
from tests.integration.connection_checks import make_profile, wait_for

ROOT = Path(__file__).parents[2]
PRISM = ROOT / "node_modules" / ".bin" / "prism"
SPECS = ROOT / "tests" / "vendor_specs"


def _with_its_media_types(document: dict) -> dict:
    """Swagger 2.0 lets an operation clear the document's media types with an empty list, and Prism then
    answers with no body at all. Docusign's document (esignature.rest.swagger-v2.1.json at 8ae82cec) says
    `produces: []` on 390 of its 402 operations beside `produces: [application/json]` at the top, which its
    generator writes for "as the document": the empty lists go, so the top's apply."""
    paths = {
        path: {
            method: {k: v for k, v in operation.items() if not (k in ("produces", "consumes") and v == [])}
            if isinstance(operation, dict)
            else operation
            for method, operation in item.items()
        }
        for path, item in document["paths"].items()
    }
    return {**document, "paths": paths}


@contextmanager
def served(extracts: str) -> Iterator[Path]:
    """The extract ("a.yaml"), or several of one vendor's document ("a.yaml+b.yaml") as one: their paths and
    components side by side, as the document they were cut from has them (a name in both must be the same),
    with the media types Prism needs to answer (see _with_its_media_types)."""
    names = extracts.split("+")
    documents = [yaml.safe_load((SPECS / name).read_text()) for name in names]
    document = documents[0] if len(names) == 1 else _merged(documents)
    readable = _with_its_media_types(document)
    if len(names) == 1 and readable == document:
        yield SPECS / names[0]
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "served.yaml"
        path.write_text(yaml.safe_dump(readable, sort_keys=False))
        yield path


def _merged(documents: list[dict]) -> dict:
    merged: dict = {**documents[0], "paths": {}, "components": {}}
    for document in documents:
        for section in ("paths", "components"):
            for key, value in document.get(section, {}).items():
                into = merged[section].setdefault(key, {})
                for name, item in value.items() if section == "components" else [(None, value)]:
                    if name is None:
                        assert not into, f"{key} is in two extracts"
                        merged[section][key] = item
                    else:
                        assert into.get(name, item) == item, f"components.{key}.{name} differs between extracts"
                        into[name] = item
    return merged


@contextmanager
def prism(extract: Path) -> Iterator[str]:
    """Prism serving the extract on a free port of 127.0.0.1; its URL, until the block ends."""
    if shutil.which("node") is None or not PRISM.exists():
        raise RuntimeError(f"Prism is not installed: run `npm ci` in {ROOT} (make test does)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(extract)], stdout=log, stderr=log, cwd=ROOT
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(
                            f"Prism did not start: {log.read().decode(errors='replace')[-2000:]}"
                        ) from None
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


# template: (extract, what base_url adds to the document's paths, the profile's own fields)
MOCKED = {
    # okta/okta-management-openapi-spec 2026.06.3 management-minimal.yaml
    "okta": ("okta/management.yaml", "", {}),
    # box/box-openapi openapi.json
    "box": ("box/users.yaml", "", {"auth": {"type": "bearer"}}),
    # Asana/openapi defs/asana_oas.yaml, asking only for the opt_fields Asana's document lists (the
    # template's user.email is not one: it is marked unverified, see the test below)
    "asana": (
        "asana/workspace-memberships.yaml",
        "/workspaces/1200000000000001",
        {"users": {"params": {"opt_fields": "user.name,is_active,is_admin,is_guest,created_at"}}},
    ),
    # HubSpot-public-api-spec-collection User Provisioning v3, at the users path the template now reads
    "hubspot": ("hubspot/user-provisioning.yaml", "", {"auth": {"type": "bearer"}}),
    # Calendly's OpenAPI document 2.0.0 (as speakeasy-sdks/calendly-python vendors it), with a personal
    # access token and the organization the template needs
    "calendly": (
        "calendly/organization-memberships.yaml",
        "",
        {
            "auth": {"type": "bearer"},
            "users": {"params": {"organization": "https://api.calendly.com/organizations/AAAAAAAAAAAAAAAA"}},
        },
    ),
}
MOCKED["miro"] = ("miro/organization-members.yaml", "/v2/orgs/3074457345821141000", {"auth": {"type": "bearer"}})
# npm:@octokit/openapi 23.0.2 (GitHub's github/rest-api-description): the org's members and its Copilot seats.
# GitHub's description declares its answers as application/json, and Prism matches the Accept header
# literally (406 to the template's application/vnd.github+json, which GitHub's docs recommend).
GITHUB_ACCEPT = {"headers": {"Accept": "application/json", "X-GitHub-Api-Version": "2022-11-28"}}
# github_org reads its outside collaborators too, and the connection test reads each list's first page: Prism
# serves both extracts as one document (org-members.yaml + outside-collaborators.yaml, same version).
MOCKED["github_org"] = ("github/org-members.yaml+github/outside-collaborators.yaml", "/orgs/acme", GITHUB_ACCEPT)
MOCKED["github_copilot"] = ("github/copilot-seats.yaml", "/orgs/acme", GITHUB_ACCEPT)
# npm:@octokit/openapi 23.0.2 generated/ghec.json: the enterprise's consumed licenses, GitHub's own list of who
# consumes a license (GitHub Enterprise Cloud only).
MOCKED["github_enterprise"] = ("github/enterprise-consumed-licenses.yaml", "/enterprises/acme", GITHUB_ACCEPT)
# docusign/eSign-OpenAPI-Specification esignature.rest.swagger-v2.1.json at 8ae82cec (eSignature v2.1): the
# account's users, with a bearer token (an OAuth access token as Docusign's API takes it). Prism serves the
# paths without the document's basePath /restapi. Its userInformation types lastLogin and createdDateTime as a
# string with no format, and Prism answers "string" for them: the times are left out here (the document gives
# no form for them to check; the contract test's fake writes them as Docusign's API is known to, seven digits
# after the second).
MOCKED["docusign"] = (
    "docusign/users.yaml",
    "/v2.1/accounts/12345678",
    {"auth": {"type": "bearer"}, "users": {"fields": {"last_activity": None, "created_at": None}}},
)
CREDENTIALS = {"api_key": {"api_key": "t"}, "bearer": {"token": "t"}}


def connect(client, name: str, url: str, **fields) -> dict:
    _, prefix, own = MOCKED[name]
    body = {"name": f"{name} on Prism", "template": name, "base_url": url + prefix, **own, **fields}
    profile = make_profile(client, **body)
    auth = (own.get("auth") or templates()[name].profile["auth"])["type"]
    answer = client.post(f"/profiles/{profile['id']}/connection", json=CREDENTIALS[auth])
    assert answer.status_code == 202, answer.text
    return profile


@pytest.mark.parametrize("name", sorted(MOCKED))
def test_a_template_connects_to_a_mock_served_from_its_vendor_s_document(api, name):
    integrator = api("sam_integrator")
    with served(MOCKED[name][0]) as extract, prism(extract) as url:
        # Given Prism serving the vendor's list operation, its parameters and security scheme
        # When a profile made from the template connects (the connection reads its first page)
        profile = connect(integrator, name, url)
        connection = wait_for(integrator, profile["id"], {"connected", "failed"})
        # Then Prism accepted the request as the vendor's document allows it, and its answer parsed
        assert connection["status"] == "connected", connection
        integrator.delete(f"/profiles/{profile['id']}")


def test_a_request_the_vendor_s_document_does_not_allow_fails_to_connect(api):
    integrator = api("sam_integrator")
    with prism(SPECS / "box" / "users.yaml") as url:
        # Given Box's document, whose GET /users takes a `limit` of at most 1000
        # When a profile asks for pages of 5000
        profile = connect(integrator, "box", url, users={"pagination": {"page_size": 5000}})
        connection = wait_for(integrator, profile["id"], {"connected", "failed"})
        # Then the mock refuses it (422) and the connection fails: the check above can fail
        assert connection["status"] == "failed", connection
        integrator.delete(f"/profiles/{profile['id']}")


def test_asana_s_mock_refuses_the_opt_field_the_template_marks_unverified(api):
    integrator = api("sam_integrator")
    template = templates()["asana"]
    # Given Asana's document, whose opt_fields enum has no user.email
    assert "user.email" in template.profile["users"]["params"]["opt_fields"] and "email" in template.unverified
    with prism(SPECS / "asana" / "workspace-memberships.yaml") as url:
        # When a profile connects with the template's own opt_fields
        profile = connect(integrator, "asana", url, users={})
        connection = wait_for(integrator, profile["id"], {"connected", "failed"})
        # Then the mock answers 422, as the template's unverified note warns
        assert connection["status"] == "failed" and "422" in connection["error"], connection
        integrator.delete(f"/profiles/{profile['id']}")


def test_github_org_s_outside_collaborators_are_read_and_removed_as_github_s_document_allows():
    # Given Prism serving GitHub's outside-collaborator operations alone (npm:@octokit/openapi 23.0.2, cut
    # into tests/vendor_specs/github/outside-collaborators.yaml), and a client of a github_org profile
    template = templates()["github_org"]
    own = {"name": "GitHub on Prism", "template": "github_org", "subscription": {"licenses_purchased": 5}}
    with prism(SPECS / "github" / "outside-collaborators.yaml") as url:
        profile = build_profile({**own, "base_url": url + "/orgs/acme", **GITHUB_ACCEPT})
        client = SaaSClient(profile, {"token": "t"}, policy=NetworkPolicy.from_entries(["127.0.0.0/8"]))
        (listing,) = profile.users.also
        # When the template's outside_collaborator list is read, as a sync reads it after the members
        with closing(fetch_users(client, listing=listing)) as pages:
            users, _ = next(pages)
        # Then Prism accepted the request (path, per_page) and its Simple Users parse, each of the list's kind
        assert users and {u.kind for u in users} == {"outside_collaborator"}
        # And a reclaim of one reaches GitHub's "Remove outside collaborator from an organization", which
        # Prism answers 204; the members' removal is not in this document (Prism would answer 404)
        status, line = client.take_back(Candidate(id=users[0].id, kind="outside_collaborator"))
        assert status == 204 and line.startswith("DELETE /outside_collaborators/")
        with pytest.raises(SaaSRequestFailed, match="404"):
            client.take_back(Candidate(id=users[0].id))
    assert template.profile["reclaim"]["path"] == "/members/{id}"
