"""Usage from the identity provider: who is assigned to an app behind SSO, and when each person
last signed in to it (SPEC: "Usage from the identity provider").

An identity-provider profile (templates okta_sso, entra_sso, google_sso) is connected like any
other, with whatever auth its template or its own `auth` names (Google: a service account's signed
grant, or an administrator's OAuth consent). A profile whose activity has `source: "sso"`
reads the sign-ins to its app from the IdP's log with the IdP profile's client: the IdP's
credential, bound to the IdP's origins, never the app's. A profile with `users_from_idp` is
the IdP's view of one app: its users are the app's assignments and its reclaim request
unassigns, all sent with the IdP's connection, which is bound to exactly the base URL and auth
the profile repeats.

Okta: System Log `/api/v1/logs` (SSO events `user.authentication.sso` of one app, bounded by
`since` and `until`, Link header pages), `/api/v1/apps`, `/api/v1/apps/{id}/users`.
Microsoft Entra ID: `/auditLogs/signIns` (filtered by `appId` and a `createdDateTime` window that starts
at the last sync's mark, `@odata.nextLink` pages), `/servicePrincipals`, `.../appRoleAssignedTo`, `/users`
(leavers: `accountEnabled: false`): for an app's assignments only the people assigned, 15 ids a request
(`id in (...)`), never the whole tenant; for an app's own accounts only the people of their addresses (`mail
in (...)`, then `userPrincipalName in (...)` for those no mail answered), unless matched by username. A
group's assignment stays one seat, the group's: its members are not read (Graph: a group's direct members
hold the role, and only a change to the group frees it).
Google Workspace: the Reports API's SAML log (`activities.list`, application `saml`, event
`login_success`, filtered by `application_name`, `nextPageToken` pages), Directory `users`
(leavers: suspended or archived). Google has no API for the people assigned to a SAML app: its
apps are found in the log, and their users come from each app's own API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from seatkeeper.core.errors import InvalidInput, SaaSRequestFailed
from seatkeeper.profiles.links import RETENTION_DAYS, identity_provider_of, sso_activity
from seatkeeper.profiles.model import (
    CursorPagination,
    LinkHeaderPagination,
    NextUrlPagination,
    Policy,
    Profile,
    SsoActivity,
    UserMatching,
)
from seatkeeper.profiles.records import ProfileRecord
from seatkeeper.saas.records import SaaSUser, UnreadableRecord, parse_timestamp

if TYPE_CHECKING:
    # Only a type here: the client (requests and urllib3) is imported by whoever makes one, and the
    # steps that merely fold sign-ins into a snapshot do not pay for it at cold start.
    from seatkeeper.saas.http import SaaSClient

DISCOVERY_DAYS = 30
OKTA_SSO_EVENT = "user.authentication.sso"
GOOGLE_SAML_LOG = "/admin/reports/v1/activity/users/all/applications/saml"


# --- sign-ins ---------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class LogQuery:
    """One bounded read of an IdP's sign-in log: what saas.paging's pager needs."""

    method: str
    path: str
    params: dict[str, str]
    pagination: LinkHeaderPagination | NextUrlPagination | CursorPagination
    records_path: str


def sign_in_query(kind: str, *, since: datetime, until: datetime, app_id: str | None) -> LogQuery:
    """The successful sign-ins to one app (or to every app, for discovery) between since and until."""
    if kind == "okta":
        conditions = [f'eventType eq "{OKTA_SSO_EVENT}"', 'outcome.result eq "SUCCESS"']
        if app_id is not None:
            conditions.append(f'target.id eq "{app_id}"')
        # `until` makes it a bounded query: Okta ends its Link pages there (a polling query never ends).
        params = {"since": _iso(since), "until": _iso(until), "filter": " and ".join(conditions)}
        params["sortOrder"] = "ASCENDING"
        return LogQuery(
            "GET",
            "/api/v1/logs",
            params,
            LinkHeaderPagination(type="link_header", limit_param="limit", page_size=1000),
            "@",
        )
    if kind == "entra":
        conditions = [f"createdDateTime ge {_iso(since)}", f"createdDateTime le {_iso(until)}", "status/errorCode eq 0"]
        if app_id is not None:
            conditions.insert(0, f"appId eq '{app_id}'")
        return LogQuery(
            "GET",
            "/auditLogs/signIns",
            {"$filter": " and ".join(conditions)},
            NextUrlPagination(type="next_url", next_url_path='"@odata.nextLink"', limit_param="$top", page_size=1000),
            "value",
        )
    if kind == "google":
        params = {"eventName": "login_success", "startTime": _iso(since), "endTime": _iso(until)}
        if app_id is not None:
            params["filters"] = f"application_name=={app_id}"
        return LogQuery("GET", GOOGLE_SAML_LOG, params, _google_pages(1000), "items || `[]`")
    raise SaaSRequestFailed(f"reading sign-ins from {kind} is not supported")


def _google_pages(page_size: int) -> CursorPagination:
    return CursorPagination(
        type="cursor",
        cursor_path="nextPageToken",
        cursor_param="pageToken",
        limit_param="maxResults",
        page_size=page_size,
    )


def read_sign_in(kind: str, record: Any) -> tuple[str | None, str | None, datetime | None, str | None]:
    """(IdP user id, login, when, app id) of one log record.

    Plain lookups rather than JMESPath: a sync reads up to hundreds of thousands of these.
    """
    if not isinstance(record, dict):
        raise SaaSRequestFailed("a sign-in record the IdP sent is not an object")
    try:
        if kind == "okta":
            actor: Any = record.get("actor")
            actor = actor if isinstance(actor, dict) else {}
            targets: Any = record.get("target")
            targets = targets if isinstance(targets, list) else []
            app: dict[str, Any] = next(
                (t for t in targets if isinstance(t, dict) and t.get("type") == "AppInstance"), {}
            )
            return (
                _text(actor.get("id")),
                _text(actor.get("alternateId")),
                parse_timestamp(record.get("published")),
                _text(app.get("id")),
            )
        if kind == "google":
            return _google_sign_in(record)
        return (
            _text(record.get("userId")),
            _text(record.get("userPrincipalName")),
            parse_timestamp(record.get("createdDateTime")),
            _text(record.get("appId")),
        )
    except UnreadableRecord as exc:
        raise SaaSRequestFailed(f"a sign-in record the IdP sent cannot be read: {exc}") from None


def _google_sign_in(record: dict[str, Any]) -> tuple[str | None, str | None, datetime | None, str | None]:
    """An activity of Google's SAML log: who (actor), when (id.time), to which app (application_name)."""
    actor: Any = record.get("actor")
    actor = actor if isinstance(actor, dict) else {}
    key: Any = record.get("id")
    key = key if isinstance(key, dict) else {}
    events: Any = record.get("events")
    app_name = None
    for event in events if isinstance(events, list) else []:
        parameters = event.get("parameters") if isinstance(event, dict) else None
        for parameter in parameters if isinstance(parameters, list) else []:
            if isinstance(parameter, dict) and parameter.get("name") == "application_name":
                app_name = _text(parameter.get("value"))
    return _text(actor.get("profileId")), _text(actor.get("email")), parse_timestamp(key.get("time")), app_name


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) and value != "" else None


