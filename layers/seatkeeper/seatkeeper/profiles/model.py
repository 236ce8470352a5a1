"""The custom integration profile: how seatkeeper talks to one SaaS app.

Every other module speaks in these terms. A profile says how to authenticate, how to list
users (and their last activity), how to take a license back, what was bought and the
safety policy for reclaiming. Models forbid unknown fields so that a typo is a 422 with
its path, not a silently ignored setting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from string import Formatter
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    field_validator,
    model_validator,
)

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class Model(BaseModel):
    # Schemas are built on first use rather than at import, to keep cold starts short.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


MAX_JMESPATH_NESTING = 32
MAX_BODY_NESTING = 32


def _compiles_as_jmespath(expression: str) -> str:
    import jmespath  # on first use: the API's cold start does not need it
    from jmespath.exceptions import JMESPathError

    try:
        parsed = jmespath.compile(expression).parsed
    except JMESPathError as exc:
        raise ValueError(f"not a valid JMESPath expression: {exc}") from None
    except RecursionError:
        # jmespath's parser recurses once or twice per level: "!" * 499 + "a" exhausts the stack.
        raise ValueError(f"nested deeper than {MAX_JMESPATH_NESTING} levels") from None
    # Evaluating recurses through the same tree, on every user record of every sync.
    if _nesting(parsed, _jmespath_children) > MAX_JMESPATH_NESTING:
        raise ValueError(f"nested deeper than {MAX_JMESPATH_NESTING} levels")
    return expression


def _nesting(value: Any, children: Callable[[Any], list[Any]]) -> int:
    """How many levels deep `value` goes, counted without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in children(item))
    return deepest


def _jmespath_children(node: dict[str, Any]) -> list[Any]:
    return [child for child in node.get("children", []) if isinstance(child, dict)]


def _json_children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, dict | list)]
    return [v for v in value if isinstance(v, dict | list)] if isinstance(value, list) else []


def _not_nested_too_deeply(body: Any) -> Any:
    # Far deeper than any SaaS API's request; deeper still, serializing the profile fails.
    if body is not None and _nesting(body, _json_children) > MAX_BODY_NESTING:
        raise ValueError(f"nested deeper than {MAX_BODY_NESTING} levels")
    return body


def _is_relative_path(path: str) -> str:
    # Paths are joined to base_url; an absolute URL here would let a profile send the
    # credential to another host than the one the network guard checked.
    if not path.startswith("/") or "://" in path:
        raise ValueError("must be a path starting with '/', relative to base_url")
    return path


