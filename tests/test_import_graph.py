"""The modules of lnopt import one another one way only: the import graph has no cycle.

Every import counts, wherever it is written (at the top, inside a function, under
``if TYPE_CHECKING:``), so a cycle cannot hide behind a late or a typing-only import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "lnopt"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE_DIR.rglob("*.py")}


def imported_modules(module: str, path: Path) -> Iterator[str]:
    """The lnopt modules ``module`` imports: for ``from P import N`` the module ``P.N`` where
    that is a module, else ``P``."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield candidate if candidate in MODULES else base


def import_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(MODULES)
    for module, path in MODULES.items():
        for target in imported_modules(module, path):
            if target in MODULES and target != module:
                graph.add_edge(module, target)
    return graph


def test_the_graph_covers_every_module_and_sees_each_kind_of_import() -> None:
    graph = import_graph()
    assert set(graph) == set(MODULES) and len(MODULES) > 50
    assert graph.has_edge("lnopt.executor", "lnopt.store")  # from lnopt.store import ...
    assert graph.has_edge("lnopt.decisions", "lnopt.decisions.rules")  # a package's own parts
    assert graph.has_edge("lnopt.graph", "lnopt.model")


def test_lnopt_has_no_import_cycle() -> None:
    cycles = sorted(" → ".join([*cycle, cycle[0]]) for cycle in nx.simple_cycles(import_graph()))
    assert not cycles, "import cycles:\n" + "\n".join(cycles[:20])