def sign_in_rows(kind: str, records: Iterable[Any]) -> list[dict[str, Any]]:
    """One row per person of a page, with their latest sign-in in it: what staging keeps."""
    latest: dict[tuple[str | None, str | None], datetime] = {}
    for record in records:
        user_id, login, at, _ = read_sign_in(kind, record)
        if at is None or (user_id is None and login is None):
            continue
        key = (user_id, login.casefold() if login else None)
        if key not in latest or latest[key] < at:
            latest[key] = at
    return [{"id": k[0], "login": k[1], "at": at.isoformat()} for k, at in latest.items()]


def reading_window(kind: str, sso: SsoActivity, previous: dict[str, Any] | None, now: datetime) -> datetime:
    """Where this sync's reading starts: the last sync's high-water mark, or lookback_days back.

    The mark counts only if it was taken for the same IdP and app; never further back than
    the IdP keeps its log.
    """
    oldest = now - timedelta(days=min(sso.lookback_days, RETENTION_DAYS.get(kind, sso.lookback_days)))
    if previous and previous.get("idp_profile_id") == sso.idp_profile_id and previous.get("app_id") == sso.app_id:
        mark = parse_timestamp(previous.get("until"))
        if mark is not None and mark > oldest:
            return mark
    return oldest


@dataclass(frozen=True)
class SignInSource:
    """Where a sync reads a profile's sign-ins: the IdP's client (its credential, its origins), and from when."""

    client: SaaSClient
    kind: str
    app_id: str
    since: datetime
    read_people: bool = False  # to match the app's own accounts to the IdP's people
    # Only the people the app's assignments name, by id (Entra), rather than every person of the IdP.
    people_by_assignment: bool = False
    # Only the people the app's own accounts name, by their addresses (Entra, matched by e-mail).
    people_by_address: bool = False
    matching: UserMatching | None = None


