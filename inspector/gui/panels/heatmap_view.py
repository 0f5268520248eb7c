"""A column of titled heatmaps painted by one plain widget, with hover read-out.

One ``QPainter`` pass draws every row: a title and the heatmap the worker already coloured,
scaled nearest-neighbour into a rectangle computed once per layout or resize. A new result
only swaps the images and repaints: no scene, no items, no re-layout. (The first version used
one pyqtgraph view box and image item per row; its scene bookkeeping was most of the GUI
thread's time per frame.) The shared colour bar is a separate, rarely repainted widget.
"""

from __future__ import annotations

import functools
import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QStaticText, QTextOption
from PySide6.QtWidgets import QSizePolicy, QWidget

from inspector.core.display.colormap import ANCHORS
from inspector.core.forward.heatmaps import Heatmap
from inspector.core.graph.palette import PANEL_BACKGROUND
from inspector.gui.work.frames import PaintTracked

STRIP_HEIGHT = 26  # pixels for a vector shown as a strip
MIN_IMAGE_HEIGHT = 70  # pixels at least for a row of channels
TITLE_WIDTH = 190
SPACING = 4
MARGIN = 4
DETAIL_COLOUR = "#9aa0a6"
SUMMARY_COLOUR = "#f2a541"
SUMMARY_POINTS = 8.0
TITLE_LINE = 15  # pixels a title's line takes
COMPARE_STRIP_HEIGHT = 44  # a strip row in compare mode: its title has a summary line
PANE_GAP = 10  # pixels between the panes of a row (A | B | B − A)
PANE_HEADER = 16  # pixels above the first row for the panes' names


@functools.cache
def _metrics(bold: bool, point_size: float | None = None) -> QFontMetricsF:
    font = QFont()
    font.setBold(bold)
    if point_size is not None:
        font.setPointSizeF(point_size)
    return QFontMetricsF(font)


def _fitted(text: str, bold: bool = False, point_size: float | None = None) -> str:
    """``text`` cut in the middle to fit the title column (its end, ``› view`` or a layer's
    number, tells rows apart), escaped for the title's rich text."""
    metrics = _metrics(bold, point_size)
    return html.escape(metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, TITLE_WIDTH - 4))


def make_colorbar() -> pg.ColorBarItem:
    """A colour bar for the core colour map; images are coloured by core, not by the bar."""
    colormap = pg.ColorMap(ANCHORS[:, 0], ANCHORS[:, 1:].astype(np.uint8))
    return pg.ColorBarItem(colorMap=colormap, interactive=True, rounding=0.001, width=14)


