"""An Entra app of 200 seats in a tenant of 100,000 people: a sync reads the app's people, not the tenant's,
and each sync reads the sign-in log only from where the last one stopped; an app with 200 accounts of its
own looks up those accounts' people by address, not the tenant. Through the local stack.

The tenant is our fake Entra ID (seatkeeper_local.fakes.entra), its 100,000 people made up from their
ids when asked. Graph's words it follows: tests/vendor_specs/microsoft_graph/users_by_id.yaml (user `id`
supports `in`, 15 expressions a clause; appRoleAssignment's principalType; signIn's createdDateTime) and
tests/vendor_specs/microsoft_graph/users_by_address.yaml (user `mail` and `userPrincipalName` support `in`;
aliases in `proxyAddresses` do not).
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from seatkeeper.identity import provider as identity_provider
from seatkeeper.identity.provider import ENTRA_IDS_PER_REQUEST
from seatkeeper.profiles.catalog import build_profile
from seatkeeper.saas.http import SaaSClient
from seatkeeper.saas.network_guard import NetworkPolicy
from seatkeeper.saas.paging import PageCursor
from seatkeeper.sync.fetch import FetchCheckpoint, people_pages
from seatkeeper_local.fakes.identity_provider import Population
from tests.idp_servers import App, Assignment, Person, fake_entra
from tests.integration.connection_checks import wait_for
from tests.integration.test_sync import connected_profile, stored_users, sync
from tests.paging_app import paging_app, profile_fields

TENANT = 100_000
SEATS = 200


@pytest.fixture(scope="module")
def tenant():
    with fake_entra(people=Population(generated=TENANT)) as entra:
        # An app assigned to 200 people spread over the tenant, and to one group
        app = entra.add_app(App(str(uuid.uuid4()), "Figma"))
        app.assignments += [Assignment(Population.generated_id(i * (TENANT // SEATS))) for i in range(SEATS)]
        app.assignments.append(Assignment(Population.generated_id(7), group="Design team"))
        yield entra, app


@pytest.fixture(scope="module")
def entra_idp(api, tenant):
    entra, _ = tenant
    integrator = api("sam_integrator")
    idp = integrator.post(
        "/profiles",
        json={
            "name": f"Entra {uuid.uuid4().hex[:6]}",
            "template": "entra_sso",
            "base_url": entra.graph_url,
            "auth": {"token_url": entra.token_url},
        },
    ).json()
    started = integrator.post(
        f"/profiles/{idp['id']}/connection", json={"client_id": entra.client_id, "client_secret": entra.client_secret}
    )
    assert started.status_code == 202, started.text
    assert wait_for(integrator, idp["id"], {"connected", "failed"})["status"] == "connected"
    return idp


def sign_in_filters(entra, seen: int) -> list[str]:
    return [r["query"]["$filter"][0] for r in entra.requests_seen[seen:] if r["path"] == "/v1.0/auditLogs/signIns"]


def test_a_200_seat_app_in_a_100000_person_tenant_reads_its_200_people_and_sign_ins_from_the_last_mark(
    api, tenant, entra_idp
):
    entra, app = tenant
    integrator, idp = api("sam_integrator"), entra_idp
    created = integrator.post(
        f"/idp/{idp['id']}/apps/{app.id}/profile",
        json={"name": f"Figma {uuid.uuid4().hex[:6]}", "subscription": {"licenses_purchased": SEATS}},
    )
    assert created.status_code == 201, created.text
    profile = created.json()
    # Given one of the assigned people signed in yesterday
    early = Population.generated_id(0)
    entra.sign_in(app.id, early, datetime.now(UTC) - timedelta(days=1))

    # When the app syncs
    served, seen = entra.users_served, len(entra.requests_seen)
    first = sync(integrator, profile["id"])

    # Then it read the 200 people its assignments name, fifteen a request, and not the tenant
    assert first["status"] == "succeeded", first["error"]
    assert SEATS <= entra.users_served - served <= SEATS + 20  # loosely: not 100,000
    people_requests = [r for r in entra.requests_seen[seen:] if r["path"] == "/v1.0/users"]
    assert len(people_requests) == math.ceil(SEATS / ENTRA_IDS_PER_REQUEST)
    assert all(r["query"]["$filter"][0].startswith("id in (") for r in people_requests)
    # And each seat has its person's address, the group's seat stays the group's
    users = {u["id"]: u for u in stored_users(integrator, profile["id"])}
    assert len(users) == SEATS + 1
    assert users[early]["email"] == "user0@tenant.example" and users[early]["status"] == "active"
    assert sum(1 for u in users.values() if u["assigned_via_group"] == "Design team") == 1
    (first_window,) = sign_in_filters(entra, seen)
    mark = re.search(r"createdDateTime le (\S+)", first_window).group(1)

    # When someone else signs in, and the app syncs again
    later = Population.generated_id(500)
    entra.sign_in(app.id, later, datetime.now(UTC))
    served, seen = entra.users_served, len(entra.requests_seen)
    second = sync(integrator, profile["id"])

    # Then the sign-in log is asked only from the first sync's mark on, and the new sign-in counts
    assert second["status"] == "succeeded", second["error"]
    (second_window,) = sign_in_filters(entra, seen)
    assert f"createdDateTime ge {mark}" in second_window
    assert second["sign_ins_read"] == 1
    assert SEATS <= entra.users_served - served <= SEATS + 20
    users = {u["id"]: u for u in stored_users(integrator, profile["id"])}
    assert users[later]["status"] == "active" and users[early]["status"] == "active"


def test_an_app_with_200_accounts_of_its_own_looks_up_their_200_people_by_address_not_the_tenant(
    api, tenant, entra_idp
):
    entra, _ = tenant
    integrator = api("sam_integrator")
    miro = entra.add_app(App(str(uuid.uuid4()), "Miro"))
    # Dana's mail is an alias; her userPrincipalName is the address the app knows.
    dana = entra.add_person(
        Person(str(uuid.uuid4()), "dana.alias@corp.example", "Dana Alias", principal_name="dana@tenant.example")
    )
    leaver = entra.add_person(Person(str(uuid.uuid4()), "leo@tenant.example", "Leo Leaver", status="DEPROVISIONED"))
    # Eve's principal name is not her mail: the sign-in log writes the principal name.
    eve = entra.add_person(
        Person(
            str(uuid.uuid4()), "eve@tenant.example", "Eve Principal", principal_name="eve.p@tenant.onmicrosoft.example"
        )
    )
    with paging_app(SEATS) as app:
        # Given an app with 200 accounts of its own: people of the tenant by e-mail in another case, Dana by
        # her principal name, a leaver whose account is still active, and one nobody in Entra has
        for i, user in enumerate(app.users):
            user["email"] = f"User{i * (TENANT // SEATS)}@Tenant.Example"
        app.users[3]["email"], app.users[4]["email"] = "Dana@Tenant.example", leaver.email
        app.users[4]["active"] = True
        app.users[5]["email"], app.users[6]["email"] = "stranger@elsewhere.example", "Eve@Tenant.example"
        profile = connected_profile(
            integrator,
            **profile_fields(app, "offset"),
            activity={"source": "sso", "idp_profile_id": entra_idp["id"], "app_id": miro.id},
        )
        # And one of them signed in to the app through Entra yesterday (their last app login: 7 days ago)
        entra.sign_in(miro.id, Population.generated_id(TENANT // SEATS), datetime.now(UTC) - timedelta(days=1))
        entra.sign_in(miro.id, dana.id, datetime.now(UTC) - timedelta(hours=3))
        entra.sign_in(miro.id, eve.id, datetime.now(UTC) - timedelta(hours=2))

        # When the app syncs
        served, seen = entra.users_served, len(entra.requests_seen)
        run = sync(integrator, profile["id"])

    # Then the people Entra served are about the app's 200 accounts, not the tenant's 100,000
    assert run["status"] == "succeeded", run["error"]
    assert SEATS - 5 <= entra.users_served - served <= SEATS + 20  # loosely
    asked = [r["query"]["$filter"][0] for r in entra.requests_seen[seen:] if r["path"] == "/v1.0/users"]
    assert all(re.fullmatch(r"(mail|userPrincipalName) in \(.*\)", f) for f in asked), asked[:3]
    assert sum(f.startswith("mail in") for f in asked) == math.ceil(SEATS / ENTRA_IDS_PER_REQUEST)
    # And only the addresses no mail answered were asked again by userPrincipalName
    by_principal = " ".join(f for f in asked if f.startswith("userPrincipalName"))
    assert "'Dana@Tenant.example'" in by_principal and "'stranger@elsewhere.example'" in by_principal
    assert "User0@" not in by_principal
    (window,) = sign_in_filters(entra, seen)
    assert f"appId eq '{miro.id}'" in window
    # And activity and leavers match as before: by e-mail whatever its case, the leaver orphaned, the stranger
    # unmatched
    users = {u["id"]: u for u in stored_users(integrator, profile["id"])}
    assert len(users) == SEATS
    signed_in = users["u000001"]
    assert signed_in["last_sign_in"][:10] == (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert signed_in["unmatched"] is False and signed_in["orphaned"] is False and signed_in["status"] == "active"
    assert users["u000003"]["unmatched"] is False and users["u000003"]["last_sign_in"] is not None
    assert users["u000004"]["orphaned"] is True
    # And Eve's sign-in, written under her principal name, counts for her account under her mail (by her id)
    assert users["u000006"]["unmatched"] is False and users["u000006"]["last_sign_in"] is not None
    assert users["u000005"]["unmatched"] is True
    assert sum(u["unmatched"] for u in users.values()) == 1


def test_a_lookup_by_address_resumed_after_a_timeout_goes_on_from_the_addresses_already_read(tenant):
    entra, _ = tenant
    profile = build_profile(
        {"name": "Entra", "template": "entra_sso", "base_url": entra.graph_url, "auth": {"token_url": entra.token_url}}
    )
    token = f"resume-{uuid.uuid4().hex}"
    entra.tokens.add(token)  # as the token endpoint would have granted it
    client = SaaSClient(
        profile,
        {"client_id": entra.client_id, "client_secret": entra.client_secret},
        policy=NetworkPolicy.from_entries(["127.0.0.0/8"]),
        access_token=lambda: token,
    )
    source = identity_provider.SignInSource(
        client, "entra", "any-app", since=datetime.now(UTC), read_people=True, people_by_address=True
    )
    # Given 40 accounts staged, and a checkpoint that read the people of the first 30 addresses before its
    # invocation ran out of time
    staged = [{"id": f"u{i}", "email": f"user{i}@tenant.example"} for i in range(40)]
    addresses = identity_provider.account_addresses(staged, None)
    state = FetchCheckpoint(phase="people", cursor=PageCursor(offset=30, done=False))
    served, seen = entra.users_served, len(entra.requests_seen)

    # When the people phase goes on
    pages = list(people_pages(source, state, lambda: staged))

    # Then it asks for the last 10 addresses only, in one request, and is done
    asked = [r["query"]["$filter"][0] for r in entra.requests_seen[seen:] if r["path"] == "/v1.0/users"]
    assert asked == ["mail in (" + ",".join(f"'{a}'" for a in addresses[30:]) + ")"]
    assert entra.users_served - served == 10
    assert [cursor for _, cursor in pages] == [PageCursor(offset=40, done=True)]
    assert {row["login"] for rows, _ in pages for row in rows} == set(addresses[30:])
