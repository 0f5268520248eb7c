"""Every captured step of the forward pass as a heatmap (channels tiled), updated live."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.inference import CHANNEL_PAGE
from ..core.results import ForwardResult
from .heatmap_view import HeatmapColumn
from .tree_panel import format_shape


class ActivationsPanel(QWidget):
    """The worker sends every step already coloured at shared levels; dragging the colour bar
    switches to the user's levels, recoloured here from the values each result carries."""

    channelPageChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activationsPanel")
        self.page_spin = QSpinBox()
        self.page_spin.setObjectName("channelPageSpin")
        self.page_spin.setPrefix("channel page ")
        self.page_spin.setRange(0, 0)
        self.page_spin.setToolTip(
            "Layers with more than 64 channels show 64 at a time: pick which 64"
        )
        self.page_spin.setVisible(False)
        self.page_spin.valueChanged.connect(self.channelPageChanged)
        self.steps_note = QLabel("")
        self.steps_note.setObjectName("stepsNote")
        self.column = HeatmapColumn()
        self.column.setObjectName("activationsView")
        self.auto_levels = QCheckBox("Auto levels")
        self.auto_levels.setObjectName("autoLevelsCheck")
        self.auto_levels.setChecked(True)
        self.auto_levels.setToolTip(
            "Fit the shared colour scale to the activations after each forward pass "
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
        header.addWidget(self.steps_note)
        header.addWidget(self.page_spin)
        header.addWidget(self.auto_levels)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(header)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(scroll, 1)
        body.addWidget(self.column.bar_view)  # outside the scroll area: always in sight
        layout.addLayout(body, 1)
        self.column.hovered.connect(self.readout.setText)
        self.auto_levels.toggled.connect(self._on_auto_toggled)
        self.result: ForwardResult | None = None
        self._connected_bar = None

    @property
    def shown_request_id(self) -> int:
        return self.column.shown_request_id

    def show_result(self, result: ForwardResult) -> None:
        self.result = result
        steps = [s for s in result.steps if s.heatmap is not None]
        self.column.set_layout([((s.step.label, s.step.shape), s.heatmap.is_strip) for s in steps])
        if self.column.colorbar is not self._connected_bar:
            self._connected_bar = self.column.colorbar
            self._connected_bar.sigLevelsChanged.connect(self._on_user_levels)
        auto = self.auto_levels.isChecked()
        if auto:
            self.column.set_levels(result.levels)
        levels = self.column.levels()
        for row, s in zip(self.column.rows, steps, strict=True):
            if row.heatmap is None:
                row.set_title(
                    f"{s.step.index + 1}. {s.step.label}",
                    f"{s.step.op} {format_shape(s.step.shape)}",
                )
            row.show(s.heatmap, s.rgba if auto else s.heatmap.colorize(levels))
        self.column.shown_request_id = result.request_id
        self.column.update()
        self._show_notes(result, steps)

    def _show_notes(self, result: ForwardResult, steps) -> None:
        if len(steps) < result.total_steps:
            self.steps_note.setText(
                f"{len(steps)} of {result.total_steps} steps: select a module to see its own"
            )
        else:
            self.steps_note.setText("")
        widest = max((s.step.shape[1] for s in steps if len(s.step.shape) == 4), default=0)
        pages = (widest + CHANNEL_PAGE - 1) // CHANNEL_PAGE
        self.page_spin.setVisible(pages > 1)
        if pages > 1:
            self.page_spin.setMaximum(pages - 1)

    @Slot(object)
    def _on_user_levels(self, _bar) -> None:
        if self.auto_levels.isChecked():
            with QSignalBlocker(self.auto_levels):
                self.auto_levels.setChecked(False)
        self._recolour()

    @Slot(bool)
    def _on_auto_toggled(self, _checked: bool) -> None:
        if self.result is not None:
            self.show_result(self.result)

    def _recolour(self) -> None:
        levels = self.column.levels()
        for row in self.column.rows:
            if row.heatmap is not None:
                row.show(row.heatmap, row.heatmap.colorize(levels))
        self.column.update()
