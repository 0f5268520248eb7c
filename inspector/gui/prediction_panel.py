"""Softmax probabilities as ten bars, and the top class as text (``7 (98.6%)``)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ..core.results import ForwardResult
from .frames import PaintTracked
from .tree_panel import format_shape

BAR = "#4f8cc9"
TOP = "#f0a030"


class BarPlot(PaintTracked, pg.PlotWidget):
    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        self.mark_painted()


class PredictionPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("predictionPanel")
        self.label = QLabel("–")
        self.label.setObjectName("predictionLabel")
        font = QFont(self.label.font())
        font.setPointSizeF(font.pointSizeF() * 2.2)
        font.setBold(True)
        self.label.setFont(font)
        self.label.setToolTip("The most probable class and its softmax probability")
        self.plot = BarPlot()
        self.plot.setObjectName("predictionPlot")
        self.plot.setBackground("#16181c")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.disableAutoRange()  # fixed axes: new bars must not re-layout the axes
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setYRange(0, 1, padding=0.02)
        self.plot.getAxis("left").setLabel("p")
        self.bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=0.7, brush=BAR)
        self.plot.addItem(self.bars)
        self._classes = 0
        self.probabilities: np.ndarray | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.label)
        layout.addWidget(self.plot, 1)

    @property
    def shown_request_id(self) -> int:
        return self.plot.shown_request_id

    def show_result(self, result: ForwardResult) -> None:
        p = result.probabilities
        self.probabilities = p
        if p is None:
            self.label.setText(f"output {format_shape(result.output.shape)}")
            self.bars.setOpts(x=np.arange(0), height=np.zeros(0))
        else:
            n = len(p)
            if n != self._classes:
                self._classes = n
                self.plot.setXRange(-0.6, n - 0.4, padding=0)
                step = max(1, n // 20)
                self.plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(0, n, step)]])
            top = int(np.argmax(p))
            brushes = [TOP if i == top else BAR for i in range(n)]
            self.bars.setOpts(x=np.arange(n), height=p, brushes=brushes)
            self.label.setText(f"{top} ({p[top]:.1%})")
        self.plot.shown_request_id = result.request_id
