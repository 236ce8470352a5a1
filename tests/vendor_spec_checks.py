"""Reading the vendors' own API descriptions in tests/vendor_specs/: operations, schemas, fields.

An extract is cut from the vendor's published document by scripts/vendor_extract.py; these
helpers answer what a template's contract test asks of it: does the operation exist, does it
take this parameter, does the answer validate, does the vendor declare every field the template
reads and every field our fake sends.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import jmespath
import yaml
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS = Path(__file__).parent / "vendor_specs"


@cache
def spec(vendor: str, name: str) -> dict[str, Any]:
    return yaml.safe_load((SPECS / vendor / f"{name}.yaml").read_text(encoding="utf-8"))


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    item = document["paths"][path]
    own = item[method.lower()]
    # Path-level parameters apply to every operation of the path, besides the operation's own.
    return {**own, "parameters": [*item.get("parameters", []), *own.get("parameters", [])]}


def deref(document: dict[str, Any], node: Any) -> Any:
    """The node a {"$ref": "#/..."} points to, followed until it is no reference."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def parameter_names(document: dict[str, Any], method: str, path: str, where: str = "query") -> set[str]:
    found = (deref(document, p) for p in operation(document, method, path)["parameters"])
    return {p["name"] for p in found if p.get("in") == where}


def response_schema(document: dict[str, Any], method: str, path: str, status: str = "200") -> dict[str, Any]:
    responses = operation(document, method, path)["responses"]
    response = deref(document, responses.get(status, responses.get(int(status))))
    return response["content"]["application/json"]["schema"]


def validate(document: dict[str, Any], schema: dict[str, Any], instance: Any) -> None:
    """Raises jsonschema's ValidationError when `instance` is not what the vendor documents."""
    # The schema goes into the document, so that its references resolve against the document.
    root = {**document, "x-checked": schema}
    registry: Registry = Registry().with_resource("urn:spec", Resource.from_contents(root, DRAFT4))
    OAS30Validator({"$ref": "urn:spec#/x-checked"}, registry=registry).validate(instance)


def _properties(document: dict[str, Any], schema: Any) -> tuple[dict[str, Any], bool]:
    """A schema's declared properties, and whether it admits others (additionalProperties)."""
    schema = deref(document, schema)
    properties = dict(schema.get("properties") or {})
    open_ended = bool(schema.get("additionalProperties"))
    for part in schema.get("allOf", []):
        more, more_open = _properties(document, part)
        properties.update(more)
        open_ended |= more_open
    return properties, open_ended or (not properties and "allOf" not in schema)


def undeclared(document: dict[str, Any], schema: Any, instance: Any, at: str = "") -> list[str]:
    """The dotted paths of `instance` that the vendor's schema does not declare."""
    schema = deref(document, schema)
    if isinstance(instance, list):
        return [m for value in instance for m in undeclared(document, schema.get("items", {}), value, at + "[]")]
    if not isinstance(instance, dict):
        return []
    properties, open_ended = _properties(document, schema)
    missing = []
    for key, value in instance.items():
        if key in properties:
            missing += undeclared(document, properties[key], value, f"{at}.{key}" if at else key)
        elif not open_ended:
            missing.append(f"{at}.{key}" if at else key)
    return missing


def fields_read(expression: str) -> set[str]:
    """The dotted field paths a JMESPath expression reads ("profile.email", "status")."""
    found: set[str] = set()

    def chain(node: dict[str, Any]) -> str | None:
        if node["type"] == "field":
            return str(node["value"])
        if node["type"] == "subexpression" and all(c["type"] in {"field", "subexpression"} for c in node["children"]):
            parts = [chain(c) for c in node["children"]]
            return ".".join(p for p in parts if p)
        return None

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        path = chain(node) if node.get("type") in {"field", "subexpression"} else None
        if path:
            found.add(path)
            return
        for child in node.get("children", []):
            walk(child)

    walk(jmespath.compile(expression).parsed)
    return found


def declares(document: dict[str, Any], schema: Any, dotted: str) -> bool:
    """True when the vendor's schema has the field at `dotted`, property by property."""
    node = deref(document, schema)
    for name in dotted.split("."):
        properties, _ = _properties(document, node)
        if name not in properties:
            return False
        node = deref(document, properties[name])
    return True


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def spec_path(document: dict[str, Any], path: str) -> str:
    """The document's path for a template's path: the same segments, whatever its parameters are called."""
    found = [p for p in document["paths"] if _shape(p) == _shape(path)]
    assert len(found) == 1, f"{path} is no path of {document['info']['title']} ({len(found)} match)"
    return found[0]


def record_schema(document: dict[str, Any], schema: Any, records_path: str) -> Any:
    """The schema of one record, where the template's records_path finds them in the answer."""
    node = deref(document, schema)
    if "oneOf" in node:
        # An answer of several shapes (Miro's by cursor or by e-mails): the first is the listing.
        node = deref(document, node["oneOf"][0])
    if records_path != "@":
        for name in records_path.split("."):
            node = deref(document, _properties(document, node)[0][name])
    return deref(document, node.get("items", {}))