def sign_in_source(
    profile: ProfileRecord,
    *,
    idp_profile: Callable[[str], ProfileRecord],
    client_for: Callable[[ProfileRecord], SaaSClient],
    previous_mark: dict[str, Any] | None,
    now: datetime | None = None,
) -> SignInSource | None:
    """How this sync reads the profile's sign-ins, or None when its activity does not come from an IdP."""
    sso = sso_activity(profile.profile)
    if sso is None:
        return None
    idp = idp_profile(sso.idp_profile_id)
    kind = identity_provider_of(idp)
    since = reading_window(kind, sso, previous_mark, now or datetime.now(UTC))
    return SignInSource(
        client_for(idp),
        kind,
        sso.app_id,
        since,
        read_people=reads_people(kind, sso),
        people_by_assignment=sso.users_from_idp and kind == "entra",
        people_by_address=looks_up_addresses(kind, sso, profile.profile.users.match),
        matching=profile.profile.users.match,
    )


def looks_up_addresses(kind: str, sso: SsoActivity, matching: UserMatching | None) -> bool:
    """Whether an app's own accounts are matched to Entra's people by looking up their addresses, a few a
    request, rather than by reading the tenant: Graph filters `mail` and `userPrincipalName` with `in`.
    Matching by username (the part before the @) has no such filter and still reads every person."""
    return kind == "entra" and not sso.users_from_idp and (matching is None or matching.by == "email")


def reads_people(kind: str, sso: SsoActivity) -> bool:
    """Whether a sync reads the IdP's people as well as its log.

    An app's own accounts are matched to them. An Entra app's assignments name only a principal
    id: its people give the e-mail address and tell the leavers (`accountEnabled: false`), which
    an Okta assignment carries itself (`expand=user`).
    """
    return not sso.users_from_idp or kind == "entra"


# --- matching app accounts to the IdP's people ----------------------------------------------

# Okta lists deactivated (DEPROVISIONED) people only when a search asks for them.
OKTA_EVERY_STATUS = " or ".join(
    f'status eq "{status}"'
    for status in (
        "STAGED",
        "PROVISIONED",
        "ACTIVE",
        "RECOVERY",
        "LOCKED_OUT",
        "PASSWORD_EXPIRED",
        "SUSPENDED",
        "DEPROVISIONED",
    )
)
OKTA_LEFT = {"SUSPENDED", "DEPROVISIONED"}


def people_query(kind: str) -> LogQuery:
    """Every person of the IdP, those who left included."""
    if kind == "okta":
        return LogQuery(
            "GET",
            "/api/v1/users",
            {"search": OKTA_EVERY_STATUS},
            LinkHeaderPagination(type="link_header", limit_param="limit", page_size=200),
            "@",
        )
    if kind == "google":
        return LogQuery(
            "GET", "/admin/directory/v1/users", {"customer": "my_customer"}, _google_pages(500), "users || `[]`"
        )
    return LogQuery(
        "GET",
        "/users",
        {"$select": "id,mail,userPrincipalName,accountEnabled"},
        NextUrlPagination(type="next_url", next_url_path='"@odata.nextLink"', limit_param="$top", page_size=999),
        "value",
    )


# Graph limits an `in` filter to 15 expressions by default (Microsoft Graph known issues, query parameters).
ENTRA_IDS_PER_REQUEST = 15
ENTRA_PERSON_FIELDS = "id,mail,userPrincipalName,accountEnabled"


def assigned_people_query(ids: list[str]) -> LogQuery:
    """The Entra people of these ids (at most ENTRA_IDS_PER_REQUEST): user `id` supports `$filter` with `in`,
    `accountEnabled` is returned only on `$select` (Graph v1.0, user resource)."""
    return _people_in("id", ids, "ids")