class HeatmapRow:
    """One titled row of heatmaps side by side (one pane, or A | B | B − A when comparing):
    what it shows and where (the column lays the rows out)."""

    def __init__(self, key: object, strip: bool, panes: int = 1) -> None:
        self.key = key
        self.strip = strip
        self.panes = panes
        self.heatmaps: list[Heatmap | None] = [None] * panes
        self.images: list[QImage | None] = [None] * panes
        self._rgbas: list[np.ndarray | None] = [None] * panes  # the QImages read these buffers
        self._later: list[object | None] = [None] * panes  # a StepResult to tile when painted
        self.targets = [QRectF() for _ in range(panes)]  # where each image is drawn, aspect kept
        self.name = ""
        self.title = QStaticText()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        option = QTextOption(Qt.AlignmentFlag.AlignRight)
        option.setWrapMode(QTextOption.WrapMode.NoWrap)
        self.title.setTextOption(option)
        # The summary (``Δ 12.3% · ch 4 changed most``) changes on every frame of a comparison:
        # plain text of its own, so the rich title keeps its laid-out text (laying it out
        # again took 0.55 ms a row, a LeNet frame's largest cost while painting an edit).
        self.summary_text = QStaticText()
        self.summary_text.setTextFormat(Qt.TextFormat.PlainText)
        self.summary_text.setTextOption(option)
        self.cell = QRectF()  # the row's room for the images (set by the column's layout)
        self.summary = ""
        self._titled: tuple[str, str] | None = None

    # The first pane (the only one outside compare mode), by its old names.
    @property
    def heatmap(self) -> Heatmap | None:
        return self.heatmaps[0]

    @property
    def image(self) -> QImage | None:
        return self.images[0]

    @property
    def target(self) -> QRectF:
        return self.targets[0]

    def set_title(self, name: str, detail: str, summary: str = "") -> None:
        if summary != self.summary:
            self.summary = summary
            metrics = _metrics(False, SUMMARY_POINTS)
            self.summary_text.setText(
                metrics.elidedText(summary, Qt.TextElideMode.ElideMiddle, TITLE_WIDTH - 4)
            )
            self.summary_text.setTextWidth(TITLE_WIDTH)
        if (name, detail) == self._titled:
            return
        self.name, self._titled = name, (name, detail)
        # Cut to the column: a long name ran under the images and showed between their tiles.
        self.title.setText(
            f"<b>{_fitted(name, bold=True)}</b><br><span style='color:{DETAIL_COLOUR}; "
            f"font-size:8pt'>{_fitted(detail, point_size=8)}</span>"
        )
        self.title.setTextWidth(TITLE_WIDTH)

    def show(self, heatmap: Heatmap, rgba: np.ndarray | None, pane: int = 0) -> None:
        """Show ``rgba`` (the heatmap already coloured) in ``pane``; ``heatmap`` keeps the
        values. No ``rgba``: coloured by ``colour_pending`` when the row is painted."""
        old = self.heatmaps[pane]
        resized = old is None or old.image.shape != heatmap.image.shape
        self.heatmaps[pane], self._later[pane] = heatmap, None
        if resized:
            self.fit()
        if rgba is None:
            self.images[pane] = self._rgbas[pane] = None
            return
        self._rgbas[pane] = np.ascontiguousarray(rgba, np.uint8)
        h, w = self._rgbas[pane].shape[:2]
        self.images[pane] = QImage(
            self._rgbas[pane].data, w, h, 4 * w, QImage.Format.Format_RGBA8888
        )

    def show_later(self, source, pane: int = 0) -> None:
        """Show ``source`` (a ``StepResult`` the worker neither tiled nor coloured, being out
        of sight) when the row is painted: ``colour_pending`` tiles and colours it then."""
        self._later[pane] = source
        self.images[pane] = self._rgbas[pane] = None

    def colour_pending(self, levels: tuple[float, float]) -> None:
        """Colour the panes shown without colours, now that they are in sight."""
        for pane in range(self.panes):
            if self._later[pane] is not None:
                heatmap, self._later[pane] = self._later[pane].heatmap, None
                self.show(heatmap, heatmap.colorize(levels), pane)
            elif self.heatmaps[pane] is not None and self.images[pane] is None:
                self.show(self.heatmaps[pane], self.heatmaps[pane].colorize(levels), pane)

    def pane_cell(self, pane: int) -> QRectF:
        width = (self.cell.width() - PANE_GAP * (self.panes - 1)) / self.panes
        left = self.cell.left() + pane * (width + PANE_GAP)
        return QRectF(left, self.cell.top(), max(1.0, width), self.cell.height())

    def fit(self) -> None:
        """The largest rectangle of each image's aspect in its pane, left-aligned and centred
        in the row's height, as its title is (a flat image at the top of its row read as the
        row above's)."""
        for pane, heatmap in enumerate(self.heatmaps):
            cell = self.pane_cell(pane)
            if heatmap is None or self.cell.isEmpty():
                self.targets[pane] = QRectF()
            elif self.strip:
                self.targets[pane] = cell
            else:
                h, w = heatmap.image.shape
                scale = min(cell.width() / w, cell.height() / h)
                top = cell.top() + (cell.height() - h * scale) / 2
                self.targets[pane] = QRectF(cell.left(), top, w * scale, h * scale)

    def pixel_at(self, pos: QPointF) -> tuple[int, tuple[int, int]] | None:
        """``(pane, (row, col))`` of the image pixel under ``pos``, or None."""
        for pane, (heatmap, target) in enumerate(zip(self.heatmaps, self.targets, strict=True)):
            if heatmap is None or not target.contains(pos):
                continue
            h, w = heatmap.image.shape
            c = math.floor((pos.x() - target.left()) * w / target.width())
            r = math.floor((pos.y() - target.top()) * h / target.height())
            return pane, (min(r, h - 1), min(c, w - 1))
        return None


