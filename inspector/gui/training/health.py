"""Gradient health at a glance: one row per parameter tensor, time across, coloured by the log10
of its weight norm, gradient norm or update/weight ratio; the module tree's selection picks
the rows (the whole model: every parameter)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from inspector.core.graph.palette import PANEL_BACKGROUND
from inspector.core.training.curves import health_rows
from inspector.core.training.trainer import HEALTH, TrainProgress


class HealthView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gradientHealth")
        self.metric_combo = QComboBox()
        self.metric_combo.setObjectName("healthMetricCombo")
        for name in HEALTH:
            self.metric_combo.addItem(f"log10 {name}")
        self.metric_combo.setCurrentIndex(2)
        self.metric_combo.setToolTip(
            "Per parameter tensor, over the steps logged: the weights' norm, the gradient's "
            "norm, or the step's update relative to the weights (about 1e-3 is healthy; far "
            "below, the layer is not learning; far above, it is unstable)"
        )
        self.metric_combo.currentIndexChanged.connect(lambda _i: self._draw())
        self.caption = QLabel("Gradient health: train to see it")
        self.caption.setObjectName("healthCaption")
        self.caption.setMinimumWidth(1)
        self.caption.setWordWrap(True)  # two lines rather than cut where the dock is narrow
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("gradientHealthView")
        self.plot.setBackground(PANEL_BACKGROUND)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.getViewBox().invertY(True)
        self.plot.setLabel("bottom", "step")
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.plot.addItem(self.image)
        self.bar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False, width=10)
        self.bar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(self.metric_combo)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        self.progress: TrainProgress | None = None
        self.module: str | None = None
        self.rows: tuple[str, ...] = ()
        self.values = np.zeros((0, 0), np.float32)

    def set_module(self, module: str | None) -> None:
        self.module = module
        self._draw()

    def show_progress(self, progress: TrainProgress | None) -> None:
        self.progress = progress
        self._draw()

    def _draw(self) -> None:
        progress = self.progress
        if progress is None or progress.health.shape[2] == 0:
            self.image.clear()
            self.rows, self.values = (), np.zeros((0, 0), np.float32)
            self.caption.setText("Gradient health: train to see it")
            return
        metric = self.metric_combo.currentIndex()
        self.rows, self.values = health_rows(progress, metric, self.module)
        steps = progress.health_steps
        every = int(steps[1] - steps[0]) if len(steps) > 1 else 1
        span = int(steps[-1] - steps[0]) + every  # each column covers the steps to the next
        finite = self.values[np.isfinite(self.values)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        self.image.setImage(self.values, levels=(low, max(high, low + 1e-6)))
        self.image.setRect(float(steps[0]), 0.0, float(span), float(len(self.rows)))
        self.bar.setLevels((low, max(high, low + 1e-6)))
        axis = self.plot.getAxis("left")
        axis.setTicks([[(i + 0.5, name) for i, name in enumerate(self.rows)]])
        own = self.module and all(r.startswith(f"{self.module}.") for r in self.rows)
        where = f"{self.module}" if own else "every parameter"
        self.caption.setText(f"Gradient health: {HEALTH[metric]}, {where}")