def people_by_address_query(field: str, addresses: list[str]) -> LogQuery:
    """The Entra people whose `mail` (or `userPrincipalName`) is one of these addresses (at most
    ENTRA_IDS_PER_REQUEST): both support `$filter` with `in` (Graph v1.0, user resource)."""
    if field not in ("mail", "userPrincipalName"):
        raise ValueError(f"people are looked up by mail or userPrincipalName, not {field}")
    return _people_in(field, addresses, "addresses")


def _people_in(field: str, values: list[str], what: str) -> LogQuery:
    if not 0 < len(values) <= ENTRA_IDS_PER_REQUEST:
        raise ValueError(f"{len(values)} {what} in one request; 1 to {ENTRA_IDS_PER_REQUEST}")
    quoted = ",".join("'" + value.replace("'", "''") + "'" for value in values)
    return LogQuery(
        "GET",
        "/users",
        {"$filter": f"{field} in ({quoted})", "$select": ENTRA_PERSON_FIELDS},
        NextUrlPagination(type="next_url", next_url_path='"@odata.nextLink"', limit_param="$top", page_size=999),
        "value",
    )


def account_addresses(staged_users: Iterable[dict[str, Any]], matching: UserMatching | None) -> list[str]:
    """The addresses to look an app's own accounts up by: each e-mail as the app has it and, where its domain
    is an alias, as the IdP's domain writes it; once each whatever its case, sorted (a resumed reading finds
    its place). Graph documents no case rule for these filters, so the app's own spelling is sent and the
    answer is compared case-insensitively (match_key)."""
    rules = matching or UserMatching()
    aliases = {k.casefold(): v for k, v in rules.alias_domains.items()}
    found: dict[str, str] = {}
    for user in staged_users:
        email = _text(user.get("email"))
        if not email or "@" not in email.strip():
            continue
        address = email.strip()
        local, _, domain = address.rpartition("@")
        for spelling in (address, f"{local}@{aliases[domain.casefold()]}" if domain.casefold() in aliases else None):
            if spelling:
                found.setdefault(spelling.casefold(), spelling)
    return [found[key] for key in sorted(found)]


def assigned_person_ids(staged_users: Iterable[dict[str, Any]]) -> list[str]:
    """The ids of the people an app's staged assignments name, sorted (a resumed reading finds its place);
    a group's assignment names the group, not a person."""
    return sorted({str(u["id"]) for u in staged_users if u.get("id") and not u.get("assigned_via_group")})


def people_rows(kind: str, records: Iterable[Any]) -> list[dict[str, Any]]:
    """(id, login, left) rows: every address a person can be matched by, e-mail first, and whether the IdP
    shows them gone."""
    rows = []
    for record in records:
        if not isinstance(record, dict):
            raise SaaSRequestFailed("a person the IdP sent is not an object")
        if kind == "okta":
            profile: Any = record.get("profile")
            profile = profile if isinstance(profile, dict) else {}
            logins = [_text(profile.get("email")), _text(profile.get("login"))]
            left = record.get("status") in OKTA_LEFT
        elif kind == "google":
            emails: Any = record.get("emails")
            aliases = (
                [_text(e.get("address")) for e in emails if isinstance(e, dict)] if isinstance(emails, list) else []
            )
            logins = [_text(record.get("primaryEmail")), *aliases]
            left = record.get("suspended") is True or record.get("archived") is True
        else:
            logins = [_text(record.get("mail")), _text(record.get("userPrincipalName"))]
            left = record.get("accountEnabled") is False
        person_id = _text(record.get("id"))
        rows += [{"id": person_id, "login": login, "left": left} for login in dict.fromkeys(logins) if login]
    return rows


def with_people(user: SaaSUser, people: dict[str, bool], matching: UserMatching | None) -> SaaSUser:
    """An app account matched to the IdP's people: unmatched when none is found, orphaned when they left."""
    key = match_key(user.email, matching)
    if key is None or key not in people:
        return user.model_copy(update={"unmatched": True})
    if people[key] and user.active:
        return user.model_copy(update={"orphaned": True})
    return user


@dataclass(frozen=True)
class Person:
    email: str
    left: bool