class HeatmapColumn(PaintTracked, QWidget):
    """Rows of heatmaps sharing one colour bar; ``hovered`` says what is under the mouse."""

    hovered = Signal(str)
    rowClicked = Signal(int)  # the row's index
    laidOut = Signal()  # the rows moved (a new layout, a resize)
    # A right-click: row, pane, the image pixel (row, col) or None, the global position.
    contextRequested = Signal(int, int, object, object)
    # Painting (``painting_row`` set): row, pane, image pixel, erase (right button or Shift).
    painted = Signal(int, int, object, bool)

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
        self.panes = 1
        self.pane_names: tuple[str, ...] = ()
        self.painting_row: int | None = None  # the brush draws into this row's images

    def set_layout(self, keys: list[tuple[object, bool]], panes: tuple[str, ...] = ()) -> None:
        """(key, is_strip) per row, and the names of the panes side by side in every row (none:
        one pane); rebuilds the rows only when these change."""
        key = (tuple(keys), tuple(panes))
        if key == self._layout_key:
            return
        self._layout_key = key
        self.panes, self.pane_names = max(1, len(panes)), tuple(panes)
        self.rows = [HeatmapRow(k, strip, self.panes) for k, strip in keys]
        height = sum(self._strip_height() if r.strip else MIN_IMAGE_HEIGHT for r in self.rows)
        height += self._header()
        self.setMinimumHeight(min(height + SPACING * len(self.rows) + 2 * MARGIN, 2000))
        self._lay_out()
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        return QSize(600, self.minimumHeight())

    def _strip_height(self) -> int:
        return STRIP_HEIGHT if self.panes == 1 else COMPARE_STRIP_HEIGHT

    def _header(self) -> int:
        return PANE_HEADER if self.pane_names else 0

    def _lay_out(self) -> None:
        """Strips get their fixed height; rows of channels share the rest equally."""
        if not self.rows:
            return
        strips = sum(1 for r in self.rows if r.strip)
        images = len(self.rows) - strips
        strip = self._strip_height()
        free = self.height() - 2 * MARGIN - SPACING * (len(self.rows) - 1) - strips * strip
        free -= self._header()
        share = max(MIN_IMAGE_HEIGHT, free / images) if images else 0
        left = MARGIN + TITLE_WIDTH + SPACING
        width = max(1.0, self.width() - left - MARGIN)
        y = float(MARGIN + self._header())
        for row in self.rows:
            height = strip if row.strip else share
            row.cell = QRectF(left, y, width, height)
            row.fit()
            y += height + SPACING
        self.laidOut.emit()

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

    def rows_within(self, top: float, bottom: float) -> tuple[int, int]:
        """The rows ``[first, last)`` that meet the band from ``top`` to ``bottom``."""
        inside = [
            i for i, r in enumerate(self.rows) if r.cell.bottom() >= top and r.cell.top() <= bottom
        ]
        return (inside[0], inside[-1] + 1) if inside else (0, 0)

    def _row_at(self, y: float) -> int | None:
        for index, row in enumerate(self.rows):
            if row.cell.top() <= y <= row.cell.bottom():
                return index
        return None

    def contextMenuEvent(self, event) -> None:
        index = self._row_at(event.pos().y())
        if index is None or index == self.painting_row:  # the right button erases there
            return
        found = self.rows[index].pixel_at(QPointF(event.pos()))
        pane, pixel = found if found is not None else (0, None)
        self.contextRequested.emit(index, pane, pixel, event.globalPos())

    def _paint_at(self, event) -> bool:
        """A brush dab on the painted row, if the mouse is on it with a button down."""
        buttons = event.buttons()
        if self.painting_row is None or self.painting_row >= len(self.rows) or not buttons:
            return False
        found = self.rows[self.painting_row].pixel_at(event.position())
        if found is not None:
            erase = bool(buttons & Qt.MouseButton.RightButton) or bool(
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            )
            self.painted.emit(self.painting_row, found[0], found[1], erase)
        return True

    def mouseMoveEvent(self, event) -> None:
        if self._paint_at(event):
            return
        pos = event.position()
        for row in self.rows:
            found = row.pixel_at(pos)
            if found is None:
                continue
            pane, pixel = found
            heatmap = row.heatmaps[pane]
            where = heatmap.describe(*pixel)
            if where is not None:
                value = float(heatmap.image[pixel])
                side = f" {self.pane_names[pane]}" if self.pane_names else ""
                self.hovered.emit(f"{row.name}{side} {where} = {value:.4g}")
            return

    def mousePressEvent(self, event) -> None:
        """A click on a row (its title, its summary or its images) says which row."""
        if self._paint_at(event):
            return
        y = event.position().y()
        for index, row in enumerate(self.rows):
            if row.cell.top() <= y <= row.cell.bottom():
                self.rowClicked.emit(index)
                return
        super().mousePressEvent(event)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), self._background)
        painter.setPen(QColor("#e6e6e6"))
        exposed = QRectF(event.rect())
        if self.pane_names and self.rows:
            for pane, name in enumerate(self.pane_names):
                cell = self.rows[0].pane_cell(pane)
                box = QRectF(cell.left(), MARGIN, cell.width(), PANE_HEADER)
                painter.drawText(box, Qt.AlignmentFlag.AlignLeft, name)
        levels = self.levels()
        text_pen, summary_pen = painter.pen(), QColor(SUMMARY_COLOUR)
        font = painter.font()
        small = QFont(font)
        small.setPointSizeF(SUMMARY_POINTS)
        for row in self.rows:
            if row.cell.bottom() < exposed.top() or row.cell.top() > exposed.bottom():
                continue  # scrolled out of sight
            lines = 3 if row.summary else 2
            title_top = row.cell.top() + max(0.0, (row.cell.height() - TITLE_LINE * lines) / 2)
            painter.drawStaticText(QPointF(MARGIN, title_top), row.title)
            if row.summary:
                painter.setPen(summary_pen)
                painter.setFont(small)
                below = QPointF(MARGIN, title_top + 2 * TITLE_LINE)
                painter.drawStaticText(below, row.summary_text)
                painter.setPen(text_pen)
                painter.setFont(font)
            row.colour_pending(levels)
            for image, target in zip(row.images, row.targets, strict=True):
                if image is not None and not target.isEmpty():
                    painter.drawImage(target, image)
        painter.end()
        self.mark_painted()
