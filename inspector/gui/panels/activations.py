"""Every captured step of the forward pass as a heatmap (channels tiled), updated live."""

from __future__ import annotations

import pyqtgraph as pg
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

from inspector.core.forward.results import ForwardResult
from inspector.core.forward.settings import CHANNEL_PAGE
from inspector.core.graph.palette import PANEL_BACKGROUND
from inspector.gui.panels.heatmap_view import HeatmapColumn, make_colorbar
from inspector.gui.panels.tree import format_shape


class ActivationsPanel(QWidget):
    """The worker sends every step already coloured at shared levels; dragging the colour bar
    switches to the user's levels, recoloured here from the values each result carries."""

    channelPageChanged = Signal(int)
    # rows [first, last) in sight, with a row of margin each side: the worker colours only
    # those (``ForwardSettings.coloured``); the others are coloured here if scrolled to
    rowsInSight = Signal(object)

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
        self.scroll = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.column)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.in_sight: tuple[int, int] | None = None
        scroll.verticalScrollBar().valueChanged.connect(self._report_rows_in_sight)
        self.column.laidOut.connect(lambda: self._report_rows_in_sight(again=True))
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
        self._titled_rows: list | None = None  # the column's rows whose titles are set
        self._connected_bar = None
        self._build_compare(body, layout)

    @property
    def shown_request_id(self) -> int:
        return self.column.shown_request_id

    def show_result(self, result: ForwardResult) -> None:
        self.result = result
        if result.comparison is not None:
            self._show_comparison(result)
            return
        self._leave_compare()
        steps = [s for s in result.steps if s.kept]
        self.column.set_layout([((s.step.label, s.step.shape), s.is_strip) for s in steps])
        if self.column.colorbar is not self._connected_bar:
            self._connected_bar = self.column.colorbar
            self._connected_bar.sigLevelsChanged.connect(self._on_user_levels)
        auto = self.auto_levels.isChecked()
        if auto:
            self.column.set_levels(result.levels)
        new_rows = self.column.rows is not self._titled_rows
        for row, s in zip(self.column.rows, steps, strict=True):
            if new_rows:
                shown_as = f" · {s.shown_as}" if s.shown_as else ""  # complex: its magnitude
                row.set_title(
                    f"{s.step.index + 1}. {s.step.label}",
                    f"{s.step.op} {format_shape(s.step.shape)}{shown_as}",
                )
            if auto and s.rgba is not None:
                row.show(s.heatmap, s.rgba)
            else:  # out of sight, or the user's levels: tiled and coloured when painted
                row.show_later(s)
        self._titled_rows = self.column.rows
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
        if self.comparison is not None:
            self._recolour_comparison()
            return
        self._recolour()

    @Slot(bool)
    def _on_auto_toggled(self, _checked: bool) -> None:
        if self.result is not None:
            self.show_result(self.result)

    def _recolour(self) -> None:
        """The user's levels: each row in sight is coloured again when painted."""
        for row in self.column.rows:
            if row.heatmap is not None:
                row.images[0] = None
        self.column.update()

    def _report_rows_in_sight(self, _value: int = 0, again: bool = False) -> None:
        """``again``: new rows (another model's settings start with every row coloured)."""
        top = self.scroll.verticalScrollBar().value()
        first, last = self.column.rows_within(top, top + self.scroll.viewport().height())
        wanted = (max(0, first - 1), min(len(self.column.rows), last + 1))
        if again or wanted != self.in_sight:
            self.in_sight = wanted
            self.rowsInSight.emit(wanted)

    # -- compare: A | B | B − A per step --------------------------------------------------------
    PANES = ("A (pinned)", "B (now)", "B − A")
    EDIT_PANES = ("clean", "edited", "edited − clean")  # interventions (core.edits)

    def _build_compare(self, body: QHBoxLayout, layout: QVBoxLayout) -> None:
        """The difference's own colour bar and the large view of one channel (hidden until
        comparing)."""
        self.comparison = None  # core.compare.ForwardComparison on screen, or None
        self.panes = self.PANES  # or EDIT_PANES: what the three panes are
        self.diff_bar_view = pg.GraphicsLayoutWidget()
        self.diff_bar_view.setObjectName("diffColorBar")
        self.diff_bar_view.setBackground(PANEL_BACKGROUND)
        self.diff_bar_view.setFixedWidth(72)
        self.diff_bar_view.setToolTip("B − A: its own scale, centred on 0")
        self.diff_bar = make_colorbar()
        self.diff_bar_view.addItem(self.diff_bar)
        self.diff_bar_view.setVisible(False)
        self.diff_bar.sigLevelsChanged.connect(self._on_user_levels)
        body.addWidget(self.diff_bar_view)
        self.detail_label = QLabel("")
        self.detail_label.setObjectName("channelDetailLabel")
        self.detail = HeatmapColumn()
        self.detail.setObjectName("channelDetail")
        self.detail.setMinimumHeight(180)
        self.detail.hovered.connect(self.readout.setText)
        self.detail_box = QWidget()
        box = QVBoxLayout(self.detail_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.detail_label)
        box.addWidget(self.detail, 1)
        self.detail_box.setVisible(False)
        layout.addWidget(self.detail_box)
        self.detail_step: int | None = None  # the row whose channel is shown large
        self.column.rowClicked.connect(self.show_channel)

    def _name_bars(self, shared: str, diff: str) -> None:
        """Two unnamed bars side by side left a person guessing which scale is whose."""
        if getattr(self, "_bar_names", None) == (shared, diff, self.column.colorbar):
            return
        self._bar_names = (shared, diff, self.column.colorbar)
        for bar, text in ((self.column.colorbar, shared), (self.diff_bar, diff)):
            bar.axis.setLabel(text)
            bar.axis.showLabel(bool(text))  # no room kept for an empty one
        self.diff_bar_view.setToolTip(f"{diff}: its own scale, centred on 0")

    def _show_comparison(self, result: ForwardResult) -> None:
        c = self.comparison = result.comparison
        steps = c.steps
        keys = [((s.step.label, s.step.shape), s.heatmap_b.is_strip) for s in steps]
        self.panes = self.EDIT_PANES if result.edits else self.PANES
        self.column.set_layout(keys, self.panes)
        if self.column.colorbar is not self._connected_bar:
            self._connected_bar = self.column.colorbar
            self._connected_bar.sigLevelsChanged.connect(self._on_user_levels)
        self.diff_bar_view.setVisible(True)
        self._name_bars(f"{self.panes[0]}, {self.panes[1]}", self.panes[2])
        auto = self.auto_levels.isChecked()
        if auto:
            self.column.set_levels(c.levels)
            if tuple(c.diff_levels) != tuple(self.diff_bar.levels()):
                with QSignalBlocker(self.diff_bar):
                    self.diff_bar.setLevels(c.diff_levels)
        for row, s in zip(self.column.rows, steps, strict=True):
            row.set_title(
                f"{s.step.index + 1}. {s.step.label}",
                f"{s.step.op} {format_shape(s.step.shape)}",
                s.summary,
            )
            if auto:
                panes = ((s.heatmap_a, s.rgba_a), (s.heatmap_b, s.rgba_b),
                         (s.heatmap_diff, s.rgba_diff))  # fmt: skip
                for pane, (heatmap, rgba) in enumerate(panes):
                    row.show(heatmap, rgba, pane)
        if not auto:
            self._recolour_comparison()
        if result.edits:
            edits = f"{len(result.edits)} edit{'s' if len(result.edits) > 1 else ''}"
            self.steps_note.setText(f"clean | edited | edited − clean · {edits}")
        else:
            self.steps_note.setText(f"A | B | B − A · B differs in {c.what_differs}")
        if c.note:
            self.steps_note.setText(f"{self.steps_note.text()} · {c.note}")
        self.column.shown_request_id = result.request_id
        self.column.update()
        if self.detail_step is not None:
            self.show_channel(self.detail_step)

    def _recolour_comparison(self) -> None:
        levels, diff_levels = self.column.levels(), tuple(self.diff_bar.levels())
        for row, s in zip(self.column.rows, self.comparison.steps, strict=False):
            row.show(s.heatmap_a, s.heatmap_a.colorize(levels), 0)
            row.show(s.heatmap_b, s.heatmap_b.colorize(levels), 1)
            row.show(s.heatmap_diff, s.heatmap_diff.colorize(diff_levels), 2)
        self.column.update()

    def _leave_compare(self) -> None:
        if self.comparison is None:
            return
        self.comparison = None
        self.detail_step = None
        self.diff_bar_view.setVisible(False)
        self._name_bars("", "")
        self.detail_box.setVisible(False)

    @Slot(int)
    def show_channel(self, index: int) -> None:
        """Show row ``index``'s most-changed channel large: A | B | B − A (a step without
        channels: the whole step)."""
        c = self.comparison
        if c is None or not 0 <= index < len(c.steps):
            return
        s = c.steps[index]
        self.detail_step = index
        d = s.detail
        self.detail.set_layout([(("detail", s.step.label), s.heatmap_b.is_strip and d is None)],
                               self.panes)  # fmt: skip
        row = self.detail.rows[0]
        name = f"{s.step.index + 1}. {s.step.label}"
        if d is None:
            row.set_title(name, f"all {format_shape(s.step.shape)}", s.summary)
            for pane, (heatmap, rgba) in enumerate(
                ((s.heatmap_a, s.rgba_a), (s.heatmap_b, s.rgba_b), (s.heatmap_diff, s.rgba_diff))
            ):
                row.show(heatmap, rgba, pane)
            self.detail_label.setText(f"<b>{name}</b>: {s.summary}")
        else:
            row.set_title(f"{name} ch {d.channel}", f"{d.a.shape[0]}×{d.a.shape[1]}", s.summary)
            for pane, (heatmap, rgba) in enumerate(
                zip(d.heatmaps, (d.rgba_a, d.rgba_b, d.rgba_diff), strict=True)
            ):
                row.show(heatmap, rgba, pane)
            self.detail_label.setText(
                f"<b>{name}</b>, channel {d.channel} (changed most: ‖B − A‖ = "
                f"{s.channel_norm:.4g}; the step: {s.summary})"
            )
        self.detail_box.setVisible(True)
        self.detail.update()
