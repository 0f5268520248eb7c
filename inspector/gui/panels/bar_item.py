"""Bars for the prediction plot, cheap to update on every frame.

pyqtgraph's ``BarGraphItem`` records a ``QPicture`` again, converting every brush, at each
``setOpts``: a third of the prediction panel's share of a LeNet frame on the GUI thread
(0.8 ms of idle GUI time per update against 0.5 for this item, AMD EPYC). This item keeps the
values and paints the rectangles directly; colours are converted once. Same ``setOpts`` and
``opts`` as ``BarGraphItem`` for what the panel uses (x, height, width, and colours given as
strings in brush or brushes); no pens, hover or autorange data (the plot's range is fixed).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter


class Bars(pg.GraphicsObject):
    def __init__(self, **opts) -> None:
        super().__init__()
        # BarGraphItem's default outline: the theme's foreground, one cosmetic pixel.
        self._pen = pg.mkPen(pg.getConfigOption("foreground"))
        self._colours: dict[str, QColor] = {}
        self.opts: dict = {"x": np.zeros(0), "height": np.zeros(0), "width": 0.7,
                           "brush": "#808080", "brushes": None}  # fmt: skip
        self.setOpts(**opts)

    def setOpts(self, **opts) -> None:
        self.opts.update(opts)
        self.prepareGeometryChange()
        self.update()

    def _colour(self, spec) -> QColor:
        colour = self._colours.get(spec)
        if colour is None:
            colour = self._colours[spec] = pg.mkColor(spec)
        return colour

    def boundingRect(self) -> QRectF:
        x = np.asarray(self.opts["x"], float)
        height = np.asarray(self.opts["height"], float)
        if x.size == 0:
            return QRectF()
        width = float(self.opts["width"])
        finite = height[np.isfinite(height)]  # a NaN bar is not drawn (as BarGraphItem)
        low = min(0.0, float(finite.min())) if finite.size else 0.0
        high = max(0.0, float(finite.max())) if finite.size else 0.0
        return QRectF(float(x.min()) - width / 2, low, float(x.max() - x.min()) + width, high - low)

    def paint(self, painter: QPainter, *args) -> None:
        x, height, width = self.opts["x"], self.opts["height"], float(self.opts["width"])
        brushes = self.opts["brushes"]
        if brushes is None:
            brushes = [self.opts["brush"]] * len(x)
        painter.setPen(self._pen)
        lefts = np.asarray(x, float) - width / 2
        # strict=False: emptying the plot sets x and height, and leaves the old brushes
        for left, top, brush in zip(lefts, height, brushes, strict=False):
            if not np.isfinite(top):
                continue
            painter.setBrush(self._colour(brush))
            painter.drawRect(QRectF(float(left), 0.0, width, float(top)))
