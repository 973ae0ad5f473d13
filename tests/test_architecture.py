"""The one-way structure, checked from the source: no import cycle in bridge/ and adapters/
(type-checking imports included), and the core never imports an adapter or a provider."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

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
    below = {"bridge.contracts", "bridge.pacing", "bridge.split", "bridge.waits"}
    assert {contracts_as_one(m) for m in edges["bridge.render"]} <= below


def contracts_as_one(module: str) -> str:
    """`bridge.contracts` and its modules (`bridge.contracts.backoff`) are one seam."""
    return "bridge.contracts" if module.startswith("bridge.contracts.") else module


def test_the_self_contained_contracts_import_nothing_of_the_core() -> None:
    """The nouns and the backoff are offered to plugins as they are: no core module behind."""
    edges = import_graph().graph(typing=True)
    for module in ("bridge.contracts.data", "bridge.contracts.backoff"):
        assert edges[module] == set(), (module, edges[module])


NOT_YET_CONTRACTS = (
    "bridge.config",
    "bridge.fencing",
    "bridge.metrics",
    "bridge.text",
    "bridge.split",
    "bridge.waits",
    "bridge.commonmark",
    "bridge.encryption",
    "bridge.contracts.",
)
"""Core modules adapters still import while their parts move into `bridge.contracts` (an entry
ending in "." stands for the modules under it); empty once they have all moved."""


def _not_yet(module: str) -> bool:
    return any(
        module.startswith(entry) if entry.endswith(".") else module == entry
        for entry in NOT_YET_CONTRACTS
    )


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
    beyond = {(m, d) for m, d in reached if d != "bridge.contracts" and not _not_yet(d)}
    assert beyond == set()
