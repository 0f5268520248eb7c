"""One RGBA image painted by a plain widget, nearest-neighbour, aspect kept, with optional token
labels along its left (queries) and top (keys) edges. Hover and click report image pixels."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QMouseEvent, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from inspector.core.graph.palette import PANEL_BACKGROUND
from inspector.gui.work.frames import PaintTracked

LABEL_COLOUR = "#c8ccd0"
MARK_COLOUR = QColor(80, 220, 255)


class AttentionImage(QWidget, PaintTracked):
    """``hovered(row, col)`` / ``clicked(row, col)`` in image pixels (-1, -1: off the image)."""

    hovered = Signal(int, int)
    clicked = Signal(int, int)
    resized = Signal()

    def __init__(self, parent: QWidget | None = None, min_side: int = 120) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMouseTracking(True)
        self.setMinimumSize(min_side, min_side)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._rgba: np.ndarray | None = None  # the QImage reads this buffer
        self._image: QImage | None = None
        self.rows: list[str] = []  # labels of the image's rows (queries)
        self.cols: list[str] = []  # and of its columns (keys)
        self.mark: tuple[int, int, int, int] | None = None  # (row, col, h, w) outlined
        self.target = QRectF()
        self.note = ""  # drawn when there is no image

    def sizeHint(self) -> QSize:
        return QSize(320, 240)

    def set_rgba(self, rgba: np.ndarray | None, rows: list[str] = (), cols: list[str] = ()) -> None:
        """Show ``rgba`` (uint8 ``[H, W, 4]``), labelled when ``rows``/``cols`` are given."""
        if rgba is None:
            self._rgba = self._image = None
        else:
            self._rgba = np.ascontiguousarray(rgba, np.uint8)
            h, w = self._rgba.shape[:2]
            self._image = QImage(self._rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
        self.rows, self.cols = list(rows), list(cols)
        self._place()
        self.update()

    def _margins(self) -> tuple[float, float]:
        if not (self.rows or self.cols):
            return 0.0, 0.0
        metrics = QFontMetricsF(self.font())
        left = min(70.0, max((metrics.horizontalAdvance(t) for t in self.rows), default=0) + 6)
        top = min(70.0, max((metrics.horizontalAdvance(t) for t in self.cols), default=0) + 6)
        return left, top

    def _place(self) -> None:
        if self._image is None:
            self.target = QRectF()
            return
        left, top = self._margins()
        room = QRectF(self.rect()).adjusted(left + 2, top + 2, -2, -2)
        w, h = self._image.width(), self._image.height()
        scale = max(1e-6, min(room.width() / w, room.height() / h))
        self.target = QRectF(room.left(), room.top(), w * scale, h * scale)

    def resizeEvent(self, event) -> None:
        self._place()
        super().resizeEvent(event)
        self.resized.emit()

    def pixel_at(self, pos: QPointF) -> tuple[int, int]:
        """The image pixel under ``pos`` as (row, col); (-1, -1) off the image."""
        t = self.target
        if self._image is None or not t.contains(pos):
            return -1, -1
        col = int((pos.x() - t.left()) / t.width() * self._image.width())
        row = int((pos.y() - t.top()) / t.height() * self._image.height())
        return min(row, self._image.height() - 1), min(col, self._image.width() - 1)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.hovered.emit(*self.pixel_at(event.position()))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        row, col = self.pixel_at(event.position())
        if row >= 0 and event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(row, col)

    def leaveEvent(self, event) -> None:
        self.hovered.emit(-1, -1)
        super().leaveEvent(event)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(PANEL_BACKGROUND))
        if self._image is None:
            painter.setPen(QColor(LABEL_COLOUR))
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(self.rect().adjusted(8, 8, -8, -8), flags, self.note)
        else:
            painter.drawImage(self.target, self._image)
            self._paint_labels(painter)
            self._paint_mark(painter)
        painter.end()
        self.mark_painted()

    def _paint_labels(self, painter: QPainter) -> None:
        if not (self.rows or self.cols):
            return
        t, image = self.target, self._image
        line = QFontMetricsF(self.font()).height()
        painter.setPen(QColor(LABEL_COLOUR))
        cell_h = t.height() / image.height()
        step = max(1, math.ceil(line / max(cell_h, 1e-6)))
        for i in range(0, len(self.rows), step):
            y = t.top() + (i + 0.5) * cell_h
            box = QRectF(0, y - line / 2, t.left() - 4, line)
            painter.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             self.rows[i])  # fmt: skip
        cell_w = t.width() / image.width()
        step = max(1, math.ceil(line / max(cell_w, 1e-6)))
        painter.save()
        painter.rotate(-90)  # key labels run upwards above their columns
        for i in range(0, len(self.cols), step):
            x = t.left() + (i + 0.5) * cell_w
            box = QRectF(-(t.top() - 4), x - line / 2, t.top() - 4, line)
            painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             self.cols[i])  # fmt: skip
        painter.restore()

    def _paint_mark(self, painter: QPainter) -> None:
        if self.mark is None:
            return
        row, col, h, w = self.mark
        t, image = self.target, self._image
        sx, sy = t.width() / image.width(), t.height() / image.height()
        painter.setPen(MARK_COLOUR)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(t.left() + col * sx, t.top() + row * sy, w * sx, h * sy))
