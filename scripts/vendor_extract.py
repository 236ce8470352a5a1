"""Cut the part of a vendor's OpenAPI (or Swagger 2) document that a template relies on.

The catalog's contract tests check templates against tests/vendor_specs/<vendor>/*.yaml; this
script makes those extracts from the vendor's full, published document, so that anyone can
cut them again from the same commit and see that nothing was written from memory:

    git -C /work/.mirror/okta+okta-management-openapi-spec/repo show HEAD:dist/2026.06.3/management-minimal.yaml \
      | python scripts/vendor_extract.py - --repository okta/okta-management-openapi-spec \
          --path dist/2026.06.3/management-minimal.yaml --commit fdda229e... \
          --operation "GET /api/v1/users" --operation "POST /api/v1/users/{id}/lifecycle/deactivate" \
          > tests/vendor_specs/okta/management.yaml

An extract keeps the named operations (with their path-level parameters), every component they
reference, followed to the end, and the security schemes; it drops examples, which are large and
which no test reads. `x-source` records where it was cut from.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
            found.add(node["$ref"])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _pointer(ref: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in ref[2:].split("/")]


def _lookup(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in _pointer(ref):
        node = node[part]
    return node


def _place(extract: dict[str, Any], ref: str, value: Any) -> None:
    *parents, leaf = _pointer(ref)
    node = extract
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def _without_examples(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _without_examples(v)
            for k, v in node.items()
            if k not in {"examples", "example", "x-codeSamples", "x-readme"}
        }
    if isinstance(node, list):
        return [_without_examples(v) for v in node]
    return node


def extract(
    document: dict[str, Any], operations: list[str], source: dict[str, str], all_methods: bool = False
) -> dict[str, Any]:
    """The operations named "METHOD /path", with everything they reference.

    With all_methods, each path also records as x-methods every method the document has for it, so that
    a test can tell from the extract what the vendor does not offer there (no DELETE, no PATCH).
    """
    cut: dict[str, Any] = {key: document[key] for key in ("openapi", "swagger") if key in document}
    cut["info"] = {k: document["info"][k] for k in ("title", "version") if k in document.get("info", {})}
    cut["x-source"] = source
    # Swagger 2 says at the top what every operation answers in (produces) and takes (consumes).
    for key in ("servers", "host", "basePath", "schemes", "consumes", "produces", "security"):
        if key in document:
            cut[key] = document[key]
    paths: dict[str, Any] = {}
    for operation in operations:
        method, path = operation.split(" ", 1)
        item = document["paths"][path]
        if method.lower() not in item:
            raise SystemExit(f"{path} has no {method} operation")
        kept = paths.setdefault(path, {k: v for k, v in item.items() if k not in METHODS})
        kept[method.lower()] = item[method.lower()]
        if all_methods:
            kept["x-methods"] = sorted(m for m in item if m in METHODS)
    cut["paths"] = _without_examples(paths)
    schemes = (document.get("components") or {}).get("securitySchemes") or document.get("securityDefinitions")
    if schemes:
        if "components" in document:
            cut.setdefault("components", {})["securitySchemes"] = schemes
        else:
            cut["securityDefinitions"] = schemes
    # Follow the references to the end: a schema's properties name other schemas.
    pending, seen = _refs(cut), set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        try:
            value = _without_examples(_lookup(document, ref))
        except KeyError:
            # The vendor's own document names a component it does not have: say so, keep going.
            cut.setdefault("x-unresolved", []).append(ref)
            continue
        _place(cut, ref, value)
        pending |= _refs(value) - seen
    if "x-unresolved" in cut:
        # Left in, they make the extract an invalid document (Prism refuses it): the list says what went.
        cut["x-unresolved"].sort()
        _drop_references(cut, set(cut["x-unresolved"]))
    return cut


def _drop_references(node: Any, unresolved: set[str]) -> None:
    if isinstance(node, dict):
        for key in [k for k, v in node.items() if isinstance(v, dict) and v.get("$ref") in unresolved]:
            del node[key]
        for value in node.values():
            _drop_references(value, unresolved)
    elif isinstance(node, list):
        node[:] = [v for v in node if not (isinstance(v, dict) and v.get("$ref") in unresolved)]
        for value in node:
            _drop_references(value, unresolved)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("document", help="the vendor's full document (YAML or JSON), or - for stdin")
    parser.add_argument("--repository", required=True, help="where it was published: owner/name or a URL")
    parser.add_argument("--path", required=True, help="its path in that repository")
    parser.add_argument("--commit", required=True, help="the commit or version it was read at")
    parser.add_argument("--operation", action="append", required=True, help='"METHOD /path", repeatable')
    parser.add_argument("--all-methods", action="store_true", help="record every method of each path (x-methods)")
    args = parser.parse_args(argv)
    text = sys.stdin.read() if args.document == "-" else Path(args.document).read_text(encoding="utf-8")
    document = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    source = {"repository": args.repository, "path": args.path, "commit": args.commit}
    cut = extract(document, args.operation, source, all_methods=args.all_methods)
    header = (
        f"# Extract of {args.repository} {args.path} at {args.commit}, cut by scripts/vendor_extract.py\n"
        f"# ({', '.join(args.operation)}). Data from the vendor's document: do not edit, cut it again.\n"
    )
    sys.stdout.write(header + yaml.safe_dump(cut, sort_keys=False, allow_unicode=True, width=120))


if __name__ == "__main__":
    main()
