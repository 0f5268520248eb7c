"""The drawing dock: canvas, buttons, brush, the network-input preview and the input note."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inspector.core.model.inputs import (
    MNIST,
    TENSOR,
    InputSpec,
    parse_ids,
    random_input,
    resample_square,
)
from inspector.core.model.preprocess import CANVAS_SIZE, input_map_on_canvas
from inspector.core.state import AppState
from inspector.gui.panels import image_loading
from inspector.gui.panels.array_image import minmax01
from inspector.gui.panels.draw_canvas import DrawCanvas, InputPreview, SquareHolder


class InputEditor(QGroupBox):
    """The input of a model that does not take the drawing: its shape and dtype, and for
    integer inputs (token ids) the ids themselves — random (Re-roll) or typed as numbers.

    Typed ids are checked (``parse_ids``) before anything changes: a mistake is one sentence
    (``problem``) and the text stays in the box to be corrected."""

    idsTyped = Signal(object)  # a valid array of ids of the input's shape
    problem = Signal(str)  # one sentence: why the typed ids were refused

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Input", parent)
        self.setObjectName("inputEditor")
        self.spec: InputSpec | None = None
        self.lists_inputs = False  # it lists every input of a model with several (otherInputs)
        self.shape_label = QLabel("")
        self.shape_label.setObjectName("inputShapeLabel")
        self.shape_label.setWordWrap(True)
        self.shape_label.setMinimumWidth(1)
        self.ids_edit = QLineEdit()
        self.ids_edit.setObjectName("inputIdsEdit")
        self.ids_edit.setToolTip(
            "The token ids the model gets, as whole numbers separated by spaces or commas; "
            "Enter (or Apply) feeds them"
        )
        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("applyIdsButton")
        self.apply_button.setToolTip("Feed the ids typed beside it (Enter does the same)")
        self.error = QLabel("")
        self.error.setObjectName("inputIdsError")
        self.error.setWordWrap(True)
        self.error.setMinimumWidth(1)
        self.error.setStyleSheet("color: #d9534f")
        self.error.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.ids_edit, 1)
        row.addWidget(self.apply_button)
        self.ids_row = QWidget()
        self.ids_row.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        layout = QVBoxLayout(self)
        layout.addWidget(self.shape_label)
        layout.addWidget(self.ids_row)
        layout.addWidget(self.error)
        self.ids_edit.returnPressed.connect(self.apply)
        self.apply_button.clicked.connect(self.apply)
        self.setVisible(False)

    def set_spec(self, spec: InputSpec) -> None:
        self.spec = spec
        self.setVisible(spec.kind == TENSOR or self.lists_inputs)
        dims = "×".join(map(str, spec.shape))
        if spec.is_integer:
            text = f"{dims} {spec.dtype}: ids in [0, {spec.id_bound})"
        else:
            text = f"{dims} {spec.dtype}: random values (Re-roll draws new ones)"
        if spec.source:
            text += f" · shape {_how(spec.source)}"
        self.shape_label.setText(text)
        self.shape_label.setVisible(spec.kind == TENSOR)  # an image's row is in otherInputs
        self.ids_row.setVisible(spec.is_integer)
        self._set_error("")

    def show_values(self, raw: np.ndarray | None) -> None:
        """The ids the model gets now (after a re-roll, a session, typed ids applied)."""
        if self.spec is None or not self.spec.is_integer or raw is None:
            return
        self.ids_edit.setText(" ".join(str(int(v)) for v in np.asarray(raw).reshape(-1)))
        self.ids_edit.setCursorPosition(0)  # the first ids in sight, not the last
        self._set_error("")

    @Slot()
    def apply(self) -> None:
        if self.spec is None or not self.spec.is_integer:
            return
        try:
            ids = parse_ids(self.ids_edit.text(), self.spec)
        except ValueError as exc:
            sentence = str(exc)
            sentence = sentence[0].upper() + sentence[1:]
            self._set_error(f"{sentence}; the input is unchanged.")
            self.problem.emit(f"{sentence}; the input is unchanged.")
            return
        self._set_error("")
        self.idsTyped.emit(ids)

    def _set_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))


def _how(source: str) -> str:
    return "as given" if source == "given" else f"from {source}"


class CanvasPanel(QWidget):
    """Canvas, buttons (clear, random, load, undo), brush size and the network-input preview.

    Writes the drawing, random input and brush to the app state; follows the state back."""

    message = Signal(str)  # for the status bar
    warning = Signal(str)  # for the status bar, as a warning
    imageLoaded = Signal(bool)  # a load_image finished: on the canvas, or refused
    _decoded = Signal(object)  # from the decoding thread

    def __init__(self, state: AppState, spec: InputSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvasPanel")
        self.state = state
        self.canvas = DrawCanvas(state)
        self.preview = InputPreview()
        self.input_spec = spec

        self.clear_button = self._button("Clear", "clearCanvasButton", "Clear the canvas (Delete)")
        self.random_button = self._button(
            "Random",
            "randomInputButton",
            "A random input of the model's shape (torch.randn, as the tutorial)",
        )
        self.load_button = self._button("Load image…", "loadImageButton", "Load a digit image")
        self.undo_button = self._button("Undo", "undoButton", "Undo the last stroke (Ctrl+Z)")
        self.brush_spin = QDoubleSpinBox()
        self.brush_spin.setObjectName("brushSizeSpin")
        self.brush_spin.setRange(0.5, 4.0)
        self.brush_spin.setSingleStep(0.1)
        self.brush_spin.setValue(state.brush_radius)
        self.brush_spin.setSuffix(" cells")
        self.brush_spin.setToolTip("Brush radius in canvas cells")
        self.saliency_check = QCheckBox("Show input gradient")
        self.saliency_check.setObjectName("saliencyCheck")
        self.saliency_check.setToolTip(
            "After Backward: |d loss / d input| in red over the drawing (mapped back through "
            "the cropping and scaling), where changing the ink would change the loss most"
        )
        self.saliency_check.setEnabled(False)
        self._input_grad: np.ndarray | None = None
        self._image_request = 0  # the latest load_image; older decodes are dropped
        self.input_note = QLabel()
        self.input_note.setObjectName("inputNote")
        self.input_note.setWordWrap(True)
        self.input_editor = InputEditor()

        buttons = QHBoxLayout()
        for b in (self.clear_button, self.random_button, self.load_button, self.undo_button):
            buttons.addWidget(b)
        # The canvas is what people use most: it takes the dock's whole width (and grows with
        # it, square); what the network got and the brush sit in one row under it.
        under = QGridLayout()
        under.addWidget(QLabel("Network input"), 0, 0)
        under.addWidget(self.preview, 1, 0, 3, 1)
        under.addWidget(QLabel("Brush"), 0, 1)
        under.addWidget(self.brush_spin, 1, 1)
        under.addWidget(self.saliency_check, 2, 1)
        under.setColumnStretch(1, 1)
        under.setRowStretch(3, 1)
        layout = QVBoxLayout(self)
        self.canvas_holder = SquareHolder(self.canvas)
        layout.addWidget(self.canvas_holder, 1)
        layout.addLayout(buttons)
        layout.addLayout(under)
        layout.addWidget(self.input_editor)
        layout.addWidget(self.input_note)

        self._decoded.connect(self._on_decoded, Qt.ConnectionType.QueuedConnection)
        self.clear_button.clicked.connect(self.canvas.clear)
        self.random_button.clicked.connect(lambda: self.random_input())
        self.load_button.clicked.connect(self.choose_image)
        self.undo_button.clicked.connect(self.canvas.undo)
        self.brush_spin.valueChanged.connect(lambda r: setattr(state, "brush_radius", r))
        self.saliency_check.toggled.connect(self._show_saliency)
        self.input_editor.idsTyped.connect(self._on_ids_typed)
        self.input_editor.problem.connect(self.warning)
        state.on("brush_radius", self._on_brush)
        state.on("raw_input", self._on_raw_input)
        self._apply_spec(spec, seed=state.seed)

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setToolTip(tip)
        return button

    @property
    def raw_input(self) -> np.ndarray | None:
        return self.state.raw_input

    def _on_brush(self, radius: float) -> None:
        with QSignalBlocker(self.brush_spin):
            self.brush_spin.setValue(radius)

    def set_input_gradient(self, grad: np.ndarray | None) -> None:
        """The input gradient of the last backward pass (for the current input)."""
        self._input_grad = grad
        self.saliency_check.setEnabled(grad is not None)
        self._show_saliency()

    @Slot()
    def _show_saliency(self) -> None:
        grad = self._input_grad
        if grad is None or not self.saliency_check.isChecked() or grad.ndim < 3:
            self.canvas.set_saliency(None)  # nothing to show, or not an image to lay over it
            return
        magnitude = np.abs(np.asarray(grad, np.float32).reshape(-1, *grad.shape[-2:])).max(0)
        if self.raw_input is None and self.input_spec.kind == MNIST:
            magnitude = np.abs(input_map_on_canvas(magnitude, self.canvas.drawing))
        elif magnitude.shape != (CANVAS_SIZE, CANVAS_SIZE):
            magnitude = resample_square(magnitude, CANVAS_SIZE)
        self.canvas.set_saliency(minmax01(magnitude) if magnitude.max() > 0 else None)

    def _on_raw_input(self, raw: np.ndarray | None) -> None:
        self.set_input_gradient(None)  # the gradient was for the input before this change
        if raw is None:
            self.canvas.show_overlay(None)
        else:
            plane = raw.reshape(-1, *raw.shape[-2:])[0] if raw.ndim >= 3 else None
            self.canvas.show_overlay(plane)
        self.input_editor.show_values(raw)
        self._update_note()

    def _on_ids_typed(self, ids: np.ndarray) -> None:
        self.state.raw_input = ids
        self.message.emit(f"Feeding the {ids.size} ids typed.")

    @Slot()
    def random_input(self, seed: int | None = None) -> None:
        """A random tensor of the model's input shape (``torch.randn``, as the tutorial feeds
        its LeNet; random ids for token models), drawn from a new seed unless one is given."""
        seed = self.state.seed + 1 if seed is None else seed
        self.state.update(seed=seed, raw_input=random_input(self.input_spec, seed))

    def set_input_spec(self, spec: InputSpec) -> None:
        """What the current model takes: the canvas draws only for image inputs."""
        self._apply_spec(spec, seed=0)

    def _apply_spec(self, spec: InputSpec, seed: int) -> None:
        self.input_spec = spec
        uses_canvas = spec.kind != TENSOR
        self.canvas.setEnabled(uses_canvas)
        # Hidden, not only disabled: an idle 192-pixel canvas squeezed the tensor's editor and
        # the buttons, which then overlapped it (a plain-tensor model at 1600×1000).
        self.canvas_holder.setVisible(uses_canvas)
        for button in (self.clear_button, self.load_button, self.undo_button, self.brush_spin):
            button.setEnabled(uses_canvas)
        self.random_button.setText("Random" if uses_canvas else "Re-roll input")
        self.input_editor.set_spec(spec)
        if uses_canvas:
            self.state.raw_input = None
        else:
            self.random_input(seed=seed)
        self.input_editor.show_values(self.state.raw_input)
        self.set_input_gradient(None)
        self._update_note()

    def _update_note(self) -> None:
        shape = ", ".join(map(str, self.input_spec.shape))
        if self.raw_input is not None and self.input_spec.kind != TENSOR:
            text = f"The network gets torch.randn({shape}) as it is. Draw to go back."
        else:
            text = self.input_spec.describe()
        self.input_note.setText(text)

    @Slot()
    def choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load a digit image", "", "Images (*.png *.jpg *.jpeg *.bmp *.gif *.pgm *.tif)"
        )
        if path:
            self.load_image(Path(path))

    def load_image(self, path: Path) -> bool:
        """Load an image file as the drawing, decoded off the GUI thread; ``imageLoaded(ok)``
        says when it is on the canvas (or why not, in ``message``). False at once, the drawing
        kept, for a file that is missing, not an image, or too big (``check_image``)."""
        path = Path(path)
        problem = image_loading.check_image(path)
        if problem is not None:
            self.message.emit(f"Could not load {path.name}: {problem}. The drawing is kept.")
            return False
        self._image_request += 1
        args = (path, self._image_request)
        threading.Thread(target=self._decode, args=args, name="image-decode", daemon=True).start()
        return True

    def _decode(self, path: Path, request: int) -> None:
        """On a side thread: decode, convert to grey, fit to the canvas (no widget touched)."""
        try:
            drawing, size = image_loading.decode_drawing(path)
            outcome = (request, path.name, drawing, size, "")
        except Exception as exc:  # anything a decoder raises is a refusal, not a crash
            outcome = (request, path.name, None, None, str(exc))
        with contextlib.suppress(RuntimeError):  # the panel was closed meanwhile
            self._decoded.emit(outcome)

    @Slot(object)
    def _on_decoded(self, outcome) -> None:
        request, name, drawing, size, problem = outcome
        if request != self._image_request:
            return  # a newer image was asked for since
        if drawing is None:
            self.message.emit(f"Could not use {name}: {problem}. The drawing is kept.")
            self.imageLoaded.emit(False)
            return
        self.canvas.set_drawing(drawing)
        self.message.emit(f"Loaded {name} ({size[0]}×{size[1]}).")
        self.imageLoaded.emit(True)