def people_by_id(rows: Iterable[dict[str, Any]]) -> dict[str, Person]:
    """IdP user id -> their e-mail address (the first one listed) and whether they left."""
    people: dict[str, Person] = {}
    for row in rows:
        person_id, login = row.get("id"), row.get("login")
        if person_id and login and person_id not in people:
            people[person_id] = Person(str(login), bool(row.get("left")))
    return people


def with_person(user: SaaSUser, people: dict[str, Person]) -> SaaSUser:
    """An assignment of the app with its person: their e-mail address, and orphaned when they left.

    A seat given through a group names the group, not a person: it stays as it is.
    """
    person = people.get(user.id)
    if person is None:
        return user
    left = user.orphaned or (person.left and user.active)
    return user.model_copy(update={"email": user.email or person.email, "orphaned": left})


def fold_people(
    rows: Iterable[dict[str, Any]], matching: UserMatching | None, sign_ins: SignIns | None = None
) -> dict[str, bool]:
    """match key -> left; a person listed as present under one address counts as present.

    With `sign_ins`, a person's sign-in (found by their IdP id) counts under every address of theirs: an
    account under someone's mail gets the sign-in the log wrote under their userPrincipalName.
    """
    people: dict[str, bool] = {}
    for row in rows:
        key = match_key(row.get("login"), matching)
        if key:
            people[key] = people.get(key, True) and bool(row.get("left"))
            if sign_ins is not None:
                sign_ins.also_under(key, row.get("id"))
    return people


def match_key(address: str | None, matching: UserMatching | None) -> str | None:
    """An e-mail address (or login) as compared: case-insensitive, alias domains mapped, by e-mail or username."""
    if not address:
        return None
    text = address.strip().casefold()
    local, at, domain = text.rpartition("@")
    if not at:
        return text
    rules = matching or UserMatching()
    aliases = {k.casefold(): v.casefold() for k, v in rules.alias_domains.items()}
    domain = aliases.get(domain, domain)
    return local if rules.by == "username" else f"{local}@{domain}"


@dataclass
class SignIns:
    """The latest sign-in per IdP user id and per login, folded from a sync's staged rows."""

    matching: UserMatching | None
    by_id: dict[str, datetime] = field(default_factory=dict)
    by_login: dict[str, datetime] = field(default_factory=dict)

    @classmethod
    def fold(cls, rows: Iterable[dict[str, Any]], matching: UserMatching | None) -> SignIns:
        folded = cls(matching)
        for row in rows:
            at = parse_timestamp(row.get("at"))
            if at is None:
                continue
            for key, seen in ((row.get("id"), folded.by_id), (match_key(row.get("login"), matching), folded.by_login)):
                if key and (key not in seen or seen[key] < at):
                    seen[key] = at
        return folded

    def also_under(self, key: str, person_id: Any) -> None:
        """The person's latest sign-in counts under this match key of theirs too."""
        at = self.by_id.get(person_id) if isinstance(person_id, str) else None
        if at is not None and (key not in self.by_login or self.by_login[key] < at):
            self.by_login[key] = at

    def latest(self, user: SaaSUser, *, by_id: bool) -> datetime | None:
        found = [self.by_login.get(match_key(user.email, self.matching) or "")]
        if by_id:
            found.append(self.by_id.get(user.id))
        return max(filter(None, found), default=None)


def with_sign_ins(user: SaaSUser, sign_ins: SignIns, earlier: str | None, *, by_id: bool) -> SaaSUser:
    """The user with their latest sign-in (this sync's or an earlier one's); the later of it and app activity wins."""
    last_sign_in = max(filter(None, [parse_timestamp(earlier), sign_ins.latest(user, by_id=by_id)]), default=None)
    if last_sign_in is None:
        return user
    last_activity = max(filter(None, [user.last_activity, last_sign_in]))
    return user.model_copy(update={"last_sign_in": last_sign_in, "last_activity": last_activity})


def excluded(user: SaaSUser, policy: Policy) -> bool:
    """Whether policy.excluded_users (globs on e-mail or id, case-insensitive) keeps the user out."""
    names = [user.id.casefold(), (user.email or "").casefold()]
    return any(fnmatchcase(name, pattern.casefold()) for pattern in policy.excluded_users for name in names if name)


# --- discovery ---------------------------------------------------------------------------


