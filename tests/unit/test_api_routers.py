"""The API includes a route module's router on the first request that needs it (README, Benchmarks: cold start)."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from seatkeeper_local.template import Template

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


def test_the_api_imports_no_route_at_start_and_then_only_the_routes_of_the_first_request():
    # Given a fresh API function, as Lambda's init leaves it
    script = f"""
import json, sys, types
import app
{LOADED}
context = types.SimpleNamespace(function_name="ApiFunction", memory_limit_in_mb=1024, aws_request_id="r",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:ApiFunction")
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
        "seatkeeper.errors",
        "seatkeeper.settings",
    }
    # And it answered with the templates' own module: no profile, store or sync came with it
    assert status == "200"
    loaded = set(json.loads(after_request)) - set(json.loads(at_start))
    assert {"routes.templates", "routes.answers", "seatkeeper.catalog"} <= loaded
    assert not loaded & {"routes.profiles", "routes.sync", "seatkeeper.profiles", "seatkeeper.store"}


def _route_modules() -> list[str]:
    return sorted(p.stem for p in (API / "routes").glob("*.py") if "router = Router()" in p.read_text())


def test_every_route_of_every_route_module_is_found_by_its_path(monkeypatch):
    # Given every route module of the API and the routes its router holds
    monkeypatch.syspath_prepend(str(API))
    import routes

    held = {}
    for module in _route_modules():
        rules = {rule for rule, *_ in importlib.import_module(f"routes.{module}").router._routes}
        assert rules, f"routes.{module} holds no route: Powertools' Router has changed"
        held |= dict.fromkeys(rules, module)

    # When each rule is asked for as a concrete path
    found = {rule: routes.module_for(re.sub(r"<\w+>", "x", rule)) for rule in held}

    # Then the table names the module that holds it, and names no other module
    assert found == held
    assert set(routes.MODULES.values()) == set(held.values())
    # And no other rule matches that path: which routers an instance has included, and in what order,
    # never changes the route that answers
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    patterns = {rule: APIGatewayHttpResolver._compile_regex(rule) for rule in held}
    for rule in held:
        path = re.sub(r"<\w+>", "x", rule)
        assert [r for r, pattern in patterns.items() if pattern.match(path)] == [rule]


OPENAPI_AFTER = """
import json, sys, types
import app
context = types.SimpleNamespace(function_name="ApiFunction", memory_limit_in_mb=1024, aws_request_id="r",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:ApiFunction")
for path in sys.argv[1:]:
    event = json.load(open({event!r}))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    answer = app.lambda_handler(event, context)
print(answer["body"])
"""


def test_the_openapi_document_is_whole_and_the_same_whatever_came_before(monkeypatch):
    # Given fresh API functions, one asked for its OpenAPI document first, one after other requests
    script = OPENAPI_AFTER.format(event=str(ROOT / "events" / "api_list_templates.json"))
    first = "\n".join(_fresh_api(script, "/openapi.json"))
    later = "\n".join(_fresh_api(script, "/templates", "/dashboard", "/openapi.json"))

    # Then each documents every route of every module, not only those included so far
    monkeypatch.syspath_prepend(str(API))
    rules = {
        re.sub(r"<(\w+)>", r"{\1}", rule)
        for module in _route_modules()
        for rule, *_ in importlib.import_module(f"routes.{module}").router._routes
    }
    assert set(json.loads(first)["paths"]) == rules | {"/health"}
    # And the two documents are the same to the byte, whatever each instance had served before
    assert later == first