JMESPath = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_compiles_as_jmespath)]
RelativePath = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_is_relative_path)]
RequestBody = Annotated[Any, AfterValidator(_not_nested_too_deeply)]
HeaderName = Annotated[str, Field(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")]
# RFC 9110 section 5.5: a field value holds no control character but the tab. CR or LF would end the header
# (and start another), NUL is cut short by some servers: every HTTP client refuses to send them, so a profile
# that holds one could never connect, and is refused when it is written instead.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _is_field_value(value: str) -> str:
    if found := _CONTROL.search(value):
        raise ValueError(f"a header value may not hold the control character {found.group()!r} (CR, LF, NUL, ...)")
    return value


HeaderValue = Annotated[str, AfterValidator(_is_field_value)]


# --- authentication -------------------------------------------------------------------


class ApiKeyAuth(Model):
    """A static API key, sent as a header or a query parameter."""

    type: Literal["api_key"]
    location: Literal["header", "query"] = "header"
    name: HeaderName = "X-API-Key"
    prefix: HeaderValue = Field("", max_length=40, description="Put before the key, e.g. 'SSWS ' for Okta")


class BasicAuth(Model):
    """HTTP basic authentication with a user name and an API key as the password."""

    type: Literal["basic"]


class BearerAuth(Model):
    """A static bearer token."""

    type: Literal["bearer"]
    header: HeaderName = "Authorization"
    scheme: HeaderValue = Field("Bearer", max_length=40)


class OAuth2AuthorizationCodeAuth(Model):
    """OAuth 2.0 authorization code grant; PKCE S256 and state are always used."""

    type: Literal["oauth2_authorization_code"]
    authorize_url: Annotated[str, Field(max_length=2000)]
    token_url: Annotated[str, Field(max_length=2000)]
    scopes: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list, max_length=50)
    client_auth: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    issuer: str | None = Field(None, max_length=2000, description="Expected 'iss' of the authorization response")
    authorize_params: dict[str, str] = Field(default_factory=dict, description="Extra authorize URL parameters")


class OAuth2ClientCredentialsAuth(Model):
    """OAuth 2.0 client credentials grant (Microsoft Entra ID app-only access, an Okta service app): no person
    grants it."""

    type: Literal["oauth2_client_credentials"]
    token_url: Annotated[str, Field(max_length=2000)]
    scopes: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50, description="Sent space-separated, as RFC 6749 has it"
    )
    client_auth: Literal["client_secret_basic", "client_secret_post", "private_key_jwt"] = Field(
        "client_secret_post",
        description="private_key_jwt (RFC 7523): the client proves itself with a JWT signed by its private key,"
        " which the connection takes instead of a client secret (an Okta service app)",
    )
    key_id: str | None = Field(
        None, max_length=200, description="private_key_jwt: the 'kid' of the key, as registered with the server"
    )
    client_id_header: HeaderName | None = Field(
        None, description="Also send the client id in this header with every request to the app (Adobe's X-Api-Key)"
    )


class OAuth2JwtBearerAuth(Model):
    """OAuth 2.0 JWT bearer grant (RFC 7523 2.1): a JWT signed with the client's private key is the grant
    (a Google service account, acting for `subject` through domain-wide delegation)."""

    type: Literal["oauth2_jwt_bearer"]
    token_url: Annotated[str, Field(max_length=2000)]
    scopes: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default_factory=list, max_length=50)
    subject: str | None = Field(
        None, max_length=320, description="The user the grant acts for ('sub'; Google: an administrator's e-mail)"
    )
    key_id: str | None = Field(None, max_length=200, description="The 'kid' of the key (Google: private_key_id)")


# The grants that give an app-only token from a credential, with no person in the loop.
AppOnlyAuth = OAuth2ClientCredentialsAuth | OAuth2JwtBearerAuth

Auth = Annotated[
    ApiKeyAuth
    | BasicAuth
    | BearerAuth
    | OAuth2AuthorizationCodeAuth
    | OAuth2ClientCredentialsAuth
    | OAuth2JwtBearerAuth,
    Field(discriminator="type"),
]

AUTH_CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    "api_key": ("api_key",),
    "basic": ("username", "api_key"),
    "bearer": ("token",),
    "oauth2_authorization_code": ("client_id", "client_secret"),
    "oauth2_client_credentials": ("client_id", "client_secret"),
    "oauth2_jwt_bearer": ("client_email", "private_key"),
}
"""The credential values each auth type needs, sent to POST /profiles/{id}/connection."""

PRIVATE_KEY_JWT_FIELDS = ("client_id", "private_key")
"""What oauth2_client_credentials with client_auth private_key_jwt needs instead: the key signs, no secret."""


def credential_fields(auth: Auth) -> tuple[str, ...]:
    """The credential values this auth needs."""
    if isinstance(auth, OAuth2ClientCredentialsAuth) and auth.client_auth == "private_key_jwt":
        return PRIVATE_KEY_JWT_FIELDS
    return AUTH_CREDENTIAL_FIELDS[auth.type]


# --- pagination -----------------------------------------------------------------------

PageSize = Annotated[int, Field(ge=1, le=10_000)]


class NoPagination(Model):
    type: Literal["none"]


