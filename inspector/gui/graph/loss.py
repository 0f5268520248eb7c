"""Loss and training: pick a loss, run Backward, then take one SGD step or reset the weights."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from inspector.core.graph.losses import LossSpec
from inspector.core.state import AppState

LOSSES = [
    ("mse", "MSELoss vs a target"),
    ("ce", "CrossEntropyLoss vs class"),
    ("sum", "Sum of the output"),
]
NOTE_STYLE = "color: #e0a030"


class LossPanel(QWidget):
    backwardRequested = Signal()
    updateRequested = Signal()
    resetRequested = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lossPanel")
        self.state = state
        self.loss_combo = QComboBox()
        self.loss_combo.setObjectName("lossCombo")
        for key, text in LOSSES:
            self.loss_combo.addItem(text, key)
        self.loss_combo.setToolTip(
            "MSE against the tutorial's dummy target torch.arange(1, 11).view(1, -1) for a "
            "10-wide output (zeros of the output's shape otherwise), cross-entropy against the "
            "class chosen beside it (the next token for sequence logits), or the output's sum"
        )
        self.class_spin = QSpinBox()
        self.class_spin.setObjectName("targetClassSpin")
        self.class_spin.setRange(0, 9)
        self.class_spin.setToolTip("The class CrossEntropyLoss should push the network towards")
        self.loss_label = QLabel("loss: – (press Backward)")
        self.loss_label.setObjectName("lossValueLabel")
        # What the loss really compares against: from the output's shape before a backward
        # pass, the recorded label (with the real target) after it.
        self.target_label = QLabel(LossSpec(state.loss_kind).describe())
        self.target_label.setObjectName("lossTargetLabel")
        self.target_label.setWordWrap(True)
        self.note_label = QLabel("")
        self.note_label.setObjectName("lossNoteLabel")
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet(NOTE_STYLE)
        self.note_label.setVisible(False)
        for label in (self.target_label, self.note_label, self.loss_label):
            label.setMinimumWidth(1)  # wrapped text must never widen the dock
        self._output_shape: tuple[int, ...] | None = None
        self.record = None  # the last BackwardRecord shown
        self.backward_button = QPushButton("Backward")
        self.backward_button.setObjectName("backwardButton")
        self.backward_button.setToolTip(
            "loss.backward() on the current input, recording every autograd node (Ctrl+B)"
        )
        self.zero_grad = QCheckBox("Zero gradients before each backward")
        self.zero_grad.setObjectName("zeroGradCheck")
        self.zero_grad.setChecked(True)
        self.zero_grad.setToolTip(
            "net.zero_grad() first. Untick it to see gradients accumulate in .grad across "
            "passes, as the tutorial warns."
        )
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setObjectName("learningRateSpin")
        self.lr_spin.setDecimals(4)
        self.lr_spin.setRange(0.0001, 10.0)
        self.lr_spin.setSingleStep(0.01)
        self.lr_spin.setValue(0.01)
        self.lr_spin.setToolTip("Learning rate of the SGD step")
        self.update_button = QPushButton("Update weights")
        self.update_button.setObjectName("updateWeightsButton")
        self.update_button.setToolTip("One SGD step: p -= lr * p.grad for every parameter (Ctrl+U)")
        self.reset_button = QPushButton("Reset weights")
        self.reset_button.setObjectName("resetWeightsButton")
        self.reset_button.setToolTip("Back to the weights the model was opened with")

        target = QHBoxLayout()
        target.addWidget(self.loss_combo, 1)
        target.addWidget(self.class_spin)
        form = QFormLayout()
        form.addRow("Loss", target)
        form.addRow("", self.target_label)
        form.addRow("", self.loss_label)
        form.addRow("", self.note_label)
        form.addRow("", self.backward_button)
        form.addRow("", self.zero_grad)
        form.addRow("Learning rate", self.lr_spin)
        buttons = QHBoxLayout()
        buttons.addWidget(self.update_button)
        buttons.addWidget(self.reset_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addStretch(1)

        self.backward_button.clicked.connect(self.backwardRequested)
        self.update_button.clicked.connect(self.updateRequested)
        self.reset_button.clicked.connect(self.resetRequested)
        # Two-way: the widgets write the state, and show what the state says (a session, the
        # remembered settings).
        self.loss_combo.currentIndexChanged.connect(
            lambda _i: setattr(state, "loss_kind", self.loss_combo.currentData())
        )
        self.class_spin.valueChanged.connect(lambda v: setattr(state, "target_class", v))
        self.zero_grad.toggled.connect(lambda on: setattr(state, "zero_grad", on))
        self.lr_spin.valueChanged.connect(lambda v: setattr(state, "learning_rate", v))
        state.on("loss_kind", self._show_kind)
        state.on("target_class", self._show_target_class)
        state.on("zero_grad", lambda v: self._show(self.zero_grad.setChecked, self.zero_grad, v))
        state.on("learning_rate", lambda v: self._show(self.lr_spin.setValue, self.lr_spin, v))
        self._show_kind(state.loss_kind)

    @staticmethod
    def _show(setter, widget: QWidget, value) -> None:
        with QSignalBlocker(widget):
            setter(value)

    def _show_kind(self, kind: str) -> None:
        self._show(
            self.loss_combo.setCurrentIndex, self.loss_combo, max(0, self.loss_combo.findData(kind))
        )
        sequence = self._output_shape is not None and len(self._output_shape) == 3
        self.class_spin.setEnabled(kind == "ce" and not sequence)
        self._show_target()

    def _show_target_class(self, value: int) -> None:
        self._show(self.class_spin.setValue, self.class_spin, value)
        self._show_target()

    def set_classes(self, count: int) -> None:
        if self.class_spin.maximum() != count - 1:
            self.class_spin.setMaximum(max(0, count - 1))

    def set_output_shape(self, shape: tuple[int, ...]) -> None:
        """The shape of the output the loss uses (from the last forward result): the label
        names the real target, and the class spin box covers the output's classes."""
        shape = tuple(int(d) for d in shape)
        if shape == self._output_shape:
            return
        self._output_shape = shape
        if len(shape) in (2, 4) and shape[1] >= 1:
            self.set_classes(shape[1])
        self._show_kind(self.state.loss_kind)

    def spec(self) -> LossSpec:
        return LossSpec(self.state.loss_kind, self.state.target_class)

    def _show_target(self) -> None:
        """The recorded label while it is for the loss set up now, else what it will be."""
        record = self.record
        if record is not None and record.loss == self.spec() and record.loss_label:
            self.target_label.setText(record.loss_label)
        else:
            self.target_label.setText(self.spec().describe(self._output_shape))

    def reset(self) -> None:
        """A new model: no loss yet, and no class but 0 until its first result says how many
        (a class picked for the previous model may not exist in this one)."""
        self.record = None
        self._output_shape = None
        self.set_classes(1)
        self.loss_label.setText("loss: – (press Backward)")
        self.note_label.clear()
        self.note_label.setVisible(False)
        self._show_kind(self.state.loss_kind)

    def show_record(self, record) -> None:
        """A backward pass's loss (``core.backward.BackwardRecord``): the value as the tutorial
        prints it (``tensor(38.7042)``), the real target, and why it is NaN or 0 if it is."""
        self.record = record
        self.loss_label.setText(f"loss: tensor({record.loss_value:.4f})")
        self.note_label.setText(record.loss_note)
        self.note_label.setVisible(bool(record.loss_note))
        self._show_target()

    def show_loss(self, value: float, spec: LossSpec) -> None:
        """The tutorial prints ``tensor(38.7042)``: show the value the same way."""
        self.loss_label.setText(f"loss: tensor({value:.4f})")
        self.target_label.setText(spec.describe(self._output_shape))
