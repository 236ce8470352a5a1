"""Usage from the identity provider, the plain parts: reading log records, matching, exclusion, counting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seatkeeper.core.errors import InvalidInput
from seatkeeper.identity.provider import (
    SignIns,
    excluded,
    fold_people,
    looks_up_addresses,
    match_key,
    people_rows,
    read_sign_in,
    reading_window,
    sign_in_rows,
    with_people,
    with_sign_ins,
)
from seatkeeper.licensing.position import compute_position
from seatkeeper.licensing.reclamation import why_not_a_candidate
from seatkeeper.profiles.catalog import build_profile
from seatkeeper.profiles.model import SsoActivity, UserMatching
from seatkeeper.saas.records import SaaSUser
from seatkeeper.sync.runs import cutoff_for

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
IDP = "prf_" + "1" * 20

# The example LogEvent of Okta's System Log reference (trimmed to what seatkeeper reads and a little more).
OKTA_EVENT = {
    "actor": {
        "id": "00uttidj01jqL21aM1d6",
        "type": "User",
        "alternateId": "john.doe@example.com",
        "displayName": "John Doe",
        "detailEntry": None,
    },
    "displayMessage": "User single sign on to app",
    "eventType": "user.authentication.sso",
    "outcome": {"result": "SUCCESS", "reason": None},
    "published": "2026-11-20T15:58:20.353Z",
    "severity": "INFO",
    "target": [
        {"id": "0oa1gjh63g214q0Hq0g4", "type": "AppInstance", "alternateId": "Figma", "displayName": "Figma"},
        {"id": "0ua1gjh63g214q0Hq0g5", "type": "AppUser", "alternateId": "john.doe@example.com"},
    ],
    "uuid": "dc9fd3c0-598c-11ef-8478-2b7584bf8d5a",
    "version": "0",
}
# The example signIn of Microsoft Graph's "List signIns" (v1.0), trimmed.
ENTRA_SIGN_IN = {
    "id": "66ea54eb-6301-4ee5-be62-ff5a759b0100",
    "createdDateTime": "2026-11-20T13:03:45Z",
    "userDisplayName": "Test contoso",
    "userPrincipalName": "testaccount1@contoso.com",
    "userId": "26be570a-ae82-4189-b4e2-a37c6808512d",
    "appId": "de8bc8b5-d9f9-48b1-a8ad-b748da725064",
    "appDisplayName": "Graph explorer",
    "status": {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None},
}


def test_a_documented_okta_event_and_entra_sign_in_read_as_who_when_and_which_app():
    assert read_sign_in("okta", OKTA_EVENT) == (
        "00uttidj01jqL21aM1d6",
        "john.doe@example.com",
        datetime(2026, 11, 20, 15, 58, 20, 353000, tzinfo=UTC),
        "0oa1gjh63g214q0Hq0g4",
    )
    assert read_sign_in("entra", ENTRA_SIGN_IN) == (
        "26be570a-ae82-4189-b4e2-a37c6808512d",
        "testaccount1@contoso.com",
        datetime(2026, 11, 20, 13, 3, 45, tzinfo=UTC),
        "de8bc8b5-d9f9-48b1-a8ad-b748da725064",
    )


# An activity of the Reports API's SAML log (activities.list, applicationName=saml), as documented.
GOOGLE_SAML_ACTIVITY = {
    "kind": "admin#reports#activity",
    "id": {
        "time": "2026-11-20T15:58:20.353Z",
        "uniqueQualifier": "-8812843243158312745",
        "applicationName": "saml",
        "customerId": "C03az79cb",
    },
    "actor": {"callerType": "USER", "email": "liz@example.com", "profileId": "107446553287958017153"},
    "events": [
        {
            "type": "login",
            "name": "login_success",
            "parameters": [
                {"name": "application_name", "value": "Slack"},
                {"name": "initiated_by", "value": "sp"},
                {"name": "orgunit_path", "value": "/corp/engineering"},
                {"name": "saml_status_code", "value": "SUCCESS_URI"},
            ],
        }
    ],
}


def test_a_google_saml_sign_in_reads_as_who_when_and_which_app_and_its_people_as_addresses_and_leavers():
    assert read_sign_in("google", GOOGLE_SAML_ACTIVITY) == (
        "107446553287958017153",
        "liz@example.com",
        datetime(2026, 11, 20, 15, 58, 20, 353000, tzinfo=UTC),
        "Slack",
    )
    people = people_rows(
        "google",
        [
            {
                "id": "1",
                "primaryEmail": "liz@example.com",
                "emails": [{"address": "liz@example.com"}, {"address": "e.smith@example.com"}],
                "suspended": False,
                "archived": False,
            },
            {"id": "2", "primaryEmail": "gone@example.com", "suspended": True},
            {"id": "3", "primaryEmail": "kept@example.com", "suspended": False, "archived": True},
        ],
    )
    assert [(r["id"], r["login"], r["left"]) for r in people] == [
        ("1", "liz@example.com", False),
        ("1", "e.smith@example.com", False),
        ("2", "gone@example.com", True),
        ("3", "kept@example.com", True),
    ]


def test_a_page_of_sign_ins_folds_to_each_persons_latest():
    later = {**OKTA_EVENT, "published": "2026-11-25T08:00:00.000Z"}
    rows = sign_in_rows("okta", [OKTA_EVENT, later, {**OKTA_EVENT, "actor": {"id": "00uother"}}])
    assert {(r["id"], r["at"]) for r in rows} == {
        ("00uttidj01jqL21aM1d6", "2026-11-25T08:00:00+00:00"),
        ("00uother", "2026-11-20T15:58:20.353000+00:00"),
    }


@pytest.mark.parametrize(
    ("address", "matching", "key"),
    [
        ("Ann.Lee@Corp.Example", None, "ann.lee@corp.example"),
        (
            "ann.lee@corp-example.com",
            UserMatching(alias_domains={"corp-example.com": "corp.example"}),
            "ann.lee@corp.example",
        ),
        ("ann.lee@elsewhere.example", UserMatching(by="username"), "ann.lee"),
        (None, None, None),
    ],
)
def test_an_address_is_matched_case_insensitively_with_alias_domains_or_by_username(address, matching, key):
    assert match_key(address, matching) == key


def test_the_later_of_app_activity_and_sign_in_wins_and_an_earlier_syncs_sign_in_is_kept():
    sign_ins = SignIns.fold([{"id": "p1", "login": "ANN@corp.example", "at": "2026-11-20T00:00:00+00:00"}], None)
    user = SaaSUser(id="a1", email="ann@corp.example", last_activity=NOW - timedelta(days=30))
    assert with_sign_ins(user, sign_ins, None, by_id=False).last_activity == datetime(2026, 11, 20, tzinfo=UTC)
    newer_in_app = user.model_copy(update={"last_activity": NOW})
    assert with_sign_ins(newer_in_app, sign_ins, None, by_id=False).last_activity == NOW
    nobody_new = SignIns.fold([], None)
    kept = with_sign_ins(user, nobody_new, "2026-11-27T00:00:00+00:00", by_id=False)
    assert kept.last_sign_in == kept.last_activity == datetime(2026, 11, 27, tzinfo=UTC)


def test_an_account_without_a_person_is_unmatched_and_one_whose_person_left_is_orphaned():
    people = fold_people(
        [{"login": "ann@corp.example", "left": False}, {"login": "cid@corp.example", "left": True}], None
    )
    assert with_people(SaaSUser(id="1", email="Ann@Corp.Example"), people, None).unmatched is False
    assert with_people(SaaSUser(id="2", email="zed@corp.example"), people, None).unmatched is True
    assert with_people(SaaSUser(id="3"), people, None).unmatched is True
    assert with_people(SaaSUser(id="4", email="cid@corp.example"), people, None).orphaned is True


def test_the_first_sync_reads_lookback_days_capped_by_the_idp_and_later_ones_from_the_mark():
    sso = SsoActivity(source="sso", idp_profile_id=IDP, app_id="0oa1", lookback_days=60)
    assert reading_window("okta", sso, None, NOW) == NOW - timedelta(days=60)
    assert reading_window("entra", sso, None, NOW) == NOW - timedelta(days=30)
    mark = {"idp_profile_id": IDP, "app_id": "0oa1", "until": (NOW - timedelta(hours=6)).isoformat()}
    assert reading_window("okta", sso, mark, NOW) == NOW - timedelta(hours=6)
    # A mark taken for another app does not count.
    assert reading_window("okta", sso, {**mark, "app_id": "0oa2"}, NOW) == NOW - timedelta(days=60)


def app_profile(**policy):
    return build_profile(
        {
            "name": "Slack",
            "base_url": "https://acme.okta.example",
            "auth": {"type": "bearer"},
            "users": {"path": "/u", "fields": {"id": "id"}},
            "subscription": {"licenses_purchased": 10, "cost_per_license": 5},
            "policy": {"inactivity_days": 30, **policy},
        }
    )


def test_excluded_users_are_globs_on_email_or_id_and_never_stale_nor_candidates():
    profile = app_profile(excluded_users=["svc-*@corp.example", "break-glass-?"])
    old = NOW - timedelta(days=300)
    robot = SaaSUser(id="x1", email="SVC-backup@corp.example", last_activity=old, created_at=old)
    glass = SaaSUser(id="break-glass-1", last_activity=old, created_at=old)
    person = SaaSUser(id="p1", email="ann@corp.example", last_activity=old, created_at=old)
    assert excluded(robot, profile.policy) and excluded(glass, profile.policy)
    assert not excluded(person, profile.policy)
    position = compute_position("prf", profile, [robot, glass, person], now=NOW)
    assert (position.assigned, position.stale, position.excluded, position.unknown) == (3, 1, 2, 2)
    cutoff = cutoff_for(profile, NOW)
    assert why_not_a_candidate(robot, profile, cutoff=cutoff, tracked=True, reclaimed=set()) is not None
    assert why_not_a_candidate(person, profile, cutoff=cutoff, tracked=True, reclaimed=set()) is None


def test_a_leaver_is_a_candidate_whatever_the_activity_and_a_group_seat_never_is():
    profile = app_profile()
    cutoff = cutoff_for(profile, NOW)
    leaver = SaaSUser(id="l1", orphaned=True, last_activity=NOW, created_at=NOW)
    group_seat = SaaSUser(id="g1", assigned_via_group="Engineering", last_activity=NOW - timedelta(days=200))
    unmatched = SaaSUser(id="u1", unmatched=True, last_activity=NOW - timedelta(days=200))
    assert why_not_a_candidate(leaver, profile, cutoff=cutoff, tracked=True, reclaimed=set()) is None
    assert "Engineering" in why_not_a_candidate(group_seat, profile, cutoff=cutoff, tracked=True, reclaimed=set())
    assert (
        why_not_a_candidate(unmatched, profile, cutoff=cutoff, tracked=True, reclaimed=set()) == "not stale (unknown)"
    )
    position = compute_position("prf", profile, [leaver, group_seat, unmatched], now=NOW)
    assert (position.orphaned, position.assigned_via_group, position.unmatched, position.stale) == (1, 1, 1, 2)


def test_a_profile_with_sso_activity_names_an_idp_profile_and_an_app_id_of_one_path_segment():
    for app_id in ("..", "a/b", "", "x" * 101):
        with pytest.raises(InvalidInput):
            build_profile(
                {
                    "name": "x",
                    "base_url": "https://a.example",
                    "auth": {"type": "bearer"},
                    "users": {"path": "/u", "fields": {"id": "id"}},
                    "subscription": {"licenses_purchased": 1},
                    "activity": {"source": "sso", "idp_profile_id": IDP, "app_id": app_id},
                }
            )


def test_only_an_entra_app_of_its_own_accounts_matched_by_e_mail_looks_its_people_up_by_address():
    own = SsoActivity(source="sso", idp_profile_id=IDP, app_id="0oa1")
    assigned = SsoActivity(source="sso", idp_profile_id=IDP, app_id="0oa1", users_from_idp=True)
    # Given apps whose activity comes from sign-ins, When seatkeeper decides how to read their people,
    # Then an Entra app's own accounts matched by e-mail are looked up by address
    assert looks_up_addresses("entra", own, None)
    assert looks_up_addresses("entra", own, UserMatching(alias_domains={"a.example": "b.example"}))
    # And matching by username (no address to filter on), other IdPs and an app of assignments do not
    assert not looks_up_addresses("entra", own, UserMatching(by="username"))
    assert not looks_up_addresses("okta", own, None)
    assert not looks_up_addresses("google", own, None)
    assert not looks_up_addresses("entra", assigned, None)


def test_a_sign_in_written_under_a_principal_name_counts_for_the_account_under_the_same_person_s_mail():
    # Given a person whose mail and principal name differ, who signed in (the log writes the principal name)
    people = [
        {"id": "p1", "login": "eve@corp.example", "left": False},
        {"id": "p1", "login": "eve.p@corp.onmicrosoft.example", "left": False},
    ]
    sign_ins = SignIns.fold([{"id": "p1", "login": "eve.p@corp.onmicrosoft.example", "at": NOW.isoformat()}], None)
    account = SaaSUser(id="app-7", email="Eve@Corp.example", active=True)
    assert sign_ins.latest(account, by_id=False) is None
    # When the people are folded with the sign-ins
    folded = fold_people(people, None, sign_ins)
    # Then the app's account under her mail has her sign-in, and she is present
    assert sign_ins.latest(account, by_id=False) == NOW
    assert with_people(account, folded, None).unmatched is False
