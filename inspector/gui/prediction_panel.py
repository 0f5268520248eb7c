"""Softmax probabilities as ten bars, and the top class as text (``7 (98.6%)``)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QComboBox, QLabel, QStackedWidget, QVBoxLayout, QWidget

from ..core.palette import PANEL_BACKGROUND
from ..core.results import ForwardResult
from .frames import PaintTracked
from .tree_panel import format_shape

BAR = "#4f8cc9"
TOP = "#f0a030"


class BarPlot(PaintTracked, pg.PlotWidget):
    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        self.mark_painted()


class OutputView(PaintTracked, pg.GraphicsLayoutWidget):
    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        self.mark_painted()


class PredictionPanel(QWidget):
    """Class probabilities for an N-way output; any other output as a heatmap or strip.
    A model with several outputs lists them, and the one picked is shown and used by the loss."""

    outputChosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("predictionPanel")
        self.output_combo = QComboBox()
        self.output_combo.setObjectName("outputCombo")
        self.output_combo.setToolTip("The output shown here and used by the loss")
        self.output_combo.setVisible(False)
        self.output_combo.currentIndexChanged.connect(self._on_output_picked)
        self.label = QLabel("–")
        self.label.setObjectName("predictionLabel")
        font = QFont(self.label.font())
        font.setPointSizeF(font.pointSizeF() * 2.2)
        font.setBold(True)
        self.label.setFont(font)
        self.label.setToolTip("The most probable class and its softmax probability")
        self.plot = BarPlot()
        self.plot.setObjectName("predictionPlot")
        self.plot.setBackground(PANEL_BACKGROUND)
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
        self.output_view = OutputView()
        self.output_view.setObjectName("outputHeatmap")
        self.output_view.setBackground(PANEL_BACKGROUND)
        box = self.output_view.addViewBox(invertY=True, enableMouse=False)
        box.setMenuEnabled(False)
        self.output_image = pg.ImageItem(axisOrder="row-major")
        box.addItem(self.output_image)
        self._output_box = box
        self.stack = QStackedWidget()
        self.stack.addWidget(self.plot)
        self.stack.addWidget(self.output_view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.output_combo)
        layout.addWidget(self.label)
        layout.addWidget(self.stack, 1)

    def set_outputs(self, names: tuple[str, ...]) -> None:
        """The outputs of a newly opened model; the first is shown."""
        with QSignalBlocker(self.output_combo):
            self.output_combo.clear()
            self.output_combo.addItems(list(names))
            self.output_combo.setCurrentIndex(0)
        self.output_combo.setVisible(len(names) > 1)

    def set_output_index(self, index: int) -> None:
        """Show ``index`` as the picked output (the state says so)."""
        if self.output_combo.currentIndex() != index and index < self.output_combo.count():
            with QSignalBlocker(self.output_combo):
                self.output_combo.setCurrentIndex(index)

    @Slot(int)
    def _on_output_picked(self, index: int) -> None:
        if index >= 0:
            self.outputChosen.emit(index)

    @property
    def shown_request_id(self) -> int:
        return self.plot.shown_request_id

    def show_result(self, result: ForwardResult) -> None:
        p = result.probabilities
        self.probabilities = p
        if p is None:
            name = result.output_names[result.output_index]
            self.label.setText(f"{name} {format_shape(result.output.shape)}")
            self.bars.setOpts(x=np.arange(0), height=np.zeros(0))
            if result.output_rgba is not None:
                self.stack.setCurrentWidget(self.output_view)
                first = self.output_image.image is None or (
                    self.output_image.image.shape[:2] != result.output_rgba.shape[:2]
                )
                self.output_image.setImage(result.output_rgba)
                if first:
                    h, w = result.output_rgba.shape[:2]
                    self._output_box.setAspectLocked(not result.output_heatmap.is_strip)
                    self._output_box.setRange(xRange=(0, w), yRange=(0, h), padding=0.02)
        else:
            self.stack.setCurrentWidget(self.plot)
            n = len(p)
            if n != self._classes:
                self._classes = n
                self.plot.setXRange(-0.6, n - 0.4, padding=0)
                step = max(1, math.ceil(n / 10))  # at most about ten labels
                step = next(
                    m
                    for m in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, step)
                    if m >= step
                )
                self.plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(0, n, step)]])
            top = int(np.argmax(p))
            brushes = [TOP if i == top else BAR for i in range(n)]
            self.bars.setOpts(x=np.arange(n), height=p, brushes=brushes)
            self.label.setText(f"{top} ({p[top]:.1%})")
        self.plot.shown_request_id = self.output_view.shown_request_id = result.request_id
