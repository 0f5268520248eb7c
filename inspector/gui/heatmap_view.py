"""A column of titled heatmaps painted by one plain widget, with hover read-out.

One ``QPainter`` pass draws every row: a title and the heatmap the worker already coloured,
scaled nearest-neighbour into a rectangle computed once per layout or resize. A new result
only swaps the images and repaints: no scene, no items, no re-layout. (The first version used
one pyqtgraph view box and image item per row; its scene bookkeeping was most of the GUI
thread's time per frame.) The shared colour bar is a separate, rarely repainted widget.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QStaticText, QTextOption
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..core.colormap import ANCHORS
from ..core.heatmaps import Heatmap
from ..core.palette import PANEL_BACKGROUND
from .frames import PaintTracked

STRIP_HEIGHT = 26  # pixels for a vector shown as a strip
MIN_IMAGE_HEIGHT = 70  # pixels at least for a row of channels
TITLE_WIDTH = 190
SPACING = 4
MARGIN = 4
DETAIL_COLOUR = "#9aa0a6"


def make_colorbar() -> pg.ColorBarItem:
    """A colour bar for the core colour map; images are coloured by core, not by the bar."""
    colormap = pg.ColorMap(ANCHORS[:, 0], ANCHORS[:, 1:].astype(np.uint8))
    return pg.ColorBarItem(colorMap=colormap, interactive=True, rounding=0.001, width=14)


class HeatmapRow:
    """One titled heatmap: what it shows and where (the column lays the rows out)."""

    def __init__(self, key: object, strip: bool) -> None:
        self.key = key
        self.strip = strip
        self.heatmap: Heatmap | None = None
        self.name = ""
        self.title = QStaticText()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        option = QTextOption(Qt.AlignmentFlag.AlignRight)
        option.setWrapMode(QTextOption.WrapMode.NoWrap)
        self.title.setTextOption(option)
        self.image: QImage | None = None
        self._rgba: np.ndarray | None = None  # the QImage reads this buffer: keep it alive
        self.cell = QRectF()  # the row's room for the image (set by the column's layout)
        self.target = QRectF()  # where the image is drawn, aspect kept

    def set_title(self, name: str, detail: str) -> None:
        self.name = name
        self.title.setText(
            f"<b>{name}</b><br><span style='color:{DETAIL_COLOUR}; font-size:8pt'>{detail}</span>"
        )
        self.title.setTextWidth(TITLE_WIDTH)

    def show(self, heatmap: Heatmap, rgba: np.ndarray) -> None:
        """Show ``rgba`` (the heatmap already coloured); ``heatmap`` keeps the values."""
        resized = self.heatmap is None or self.heatmap.image.shape != heatmap.image.shape
        self.heatmap = heatmap
        self._rgba = np.ascontiguousarray(rgba, np.uint8)
        h, w = self._rgba.shape[:2]
        self.image = QImage(self._rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
        if resized:
            self.fit()

    def fit(self) -> None:
        """The largest rectangle of the image's aspect in the cell (left-aligned)."""
        if self.heatmap is None or self.cell.isEmpty():
            self.target = QRectF()
            return
        h, w = self.heatmap.image.shape
        if self.strip:
            self.target = QRectF(self.cell)
            return
        scale = min(self.cell.width() / w, self.cell.height() / h)
        self.target = QRectF(self.cell.left(), self.cell.top(), w * scale, h * scale)

    def pixel_at(self, pos: QPointF) -> tuple[int, int] | None:
        if self.heatmap is None or not self.target.contains(pos):
            return None
        h, w = self.heatmap.image.shape
        c = math.floor((pos.x() - self.target.left()) * w / self.target.width())
        r = math.floor((pos.y() - self.target.top()) * h / self.target.height())
        return (min(r, h - 1), min(c, w - 1))


class HeatmapColumn(PaintTracked, QWidget):
    """Rows of heatmaps sharing one colour bar; ``hovered`` says what is under the mouse."""

    hovered = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # we fill every pixel
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.rows: list[HeatmapRow] = []
        self._layout_key: tuple = ()
        self._background = QColor(PANEL_BACKGROUND)
        self.bar_view = pg.GraphicsLayoutWidget()
        self.bar_view.setObjectName("activationsColorBar")
        self.bar_view.setBackground(PANEL_BACKGROUND)
        self.bar_view.setFixedWidth(72)
        self.colorbar = make_colorbar()
        self.bar_view.addItem(self.colorbar)

    def set_layout(self, keys: list[tuple[object, bool]]) -> None:
        """(key, is_strip) per row; rebuilds the rows only when the keys change."""
        key = tuple(keys)
        if key == self._layout_key:
            return
        self._layout_key = key
        self.rows = [HeatmapRow(k, strip) for k, strip in keys]
        height = sum(STRIP_HEIGHT if r.strip else MIN_IMAGE_HEIGHT for r in self.rows)
        self.setMinimumHeight(min(height + SPACING * len(self.rows) + 2 * MARGIN, 2000))
        self._lay_out()
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        return QSize(600, self.minimumHeight())

    def _lay_out(self) -> None:
        """Strips get their fixed height; rows of channels share the rest equally."""
        if not self.rows:
            return
        strips = sum(1 for r in self.rows if r.strip)
        images = len(self.rows) - strips
        free = self.height() - 2 * MARGIN - SPACING * (len(self.rows) - 1) - strips * STRIP_HEIGHT
        share = max(MIN_IMAGE_HEIGHT, free / images) if images else 0
        left = MARGIN + TITLE_WIDTH + SPACING
        width = max(1.0, self.width() - left - MARGIN)
        y = float(MARGIN)
        for row in self.rows:
            height = STRIP_HEIGHT if row.strip else share
            row.cell = QRectF(left, y, width, height)
            row.fit()
            y += height + SPACING

    def resizeEvent(self, event) -> None:
        self._lay_out()
        super().resizeEvent(event)

    def levels(self) -> tuple[float, float]:
        return tuple(self.colorbar.levels())

    def set_levels(self, levels: tuple[float, float]) -> None:
        """Move the bar without telling anyone (it reports only the user's drags)."""
        if tuple(levels) == self.levels():
            return  # redrawing the bar's axis costs a few milliseconds
        with QSignalBlocker(self.colorbar):
            self.colorbar.setLevels(levels)

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        for row in self.rows:
            pixel = row.pixel_at(pos)
            if pixel is None:
                continue
            where = row.heatmap.describe(*pixel)
            if where is not None:
                value = float(row.heatmap.image[pixel])
                self.hovered.emit(f"{row.name} {where} = {value:.4g}")
            return

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), self._background)
        painter.setPen(QColor("#e6e6e6"))
        exposed = QRectF(event.rect())
        for row in self.rows:
            if row.cell.bottom() < exposed.top() or row.cell.top() > exposed.bottom():
                continue  # scrolled out of sight
            title_top = row.cell.top() + max(0.0, (row.cell.height() - 30) / 2)
            painter.drawStaticText(QPointF(MARGIN, title_top), row.title)
            if row.image is not None and not row.target.isEmpty():
                painter.drawImage(row.target, row.image)
        painter.end()
        self.mark_painted()
