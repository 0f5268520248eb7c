"""What a stroke makes Qt paint: the drawing canvas alone (in a dock, as in the window), built
on a bare AppState. Every wait ends on a paint event, never after a fixed time."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QDockWidget, QVBoxLayout, QWidget

from inspector.core.state import AppState
from inspector.testing import mouse_event


class Paints(QObject):
    """Records ``(name, time)`` of every paint event of the widgets it filters."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, float]] = []

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.seen.append((obj.objectName() or type(obj).__name__, time.perf_counter()))
        return False

    def of(self, name: str) -> list[float]:
        return [t for n, t in self.seen if n == name]


@pytest.fixture
def docked(qtbot):
    """The canvas in a holder in a dock, shown, its first paint done; the paint recorder on
    the three."""
    from inspector.gui.panels.draw_canvas import DrawCanvas

    canvas = DrawCanvas(AppState())
    holder = QWidget()
    holder.setObjectName("holder")
    QVBoxLayout(holder).addWidget(canvas)
    dock = QDockWidget("Canvas")
    dock.setObjectName("dock")
    dock.setWidget(holder)
    qtbot.addWidget(dock)
    paints = Paints()
    for widget in (canvas, holder, dock):
        widget.installEventFilter(paints)
    dock.resize(360, 380)
    dock.show()
    qtbot.waitExposed(dock)
    qtbot.waitUntil(lambda: bool(paints.of("drawCanvas")), timeout=5_000)
    QApplication.processEvents()  # showing's own paints are over
    paints.seen.clear()
    yield canvas, paints
    del dock  # held until here: the dock owns the holder and the canvas


def test_a_stroke_repaints_the_canvas_alone(qtbot, docked):
    """The canvas paints every pixel: a mouse event must not repaint the dock and the holder
    beneath it as well (without the opaque flag: five paints per event on the GUI thread).
    Whatever else an update repaints is painted in the same pass as the canvas, so once the
    canvas has painted the stroke's end, nothing more can come of it."""
    canvas, paints = docked
    points = [(0.2 + 0.6 * i / 11, 0.3 + 0.4 * i / 11) for i in range(12)]
    QApplication.sendEvent(canvas, mouse_event(canvas, "press", points[0]))
    for point in points[1:]:
        QApplication.sendEvent(canvas, mouse_event(canvas, "move", point))
    ended = time.perf_counter()
    QApplication.sendEvent(canvas, mouse_event(canvas, "release", points[-1]))
    qtbot.waitUntil(lambda: any(t > ended for t in paints.of("drawCanvas")), timeout=5_000)
    assert {name for name, _ in paints.seen} == {"drawCanvas"}


def test_a_stroke_faster_than_the_screen_repaints_the_canvas_once_a_frame(qtbot, docked):
    """A mouse reports every 8 ms, a screen shows every 16.7: the canvas repaints at most once
    per display frame, and always after the last event, with all of the stroke."""
    canvas, paints = docked
    points = [(0.2 + 0.6 * i / 59, 0.5) for i in range(60)]
    QApplication.sendEvent(canvas, mouse_event(canvas, "press", points[0]))
    started = time.perf_counter()
    for point in points[1:]:
        QApplication.sendEvent(canvas, mouse_event(canvas, "move", point))
        qtbot.wait(4)  # the event loop idles between events: 250 a second, twice a fast mouse
    last = time.perf_counter()
    QApplication.sendEvent(canvas, mouse_event(canvas, "release", points[-1]))
    qtbot.waitUntil(lambda: any(t > last for t in paints.of("drawCanvas")), timeout=5_000)
    frames = (last - started) * canvas.screen().refreshRate()
    painted = paints.of("drawCanvas")
    assert 2 <= len(painted) <= frames + 3, (len(painted), frames)
    image = canvas.grab().toImage()
    x, y = int(0.8 * canvas.width()) - 2, canvas.height() // 2
    assert image.pixelColor(x, y).lightness() > 128  # its ink is on screen
