"""Every captured step of the forward pass as a heatmap (channels tiled), updated live."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from ..core.heatmaps import finite_range
from ..core.results import ForwardResult
from .heatmap_view import HeatmapColumn
from .tree_panel import format_shape

# The shared colour scale covers this percentile of |activation| over all layers.
SHARED_PERCENTILE = 99.5


class ActivationsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activationsPanel")
        self.column = HeatmapColumn("CET-D1")
        self.column.setObjectName("activationsView")
        self.auto_levels = QCheckBox("Auto levels")
        self.auto_levels.setObjectName("autoLevelsCheck")
        self.auto_levels.setChecked(True)
        self.auto_levels.setToolTip(
            "Fit the shared colour scale to every layer's values after each forward pass "
            "(dragging the colour bar turns this off)"
        )
        self.readout = QLabel("Hover a heatmap to read its values.")
        self.readout.setObjectName("activationReadout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.column)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        header = QHBoxLayout()
        header.addWidget(self.readout, 1)
        header.addWidget(self.auto_levels)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(header)
        layout.addWidget(scroll, 1)
        self.column.hovered.connect(self.readout.setText)
        self._result: ForwardResult | None = None
        self._connect_colorbar()

    def _connect_colorbar(self) -> None:
        self.column.colorbar.sigLevelsChangeFinished.connect(self._on_user_levels)

    @Slot(object)
    def _on_user_levels(self, _bar) -> None:
        self.auto_levels.setChecked(False)

    @property
    def shown_request_id(self) -> int:
        return self.column.shown_request_id

    def show_result(self, result: ForwardResult) -> None:
        steps = [s for s in result.steps if s.heatmap is not None]
        before = self.column.colorbar
        self.column.set_layout([((s.step.label, s.step.shape), s.heatmap.is_strip) for s in steps])
        if self.column.colorbar is not before:
            self._connect_colorbar()
        if self.auto_levels.isChecked() or before is not self.column.colorbar:
            levels = finite_range([s.heatmap.image for s in steps], percentile=SHARED_PERCENTILE)
            self.column.colorbar.setLevels(levels, update_items=False)
        levels = self.column.levels()
        for row, s in zip(self.column.rows, steps, strict=True):
            if row.heatmap is None:
                row.set_title(
                    f"{s.step.index + 1}. {s.step.label}",
                    f"{s.step.op} {format_shape(s.step.shape)}",
                )
            row.show(s.heatmap, levels)
        self.column.shown_request_id = result.request_id
        self._result = result
