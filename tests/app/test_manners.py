"""Desktop manners: tooltips everywhere, dark and light palettes (shortcuts: gui/test_actions)."""

from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
)

CONTROLS = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit)


def test_every_control_has_a_tooltip(window):
    missing = []
    for kind in CONTROLS:
        for widget in window.findChildren(kind):
            if not widget.isVisibleTo(window) or widget.parent().inherits("QAbstractSpinBox"):
                continue  # hidden ones, and the line edit inside a spin box
            if widget.objectName().startswith("qt_") or (
                type(widget).__name__ == "QToolButton" and not widget.text()
            ):
                continue  # Qt's own: dock title buttons, tab scrollers
            if not widget.toolTip():
                missing.append(f"{type(widget).__name__} {widget.objectName()!r}")
    assert not missing, "controls without a tooltip: " + ", ".join(missing)


def test_palette_follows_the_colour_scheme(qapp):
    from PySide6.QtCore import Qt

    from inspector.gui.theme import palette_for

    dark, light = palette_for(Qt.ColorScheme.Dark), palette_for(Qt.ColorScheme.Light)
    assert dark.window().color().lightness() < 100 < light.window().color().lightness()