HAS_MORE_PATH = Field(
    None,
    description="True while there are more pages, false on the last one (Dropbox's has_more, Adobe's !lastPage);"
    " for an app whose own answer says where the list ends better than a short page or a repeated cursor does",
)


class OffsetPagination(Model):
    """`offset_param` counts records (SCIM's startIndex counts from 1)."""

    type: Literal["offset"]
    offset_param: str = "offset"
    limit_param: str = "limit"
    first_offset: int = Field(0, ge=0)
    page_size: PageSize = 100
    total_path: JMESPath | None = None
    has_more_path: JMESPath | None = HAS_MORE_PATH


class PagePagination(Model):
    type: Literal["page"]
    page_param: str = "page"
    size_param: str | None = Field("per_page", description="None when the app chooses the page size itself")
    first_page: int = Field(1, ge=0)
    page_size: PageSize = 100
    total_path: JMESPath | None = Field(None, description="Total number of records")
    total_pages_path: JMESPath | None = Field(None, description="Total number of pages")
    has_more_path: JMESPath | None = HAS_MORE_PATH


class NextPageRequest(Model):
    """Where an app continues a list after its first page, when not at the users endpoint itself."""

    path: RelativePath = Field(description="Relative to base_url, like every path of a profile")
    body: RequestBody = Field(
        None,
        description='The JSON body of each following page\'s request: "{cursor}" (the cursor_param in braces) is'
        " replaced by the cursor, which then goes in the body only",
    )


class CursorPagination(Model):
    """A value from the response body, sent back as a query parameter (or in the body)."""

    type: Literal["cursor"]
    cursor_path: JMESPath
    cursor_param: str = "cursor"
    limit_param: str | None = None
    page_size: PageSize = 100
    has_more_path: JMESPath | None = HAS_MORE_PATH
    next_request: NextPageRequest | None = Field(
        None,
        description="The request for the pages after the first, with the users endpoint's method, when the app"
        ' continues a list elsewhere (Dropbox\'s /team/members/list/continue_v2 with {"cursor": ...})',
    )


class NextUrlPagination(Model):
    """A URL in the response body that gives the next page."""

    type: Literal["next_url"]
    next_url_path: JMESPath
    limit_param: str | None = None
    page_size: PageSize = 100


class LinkHeaderPagination(Model):
    """RFC 8288 `Link: <...>; rel="next"`."""

    type: Literal["link_header"]
    limit_param: str | None = None
    page_size: PageSize = 100


Pagination = Annotated[
    NoPagination | OffsetPagination | PagePagination | CursorPagination | NextUrlPagination | LinkHeaderPagination,
    Field(discriminator="type"),
]


def page_parameters(pagination: Any, *, following: bool = False) -> set[str]:
    """The parameters a page's request carries: what a path or body may name in braces.

    `following`: a request after the first page, which has a cursor to send.
    """
    names = {
        getattr(pagination, attribute, None)
        for attribute in ("offset_param", "page_param", "size_param", "limit_param")
    }
    if following and isinstance(pagination, CursorPagination):
        names.add(pagination.cursor_param)
    return {name for name in names if name}


def names_in_braces(text: str) -> set[str]:
    """The {names} in a path; a lone brace is an error."""
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


# A placeholder of a request body: braces around no whitespace (a GraphQL query's "{ id }" is none).
BODY_PLACEHOLDER = re.compile(r"\{([^{}\s]*)\}")


def names_in_body(body: Any) -> set[str]:
    """The {names} in a request body's strings, as they are filled per user (saas.templating.fill_in)."""
    if isinstance(body, str):
        return set(BODY_PLACEHOLDER.findall(body))
    if isinstance(body, list):
        return {name for item in body for name in names_in_body(item)}
    if isinstance(body, dict):
        return {name for item in body.values() for name in names_in_body(item)}
    return set()


# --- users and activity ---------------------------------------------------------------


