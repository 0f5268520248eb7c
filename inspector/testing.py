"""Driving the real window as a person would: the mouse strokes the tests, the snapshot command
and the latency benchmark share."""

from __future__ import annotations

import itertools
import math

SEVEN = [(0.25, 0.22), (0.72, 0.22), (0.62, 0.45), (0.48, 0.80)]  # fractions of the canvas
ONE = [(0.52, 0.18), (0.50, 0.50), (0.48, 0.84)]


def settled(window) -> bool:
    """The window shows the result of the latest input it submitted."""
    result = window.last_result
    return result is not None and result.request_id >= window.compute.latest_request_id


def polyline(path: list[tuple[float, float]], steps: int = 12) -> list[tuple[float, float]]:
    """Points (fractions of the canvas) along ``path``, ``steps`` per segment."""
    points = []
    for (x0, y0), (x1, y1) in itertools.pairwise(path):
        for i in range(steps):
            t = i / steps
            points.append((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t))
    points.append(path[-1])
    return points


def figure_eight(count: int) -> list[tuple[float, float]]:
    """A digit-sized figure-eight across the canvas: ``count`` points (fractions)."""
    points = []
    for i in range(count):
        t = 2 * math.pi * i / (count - 1)
        points.append((0.5 + 0.22 * math.sin(2 * t), 0.5 - 0.32 * math.cos(t)))
    return points


def mouse_event(canvas, kind: str, fraction: tuple[float, float]):
    """A press, move (button held) or release at ``fraction`` of ``canvas``."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    event_type, button, buttons = {
        "press": (QEvent.Type.MouseButtonPress, left, left),
        "move": (QEvent.Type.MouseMove, none, left),
        "release": (QEvent.Type.MouseButtonRelease, left, none),
    }[kind]
    p = QPointF(fraction[0] * canvas.width(), fraction[1] * canvas.height())
    return QMouseEvent(
        event_type, p, canvas.mapToGlobal(p), button, buttons, Qt.KeyboardModifier.NoModifier
    )


def stroke(canvas, path: list[tuple[float, float]] = SEVEN, steps: int = 12) -> None:
    """Draw a polyline (fractions of the canvas) with press, held-button moves and release."""
    from PySide6.QtWidgets import QApplication

    points = polyline(path, steps)
    for i, point in enumerate(points):
        kind = "press" if i == 0 else "release" if i == len(points) - 1 else "move"
        QApplication.sendEvent(canvas, mouse_event(canvas, kind, point))
