"""Requests written as templates: a profile's paths and bodies with {placeholders} filled from a user's fields."""

from __future__ import annotations

import re
from string import Formatter
from typing import Any
from urllib.parse import quote, unquote

from pydantic import BaseModel

from seatkeeper.core.errors import SaaSRequestFailed
from seatkeeper.profiles.model import BODY_PLACEHOLDER


def request_fields(user: BaseModel, *, tier: str | None = None) -> dict[str, str]:
    """What the {placeholders} of a reclaim or downgrade request stand for: the user's fields as text
    (a reclamation's candidate, say); {tier} is the tier to move to."""
    fields = {k: "" if v is None else str(v) for k, v in user.model_dump(mode="json").items()}
    if tier is not None:
        fields["tier"] = tier
    return fields


_PLACEHOLDER = BODY_PLACEHOLDER  # braces around no whitespace: the profile's validation reads them the same way


def fill_in(template: Any, user: BaseModel, *, tier: str | None = None) -> Any:
    """The reclaim or downgrade request's JSON body with {id}, {email}, ... {tier} filled in, as text.

    Paths are filled by `fill_path`, which makes each value one path segment. Braces
    around text without whitespace are a placeholder, and one that names no user field fails that
    user; braces with whitespace stay as they are, as a GraphQL query's "{ id }" do.
    """
    fields = request_fields(user, tier=tier)

    def field(match: re.Match[str]) -> str:
        if match.group(1) not in fields:
            raise SaaSRequestFailed(f"the request body's {match.group(0)!r} names no user field")
        return fields[match.group(1)]

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return _PLACEHOLDER.sub(field, value)
        if isinstance(value, list):
            return [fill(item) for item in value]
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        return value

    return fill(template)


def fill_path(template: str, fields: dict[str, Any]) -> str:
    """A request path with {id}, {email}, ... filled in, each value exactly one path segment.

    Values come from the app: a value that is empty or a dot segment (`.`, `..`, also
    percent-encoded) would move the request to another resource, and is refused.
    """
    path = []
    for literal, name, _, _ in Formatter().parse(template):
        path.append(literal)
        if name is None:
            continue
        if name not in fields:
            raise SaaSRequestFailed(f"the path {template!r} names no user field {name!r}")
        value = "" if fields[name] is None else str(fields[name])
        decoded, previous = value, None
        while decoded != previous:  # however many times the app, or a proxy before it, decodes it
            decoded, previous = unquote(decoded), decoded
        if decoded in ("", ".", ".."):
            raise SaaSRequestFailed(f"the user's {name} {value[:40]!r} cannot be a path segment")
        path.append(quote(value, safe=""))
    return "".join(path)