class UserFields(Model):
    """JMESPath expressions that pick each user field out of one record."""

    id: JMESPath
    email: JMESPath | None = None
    name: JMESPath | None = None
    active: JMESPath | None = Field(
        None, description="Holds a license; a boolean or a comparison such as status == 'active'"
    )
    last_activity: JMESPath | None = Field(None, description="ISO 8601 or epoch seconds/milliseconds")
    created_at: JMESPath | None = None
    role: JMESPath | None = None
    tier: JMESPath | None = Field(None, description="The user's tier: one of subscription.tiers' names")
    # Seats that an identity provider hands out (SPEC: "Usage from the identity provider").
    group: JMESPath | None = Field(
        None, description="The group a seat is assigned through, when it is; such a seat is never reclaimed per user"
    )
    orphaned: JMESPath | None = Field(
        None, description="True when the identity provider shows the person deactivated or suspended"
    )
    assignment_id: JMESPath | None = Field(
        None,
        description="The identity provider's assignment that gives the seat, for a reclaim request that removes it"
        " ({assignment_id})",
    )
    assignment_resource_id: JMESPath | None = Field(
        None,
        description="The identity-provider object that holds that assignment ({assignment_resource_id}; Entra: the"
        " app's service principal)",
    )


SeatHolderKind = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
MAX_MORE_LISTS = 4  # GitHub's outside collaborators beside its members: a few lists, not a crawl

# The user fields a reclaim request's {placeholders} may name, as a candidate carries them.
_REQUEST_FIELDS = (
    "id",
    "email",
    "name",
    "role",
    "tier",
    "last_activity",
    "created_at",
    "assignment_id",
    "assignment_resource_id",
)


def _paths_name_only_page_parameters(path: str, pagination: Any) -> None:
    # A name in braces is filled in per page (Adobe's /users/{orgId}/{page}); any other name would
    # fail every sync, so it is refused here, where the profile is written.
    following = pagination.next_request if isinstance(pagination, CursorPagination) else None
    for each, allowed in (
        (path, page_parameters(pagination)),
        (following.path if following else None, page_parameters(pagination, following=True)),
    ):
        if each is not None and (unknown := names_in_braces(each) - allowed):
            raise ValueError(
                f"the path {each!r} names {', '.join(sorted(unknown))} in braces, which is no parameter"
                f" of a page's request (these are: {', '.join(sorted(allowed)) or 'none'})"
            )


class MoreSeatHolders(Model):
    """Another list of the same app's seat holders, read after the users list through the same client and
    pacer (GitHub bills its organization's outside collaborators as well as its members)."""

    kind: SeatHolderKind = Field(
        description="What the users of this list are, kept on each of them and shown with them"
        " (outside_collaborator); the users list's own users have none"
    )
    path: RelativePath = Field(description="Relative to base_url; a pagination parameter in braces is filled per page")
    params: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Fixed query parameters; a list repeats the parameter"
    )
    pagination: Pagination = Field(default_factory=lambda: NoPagination(type="none"))
    records_path: JMESPath = "@"
    fields: UserFields | None = Field(
        None, description="How a user is read from this list's records; without them, as the users list's"
    )
    reclaim: ReclaimRequest | None = Field(
        None,
        description="The request that takes back the seat of a user of this list; without it, the profile's reclaim",
    )

    @model_validator(mode="after")
    def _path_names_only_page_parameters(self) -> MoreSeatHolders:
        _paths_name_only_page_parameters(self.path, self.pagination)
        return self


