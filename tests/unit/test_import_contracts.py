"""Imports run one way (ARCHITECTURE.md): no circle anywhere, and the functions' handlers use the domain only.

The layers of the domain package and the seams of the API's routes and the local stack are
import-linter contracts in pyproject.toml, which `make lint` runs (`lint-imports`); what no contract
says, these tests do: grimp's graph (imports inside functions included) has no circle in layers/,
local/ or the API's routes, and each function's handler imports only the domain's public modules.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = sorted(p for p in (ROOT / "functions").iterdir() if (p / "app.py").exists())


def _circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, imported = work[-1]
            for other in imported:
                if other not in index:
                    index[other] = low[other] = len(index)
                    stack.append(other)
                    on_stack.add(other)
                    work.append((other, iter(sorted(graph.find_modules_directly_imported_by(other)))))
                    break
                if other in on_stack:
                    low[module] = min(low[module], index[other])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == module:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
    return found


def _graph(monkeypatch: pytest.MonkeyPatch, *packages: str) -> grimp.ImportGraph:
    monkeypatch.syspath_prepend(str(ROOT / "functions" / "api"))
    graph = grimp.build_graph(*packages, include_external_packages=False, cache_dir=None)
    # A package's __init__ that imports its own children is no circle of design (there are none today).
    for module in list(graph.modules):
        for child in graph.find_children(module):
            if graph.direct_import_exists(importer=module, imported=child):
                graph.remove_import(importer=module, imported=child)
    return graph


def test_the_domain_the_local_stack_and_the_routes_have_no_import_circle(monkeypatch):
    # Given the import graph of the domain package, the local stack and the API's routes (imports in functions too)
    graph = _graph(monkeypatch, "seatkeeper", "seatkeeper_local", "routes")

    # Then no module imports, however indirectly, a module that imports it
    assert _circles(graph) == []


def test_the_circle_finder_finds_a_circle(monkeypatch):
    # Given the real graph with one import added that closes a circle (the core importing the sync)
    graph = _graph(monkeypatch, "seatkeeper")
    graph.add_import(importer="seatkeeper.core.errors", imported="seatkeeper.sync.runs")

    # Then the finder names the modules of that circle
    circles = _circles(graph)
    assert any({"seatkeeper.core.errors", "seatkeeper.sync.runs"} <= set(group) for group in circles)


def _imports(handler: Path) -> list[tuple[str, list[str]]]:
    found = []
    for node in ast.walk(ast.parse(handler.read_text(), str(handler))):
        if isinstance(node, ast.ImportFrom) and not node.level:
            found.append((node.module or "", [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((a.name, []) for a in node.names)
    return found


def _domain_modules(module: str, names: list[str]) -> list[str]:
    """The domain's modules that `from module import names` imports: module itself, or its submodules named."""
    folder = ROOT / "layers" / "seatkeeper" / Path(*module.split("."))
    submodules = [f"{module}.{n}" for n in names if (folder / f"{n}.py").exists() or (folder / n).is_dir()]
    return submodules or [module]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda p: p.name)
def test_a_handler_imports_the_domain_public_modules_and_no_other_function(function):
    # Given a function's handler and its own modules (the API's routes)
    own = {p.stem for p in function.glob("*.py")} | {p.name for p in function.iterdir() if (p / "__init__.py").exists()}
    others = {p.name for p in FUNCTIONS} - {function.name}
    sources = [function / "app.py", *sorted((function / "routes").glob("*.py"))]

    for source in sources:
        for module, names in _imports(source):
            top = module.split(".")[0]
            # Then it imports the domain through a subpackage's module, never the package's top or a private name
            if top == "seatkeeper":
                for imported in _domain_modules(module, names):
                    assert imported.count(".") >= 2, f"{source.name}: {imported} is not one of the domain's modules"
                    assert not any(part.startswith("_") for part in imported.split(".")), f"{source.name}: {imported}"
                assert not [n for n in names if n.startswith("_")], f"{source.name}: private {names} of {module}"
            # And nothing of the local stack, nor another function's modules
            assert top != "seatkeeper_local", f"{source.name} imports the local stack"
            assert top in own or top not in others | {"app"} or top in sys.stdlib_module_names, (
                f"{source.name} imports {module}, another function's"
            )
