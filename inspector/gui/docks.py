"""How the window is laid out: the docks around the central tabs, and their first sizes.

Drawing and Modules run the full height on the left; Prediction and Weights stand on the
right. Under the central tabs and the right column one row holds Training beside Loss and
backward: the two ways of changing the weights side by side, the training curves as wide as
the tabs, Loss and backward as wide as the column above it."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QVBoxLayout, QWidget

LEFT, RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea
HORIZONTAL, VERTICAL = Qt.Orientation.Horizontal, Qt.Orientation.Vertical


def build_docks(
    window: QMainWindow, panels: list[tuple[str, str, QWidget, Qt.DockWidgetArea]]
) -> dict[str, QDockWidget]:
    """One dock per (key, title, panel, area); the dock's objectName is the panel's + Dock.
    Training and Loss and backward, both at the bottom, are put side by side, Loss right."""
    # The left docks run the window's full height; the bottom row runs under the right ones.
    window.setCorner(Qt.Corner.BottomLeftCorner, LEFT)
    window.setCorner(Qt.Corner.BottomRightCorner, BOTTOM)
    docks = {}
    for key, title, widget, area in panels:
        dock = QDockWidget(title, window)
        dock.setObjectName(f"{widget.objectName()}Dock")
        dock.setWidget(widget)
        window.addDockWidget(area, dock)
        docks[key] = dock
    if "training" in docks and "loss" in docks:
        window.splitDockWidget(docks["training"], docks["loss"], HORIZONTAL)
    return docks


def tab_beside(window: QMainWindow, dock: QDockWidget, beside: QDockWidget) -> None:
    """``dock`` in a tab behind ``beside``, which stays in front."""
    window.addDockWidget(window.dockWidgetArea(beside), dock)
    window.tabifyDockWidget(beside, dock)
    beside.raise_()


def share_room(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """First sizes in proportion to the window: drawing is the main thing people do, so the
    canvas dock gets a generous share of width and height."""
    width, height = window.width(), window.height()
    # The right column at least as wide as Loss and backward needs: it stands under it.
    narrowest = max(340, docks["loss"].minimumSizeHint().width())
    left, right = max(360, int(0.26 * width)), max(narrowest, int(0.22 * width))
    window.resizeDocks([docks["canvas"], docks["prediction"]], [left, right], HORIZONTAL)
    tall = [int(0.66 * height), int(0.28 * height)]
    window.resizeDocks([docks["canvas"], docks["tree"]], tall, VERTICAL)
    right_column = [docks["prediction"], docks["weights"]]
    window.resizeDocks(right_column, [int(height * f) for f in (0.25, 0.45)], VERTICAL)
    # The bottom row: low (the tabs keep most of the height), Loss as wide as the column above.
    window.resizeDocks([docks["training"]], [int(0.26 * height)], VERTICAL)
    # Both widths in one call: given alone, Loss's is only approached.
    bottom_row = [docks["training"], docks["loss"]]
    window.resizeDocks(bottom_row, [width - left - right, right], HORIZONTAL)


def stacked(*widgets: QWidget) -> QWidget:
    """The widgets one above the other, the last taking the room (the central area)."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    for widget in widgets:
        layout.addWidget(widget, 1 if widget is widgets[-1] else 0)
    return box


def save_layout(window: QMainWindow) -> None:
    """The window's size, place and docks, for the next start."""
    s = QSettings()
    s.setValue("window/geometry", window.saveGeometry())
    s.setValue("window/state", window.saveState())


def restore_layout(window: QMainWindow) -> bool:
    """The window's layout from last time, if there is one."""
    s = QSettings()
    if not s.contains("window/geometry"):
        return False
    window.restoreState(s.value("window/state"))  # docks first: they may resize the window
    window.restoreGeometry(s.value("window/geometry"))
    return True
