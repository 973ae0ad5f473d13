"""Print the import graph of bridge/, adapters/ and providers/ (module -> the project modules it
imports) and any import cycle, generated from the source so ARCHITECTURE.md never drifts from it.

Usage: python scripts/import_graph.py [--cycles] [--typing]
(--cycles: only problems; --typing: count imports made only for type checking too)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bridge", "adapters", "providers")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_imports(path: Path, modules: set[str], typing: bool) -> set[str]:
    """Project modules `path` imports (those under TYPE_CHECKING only when `typing`)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if not typing and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def graph(typing: bool) -> dict[str, set[str]]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    modules = {module_name(p) for p in files}
    edges = {module_name(p): project_imports(p, modules, typing) for p in files}
    for name, deps in edges.items():
        deps.discard(name)
        deps.difference_update(d for d in list(deps) if name.startswith(d + "."))
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    result: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in edges.get(node, ()):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return result


def is_core(module: str) -> bool:
    """The core is bridge/; the plugins are adapters/ and providers/."""
    return module == "bridge" or module.startswith("bridge.")


def main() -> int:
    edges = graph(typing="--typing" in sys.argv)
    if "--cycles" not in sys.argv:
        for name in sorted(edges):
            print(f"{name} -> {', '.join(sorted(edges[name])) or '(none)'}")
    found = cycles(edges)
    for component in found:
        print("cycle: " + " <-> ".join(component))
    upward = [(a, b) for a, deps in edges.items() for b in deps if is_core(a) and not is_core(b)]
    for a, b in upward:
        print(f"core imports a plugin: {a} -> {b}")
    return 1 if found or upward else 0


if __name__ == "__main__":
    sys.exit(main())
