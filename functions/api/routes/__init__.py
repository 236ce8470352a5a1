"""The API's routes, one Powertools Router per resource, and which module serves which path.

app.py includes a module's router on the first request that needs it: importing every route's
models at start was most of the API's cold start (README, Benchmarks: cold start).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import Router

# By a path's first segment, or its first and third ("profiles/sync" for /profiles/<id>/sync), or
# its first two ("profiles/preview" for /profiles/preview as for /profiles/<id>/preview).
# tests/unit/test_api_routers.py finds every route of every module here.
MODULES = {
    "analytics": "reconciliations",
    "dashboard": "dashboard",
    "idp": "identity_providers",
    "keep": "keep",
    "notifications": "notifications",
    "oauth": "oauth",
    "profiles": "profiles",
    "profiles/connection": "connections",
    "profiles/position": "reconciliations",
    "profiles/draft": "authoring",
    "profiles/preview": "authoring",
    "profiles/schema": "authoring",
    "profiles/positions": "reconciliations",
    "profiles/reclamations": "reclamations",
    "profiles/snapshot": "sync",
    "profiles/sync": "sync",
    "profiles/users": "sync",
    "profiles/users.csv": "sync",
    "reclamations": "reclamations",
    "reconciliations": "reconciliations",
    "renewals": "renewals",
    "runs": "sync",
    "slack": "slack",
    "templates": "templates",
}


def module_for(path: str) -> str | None:
    """The route module that serves `path`; None for a path no module serves (Powertools answers 404)."""
    segments = path.strip("/").split("/")
    if len(segments) >= 3 and f"{segments[0]}/{segments[2]}" in MODULES:
        return MODULES[f"{segments[0]}/{segments[2]}"]
    if len(segments) == 2 and f"{segments[0]}/{segments[1]}" in MODULES:
        return MODULES[f"{segments[0]}/{segments[1]}"]
    return MODULES.get(segments[0])


def router(module: str) -> Router:
    return importlib.import_module(f"routes.{module}").router
