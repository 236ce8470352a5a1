"""The API includes a route module's router on the first request that needs it (README, Benchmarks: cold start)."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from seatkeeper_local.stack.template import Template

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "functions" / "api"


def _fresh_api(script: str, *arguments: str) -> list[str]:
    """What a fresh interpreter running `script` (that imports app, as Lambda's init does) prints."""
    function = Template(ROOT / "template.yaml").functions()["ApiFunction"]
    path = os.pathsep.join([str(API), str(ROOT / "layers" / "seatkeeper"), os.environ.get("PYTHONPATH", "")])
    started = subprocess.run(
        [sys.executable, "-c", script, *arguments],
        env={**os.environ, **function.environment, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    return started.stdout.splitlines()


LOADED = "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('routes.', 'seatkeeper.')))))"
CONTEXT = """context = types.SimpleNamespace(function_name="ApiFunction", memory_limit_in_mb=1024, aws_request_id="r",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:ApiFunction")"""


def test_the_api_imports_no_route_at_start_and_then_only_the_routes_of_the_first_request():
    # Given a fresh API function, as Lambda's init leaves it
    script = f"""
import json, sys, types
import app
{LOADED}
{CONTEXT}
# When its first request lists the templates
answer = app.lambda_handler(json.load(open({str(ROOT / "events" / "api_list_templates.json")!r})), context)
print(answer["statusCode"])
{LOADED}
"""
    at_start, status, after_request = _fresh_api(script)

    # Then it started without a single route's models or the domain behind them
    assert set(json.loads(at_start)) == {
        "routes.access",
        "routes.errors",
        "routes.settings",
        "seatkeeper.core",
        "seatkeeper.core.errors",
        "seatkeeper.core.settings",
    }
    # And it answered with the templates' own module: no profile, store or sync came with it
    assert status == "200"
    loaded = set(json.loads(after_request)) - set(json.loads(at_start))
    assert {"routes.templates", "routes.answers", "seatkeeper.profiles.catalog"} <= loaded
    assert not loaded & {
        "routes.profiles",
        "routes.sync",
        "seatkeeper.profiles.records",
        "seatkeeper.aws.dynamodb.table",
    }


def _rules_held(monkeypatch) -> dict[str, str]:
    """Every rule of every route module of the API (a module with a Router), with the module that holds it."""
    monkeypatch.syspath_prepend(str(API))
    held = {}
    for path in sorted((API / "routes").glob("*.py")):
        if "router = Router()" in path.read_text():
            rules = {rule for rule, *_ in importlib.import_module(f"routes.{path.stem}").router._routes}
            assert rules, f"routes.{path.stem} holds no route: Powertools' Router has changed"
            held |= dict.fromkeys(rules, path.stem)
    return held


def _concrete(rule: str) -> str:
    return re.sub(r"<\w+>", "x", rule)


def test_every_route_of_every_route_module_is_found_by_its_path(monkeypatch):
    # Given every route module of the API and the routes its router holds
    held = _rules_held(monkeypatch)
    import routes

    # When each rule is asked for as a concrete path
    found = {rule: routes.module_for(_concrete(rule)) for rule in held}

    # Then the table names the module that holds it, and names no other module
    assert found == held
    assert set(routes.MODULES.values()) == set(held.values())
    # And no other rule matches that path: which routers an instance has included, and in what order,
    # never changes the route that answers
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    # (Powertools tries the routes without a <parameter> first, whatever their order: /profiles/schema
    # answers before /profiles/<profile_id> could, whichever router came first.)
    assert APIGatewayHttpResolver()._resolve.__code__.co_names.count("_static_routes")
    patterns = {rule: APIGatewayHttpResolver._compile_regex(rule) for rule in held}
    for rule in held:
        matching = [r for r, pattern in patterns.items() if pattern.match(_concrete(rule))]
        static = [r for r in matching if "<" not in r]
        assert (static or matching) == [rule]


OPENAPI_AFTER = f"""
import json, sys, types
import app
{CONTEXT}
for path in sys.argv[1:]:
    event = json.load(open({str(ROOT / "events" / "api_list_templates.json")!r}))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    answer = app.lambda_handler(event, context)
print(answer["body"])
"""


def test_the_openapi_document_is_whole_and_the_same_whatever_came_before(monkeypatch):
    # Given fresh API functions, one asked for its OpenAPI document first, one after other requests
    first = "\n".join(_fresh_api(OPENAPI_AFTER, "/openapi.json"))
    later = "\n".join(_fresh_api(OPENAPI_AFTER, "/templates", "/dashboard", "/openapi.json"))

    # Then each documents every route of every module, not only those included so far
    rules = {re.sub(r"<(\w+)>", r"{\1}", rule) for rule in _rules_held(monkeypatch)}
    assert set(json.loads(first)["paths"]) == rules | {"/health"}
    # And the two documents are the same to the byte, whatever each instance had served before
    assert later == first


def test_the_profile_s_sections_are_typed_by_the_real_models_and_every_reference_resolves():
    # Given the OpenAPI document as a fresh instance serves it
    document = json.loads("\n".join(_fresh_api(OPENAPI_AFTER, "/openapi.json")))
    schemas = document["components"]["schemas"]
    # Then no $ref points at a schema the document lacks (it once named a "Profile" that did not exist)
    referenced = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(document)))
    assert referenced - set(schemas) == set()
    # And auth, users and reclaim of a profile's own fields are the models a profile is built of
    fields = schemas["ProfileFields"]["properties"]

    def typed(name):
        return {ref["$ref"].rsplit("/", 1)[1] for ref in fields[name]["anyOf"] if "$ref" in ref}

    assert {"BearerAuth", "ApiKeyAuth", "OAuth2ClientCredentialsAuth"} <= typed("auth")
    assert typed("users") == {"UsersEndpoint"} and typed("reclaim") == {"ReclaimRequest"}
