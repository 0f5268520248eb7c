"""Helpers take the state, the compute and the panels they drive; only the main window holds
the window. Read from the source: an attribute that stores a ``window`` (or is named so), or
a class whose constructor is handed one."""

import ast
from pathlib import Path

GUI = Path(__file__).resolve().parents[2] / "inspector" / "gui"


def _holds_window(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        handed = isinstance(node, ast.FunctionDef) and node.name == "__init__"
        if handed and any(arg.arg == "window" for arg in node.args.args):
            lines.append(node.lineno)
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            pairs = [(target, node.value)]
            if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                pairs = list(zip(target.elts, node.value.elts, strict=False))
            for into, value in pairs:
                named = isinstance(value, ast.Name) and value.id in ("window", "main_window")
                if isinstance(into, ast.Attribute) and (named or into.attr == "window"):
                    lines.append(node.lineno)
    return lines


def test_no_gui_module_but_the_main_window_holds_the_window():
    holding = {}
    for path in sorted(GUI.rglob("*.py")):
        name = path.relative_to(GUI).as_posix()
        if name != "main_window.py":
            lines = _holds_window(ast.parse(path.read_text(encoding="utf-8")))
            if lines:
                holding[name] = lines
    assert holding == {}, f"these hold the window (module: lines): {holding}"


def test_the_check_sees_each_way_of_holding_it():
    code = """
class A:
    def __init__(self, window): pass
class B:
    def __init__(self, parent):
        self.owner = window
class C:
    def __init__(self, state, w):
        self.window = w
class D:
    def __init__(self, state, compute):
        self.state, self.ui = state, window
class E:
    def __init__(self, state, compute, panel):
        self.state, self.panel = state, panel
"""
    found = _holds_window(ast.parse(code))
    assert found == [3, 6, 9, 12]
