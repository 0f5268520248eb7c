"""File > Open Model: a model file (or built-in), its weights, its input shape and dtype, trust."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.files.loading import BUILTIN
from inspector.core.model.inputs import parse_dtype, parse_shape
from inspector.core.state import ModelRef


class OpenModelDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, last: ModelRef | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("openModelDialog")
        self.setWindowTitle("Open model")
        self.setMinimumWidth(560)
        self.model_edit = QLineEdit(last.spec if last else "")
        self.model_edit.setObjectName("modelSpecEdit")
        self.model_edit.setPlaceholderText(
            "my_nets.py:ResNetish, model.pt (TorchScript), model.pt2"
        )
        self.model_edit.setToolTip(
            "A Python file and the class or no-argument function that builds the model "
            "(file.py:Name), a TorchScript archive, a torch.export .pt2 archive, or a built-in: "
            + ", ".join(BUILTIN)
        )
        self.weights_edit = QLineEdit(last.weights or "" if last else "")
        self.weights_edit.setObjectName("weightsEdit")
        self.weights_edit.setPlaceholderText("optional: a state_dict .pt/.pth or .safetensors")
        self.shape_edit = QLineEdit(
            ",".join(map(str, last.input_shape)) if last and last.input_shape else ""
        )
        self.shape_edit.setObjectName("inputShapeEdit")
        self.shape_edit.setPlaceholderText("optional, e.g. 1,3,64,64 (else inferred)")
        self.dtype_edit = QLineEdit(last.input_dtype or "" if last else "")
        self.dtype_edit.setObjectName("inputDtypeEdit")
        self.dtype_edit.setPlaceholderText(
            "optional: long for token ids, float32, half… (else inferred)"
        )
        self.dtype_edit.setToolTip(
            "The input's dtype: long (int64) for token ids, int32, float32, float16, bfloat16, "
            "...; empty: what the model says (a first nn.Embedding means long ids)"
        )
        self.trust_check = QCheckBox("Trust this checkpoint (allow full unpickling)")
        self.trust_check.setObjectName("trustCheckpointCheck")
        self.trust_check.setChecked(bool(last and last.trust))
        self.trust_check.setToolTip(
            "Checkpoints are read with weights_only=True. A file that needs full unpickling can "
            "run any code it holds: tick this only for files you trust."
        )
        warning = QLabel(
            "<b>Opening a model file runs the program in it</b>: a .py file, a TorchScript .pt "
            "and a .pt2 can run code, read and write files (and so can a trusted checkpoint). "
            "Opening one here is your consent to that: open only files you trust."
        )
        warning.setObjectName("openModelConsentNote")
        warning.setWordWrap(True)
        self.error = QLabel("")
        self.error.setObjectName("openModelError")
        self.error.setStyleSheet("color: #d9534f")
        self.error.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Model", self._with_browse(self.model_edit, self._browse_model))
        form.addRow("Weights", self._with_browse(self.weights_edit, self._browse_weights))
        form.addRow("Input shape", self.shape_edit)
        form.addRow("Input dtype", self.dtype_edit)
        form.addRow("", self.trust_check)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(warning)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.request: ModelRef | None = None

    def _with_browse(self, edit: QLineEdit, slot) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        button = QPushButton("Browse…")
        button.clicked.connect(slot)
        row.addWidget(button)
        return row

    def _browse_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Model file", "", "Models (*.py *.pt *.pth *.pt2);;All files (*)"
        )
        if path:
            self.model_edit.setText(f"{path}:" if path.endswith(".py") else path)

    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Weights", "", "Weights (*.pt *.pth *.safetensors *.bin);;All files (*)"
        )
        if path:
            self.weights_edit.setText(path)

    def read(self) -> ModelRef:
        """What the fields say; raises ValueError with a message for the user."""
        spec = self.model_edit.text().strip()
        if not spec:
            raise ValueError("Say which model to open.")
        if spec.endswith(":"):
            raise ValueError(f"{Path(spec[:-1]).name}: add the class or function name after ':'")
        weights = self.weights_edit.text().strip() or None
        shape = parse_shape(self.shape_edit.text())
        dtype = parse_dtype(self.dtype_edit.text())
        return ModelRef(spec, weights, shape, self.trust_check.isChecked(), dtype)

    def _accept(self) -> None:
        try:
            self.request = self.read()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
