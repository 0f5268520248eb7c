"""The Training dock: the controls (bound to ``AppState``'s ``train_*`` fields), the loss and
accuracy curves, the status line and the gradient-health view. It only renders and asks:
``gui.training_control`` runs the chunks on the worker."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.graph.palette import PANEL_BACKGROUND
from inspector.core.state import AppState
from inspector.core.training.curves import smoothed
from inspector.core.training.setup import DEFAULT_LR, OPTIMIZERS
from inspector.core.training.trainer import TrainProgress
from inspector.gui.training.health import HealthView

SAMPLE_HINT = "bundled 1,000-image sample"
# Short names in the combo (it shares a row with four settings); OPTIMIZERS' are its tooltips.
SHORT_NAMES = {"sgd": "SGD", "momentum": "SGD + momentum", "adam": "Adam"}


def _button(text: str, name: str, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setToolTip(tip)
    return button


def _plot(name: str, y_label: str) -> pg.PlotWidget:
    plot = pg.PlotWidget()
    plot.setObjectName(name)
    plot.setBackground(PANEL_BACKGROUND)
    plot.setLabel("bottom", "step")
    plot.setLabel("left", y_label)
    # No grid: pyqtgraph then repaints the axes with the curve on every refresh (~5 of a
    # refresh's 6 ms, the GUI thread holding the GIL the training needs).
    plot.setMinimumHeight(90)
    plot.setMinimumWidth(120)
    return plot


TRAIN_TIP = "Train on MNIST in the window; press again to pause (everything is kept)"


class TrainingPanel(QWidget):
    trainToggled = Signal()  # Train / Pause
    stepRequested = Signal()  # One batch
    reinitRequested = Signal()
    saveWeightsRequested = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self.state = state
        self.refusal: str | None = None  # why this model cannot be trained on MNIST
        self.train_button = _button("Train", "trainButton", TRAIN_TIP)
        self.step_button = _button("One batch", "trainStepButton", "Train on one batch")
        self.reinit_button = _button(
            "Re-initialise", "reinitButton",
            "Each module's reset_parameters(), to watch learning from scratch (Reset weights "
            "in Loss and backward goes back to the bundled ones)",
        )  # fmt: skip
        self.save_button = _button("Save weights…", "saveWeightsButton",
                                   "The weights as they are now, as .safetensors "
                                   "(open them with --weights)")  # fmt: skip
        self.optimizer_combo = QComboBox()
        self.optimizer_combo.setObjectName("optimizerCombo")
        for index, (key, text) in enumerate(OPTIMIZERS.items()):
            self.optimizer_combo.addItem(SHORT_NAMES[key], key)
            self.optimizer_combo.setItemData(index, text, Qt.ItemDataRole.ToolTipRole)
        self.optimizer_combo.setToolTip("SGD as in the tutorial, SGD with momentum, or Adam")
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setObjectName("trainLrSpin")
        self.lr_spin.setDecimals(5)
        self.lr_spin.setRange(0.00001, 10.0)
        self.lr_spin.setSingleStep(0.0005)
        self.lr_spin.setToolTip(
            "Learning rate: the optimiser's step size (changes apply at the next chunk)"
        )
        self.batch_spin = QSpinBox()
        self.batch_spin.setObjectName("batchSizeSpin")
        self.batch_spin.setRange(1, 4096)
        self.batch_spin.setToolTip("Batch size: images per step")
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setObjectName("epochsSpin")
        self.epochs_spin.setRange(1, 1000)
        self.epochs_spin.setToolTip(
            "Epochs: passes over the training images; raising it after the end carries on"
        )
        self.augment_check = QCheckBox("Augment")
        self.augment_check.setObjectName("augmentCheck")
        self.augment_check.setToolTip(
            "Random rotation, scale, shear, shift and stroke thickness, as net-inspector train "
            "(and the bundled weights) used"
        )
        self.data_edit = QLineEdit()
        self.data_edit.setObjectName("dataFolderEdit")
        self.data_edit.setPlaceholderText(SAMPLE_HINT)
        self.data_edit.setToolTip(
            "A folder with MNIST's four IDX files (train-images-idx3-ubyte(.gz), …); empty: "
            "the 1,000 test images bundled with the app (800 to train on, 200 held out)"
        )
        self.data_button = QToolButton()  # as small as its "…"
        self.data_button.setText("…")
        self.data_button.setObjectName("dataFolderButton")
        self.data_button.setToolTip("Choose the MNIST folder")
        self.status_label = QLabel("Not trained yet.")
        self.status_label.setObjectName("trainingStatusLabel")
        self.status_label.setMinimumWidth(1)
        self.status_label.setWordWrap(True)
        self.loss_plot = _plot("lossCurve", "loss")
        # Thousands of losses on a few hundred pixels: drawn as each pixel column's min and
        # max, and only the part in view (painting every point cost ~8 ms per refresh).
        self.loss_plot.setDownsampling(auto=True, mode="peak")
        self.loss_plot.setClipToView(True)
        self.loss_raw = self.loss_plot.plot(pen=pg.mkPen((120, 140, 200, 90)))
        self.loss_smooth = self.loss_plot.plot(pen=pg.mkPen((120, 170, 255), width=2))
        self.acc_plot = _plot("accuracyCurve", "accuracy %")
        self.acc_plot.setYRange(0, 100)
        self.acc_plot.addLegend(offset=(-5, -5))
        self.held_line = self.acc_plot.plot(
            pen=pg.mkPen((226, 128, 108), width=2), symbol="o", symbolSize=4, name="held-out"
        )
        self.test_line = self.acc_plot.plot(
            pen=None, symbol="s", symbolSize=9, symbolBrush=(250, 210, 80), name="test set"
        )
        self.health = HealthView()
        self.health.setMinimumWidth(160)
        self._lay_out()
        self._bind()

    def _lay_out(self) -> None:
        """Three rows of controls over the three plots: the dock sits under the central tabs
        beside Loss and backward, where width is plentiful and height is not, and curves
        over steps read best wide."""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(3)
        layout.addLayout(self._first_row())
        layout.addLayout(self._settings_row())
        layout.addLayout(self._data_row())
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot, 2)
        plots.addWidget(self.acc_plot, 2)
        plots.addWidget(self.health, 3)
        layout.addLayout(plots, 1)

    def _first_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        for button in (self.train_button, self.step_button, self.reinit_button):
            row.addWidget(button)
        row.addSpacing(8)
        row.addWidget(self.status_label, 1)
        return row

    def _settings_row(self) -> QHBoxLayout:
        """Short labels (their tooltips say the rest), so the row fits the narrowest dock."""
        row = QHBoxLayout()
        pairs = (("Optimiser", self.optimizer_combo), ("LR", self.lr_spin),
                 ("Batch", self.batch_spin), ("Epochs", self.epochs_spin))  # fmt: skip
        for text, widget in pairs:
            label = QLabel(text)
            label.setToolTip(widget.toolTip())
            label.setBuddy(widget)
            row.addWidget(label)
            row.addWidget(widget)
            row.addSpacing(6)
        row.addWidget(self.augment_check)
        row.addStretch(1)
        return row

    def _data_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        label = QLabel("MNIST folder")
        label.setToolTip(self.data_edit.toolTip())
        label.setBuddy(self.data_edit)
        row.addWidget(label)
        row.addWidget(self.data_edit, 1)
        row.addWidget(self.data_button)
        row.addSpacing(6)
        row.addWidget(self.save_button)
        return row

    # -- controls ↔ state ---------------------------------------------------------------------
    def _bind(self) -> None:
        state = self.state
        self.train_button.clicked.connect(self.trainToggled)
        self.step_button.clicked.connect(self.stepRequested)
        self.reinit_button.clicked.connect(self.reinitRequested)
        self.save_button.clicked.connect(self.saveWeightsRequested)
        self.data_button.clicked.connect(self.choose_folder)
        self.optimizer_combo.currentIndexChanged.connect(self._optimizer_picked)
        self.lr_spin.valueChanged.connect(lambda v: setattr(state, "train_lr", float(v)))
        self.batch_spin.valueChanged.connect(lambda v: setattr(state, "train_batch", int(v)))
        self.epochs_spin.valueChanged.connect(lambda v: setattr(state, "train_epochs", int(v)))
        self.augment_check.toggled.connect(lambda v: setattr(state, "train_augment", bool(v)))
        self.data_edit.editingFinished.connect(
            lambda: setattr(state, "train_data", self.data_edit.text().strip())
        )
        for name in ("train_optimizer", "train_lr", "train_batch", "train_epochs",
                     "train_augment", "train_data"):  # fmt: skip
            state.on(name, lambda _v: self.follow_state())
        self.follow_state()

    def follow_state(self) -> None:
        s = self.state
        widgets = (self.optimizer_combo, self.lr_spin, self.batch_spin, self.epochs_spin,
                   self.augment_check, self.data_edit)  # fmt: skip
        blockers = [QSignalBlocker(w) for w in widgets]
        self.optimizer_combo.setCurrentIndex(
            max(0, self.optimizer_combo.findData(s.train_optimizer))
        )
        self.lr_spin.setValue(s.train_lr)
        self.batch_spin.setValue(s.train_batch)
        self.epochs_spin.setValue(s.train_epochs)
        self.augment_check.setChecked(s.train_augment)
        if self.data_edit.text() != s.train_data:
            self.data_edit.setText(s.train_data)
        del blockers

    def _optimizer_picked(self, _index: int) -> None:
        kind = self.optimizer_combo.currentData()
        # A new optimiser starts at its usual learning rate (SGD's 0.1 would wreck Adam).
        self.state.update(train_optimizer=kind, train_lr=DEFAULT_LR[kind])

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "MNIST folder (the four IDX files)", self.state.train_data
        )
        if folder:
            self.state.train_data = folder

    # -- rendering ---------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self.train_button.setText("Pause" if running else "Train")
        self.step_button.setEnabled(not running and self.refusal is None)
        self.reinit_button.setEnabled(not running)

    def set_refusal(self, why: str | None) -> None:
        """Why the model cannot be trained on MNIST (None: it can): Train and One batch are
        off and say why, before anyone presses them."""
        if why == self.refusal:
            return
        was, self.refusal = self.refusal, why
        # The settings too: an LR that no training here will use is a control that does nothing.
        for widget in (self.train_button, self.step_button, self.optimizer_combo, self.lr_spin,
                       self.batch_spin, self.epochs_spin, self.augment_check, self.data_edit,
                       self.data_button):  # fmt: skip
            widget.setEnabled(why is None)
        self.train_button.setToolTip(why or TRAIN_TIP)
        if why is not None:
            self.set_status(why)
        elif self.status_label.text() == was:
            self.set_status("Not trained yet.")

    def set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def show_progress(self, progress: TrainProgress | None) -> None:
        """Curves, status and health of ``progress`` (None: nothing trained yet)."""
        if progress is None or progress.step == 0:
            for line in (self.loss_raw, self.loss_smooth, self.held_line, self.test_line):
                line.setData([], [])
            self.health.show_progress(None)
            self.set_status("Not trained yet." if progress is None else progress.status())
            return
        steps = np.arange(1, len(progress.losses) + 1)
        self.loss_raw.setData(steps, progress.losses)
        self.loss_smooth.setData(steps, smoothed(progress.losses))
        for line, x, y in ((self.held_line, progress.held_steps, progress.held),
                           (self.test_line, progress.test_steps, progress.test)):  # fmt: skip
            shown = line.getData()[0]
            if shown is None or not np.array_equal(shown, x):  # a repaint only for new points
                line.setData(x, y * 100)
        self.health.show_progress(progress)
        self.set_status(f"{progress.status()} — on {progress.source}")
