"""The layout read from the source tree: small modules, small folders, no import circle, a
core without Qt. Every import counts, wherever it sits (inside a function or under
``TYPE_CHECKING`` too): a circle hidden in a function is still a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "inspector"
MAX_LINES = 400
MAX_MODULES = 15
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "superqt", "qtpy")


def _modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (a package is its __init__)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imported(name: str, path: Path) -> set[str]:
    """Every module name ``name``'s file imports, anywhere in it, resolved to absolute names
    (``from a import b`` gives ``a.b`` as well as ``a``: ``b`` may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
    return names


def _owner(name: str) -> str | None:
    """The package module ``name`` is or lies in (``a.b.C`` -> ``a.b``), or None if outside."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        targets = {_owner(imported) for imported in _imported(name, path)}
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_reader_sees_circles_and_imports_inside_functions():
    """The reader itself: a circle is found, and an import inside a function counts."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []
    graph = import_graph()
    assert "inspector.core.forward.step_cache" in graph["inspector.core.engine"]
    assert "inspector.benchmarks.latency" in graph["inspector.cli.bench"]  # inside main()


def test_no_import_circle_among_the_modules():
    assert circles(import_graph()) == []


def test_no_module_is_over_the_line_limit():
    long = {
        path.relative_to(ROOT).as_posix(): n
        for path in MODULES.values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"over {MAX_LINES} lines: move a concern into a module of its own"


def test_no_folder_holds_too_many_modules():
    crowded = {}
    for folder in [PACKAGE, *(p for p in PACKAGE.rglob("*") if p.is_dir())]:
        count = len([p for p in folder.glob("*.py") if p.name != "__init__.py"])
        if count > MAX_MODULES:
            crowded[str(folder.relative_to(ROOT))] = count
    assert crowded == {}, f"over {MAX_MODULES} modules: group them in sub-packages"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("inspector.core")))
def test_core_imports_no_qt(name):
    qt = {m for m in _imported(name, MODULES[name]) if m.split(".")[0] in QT}
    assert qt == set(), f"{name} imports {sorted(qt)}: core stays Qt-free"
