"""Built-in configuration templates and how a profile is built from one.

A template is a partial profile for one kind of SaaS API. The profile's own fields win;
nested objects merge key by key, except that an object whose `type` differs replaces the
template's whole object (a pagination of another type shares no settings with it).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, computed_field, model_validator

from seatkeeper.core.errors import InvalidInput, TemplateNotFound
from seatkeeper.profiles.model import Profile


class ActivityFacts(BaseModel):
    """Where a template's last activity comes from, and what using the app means there."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    field: str = Field(description="The field or endpoint that gives the last activity")
    meaningful: str = Field(description="What counts as using the app, and whether this field measures it")
    plan: str | None = Field(None, description="The vendor plan or add-on the signal needs")


ReclaimEffect = Literal["deactivate", "suspend", "delete", "downgrade", "remove_from_org", "cancel_seat", "unassign"]


class ReclaimFacts(BaseModel):
    """What a template's reclaim request does to the user in the app."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    effect: ReclaimEffect
    loses_data: bool = Field(description="True when the user's content goes with the seat unless moved first")
    note: str = Field(description="What a person must know or do before reclaiming")
    bill_drops: bool = Field(
        True,
        description="False when the vendor bills the freed seat until its paid seats are lowered by hand (GitHub):"
        " a plan's savings then wait for that",
    )
    unbilled_after_idle_days: int | None = Field(
        None,
        ge=1,
        description="Days without activity after which the vendor stops billing a seat by itself (Slack: 'Members"
        " who take an action in Slack at any time within a 28-day period will be considered active for billing"
        " purposes'): reclaiming a seat idle longer saves nothing, and the savings shown leave it out",
    )
    billing_says: str | None = Field(
        None, description="The vendor's own words on whom it stops billing: a plan's warning quotes them"
    )

    @model_validator(mode="after")
    def _quoted(self) -> ReclaimFacts:
        # A plan that leaves seats out of its savings says why in the vendor's words, never in ours.
        if (self.unbilled_after_idle_days is None) != (self.billing_says is None):
            raise ValueError("unbilled_after_idle_days and billing_says go together")
        return self


# The facts of a template that a vendor source confirms or not (docs/catalog.md has a table of them).
Fact = Literal[
    "users_path", "paging", "page_size", "email", "last_activity", "seat", "reclaim", "loses_data", "rate_limit"
]


class Capabilities(BaseModel):
    model_config = ConfigDict(defer_build=True)

    users: bool
    activity: bool
    reclaim: bool
    downgrade: bool
    tiers: bool


class ConfigurationTemplate(BaseModel):
    """A partial profile for one vendor's API, with what its documentation says about it."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str
    title: str
    description: str
    documentation: str = Field(description="The vendor's reference for the users endpoint")
    see_also: list[str] = Field(default_factory=list, description="The vendor's pages for activity, reclaim, auth")
    needs: list[str]
    scopes: list[str] = Field(
        default_factory=list, description="Least-privilege scopes, roles or token permissions the credential needs"
    )
    activity: ActivityFacts | None = None
    activity_note: str | None = Field(None, description="Why the app's API gives no activity, and what to use")
    reclaim: ReclaimFacts | None = None
    reclaim_note: str | None = Field(None, description="Why no reclaim request is preset: the manual step")
    app_reclaim: ReclaimFacts | None = Field(
        None,
        description="An identity provider's template: what the reclaim request of the profiles made from its apps"
        " (the IdP's own unassign) does to the user",
    )
    profile: dict[str, Any]
    api_version: str = Field(description="The version of the vendor's API the template follows")
    sunset: date | None = Field(
        None, description="When the vendor announced that the template's reclaim request stops working"
    )
    verified: bool = Field(True, description="False while a fact of the template has no vendor source")
    unverified: dict[Fact, str] = Field(
        default_factory=dict, description="Each fact no vendor source confirms (or one contradicts), and why"
    )

    @model_validator(mode="after")
    def _says_which_facts_are_unverified(self) -> ConfigurationTemplate:
        if self.verified is bool(self.unverified):
            raise ValueError("verified is false exactly when unverified names a fact and its reason")
        return self

    @model_validator(mode="after")
    def _says_why_when_it_cannot(self) -> ConfigurationTemplate:
        if self.activity is None and not self.activity_note:
            raise ValueError("a template without activity says why in activity_note")
        if self.reclaim is None and not self.reclaim_note:
            raise ValueError("a template without a reclaim request says what to do instead in reclaim_note")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def capabilities(self) -> Capabilities:
        # From the profile's own sections, so that a section the profile model gains (downgrade,
        # tiers) shows here as soon as a template fills it in.
        users = self.profile.get("users") or {}
        fields = users.get("fields") or {}
        subscription = self.profile.get("subscription") or {}
        return Capabilities(
            users=bool(users),
            activity=bool(fields.get("last_activity") or self.profile.get("activity")),
            reclaim=bool(self.profile.get("reclaim")),
            downgrade=bool(self.profile.get("downgrade")),
            tiers=bool(fields.get("tier") or subscription.get("tiers")),
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def endpoint(self) -> str:
        users = self.profile.get("users") or {}
        return f"{users.get('method', 'GET')} {users.get('path', '')}".strip()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pagination(self) -> str:
        return str(((self.profile.get("users") or {}).get("pagination") or {}).get("type", "none"))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def auth(self) -> str | None:
        auth = self.profile.get("auth")
        return str(auth["type"]) if isinstance(auth, dict) and "type" in auth else None


@cache
def templates() -> dict[str, ConfigurationTemplate]:
    folder = resources.files("seatkeeper.profiles.templates")
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            template = ConfigurationTemplate.model_validate_json(entry.read_text(encoding="utf-8"))
            found[template.name] = template
    return dict(sorted(found.items()))


def template(name: str) -> ConfigurationTemplate:
    try:
        return templates()[name]
    except KeyError:
        raise TemplateNotFound(name) from None


# How long before a vendor's announced sunset of a template's reclaim request it is warned of.
SUNSET_WARNING = timedelta(days=90)


def deprecation(template: ConfigurationTemplate, *, now: datetime, since: datetime | None) -> dict[str, Any] | None:
    """What `Template Deprecated` says, when the warning window of the template's sunset opened after `since`.

    `since` is the previous reconciliation of the profile: the event is put once, by the first
    daily reconciliation inside the window (or the first one at all, for a new profile).
    """
    if template.sunset is None:
        return None
    opens = datetime.combine(template.sunset, datetime.min.time(), tzinfo=now.tzinfo) - SUNSET_WARNING
    if now < opens or (since is not None and since >= opens):
        return None
    reclaim = template.profile.get("reclaim") or {}
    return {
        "template": template.name,
        "api_version": template.api_version,
        "sunset": template.sunset.isoformat(),
        "days_left": (template.sunset - now.date()).days,
        "reclaim": f"{reclaim.get('method', '')} {reclaim.get('path', '')}".strip() or None,
    }


def merge(base: Any, own: Any) -> Any:
    """`own` over `base`: dicts merge recursively, anything else in `own` wins."""
    if not isinstance(base, dict) or not isinstance(own, dict):
        return own
    if "type" in own and own.get("type") != base.get("type"):
        return own
    merged = dict(base)
    for key, value in own.items():
        merged[key] = merge(base[key], value) if key in base else value
    return merged


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: null removes a key, objects merge, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def build_profile(own: dict[str, Any], *, loc_prefix: tuple[str, ...] = ("body",)) -> Profile:
    """The complete profile for a profile's own fields, filled in from its template."""
    fields = {k: v for k, v in own.items() if v is not None}
    base: dict[str, Any] = {}
    if fields.get("template") is not None:
        try:
            base = template(fields["template"]).profile
        except TemplateNotFound as exc:
            raise InvalidInput.at(
                (*loc_prefix, "template"), f"unknown template {exc.name!r}; see GET /templates"
            ) from None
    try:
        return Profile.model_validate(merge(base, fields))
    except ValidationError as exc:
        raise InvalidInput(
            [{"loc": [*loc_prefix, *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        ) from None
