"""The drawing canvas (the whole widget is the 32×32 grid), the square holder that keeps it
square, and the preview of what the network really gets."""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QImage, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from inspector.core.model import drawing as edits
from inspector.core.model.preprocess import CANVAS_SIZE
from inspector.core.state import AppState
from inspector.gui.panels.array_image import grey_image, heat_image, minmax01
from inspector.gui.work.frames import PaintTracked


class DrawCanvas(QWidget):
    """Renders ``state.drawing`` and writes strokes to it (``core.model.drawing``): widget
    point (x, y) is grid cell (32·x/width, 32·y/height). Left draws, right erases."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setObjectName("drawCanvas")
        self.setMinimumSize(192, 192)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Left button: draw · Right button: erase")
        # It paints every pixel: without this, each mouse event repainted the dock, the panel
        # and the holder underneath too (five paints per event instead of one).
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.overlay: np.ndarray | None = None  # shown instead of the drawing (random input)
        self.saliency: np.ndarray | None = None  # 0-1 |d loss / d input| over the grid
        self._last: tuple[float, float] | None = None
        self._erasing = False
        self._own_stroke = False  # the drawing event is this canvas's stroke: it knows the cells
        self._grid_pixmap: QPixmap | None = None
        self._dirty = QRect()  # drawn into since the last paint, waiting for _repaint_timer
        self._painted_at = 0.0
        screen = QGuiApplication.primaryScreen()
        rate = screen.refreshRate() if screen is not None else 0.0
        self._frame_ms = 1000.0 / (rate if rate > 0 else 60.0)
        self._repaint_timer = QTimer(self)
        self._repaint_timer.setSingleShot(True)
        self._repaint_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._repaint_timer.timeout.connect(self._repaint_dirty)
        state.on("drawing", self._on_drawing)

    def sizeHint(self) -> QSize:
        return QSize(320, 320)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    @property
    def drawing(self) -> np.ndarray:
        return self.state.drawing

    @property
    def brush_radius(self) -> float:
        return self.state.brush_radius

    @property
    def stroking(self) -> bool:
        """A stroke is being drawn (a button is down on the canvas)."""
        return self.state.stroking

    # -- coordinates ----------------------------------------------------------------------
    def to_grid(self, pos: QPointF) -> tuple[float, float]:
        return (
            CANVAS_SIZE * pos.x() / max(1, self.width()),
            CANVAS_SIZE * pos.y() / max(1, self.height()),
        )

    # -- editing --------------------------------------------------------------------------
    def set_drawing(self, drawing: np.ndarray) -> None:
        """Replace the drawing (undoable)."""
        edits.set_drawing(self.state, drawing)

    def clear(self) -> None:
        edits.clear(self.state)

    def undo(self) -> bool:
        return edits.undo(self.state)

    def show_overlay(self, values: np.ndarray | None) -> None:
        """Show ``values`` (e.g. a random input) over the drawing, which is kept underneath."""
        self.overlay = None if values is None else minmax01(np.asarray(values, np.float32))
        self.update()

    def set_saliency(self, values01: np.ndarray | None) -> None:
        """Overlay a 0-1 map (the input gradient's magnitude) in red over the drawing."""
        self.saliency = None if values01 is None else np.asarray(values01, np.float32)
        self.update()

    def _on_drawing(self, _drawing: np.ndarray) -> None:
        if not self._own_stroke:  # replaced as a whole: undo, clear, an image, a session
            self._changed()

    def _changed(self, cells: tuple[int, int, int, int] | None = None) -> None:
        """The drawing changed (within ``cells`` = top, left, bottom, right, if given)."""
        if cells is None:
            changed = self.rect()
        else:
            top, left, bottom, right = cells
            sx, sy = self.width() / CANVAS_SIZE, self.height() / CANVAS_SIZE
            x, y = math.floor(left * sx), math.floor(top * sy)
            changed = QRect(x, y, math.ceil(right * sx) - x + 1, math.ceil(bottom * sy) - y + 1)
        self._repaint_soon(changed)

    def _repaint_soon(self, area: QRect) -> None:
        """Repaint ``area`` now, or, within a display frame of the last paint, at the end of
        that frame: a mouse reports every 8 ms, a screen shows every 16.7 (the canvas painted
        322 times in a 2.6 s stroke, a fifth of the GUI thread's time for a LeNet)."""
        self._dirty = self._dirty.united(area)
        if self._repaint_timer.isActive():
            return
        wait_ms = self._frame_ms - (time.perf_counter() - self._painted_at) * 1000
        if wait_ms <= 0:
            self._repaint_dirty()
        else:
            self._repaint_timer.start(math.ceil(wait_ms))

    def _repaint_dirty(self) -> None:
        self.update(self._dirty)
        self._dirty = QRect()

    # -- mouse ----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        if button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return super().mousePressEvent(event)
        edits.begin_stroke(self.state)
        self._erasing = button == Qt.MouseButton.RightButton
        self._last = self.to_grid(event.position())
        self._stroke_to(self._last)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._last is None:
            return super().mouseMoveEvent(event)
        self._stroke_to(self.to_grid(event.position()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._last is not None:
            self._stroke_to(self.to_grid(event.position()))
            self._last = None
            edits.end_stroke(self.state)

    def _stroke_to(self, point: tuple[float, float]) -> None:
        start = self._last or point
        self._own_stroke = True
        try:
            cells = edits.stroke_to(self.state, start, point, self._erasing)
        finally:
            self._own_stroke = False
        self._last = point
        self._changed(cells)

    # -- painting -------------------------------------------------------------------------
    def _grid(self) -> QPixmap:
        """Faint cell lines, drawn once per size (a stroke repaints the canvas very often)."""
        ratio = self.devicePixelRatioF()  # sharp lines on high-DPI screens
        wanted = self.size() * ratio
        if self._grid_pixmap is None or self._grid_pixmap.size() != wanted:
            pixmap = QPixmap(wanted)
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            grid = QPainter(pixmap)
            pen = QPen(QColor(255, 255, 255, 22))
            pen.setWidth(0)
            grid.setPen(pen)
            w, h = self.width(), self.height()
            for i in range(1, CANVAS_SIZE):
                x, y = i * w / CANVAS_SIZE, i * h / CANVAS_SIZE
                grid.drawLine(QPointF(x, 0), QPointF(x, h))
                grid.drawLine(QPointF(0, y), QPointF(w, y))
            grid.end()
            self._grid_pixmap = pixmap
        return self._grid_pixmap

    def paintEvent(self, event) -> None:
        self._painted_at = time.perf_counter()
        painter = QPainter(self)
        shown = self.overlay if self.overlay is not None else self.drawing
        painter.drawImage(QRectF(self.rect()), grey_image(shown))
        if self.saliency is not None:
            painter.drawImage(QRectF(self.rect()), heat_image(self.saliency))
        painter.drawPixmap(0, 0, self._grid())
        if self.overlay is not None:
            painter.setPen(QColor(255, 210, 80))
            painter.drawText(self.rect().adjusted(6, 4, -6, -4), "torch.randn(1, 1, 32, 32)")
        painter.end()


class SquareHolder(QWidget):
    """Keeps its one child the largest centred square, so the canvas's cells stay square."""

    def __init__(self, child: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.child = child
        child.setParent(self)
        self.setMinimumSize(child.minimumSize())
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return self.child.sizeHint()

    def resizeEvent(self, event) -> None:
        side = min(self.width(), self.height())
        self.child.setGeometry((self.width() - side) // 2, (self.height() - side) // 2, side, side)


class InputPreview(PaintTracked, QWidget):
    """The tensor the network actually got, drawn nearest-neighbour, min-max scaled."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inputPreview")
        self.setFixedSize(96, 96)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # it fills every pixel
        self.setToolTip(
            "What the network gets: the drawing cropped, scaled to 20×20, centred by "
            "mass in 28×28, padded to 32×32 and normalised like MNIST"
        )
        self._image = QImage()

    def show_input(self, values: np.ndarray, request_id: int) -> None:
        plane = np.asarray(values, np.float32).reshape(-1, *values.shape[-2:])[0]
        self._image = grey_image(minmax01(plane))
        self.shown_request_id = request_id
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0))
        if not self._image.isNull():
            painter.drawImage(QRectF(self.rect()), self._image)
        painter.end()
        self.mark_painted()
