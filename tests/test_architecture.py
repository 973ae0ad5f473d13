"""The one-way structure, checked from the source: no import cycle in bridge/, adapters/ and
providers/ (type-checking imports included), the core never imports an adapter or a provider,
providers see only the contracts of the core, and the contracts stand on nothing else of it."""

from __future__ import annotations

import ast
import importlib.util
import re
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from bridge.plugins import ADAPTERS, PROVIDERS

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "import_graph.py"


def import_graph() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_import_cycle_even_for_type_checking() -> None:
    graph = import_graph()
    edges = graph.graph(typing=True)
    assert "bridge.turn" in edges and "adapters.slack.surface" in edges
    assert graph.cycles(edges) == []


def test_the_core_imports_no_plugin() -> None:
    graph = import_graph()
    edges = graph.graph(typing=True)
    upward = {(a, b) for a, deps in edges.items() for b in deps if graph.is_core(a)}
    assert {(a, b) for a, b in upward if not graph.is_core(b)} == set()


def test_the_checker_sees_a_cycle_when_there_is_one() -> None:
    graph = import_graph()
    assert graph.cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_renderer_calls_the_surface_and_nothing_above_it() -> None:
    edges = import_graph().graph(typing=True)
    below = {"bridge.contracts", "bridge.pacing", "bridge.contracts.toolkit.split"}
    assert {contracts_as_one(m) for m in edges["bridge.render"]} <= below


def contracts_as_one(module: str) -> str:
    """`bridge.contracts` and its modules (`bridge.contracts.backoff`) are one seam."""
    return "bridge.contracts" if module.startswith("bridge.contracts.") else module


def is_contract(module: str) -> bool:
    return contracts_as_one(module) == "bridge.contracts"


def test_providers_import_nothing_of_the_core_but_the_contracts() -> None:
    graph = import_graph()
    edges = graph.graph(typing=True)
    providers = {m for m in edges if m.split(".")[0] == "providers"}
    assert {"providers.neuroflash.provider", "providers.openai_compat.provider"} <= providers
    used = {(a, b) for a in providers for b in edges[a] if b.split(".")[0] != "providers"}
    assert {(a, b) for a, b in used if not is_contract(b)} == set()


def test_the_contracts_import_nothing_else_of_the_core() -> None:
    """The toolkit, the fence and the metering included; what is still named is listed."""
    graph = import_graph()
    edges = graph.graph(typing=True)
    assert "bridge.contracts.toolkit.http" in edges
    found = {
        (a, b) for a, deps in edges.items() if is_contract(a) for b in deps if not is_contract(b)
    }
    assert found == set()


def test_the_self_contained_contracts_import_nothing_of_the_core() -> None:
    """The nouns and the backoff are offered to plugins as they are: no core module behind."""
    edges = import_graph().graph(typing=True)
    for module in ("bridge.contracts.data", "bridge.contracts.backoff"):
        assert edges[module] == set(), (module, edges[module])


def _is_contracts(module: str) -> bool:
    return module == "bridge.contracts" or module.startswith("bridge.contracts.")


def test_adapters_import_nothing_of_the_core_but_the_contracts() -> None:
    """Adapters reach the core through `bridge.contracts` only: messages through `Core.post`,
    `/threadbridge` through `Core.command`, their values through `Core.state`."""
    edges = import_graph().graph(typing=True)
    reached = {
        (module, dep)
        for module, deps in edges.items()
        if module.startswith("adapters.")
        for dep in deps
        if dep == "bridge" or dep.startswith("bridge.")
    }
    beyond = {(m, d) for m, d in reached if not _is_contracts(d)}
    assert beyond == set()


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module that are not documentation (a string standing alone as
    a statement is a docstring, for a module, class, function or attribute)."""
    tree = ast.parse(path.read_text())
    docs = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
    ]


def test_the_core_names_no_plugin() -> None:
    """No value in the core's code spells an installed adapter's or provider's name: what a
    plugin needs the core to know it declares (settings, routes, checks, loggers)."""
    names = {ep.name for group in (ADAPTERS, PROVIDERS) for ep in entry_points(group=group)}
    assert {"slack", "discord", "openai"} <= names
    alternatives = "|".join(re.escape(name) for name in sorted(names))
    word = re.compile(rf"(?<![a-z])({alternatives})(?![a-z])", re.IGNORECASE)
    core = Path(__file__).resolve().parent.parent / "bridge"
    found = [
        (str(path.relative_to(core)), line, text)
        for path in sorted(core.rglob("*.py"))
        for line, text in _code_strings(path)
        if word.search(text)
    ]
    assert found == []