class UsersEndpoint(Model):
    path: RelativePath = Field(
        description='Relative to base_url. A pagination parameter in braces, such as "{page}", is filled in per'
        " page, and then goes in the path only (Adobe's /users/<org-id>/{page})"
    )
    method: Literal["GET", "POST"] = "GET"
    params: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Fixed query parameters; a list repeats the parameter (role[]=a&role[]=b)"
    )
    body: RequestBody = Field(
        None,
        description="A JSON body sent with each page request (a GraphQL query, say). A string in it that is"
        ' exactly the name of a pagination parameter in braces, such as "{page}" or "{limit}", is replaced'
        " by that parameter's value for the page, and the pagination parameters then go in the body only.",
    )
    pagination: Pagination = Field(default_factory=lambda: NoPagination(type="none"))
    records_path: JMESPath = "@"
    fields: UserFields
    max_concurrency: int = Field(
        4, ge=1, le=32, description="Pages in flight at once; fewer while the app refuses (429, 503)"
    )
    match: UserMatching | None = Field(
        None, description="How an app account is matched to the identity provider's person (SSO activity)"
    )
    also: list[MoreSeatHolders] = Field(
        default_factory=list,
        max_length=MAX_MORE_LISTS,
        description="More lists of the app's seat holders, each of its own kind, read after this one; a user"
        " listed twice counts once, as this list (or the first list) has it",
    )

    @model_validator(mode="after")
    def _paths_name_only_page_parameters(self) -> UsersEndpoint:
        _paths_name_only_page_parameters(self.path, self.pagination)
        return self

    @model_validator(mode="after")
    def _more_lists_are_of_their_own_kind(self) -> UsersEndpoint:
        kinds = [listing.kind for listing in self.also]
        if twice := sorted({kind for kind in kinds if kinds.count(kind) > 1}):
            raise ValueError(f"also: the kind {', '.join(twice)} names more than one list")
        for at, listing in enumerate(self.also):
            if listing.reclaim is None:
                continue
            # A placeholder its list does not map is empty for every one of its users: each removal would fail.
            mapped = {"id", "kind", *(listing.fields or self.fields).model_dump(exclude_none=True)}
            fillable = mapped & {*_REQUEST_FIELDS, "kind"}
            for part, named in (
                ("path", names_in_braces(listing.reclaim.path)),
                ("body", names_in_body(listing.reclaim.body)),
            ):
                if unknown := sorted(named - fillable):
                    raise ValueError(
                        f"also[{at}].reclaim.{part} names {', '.join(n or '{}' for n in unknown)} in braces, which the"
                        f" {listing.kind!r} list does not map (it maps: {', '.join(sorted(fillable))})"
                    )
        return self

    def listing(self, kind: str) -> MoreSeatHolders | None:
        """The more list of that kind, if the profile (still) has one."""
        return next((listing for listing in self.also if listing.kind == kind), None)


class ActivityFields(Model):
    user_id: JMESPath = Field("id", description="Matches the user's id; bulk mode only")
    last_activity: JMESPath


class ActivityEndpoint(Model):
    """A second endpoint that gives last activity, for all users at once or per user."""

    mode: Literal["bulk", "per_user"]
    path: RelativePath = Field(description="Per user: may contain {id} and other user fields")
    params: dict[str, str] = Field(default_factory=dict)
    pagination: Pagination = Field(default_factory=lambda: NoPagination(type="none"))
    records_path: JMESPath = "@"
    fields: ActivityFields
    max_concurrency: int = Field(4, ge=1, le=32)


class ReclaimRequest(Model):
    """The request that takes one user's license back; {id}, {email}, ... are filled in per user."""

    method: HttpMethod
    path: RelativePath
    body: RequestBody = None
    headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict)
    succeeded_when: JMESPath | None = Field(
        None,
        description="True of the answer's JSON when the app did it, for an app that answers 2xx to a change it"
        " did not make (Adobe's action API: result == 'success'); without it, any 2xx counts",
    )


# --- usage from the identity provider (SPEC: "Usage from the identity provider") -------------

IdentityProviderKind = Literal["okta", "entra", "google"]
ProfileReference = Annotated[str, Field(pattern=r"^prf_[0-9a-f]{20}$")]
# An IdP's app id goes into request paths: one path segment, never a dot segment.
IdpAppId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,99}$")]


