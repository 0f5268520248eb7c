"""The interventions list: one line per edit (``3. max_pool2d [ch 2] = 0``), a tick to switch
it off, a button to remove it; Clear; and the brush's settings while painting."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.edits.spec import Intervention

HINT = (
    "Right-click a step, a channel or a pixel in the Activations tab to zero, scale, set, "
    "clamp, patch or paint it."
)


class InterventionList(QWidget):
    """Shows ``AppState.interventions``; says what the user changed through its signals."""

    toggled = Signal(int, bool)  # index, enabled
    removed = Signal(int)
    cleared = Signal()
    stopPainting = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("interventionList")
        self.rows = QListWidget()
        self.rows.setObjectName("interventionRows")
        self.hint = QLabel(HINT)
        self.hint.setWordWrap(True)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("clearInterventionsButton")
        self.clear_button.setToolTip("Remove every intervention: the network runs as it is")
        self.clear_button.clicked.connect(self.cleared)
        self.amount = QDoubleSpinBox()
        self.amount.setObjectName("paintAmountSpin")
        self.amount.setRange(-1000.0, 1000.0)
        self.amount.setDecimals(2)
        self.amount.setSingleStep(0.25)
        self.amount.setValue(1.0)
        self.amount.setPrefix("brush adds ")
        self.amount.setToolTip(
            "What one dab of the brush adds to the activation, in its own units (the right "
            "button or Shift erases the paint)"
        )
        self.stop_button = QPushButton("Stop painting")
        self.stop_button.setObjectName("stopPaintingButton")
        self.stop_button.clicked.connect(self.stopPainting)
        self.set_painting(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.amount)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        buttons.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.hint)
        layout.addWidget(self.rows, 1)
        layout.addLayout(buttons)
        self._shown: tuple[tuple[str, bool], ...] = ()

    def set_painting(self, on: bool) -> None:
        self.stop_button.setVisible(on)

    def show_edits(self, edits: tuple[Intervention, ...]) -> None:
        """One row per edit; rebuilt only when a line or a tick changes (painting changes
        neither)."""
        shown = tuple((e.describe(), e.enabled) for e in edits)
        if shown == self._shown:
            return
        self._shown = shown
        self.rows.clear()
        for index, (line, enabled) in enumerate(shown):
            item = QListWidgetItem(self.rows)
            row = QWidget()
            box = QHBoxLayout(row)
            box.setContentsMargins(2, 0, 2, 0)
            tick = QCheckBox(line)
            tick.setObjectName("interventionCheck")
            tick.setChecked(enabled)
            tick.setToolTip("Untick to run the network without this edit (it stays listed)")
            # Told after the click is handled: the answer rebuilds the rows, this one too.
            tick.toggled.connect(lambda on, i=index: self._later(self.toggled, i, on))
            remove = QToolButton()
            remove.setObjectName("removeInterventionButton")
            remove.setText("✕")
            remove.setToolTip("Remove this intervention")
            remove.clicked.connect(lambda _=False, i=index: self._later(self.removed, i))
            box.addWidget(tick, 1)
            box.addWidget(remove)
            item.setSizeHint(row.sizeHint())
            self.rows.setItemWidget(item, row)
        self.clear_button.setEnabled(bool(shown))
        self.hint.setVisible(not shown)

    def _later(self, signal, *args) -> None:
        QTimer.singleShot(0, self, lambda: signal.emit(*args))

    def lines(self) -> list[str]:
        """Each row's text, as shown."""
        return [line for line, _ in self._shown]

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.stopPainting.emit()
        super().keyPressEvent(event)
