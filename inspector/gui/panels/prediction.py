"""The output as it is: softmax probabilities as bars (``7 (98.6%)``), a top-k list for wide
outputs, the top tokens of every position for sequence logits, the class map of a segmentation
net, an output shaped like the input beside it, a single value as that number, and a heatmap
for anything else."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.core.forward.results import ForwardResult
from inspector.core.graph.palette import PANEL_BACKGROUND
from inspector.gui.panels.bar_item import Bars
from inspector.gui.panels.steady_label import SteadyLabelHolder
from inspector.gui.panels.tree import format_shape
from inspector.gui.work.frames import PaintTracked

LABEL_TIP = "The most probable class and its softmax probability"
EDITED = "edited: "
BAR = "#4f8cc9"
TOP = "#f0a030"
FADED = "#4f8cc938"  # the bars of an empty canvas
EMPTY_TEXT = "Draw a digit"
BAR_A = "#8a8f98"  # compare: A's bars (pinned), grey beside B's
TOP_A = "#c9a36a"


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
        self._class_font = QFont(self.label.font())
        self._class_font.setPointSizeF(self._class_font.pointSizeF() * 2.2)
        self._class_font.setBold(True)
        self._shape_font = QFont(self.label.font())  # "output['logits'] [1, 8, 97]"
        self._shape_font.setPointSizeF(self._shape_font.pointSizeF() * 1.2)
        self._shape_font.setBold(True)
        self.label.setFont(self._class_font)
        self.label.setToolTip(LABEL_TIP)
        self.plot = BarPlot()
        self.plot.setObjectName("predictionPlot")
        self.plot.setBackground(PANEL_BACKGROUND)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.disableAutoRange()  # fixed axes: new bars must not re-layout the axes
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setYRange(0, 1, padding=0.02)
        self.plot.getAxis("left").setLabel("p")
        self.bars = Bars(x=np.arange(10), height=np.zeros(10), width=0.7, brush=BAR)
        self.plot.addItem(self.bars)
        self._classes = 0
        self.probabilities: np.ndarray | None = None
        self.output_names: tuple[str, ...] = ()
        self.showing = "bars"  # bars, top-k, positions, class map, heatmap
        self.output_view = OutputView()
        self.output_view.setObjectName("outputHeatmap")
        self.output_view.setBackground(PANEL_BACKGROUND)
        box = self.output_view.addViewBox(invertY=True, enableMouse=False)
        box.setMenuEnabled(False)
        self.output_image = pg.ImageItem(axisOrder="row-major")
        box.addItem(self.output_image)
        self._output_box = box
        # Wide outputs (a top-k list) and sequence logits (the top tokens of every position).
        self.table = QTableWidget(0, 2)
        self._table_headers: tuple[str, str] | None = None
        self.table.setObjectName("topKTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 4)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.table.horizontalHeader().setStretchLastSection(True)
        self.value_label = QLabel("")  # a single value: the number itself, large
        self.value_label.setObjectName("outputValueLabel")
        self.value_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        value_font = QFont(self._class_font)
        value_font.setPointSizeF(self._class_font.pointSizeF() * 1.4)
        self.value_label.setFont(value_font)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.plot)
        self.stack.addWidget(self.output_view)
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.value_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.output_combo)
        line = max(QFontMetrics(f).height() for f in (self._class_font, self._shape_font))
        layout.addWidget(SteadyLabelHolder(self.label, line + 2))
        layout.addWidget(self.stack, 1)

    def set_outputs(self, names: tuple[str, ...]) -> None:
        """The outputs of a newly opened model; the first is shown."""
        self.output_names = tuple(names)
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
        self._show_output(result)
        text = self.label.text()
        if result.edits and not self.comparing and not text.startswith(EDITED):
            # Only the edited run is drawn here (bars get clean beside edited): say so.
            self.label.setText(EDITED + text)
            self.label.setToolTip("With the interventions on; untick them to see the clean one")

    def _show_output(self, result: ForwardResult) -> None:
        if tuple(result.output_names) != self.output_names:
            # The model says what it returns with its first result (also a model opened from
            # the command line or a session): the picker lists them.
            self.set_outputs(result.output_names)
            self.set_output_index(result.output_index)
        if self._show_comparison(result):
            return
        if self.label.toolTip() != LABEL_TIP:  # after Compare's or a class map's own
            self.label.setToolTip(LABEL_TIP)
        p = result.probabilities
        self.probabilities = p
        name = result.output_names[result.output_index]
        if result.output_picture is not None:
            self._show_fitting(result, name)
            return
        self.label.setFont(self._shape_font if p is None else self._class_font)
        if p is None:
            self.bars.setOpts(x=np.arange(0), height=np.zeros(0))
            tokens = result.input.dtype.kind in "iub"  # ids in: [1, T, V] out are logits
            if result.position_top_k and tokens:
                self.label.setText(f"{name} {format_shape(result.output.shape)}")
                self._show_positions(result.position_top_k)
            elif result.class_map_rgba is not None:
                classes = result.output.shape[1]
                self.label.setText(f"{name} {format_shape(result.output.shape)}")
                self.label.setToolTip(
                    f"The class map: the likeliest of the {classes} classes at every pixel, "
                    "one colour per class"
                )
                self._show_image(result.class_map_rgba, aspect=True)
                self.showing = "class map"
            elif result.output_rgba is not None:
                self.label.setText(f"{name} {format_shape(result.output.shape)}")
                self._show_image(result.output_rgba, aspect=not result.output_heatmap.is_strip)
                self.showing = "heatmap"
            else:
                self.label.setText(f"{name} {format_shape(result.output.shape)}")
        elif result.top_k:
            top, best = result.top_k[0]
            self.label.setText(f"{top} ({best:.1%})")
            self._show_top_k(result.top_k, len(p))
        else:
            self._show_bars(p, blank=result.blank)
        self.plot.shown_request_id = self.output_view.shown_request_id = result.request_id

    def _show_fitting(self, result: ForwardResult, name: str) -> None:
        """An output the usual views do not fit (``core.display.output_picture``): a
        reconstruction beside the input, or a single value as that number."""
        fitting = result.output_picture
        self.bars.setOpts(x=np.arange(0), height=np.zeros(0))
        self.label.setFont(self._shape_font)
        if fitting.rgba is not None:
            self.label.setText(fitting.text)
            self.label.setToolTip(
                "Left: the input. Right: the output, drawn as the input is (the same shape); "
                "each stretched to its own range"
            )
            self._show_image(fitting.rgba, aspect=True)
            self.showing = "beside the input"
        else:
            self.label.setText(f"{name} {format_shape(result.output.shape)}: one value")
            self.value_label.setText(f"{fitting.value:.6g}")
            self.stack.setCurrentWidget(self.value_label)
            self.showing = "value"
        self.plot.shown_request_id = self.output_view.shown_request_id = result.request_id

    def _show_image(self, rgba: np.ndarray, aspect: bool) -> None:
        self.stack.setCurrentWidget(self.output_view)
        first = self.output_image.image is None or (
            self.output_image.image.shape[:2] != rgba.shape[:2]
        )
        self.output_image.setImage(rgba)
        if first:
            h, w = rgba.shape[:2]
            self._output_box.setAspectLocked(aspect)
            self._output_box.setRange(xRange=(0, w), yRange=(0, h), padding=0.02)

    def _fill_table(self, headers: tuple[str, str], rows: list[tuple[str, str]]) -> None:
        self.stack.setCurrentWidget(self.table)
        if self.table.rowCount() != len(rows):
            self.table.setRowCount(len(rows))
        if self._table_headers != headers:
            self._table_headers = headers
            self.table.setHorizontalHeaderLabels(list(headers))
        # Every frame changes most cells: each setText told the view on its own, and each
        # time it sized the first column from every row again (0.57 ms a frame, 0.37 so).
        model = self.table.model()
        changed: list[int] = []
        with QSignalBlocker(model):
            for r, cells in enumerate(rows):
                for c, text in enumerate(cells):
                    item = self.table.item(r, c)
                    if item is None:
                        self.table.setItem(r, c, QTableWidgetItem(text))
                    elif item.text() != text:
                        item.setText(text)
                    else:
                        continue
                    changed.append(r)
        if changed:
            last = model.columnCount() - 1
            model.dataChanged.emit(model.index(min(changed), 0), model.index(max(changed), last))

    def _show_top_k(self, ranked, classes: int) -> None:
        """A wide output: the k likeliest classes, (index, probability), likeliest first."""
        self._fill_table(("class", "p"), [(str(i), f"{p:.2%}") for i, p in ranked])
        self.table.setToolTip(
            f"The {len(ranked)} likeliest of {classes} classes: too many for readable bars"
        )
        self.showing = "top-k"

    def _show_positions(self, per_position) -> None:
        """Sequence logits [1, T, V]: for every position its likeliest tokens."""
        rows = [
            (str(t), "  ".join(f"{i} ({p:.0%})" for i, p in ranked) if ranked else "NaN/Inf")
            for t, ranked in enumerate(per_position)
        ]
        self._fill_table(("position", "top tokens (id, p)"), rows)
        self.table.setToolTip("For every position, the likeliest next tokens and their softmax")
        self.showing = "positions"

    def _show_bars(self, p: np.ndarray, blank: bool = False) -> None:
        """Bars and the top class; for an empty canvas, faded bars and an invitation: the
        network's confident answer to nothing is not a prediction."""
        self.stack.setCurrentWidget(self.plot)
        n = len(p)
        if n != self._classes:
            self._classes = n
            self.plot.setXRange(-0.6, n - 0.4, padding=0)
            step = max(1, math.ceil(n / 10))  # at most about ten labels
            step = next(
                m for m in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, step) if m >= step
            )
            self.plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(0, n, step)]])
        top = int(np.argmax(p))
        if blank:
            brushes = [FADED] * n
            self.label.setText(EMPTY_TEXT)
        else:
            brushes = [TOP if i == top else BAR for i in range(n)]
            self.label.setText(f"{top} ({p[top]:.1%})")
        self.bars.setOpts(x=np.arange(n), height=p, brushes=brushes)
        self.showing = "bars"

    # -- compare: A and B side by side ---------------------------------------------------------
    def _show_comparison(self, result: ForwardResult) -> bool:
        """A's bars (grey) beside B's for a comparison of class scores; False (and A's bars
        gone) otherwise."""
        c = result.comparison
        bars_a = getattr(self, "bars_a", None)
        pa = None if c is None else c.probabilities_a
        pb = None if c is None else c.probabilities_b
        if pa is None or pb is None or len(pa) != len(pb) or result.top_k:
            if bars_a is not None and bars_a.isVisible():
                bars_a.setVisible(False)
                self.bars.setOpts(width=0.7)
            self.comparing = False
            return False
        if bars_a is None:
            bars_a = self.bars_a = Bars(x=np.arange(0), height=np.zeros(0), width=0.38, brush=BAR_A)
            self.plot.addItem(bars_a)
        self._show_bars(pb)  # B's, the axis and B's label
        self.label.setFont(self._shape_font)
        n, top_a, top_b = len(pb), int(np.argmax(pa)), int(np.argmax(pb))
        bars_a.setVisible(True)
        bars_a.setOpts(
            x=np.arange(n) - 0.2,
            height=pa,
            brushes=[TOP_A if i == top_a else BAR_A for i in range(n)],
        )
        self.bars.setOpts(x=np.arange(n) + 0.2, width=0.38)
        self.probabilities_a = pa
        names = ("clean", "edited") if result.edits else ("A", "B")
        arrow = " → " if result.edits else "  →  "
        self.label.setText(
            f"{names[0]} {top_a} ({pa[top_a]:.1%}){arrow}{names[1]} {top_b} ({pb[top_b]:.1%})"
        )
        self.label.setToolTip(
            "Left, grey: without the interventions. Right: with them. The top class of each"
            if result.edits
            else "Left, grey: A (pinned). Right: B (now). The top class of each"
        )
        self.comparing = True
        self.plot.shown_request_id = self.output_view.shown_request_id = result.request_id
        return True