class IdentityProvider(Model):
    """Marks an identity-provider profile: it holds no licenses, it knows who uses the apps behind it."""

    kind: IdentityProviderKind


class SsoActivity(Model):
    """Last activity from the sign-ins to an app in an identity provider's log."""

    source: Literal["sso"]
    idp_profile_id: ProfileReference
    app_id: IdpAppId
    lookback_days: int = Field(60, ge=1, le=365, description="How far the first sync reads back (capped by the IdP)")
    users_from_idp: bool = Field(
        False,
        description="The users are the IdP's assignments of the app, read (and reclaimed) with the IdP's connection",
    )


class UserMatching(Model):
    """How an app account is matched to the IdP's person: e-mail (case-insensitive), or its part before the @."""

    by: Literal["email", "username"] = "email"
    alias_domains: dict[Annotated[str, Field(max_length=253)], Annotated[str, Field(max_length=253)]] = Field(
        default_factory=dict, max_length=50, description="An app's domain and the IdP's domain it stands for"
    )


def _activity_kind(value: Any) -> str:
    source = value.get("source") if isinstance(value, dict) else getattr(value, "source", None)
    return "sso" if source == "sso" else "api"


Activity = Annotated[
    Annotated[ActivityEndpoint, Tag("api")] | Annotated[SsoActivity, Tag("sso")],
    Discriminator(_activity_kind),
]


# --- money and policy -----------------------------------------------------------------

Cost = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


# --- seat lifecycle (SPEC "Seat lifecycle"): tiers and downgrade ---
class Tier(Model):
    """A kind of license of the app, such as Licensed and Basic; users' tier comes from users.fields.tier."""

    name: str = Field(min_length=1, max_length=100)
    cost_per_license: Cost = Field(Decimal(0), ge=0, le=Decimal("1000000"), max_digits=14, decimal_places=4)
    licenses_purchased: int | None = Field(None, ge=0, le=10_000_000)


