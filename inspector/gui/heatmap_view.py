"""A column of titled heatmaps in one pyqtgraph scene, with hover read-out.

Shared by the activations and the weights panels: one ``ImageItem`` per heatmap, rows built
once per layout and only re-imaged afterwards (a ``setImage`` is cheap, rebuilding is not).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QSignalBlocker, Signal

from ..core.colormap import ANCHORS
from ..core.heatmaps import Heatmap
from ..core.palette import PANEL_BACKGROUND
from .frames import PaintTracked

STRIP_HEIGHT = 26  # pixels for a vector shown as a strip
TITLE_WIDTH = 190


def make_colorbar() -> pg.ColorBarItem:
    """A colour bar for the core colour map; images are coloured by core, not by the bar."""
    colormap = pg.ColorMap(ANCHORS[:, 0], ANCHORS[:, 1:].astype(np.uint8))
    return pg.ColorBarItem(colorMap=colormap, interactive=True, rounding=0.001, width=14)


class HeatmapRow:
    """A title, a view box and an image item for one heatmap."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, key: object, strip: bool) -> None:
        # Items go straight into the Qt grid: pyqtgraph's addItem re-lays out the whole grid
        # each time (quadratic in rows), and a ViewBox's context menu costs 3 ms to build.
        self.key = key
        self.title = pg.LabelItem("", justify="right")
        self.title.setFixedWidth(TITLE_WIDTH)
        self.view = pg.ViewBox(
            invertY=True, enableMouse=False, enableMenu=False, defaultPadding=0.0
        )
        layout.layout.addItem(self.title, row, 0)
        layout.layout.addItem(self.view, row, 1)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setAutoDownsample(False)
        self.view.addItem(self.image)
        self.strip = strip
        if strip:
            layout.layout.setRowFixedHeight(row, STRIP_HEIGHT)
        else:
            self.view.setAspectLocked(True)
        self.heatmap: Heatmap | None = None
        self.name = ""

    def set_title(self, name: str, detail: str) -> None:
        self.name = name
        self.title.setText(
            f"<b>{name}</b><br><span style='color:#9aa0a6; font-size:8pt'>{detail}</span>"
        )

    def show(self, heatmap: Heatmap, rgba: np.ndarray) -> None:
        """Show ``rgba`` (the heatmap already coloured); ``heatmap`` keeps the values."""
        self.heatmap = heatmap
        first = self.image.image is None or self.image.image.shape[:2] != heatmap.image.shape
        self.image.setImage(rgba, autoLevels=False)
        if first:
            h, w = heatmap.image.shape
            self.view.setRange(xRange=(0, w), yRange=(0, h), padding=0.0)


class HeatmapColumn(PaintTracked, pg.GraphicsLayoutWidget):
    """Rows of heatmaps sharing one colour bar; ``hovered`` says what is under the mouse."""

    hovered = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground(PANEL_BACKGROUND)
        self.ci.layout.setSpacing(2)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.rows: list[HeatmapRow] = []
        self.colorbar = make_colorbar()
        self._layout_key: tuple = ()
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def set_layout(self, keys: list[tuple[object, bool]]) -> None:
        """(key, is_strip) per row; rebuilds the scene only when the keys change."""
        key = tuple(keys)
        if key == self._layout_key:
            return
        self._layout_key = key
        grid = pg.GraphicsLayout()  # a fresh grid replaces (and frees) the old one at once
        grid.layout.setSpacing(2)
        grid.setContentsMargins(2, 2, 2, 2)
        self.rows = [HeatmapRow(grid, i, k, strip) for i, (k, strip) in enumerate(keys)]
        self.colorbar = make_colorbar()
        if self.rows:
            grid.layout.addItem(self.colorbar, 0, 2, len(self.rows), 1)
        self.ci = grid
        self.setCentralItem(grid)
        height = sum(STRIP_HEIGHT if r.strip else 70 for r in self.rows) + 8
        self.setMinimumHeight(min(height, 2000))

    def levels(self) -> tuple[float, float]:
        return tuple(self.colorbar.levels())

    def set_levels(self, levels: tuple[float, float]) -> None:
        """Move the bar without telling anyone (it reports only the user's drags)."""
        if tuple(levels) == self.levels():
            return  # redrawing the bar's axis costs a few milliseconds
        with QSignalBlocker(self.colorbar):
            self.colorbar.setLevels(levels)

    def _on_mouse_moved(self, pos: QPointF) -> None:
        for row in self.rows:
            if row.heatmap is None or not row.view.sceneBoundingRect().contains(pos):
                continue
            point = row.image.mapFromScene(pos)
            r, c = int(np.floor(point.y())), int(np.floor(point.x()))
            where = row.heatmap.describe(r, c)
            if where is None:
                return
            value = float(row.heatmap.image[r, c])
            self.hovered.emit(f"{row.name} {where} = {value:.4g}")
            return

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        self.mark_painted()