class IdpApp(BaseModel):
    model_config = ConfigDict(defer_build=True)

    app_id: str
    name: str
    assigned_users: int | None = Field(
        description="People assigned, directly or through a group (Entra: assignments); null for Google, which"
        " has no API for a SAML app's people (it lists the apps its SAML log names)"
    )
    sign_ins_30d: int = Field(description="Successful sign-ins in the last 30 days")
    profile_id: str | None = Field(None, description="The seatkeeper profile that tracks it, if any")


class IdpAppList(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[IdpApp]


class ProfileFromIdp(BaseModel):
    """POST /idp/{profile_id}/apps/{app_id}/profile: what the IdP does not know about the app."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str = Field(min_length=1, max_length=120)
    subscription: dict[str, Any]
    policy: dict[str, Any] | None = None
    lookback_days: int = Field(60, ge=1, le=365)


def apps_query(kind: str) -> LogQuery:
    if kind == "okta":
        return LogQuery(
            "GET",
            "/api/v1/apps",
            {"filter": 'status eq "ACTIVE"'},
            LinkHeaderPagination(type="link_header", limit_param="limit", page_size=200),
            "@",
        )
    return LogQuery(
        "GET",
        "/servicePrincipals",
        {
            "$filter": "tags/any(t:t eq 'WindowsAzureActiveDirectoryIntegratedApp')",
            "$select": "id,appId,displayName",
        },
        NextUrlPagination(type="next_url", next_url_path='"@odata.nextLink"', limit_param="$top", page_size=999),
        "value",
    )


def read_app(kind: str, record: Any) -> tuple[str, str, str]:
    """(app id, name, id of the object that holds its assignments)."""
    if kind == "okta":
        return str(record["id"]), str(record.get("label") or record.get("name") or record["id"]), str(record["id"])
    return str(record["appId"]), str(record.get("displayName") or record["appId"]), str(record["id"])


def assignments_query(kind: str, app_id: str) -> LogQuery:
    if kind == "okta":
        return LogQuery(
            "GET",
            f"/api/v1/apps/{app_id}/users",
            {},
            LinkHeaderPagination(type="link_header", limit_param="limit", page_size=500),
            "@",
        )
    return LogQuery(
        "GET",
        f"/servicePrincipals/{app_id}/appRoleAssignedTo",
        {},
        NextUrlPagination(type="next_url", next_url_path='"@odata.nextLink"', limit_param="$top", page_size=999),
        "value",
    )


def app_profile_fields(idp: ProfileRecord, kind: str, app_id: str, request: ProfileFromIdp) -> dict[str, Any]:
    """A profile's own fields for an app behind the IdP: its users are the IdP's assignments of the app.

    It repeats the IdP's base URL and auth, because it is sent with the IdP's credential, which
    is bound to exactly those.
    """
    if kind == "google":
        raise InvalidInput.at(
            ("path", "app_id"),
            "Google has no API for the people assigned to a SAML app: create the app's profile with its own user"
            " API and activity {'source': 'sso', 'idp_profile_id', 'app_id'} instead",
        )
    own: dict[str, Any] = {
        "name": request.name,
        "base_url": idp.profile.base_url,
        "headers": dict(idp.profile.headers),
        "auth": idp.profile.auth.model_dump(mode="json"),
        "subscription": request.subscription,
        "activity": {
            "source": "sso",
            "idp_profile_id": idp.id,
            "app_id": app_id,
            "lookback_days": request.lookback_days,
            "users_from_idp": True,
        },
    }
    if request.policy is not None:
        own["policy"] = request.policy
    if kind == "okta":
        own["users"] = {
            "path": f"/api/v1/apps/{app_id}/users",
            "params": {"expand": "user"},
            "pagination": {"type": "link_header", "limit_param": "limit", "page_size": 500},
            "records_path": "@",
            "fields": {
                "id": "id",
                "email": "_embedded.user.profile.email || credentials.userName",
                "name": "_embedded.user.profile.displayName || join(' ', [_embedded.user.profile.firstName || '', "
                "_embedded.user.profile.lastName || '']) || credentials.userName",
                "created_at": "created",
                "group": "scope == 'GROUP' && (_links.group.name || 'a group') || null",
                "orphaned": "contains(['SUSPENDED', 'DEPROVISIONED'], _embedded.user.status || '')",
            },
        }
        # Unassigning a group-assigned user fails in Okta: those are never candidates (assigned_via_group).
        own["reclaim"] = _okta_unassign(app_id)
    else:
        own["users"] = {
            "path": f"/servicePrincipals(appId='{app_id}')/appRoleAssignedTo",
            "pagination": {
                "type": "next_url",
                "next_url_path": '"@odata.nextLink"',
                "limit_param": "$top",
                "page_size": 999,
            },
            "records_path": "value",
            "fields": {
                "id": "principalId",
                "name": "principalDisplayName",
                "created_at": "createdDateTime",
                "group": "principalType == 'Group' && principalDisplayName || null",
                "assignment_id": "id",
                "assignment_resource_id": "resourceId",
            },
        }
        # Removing a group's assignment would take the app from the whole group: those are never candidates.
        own["reclaim"] = dict(_ENTRA_UNASSIGN)
    return own


_ENTRA_UNASSIGN = {
    "method": "DELETE",
    "path": "/servicePrincipals/{assignment_resource_id}/appRoleAssignedTo/{assignment_id}",
}


def _okta_unassign(app_id: str) -> dict[str, str]:
    return {"method": "DELETE", "path": f"/api/v1/apps/{app_id}/users/{{id}}"}


def template_of_unassign(profile: Profile) -> str | None:
    """The IdP template whose facts say what this profile's reclaim does, when it is the IdP's own unassign.

    A profile made from an Okta app (app_profile_fields) reclaims with Okta's unassign of that app: the
    okta_sso template's app_reclaim says what Okta does then, and an Entra app's profile with Entra's
    deletion of the app role assignment, which entra_sso's facts (its reclaim) speak for. A profile whose
    reclaim request was changed since says for itself what it does.
    """
    activity, reclaim = profile.activity, profile.reclaim
    if not isinstance(activity, SsoActivity) or not activity.users_from_idp or reclaim is None:
        return None
    unassign = _okta_unassign(activity.app_id)
    if (reclaim.method, reclaim.path) == (unassign["method"], unassign["path"]):
        return "okta_sso"
    if (reclaim.method, reclaim.path) == (_ENTRA_UNASSIGN["method"], _ENTRA_UNASSIGN["path"]):
        return "entra_sso"
    return None


def count_sign_ins(kind: str, pages: Iterator[list[Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for records in pages:
        for record in records:
            app_id = read_sign_in(kind, record)[3]
            if app_id:
                counts[app_id] = counts.get(app_id, 0) + 1
    return counts


def _pages(client: SaaSClient, query: LogQuery) -> Iterator[list[Any]]:
    # Cold start: the pager (and requests with it) only where a log is read, not where sign-ins are folded.
    from seatkeeper.saas.paging import ListEndpoint, PageFetcher

    endpoint = ListEndpoint(query.method, query.path, query.params, query.pagination, query.records_path)
    for records, _ in PageFetcher(client, endpoint, 1).pages():
        yield records


def discover(kind: str, client: SaaSClient, *, tracked: dict[str, str], now: datetime | None = None) -> list[IdpApp]:
    """The IdP's apps with their assignments, last 30 days' sign-ins and the profile that tracks each.

    One read of the log for every app, then one listing of assignments per app.
    """
    until = now or datetime.now(UTC)
    counts = count_sign_ins(
        kind,
        _pages(client, sign_in_query(kind, since=until - timedelta(days=DISCOVERY_DAYS), until=until, app_id=None)),
    )
    if kind == "google":  # no API lists SAML apps or their people: the apps are those the log names
        return sorted(
            (
                IdpApp(app_id=app, name=app, assigned_users=None, sign_ins_30d=n, profile_id=tracked.get(app))
                for app, n in counts.items()
            ),
            key=lambda a: a.name.casefold(),
        )
    found = []
    for records in _pages(client, apps_query(kind)):
        for record in records:
            app_id, name, holder = read_app(kind, record)
            assigned = sum(len(page) for page in _pages(client, assignments_query(kind, holder)))
            found.append(
                IdpApp(
                    app_id=app_id,
                    name=name,
                    assigned_users=assigned,
                    sign_ins_30d=counts.get(app_id, 0),
                    profile_id=tracked.get(app_id),
                )
            )
    return sorted(found, key=lambda a: a.name.casefold())