class Subscription(Model):
    licenses_purchased: int = Field(ge=0, le=10_000_000)
    # Decimal for arithmetic, a JSON number on the wire as in the API contract.
    cost_per_license: Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")] = Field(
        Decimal(0), ge=0, le=Decimal("1000000"), max_digits=14, decimal_places=4
    )
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    billing_period: Literal["monthly", "quarterly", "annual"] = "monthly"
    renewal_date: date | None = None
    cost_center: str | None = Field(None, min_length=1, max_length=128, description="Whose budget pays for it")

    # --- seat lifecycle: renewals ---
    notice_days: int = Field(30, ge=0, le=730, description="Days before renewal_date by which to give notice")
    auto_renew: bool = True
    owner: str | None = Field(None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$", description="An e-mail address")

    # --- seat lifecycle: tiers ---
    tiers: list[Tier] = Field(default_factory=list, max_length=50)

    @field_validator("tiers")
    @classmethod
    def _tier_names_are_unique(cls, tiers: list[Tier]) -> list[Tier]:
        names = [t.name.casefold() for t in tiers]
        if len(set(names)) != len(names):
            raise ValueError("tier names must be unique")
        return tiers

    def cost_of(self, tier: str | None) -> Decimal:
        """One license's cost in the given tier; the subscription's cost for a user of no known tier."""
        found = next((t for t in self.tiers if tier is not None and t.name.casefold() == tier.casefold()), None)
        return found.cost_per_license if found else self.cost_per_license


_ISO_DURATION = re.compile(
    r"^P(?!$)(?:(?P<days>\d+)D)?(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


def iso_duration_seconds(value: str) -> int:
    """Seconds in an ISO 8601 duration of days, hours, minutes and seconds (P7D, PT12H)."""
    match = _ISO_DURATION.match(value)
    if not match:
        raise ValueError("must be an ISO 8601 duration such as P7D or PT12H (no years, months or weeks)")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    return (
        parts.get("days", 0) * 86400
        + parts.get("hours", 0) * 3600
        + parts.get("minutes", 0) * 60
        + parts.get("seconds", 0)
    )


# The reclaim-licenses state machine's TimeoutSeconds is this plus a day for the re-sync and a day to reclaim.
MAX_GRACE_PERIOD_DAYS = 360


class Policy(Model):
    inactivity_days: int = Field(90, ge=1, le=3650)
    protected_users: list[Annotated[str, Field(min_length=1, max_length=320)]] = Field(
        default_factory=list, max_length=1000
    )
    protected_roles: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=100
    )
    max_reclaim_percent: float = Field(10, ge=0, le=100)
    max_reclaim_count: int = Field(50, ge=0, le=100_000)
    grace_period: str = Field("PT0S", description="ISO 8601 duration to wait between notice and reclaim")
    max_snapshot_age: str = Field(
        "P2D",
        description="ISO 8601 duration: no reclamation starts when the last successful sync is older than this",
    )
    # Usage from the identity provider: service and break-glass accounts.
    excluded_users: list[Annotated[str, Field(min_length=1, max_length=320)]] = Field(
        default_factory=list, max_length=1000, description="Glob patterns on e-mail or id: never stale, never planned"
    )

    @field_validator("grace_period")
    @classmethod
    def _grace_period_is_a_duration(cls, value: str) -> str:
        if iso_duration_seconds(value) > MAX_GRACE_PERIOD_DAYS * 86400:
            raise ValueError(
                f"must be at most {MAX_GRACE_PERIOD_DAYS} days: the reclamation's run is bounded by it (template.yaml's"
                " ReclaimTimeoutSeconds), and Step Functions executions last at most a year"
            )
        return value

    @field_validator("max_snapshot_age")
    @classmethod
    def _max_snapshot_age_is_a_duration(cls, value: str) -> str:
        if not 3600 <= iso_duration_seconds(value) <= 90 * 86400:
            raise ValueError("must be between PT1H and P90D: older data says nothing of who uses a seat today")
        return value

    # --- seat lifecycle (SPEC "Seat lifecycle"): keep requests ---
    keep_days: int = Field(90, ge=1, le=3650, description="How long a seat its user kept is protected")
    keep_requires_approval: bool = Field(False, description="A user's keep decision waits for an admin's")

    # --- seat lifecycle: downgrade ---
    stale_action: Literal["reclaim", "downgrade"] = Field("reclaim", description="What is done to a stale seat")
    downgrade_to: str | None = Field(None, max_length=100, description="The tier stale seats move to")

    # --- seat lifecycle: renewals ---
    renewal_headroom_percent: float = Field(10, ge=0, le=1000, description="Added to the seats in use at renewal")
    renewal_reminder_days: list[Annotated[int, Field(ge=0, le=730)]] = Field(
        default_factory=lambda: [120, 90, 60, 30], max_length=20, description="Days before the opt-out deadline"
    )
    low_seat_threshold: int | None = Field(
        None, ge=0, le=10_000_000, description="Warn when fewer licenses than this are free"
    )

    # --- notifications (SPEC "Notifications") ---
    keep_reminders: list[Annotated[str, Field(pattern=r"^-?P")]] = Field(
        default_factory=lambda: ["P0D", "-P2D"],
        min_length=1,
        max_length=10,
        description="When keep prompts go out: ISO 8601 offsets before the end of the grace period (P0D: at its start)",
    )
    unreached_users: Literal["wait_for_admin", "reclaim"] = Field(
        "wait_for_admin", description="A seat whose keep prompt reached no channel: left for an admin, or reclaimed"
    )

    @field_validator("keep_reminders")
    @classmethod
    def _reminders_are_durations(cls, value: list[str]) -> list[str]:
        for offset in value:
            iso_duration_seconds(offset.removeprefix("-"))
        return value


class Notifications(Model):
    """Who is told about this app, and on which channels (overriding settings' notifications.channels)."""

    channels: list[Literal["email", "slack", "teams"]] | None = Field(None, min_length=1, max_length=3)
    approvers: list[Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(
        default_factory=list, max_length=50, description="Who approves its reclamations and keep requests"
    )
    finance_contact: str | None = Field(
        None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$", description="Told of renewals with the owner"
    )


class RateLimit(Model):
    """The vendor's documented limit, and how much of it seatkeeper may spend.

    Headers the app sends (X-Rate-Limit-*, X-RateLimit-*, RateLimit) say the same at run time and
    win over what is declared; the share applies to both, as the budget is the customer's."""

    requests: int | None = Field(None, ge=1, le=1_000_000, description="Requests allowed per window")
    window_seconds: float = Field(60.0, gt=0, le=86_400, description="The window the requests are counted in")
    concurrency: int | None = Field(None, ge=1, le=32, description="Requests the vendor allows at once")
    scope: Literal["org", "connection"] = Field(
        "org",
        description="'org': the budget is shared by every integration of the customer (Okta's), so seatkeeper"
        " spends only its share of it; 'connection': the budget is this credential's own",
    )
    share: float | None = Field(
        None, gt=0, le=1, description="The part of the budget seatkeeper may use: 0.5 for an org's budget, else 1"
    )
    latency_signal: bool = Field(
        True,
        description="Where the app announces no quota, send fewer requests at once when its answers come twice"
        " as slowly as usual (false: only 429 and 503 say so)",
    )

    @property
    def spendable(self) -> float:
        if self.share is not None:
            return self.share
        return 0.5 if self.scope == "org" else 1.0


# --- the profile ----------------------------------------------------------------------


class Profile(Model):
    """A complete profile: a template merged with the profile's own fields."""

    name: str = Field(min_length=1, max_length=120)
    template: str | None = Field(None, max_length=64)
    base_url: str = Field(max_length=2000)
    headers: dict[HeaderName, Annotated[HeaderValue, Field(max_length=1000)]] = Field(
        default_factory=dict, description="Sent with every request to the app (not for credentials)"
    )
    auth: Auth
    request_deadline_seconds: int = Field(
        60, ge=1, le=300, description="The most one request to the app may take, its whole answer included"
    )
    users: UsersEndpoint
    rate_limit: RateLimit | None = Field(
        None, description="The vendor's documented limit; without it, only the limits the app announces count"
    )
    activity: Activity | None = None
    reclaim: ReclaimRequest | None = None
    downgrade: ReclaimRequest | None = Field(
        None, description="The request that moves a user to a cheaper tier: {tier} and user fields filled in"
    )
    subscription: Subscription
    policy: Policy = Field(default_factory=Policy)
    notifications: Notifications = Field(default_factory=Notifications)
    # Usage from the identity provider: set on an IdP profile (by the okta_sso, entra_sso, google_sso templates).
    identity_provider: IdentityProvider | None = None

    @model_validator(mode="after")
    def _downgrades_to_a_known_tier(self) -> Profile:
        target = self.policy.downgrade_to
        if self.policy.stale_action == "downgrade" and target is None:
            raise ValueError("policy.downgrade_to must name a tier when policy.stale_action is 'downgrade'")
        if target is not None and target.casefold() not in {t.name.casefold() for t in self.subscription.tiers}:
            raise ValueError(f"policy.downgrade_to {target!r} is not one of subscription.tiers")
        return self

    @field_validator("name")
    @classmethod
    def _name_is_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


def profile_json_schema() -> dict[str, Any]:
    """The JSON Schema of a profile as a file states it in full (GET /profiles/schema, docs/profile.schema.json);
    a profile built on a template gives only its own fields and is checked by POST /profiles/preview."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://seatkeeper.dev/profile.schema.json",
        **Profile.model_json_schema(mode="validation"),
    }
