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

from ..core.losses import LossSpec
from ..core.state import AppState

LOSSES = [("mse", "MSELoss vs torch.arange(1, 11)"), ("ce", "CrossEntropyLoss vs class")]


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
            "MSE against the tutorial's dummy target torch.arange(1, 11).view(1, -1), "
            "or cross-entropy against the class chosen beside it"
        )
        self.class_spin = QSpinBox()
        self.class_spin.setObjectName("targetClassSpin")
        self.class_spin.setRange(0, 9)
        self.class_spin.setToolTip("The class CrossEntropyLoss should push the network towards")
        self.loss_label = QLabel("loss: – (press Backward)")
        self.loss_label.setObjectName("lossValueLabel")
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
        form.addRow("", self.loss_label)
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
        state.on("target_class", lambda v: self._show(self.class_spin.setValue, self.class_spin, v))
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
        self.class_spin.setEnabled(kind == "ce")

    def set_classes(self, count: int) -> None:
        if self.class_spin.maximum() != count - 1:
            self.class_spin.setMaximum(max(0, count - 1))

    def spec(self) -> LossSpec:
        return LossSpec(self.state.loss_kind, self.state.target_class)

    def show_loss(self, value: float, spec: LossSpec) -> None:
        """The tutorial prints ``tensor(38.7042)``: show the value the same way."""
        self.loss_label.setText(f"loss: tensor({value:.4f})  ·  {spec.describe()}")
