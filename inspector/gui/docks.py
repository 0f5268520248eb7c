"""How the window is laid out: the docks around the central tabs, and their first sizes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QVBoxLayout, QWidget

LEFT, RIGHT = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea
HORIZONTAL, VERTICAL = Qt.Orientation.Horizontal, Qt.Orientation.Vertical


def build_docks(
    window: QMainWindow, panels: list[tuple[str, str, QWidget, Qt.DockWidgetArea]]
) -> dict[str, QDockWidget]:
    """One dock per (key, title, panel, area); the dock's objectName is the panel's + Dock."""
    # The side docks run the window's full height; a bottom dock sits under the tabs only.
    window.setCorner(Qt.Corner.BottomLeftCorner, LEFT)
    window.setCorner(Qt.Corner.BottomRightCorner, RIGHT)
    docks = {}
    for key, title, widget, area in panels:
        dock = QDockWidget(title, window)
        dock.setObjectName(f"{widget.objectName()}Dock")
        dock.setWidget(widget)
        window.addDockWidget(area, dock)
        docks[key] = dock
    return docks


def share_room(window: QMainWindow, docks: dict[str, QDockWidget]) -> None:
    """First sizes in proportion to the window: drawing is the main thing people do, so the
    canvas dock gets a generous share of width and height."""
    width, height = window.width(), window.height()
    left, right = max(360, int(0.26 * width)), max(340, int(0.22 * width))
    window.resizeDocks([docks["canvas"], docks["prediction"]], [left, right], HORIZONTAL)
    tall = [int(0.66 * height), int(0.28 * height)]
    window.resizeDocks([docks["canvas"], docks["tree"]], tall, VERTICAL)
    if "training" in docks:  # below the central tabs: curves need width more than height
        window.resizeDocks([docks["training"]], [int(0.2 * height)], VERTICAL)
    right_column = [docks["prediction"], docks["loss"], docks["weights"]]
    window.resizeDocks(right_column, [int(height * f) for f in (0.25, 0.22, 0.5)], VERTICAL)


def stacked(*widgets: QWidget) -> QWidget:
    """The widgets one above the other, the last taking the room (the central area)."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    for widget in widgets:
        layout.addWidget(widget, 1 if widget is widgets[-1] else 0)
    return box
