"""Built-in configuration templates and how a profile is built from one.

A template is a partial profile for one kind of SaaS API. The profile's own fields win;
nested objects merge key by key, except that an object whose `type` differs replaces the
template's whole object (a pagination of another type shares no settings with it).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from seatkeeper.errors import InvalidInput, TemplateNotFound
from seatkeeper.profile import Profile


class ConfigurationTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: str
    title: str
    description: str
    documentation: str
    needs: list[str]
    profile: dict[str, Any]


@cache
def templates() -> dict[str, ConfigurationTemplate]:
    folder = resources.files("seatkeeper.templates")
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
