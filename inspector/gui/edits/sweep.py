"""*Patch every position of this step*: the positions × steps grid of how much the chosen
logit moves when one position of one step is A's, filled a row at a time on the worker (one
job per row, so forwards and Cancel get in between), with a progress bar."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QFont, QFontMetrics, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector.core.display.colormap import colorize, nice_bound
from inspector.core.forward.capture import Step
from inspector.core.state import AppState

CELL = 22  # pixels per grid cell


class SweepDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("patchSweepDialog")
        self.setWindowTitle("Activation patching: every position of every step")
        self.title = QLabel("")
        self.title.setWordWrap(True)
        self.grid_label = QLabel()
        self.grid_label.setObjectName("sweepGrid")
        self.grid_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.note = QLabel("")
        self.note.setObjectName("sweepNote")
        self.progress = QProgressBar()
        self.progress.setObjectName("sweepProgress")
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("cancelSweepButton")
        self.token = QSpinBox()
        self.token.setObjectName("sweepTokenSpin")
        self.token.setRange(-1, 2**31 - 1)
        self.token.setValue(-1)
        self.token.setSpecialValueText("B's likeliest")
        self.token.setPrefix("logit of token ")
        self.token.setToolTip("The last position's logit watched: a token id, or B's likeliest")
        self.again = QPushButton("Sweep again")
        self.again.setObjectName("sweepAgainButton")
        choose = QHBoxLayout()
        choose.addWidget(self.token, 1)
        choose.addWidget(self.again)
        layout = QVBoxLayout(self)
        for widget in (self.title, self.grid_label, self.note, self.progress):
            layout.addWidget(widget)
        layout.addLayout(choose)
        layout.addWidget(self.cancel)

    def show_grid(self, grid: np.ndarray, rows: tuple[str, ...] = ()) -> None:
        """Rows: steps (named on the left); columns: positions (numbered on top); red up, blue
        down, on a scale centred on 0."""
        finite = np.abs(grid[np.isfinite(grid)])
        bound = nice_bound(float(finite.max())) if finite.size and finite.max() > 0 else 1.0
        rgba = np.ascontiguousarray(colorize(grid, (-bound, bound)))
        h, w = grid.shape
        image = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
        cells = QPixmap.fromImage(image).scaled(w * CELL, h * CELL)
        self.grid_label.setPixmap(labelled(cells, rows, w, self.font()))
        self.note.setText(f"colour scale ±{bound:g}; rows: steps; columns: positions")


def labelled(cells: QPixmap, rows: tuple[str, ...], positions: int, font: QFont) -> QPixmap:
    """``cells`` with each row's step named on its left and the positions numbered on top: a
    grid without them cannot be read."""
    metrics = QFontMetrics(font)
    left = max((metrics.horizontalAdvance(r) for r in rows), default=0) + 6
    top = metrics.height() + 6
    out = QPixmap(left + cells.width(), top + cells.height())
    out.fill(Qt.GlobalColor.transparent)
    painter = QPainter(out)
    painter.setFont(font)
    painter.drawPixmap(left, top, cells)
    bottom = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom
    every = max(1, -(-metrics.horizontalAdvance("000") // CELL))  # numbers that do not touch
    for p in range(0, positions, every):
        painter.drawText(left + p * CELL, 0, CELL, top - 2, bottom, str(p))
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    for i, name in enumerate(rows):
        painter.drawText(0, top + i * CELL, left - 6, CELL, right, name)
    painter.end()
    return out


class Sweeper(QObject):
    """Runs one sweep at a time: plan, then each row in turn, until done or cancelled. Sweeps
    the state's input on the compute; its dialog belongs to ``dialog_parent``."""

    def __init__(self, state: AppState, compute, dialog_parent: QWidget | None = None) -> None:
        super().__init__(dialog_parent)
        self.state, self.compute = state, compute
        self.dialog = SweepDialog(dialog_parent)
        self.dialog.cancel.clicked.connect(self.cancel)
        self.dialog.rejected.connect(self.cancel)
        self.dialog.again.clicked.connect(lambda: self.start(self.step))
        self.compute.sweepPlanned.connect(self._on_planned)
        self.compute.sweepRowReady.connect(self._on_row)
        self.plan = None
        self.grid: np.ndarray | None = None
        self.running = False
        self.step: Step | None = None

    def start(self, step: Step) -> None:
        """Sweep ``step``'s kind, watching the dialog's token (B's likeliest: -1)."""
        state = self.state
        request = self.compute.request(state.drawing, state.raw_input, state.seed)
        self.plan, self.grid, self.running, self.step = None, None, True, step
        token = self.dialog.token.value()
        self.dialog.title.setText(f"Planning the sweep over {step.label}…")
        self.dialog.progress.setRange(0, 0)
        self.dialog.cancel.setText("Cancel")
        self.dialog.show()
        self.compute.plan_sweep(request, step.index, None if token < 0 else token)

    @Slot(object)
    def _on_planned(self, plan) -> None:
        if not self.running:
            return
        self.plan = plan
        self.grid = np.full((len(plan.steps), plan.positions), np.nan, np.float32)
        self.dialog.title.setText(
            f"{plan.title} (B's clean value {plan.clean:.4g}, A's {plan.patched_from:.4g})"
        )
        self.dialog.progress.setRange(0, len(plan.steps))
        self.dialog.progress.setValue(0)
        self.dialog.show_grid(self.grid, self.row_names)
        self.compute.sweep_row(0)

    @property
    def row_names(self) -> tuple[str, ...]:
        return tuple(s.label for s in self.plan.steps) if self.plan is not None else ()

    @Slot(object)
    def _on_row(self, row) -> None:
        if not self.running or self.grid is None:
            return
        self.grid[row.row] = row.changes
        self.dialog.show_grid(self.grid, self.row_names)
        self.dialog.progress.setValue(row.row + 1)
        if row.row + 1 < len(self.plan.steps):
            self.compute.sweep_row(row.row + 1)
        else:
            self.running = False
            self.dialog.cancel.setText("Close")

    @Slot()
    def cancel(self) -> None:
        """Stop after the row in progress (its answer is dropped); Close once finished."""
        if not self.running:
            self.dialog.hide()
            return
        self.running = False
        self.dialog.title.setText(f"{self.dialog.title.text()} — cancelled")
        self.dialog.cancel.setText("Close")
