"""One action table: menus, F1 help and the README's shortcut table all come from it."""

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QAction, QKeySequence

from inspector.gui.actions import ACTIONS, MOUSE_HELP, help_rows

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_shortcut_in_the_window_is_in_the_help(window):
    listed = {QKeySequence(keys).toString() for keys, _ in help_rows()}
    for action in window.findChildren(QAction):
        shortcut = action.shortcut().toString()
        if shortcut:
            assert shortcut in listed, f"{action.text()} ({shortcut}) is not in the F1 help"


def test_every_action_of_the_table_is_in_its_menu(window):
    """Walk the menu bar as a person would: each row of the table is an entry of its menu,
    with its shortcut, and the toolbar's rows are on the toolbar."""
    from PySide6.QtWidgets import QToolBar

    in_menus: dict[str, tuple[str, QAction]] = {}
    for top in window.menuBar().actions():
        if top.menu() is not None:
            for action in top.menu().actions():
                in_menus[action.objectName()] = (top.menu().title(), action)
    on_toolbar = {a.objectName() for a in window.findChild(QToolBar, "mainToolbar").actions()}
    for spec in ACTIONS:
        assert spec.name in in_menus, f"{spec.name} is in no menu"
        title, action = in_menus[spec.name]  # its text may change (Pin A / Unpin)
        assert title == spec.menu, spec.name
        assert action.shortcut().toString() == QKeySequence(spec.keys).toString()
        assert (spec.name in on_toolbar) == spec.toolbar, spec.name


def test_f1_shows_the_table(qtbot, window):
    from PySide6.QtWidgets import QMessageBox

    window.show_shortcuts()
    box = window.findChild(QMessageBox, "shortcutsDialog")
    assert box is not None
    for keys, _what in help_rows():
        assert f"<b>{keys}</b>" in box.text()
    box.close()


def test_the_readme_lists_exactly_the_shortcuts():
    text = README.read_text()
    table = text.split("| Keys | Action |", 1)[1].split("\n\n", 1)[0]
    keys = {m.group(1) for m in re.finditer(r"^\| ([^|]+?) \|", table, re.M)} - {"---"}
    expected = {k for k, _ in help_rows()}
    assert keys == expected, f"README only: {keys - expected}; table only: {expected - keys}"
    assert {k for k, _ in MOUSE_HELP} <= keys


def test_every_action_names_a_callable_of_the_built_window(window):
    """Each row's slot is resolved when triggered: a renamed method or panel would only fail
    then, so every one is resolved here."""
    from inspector.gui.actions import resolve

    for spec in ACTIONS:
        target = resolve(window, spec.slot)
        assert callable(target), f"{spec.name}: {spec.slot} is not callable"
    with pytest.raises(AttributeError):  # what a renamed slot gives
        resolve(window, "graph.no_such_slot")
