"""The drawing canvas (the whole widget is the 32×32 grid) and the network-input preview."""

from __future__ import annotations

import contextlib
import math
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSignalBlocker, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QImageReader, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..core.brush import DEFAULT_RADIUS, paint_segment
from ..core.images import to_drawing
from ..core.inputs import MNIST, TENSOR, InputSpec, random_input, resample_square
from ..core.preprocess import CANVAS_SIZE, input_map_on_canvas
from ..core.state import AppState
from .array_image import grey_image, heat_image, minmax01
from .frames import PaintTracked

UNDO_DEPTH = 50
# Images bigger than this are refused before decoding (a 16-megapixel photo still loads; the
# 8190² PNG that froze the app for 2.7 s does not): they are digits for a 32×32 canvas.
MAX_IMAGE_SIDE = 4096  # at most 4096×4096 pixels
MAX_IMAGE_BYTES = 50 << 20  # at most 50 MB on disk
DECODE_SIDE = 1024  # bigger images are decoded scaled down where the format can


class DrawCanvas(QWidget):
    """Widget point (x, y) is grid cell (32·x/width, 32·y/height). Left draws, right erases."""

    drawingChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("drawCanvas")
        self.setMinimumSize(192, 192)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Left button: draw · Right button: erase")
        self.drawing = np.zeros((CANVAS_SIZE, CANVAS_SIZE), np.float32)
        self.brush_radius = DEFAULT_RADIUS
        self.overlay: np.ndarray | None = None  # shown instead of the drawing (random input)
        self.saliency: np.ndarray | None = None  # 0-1 |d loss / d input| over the grid
        self._last: tuple[float, float] | None = None
        self._erasing = False
        self._undo: list[np.ndarray] = []
        self._grid_pixmap: QPixmap | None = None

    def sizeHint(self) -> QSize:
        return QSize(320, 320)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    # -- coordinates ----------------------------------------------------------------------
    def to_grid(self, pos: QPointF) -> tuple[float, float]:
        return (
            CANVAS_SIZE * pos.x() / max(1, self.width()),
            CANVAS_SIZE * pos.y() / max(1, self.height()),
        )

    # -- editing --------------------------------------------------------------------------
    def set_drawing(self, drawing: np.ndarray) -> None:
        """Replace the drawing (undoable)."""
        self._push_undo()
        self.drawing = np.asarray(drawing, np.float32).copy()
        self.overlay = None
        self._changed()

    def clear(self) -> None:
        if self.drawing.any() or self.overlay is not None:
            self.set_drawing(np.zeros_like(self.drawing))

    def show_overlay(self, values: np.ndarray | None) -> None:
        """Show ``values`` (e.g. a random input) over the drawing, which is kept underneath."""
        self.overlay = None if values is None else minmax01(np.asarray(values, np.float32))
        self.update()

    def set_saliency(self, values01: np.ndarray | None) -> None:
        """Overlay a 0-1 map (the input gradient's magnitude) in red over the drawing."""
        self.saliency = None if values01 is None else np.asarray(values01, np.float32)
        self.update()

    def undo(self) -> bool:
        if not self._undo:
            return False
        self.drawing = self._undo.pop()
        self.overlay = None
        self._changed()
        return True

    def _push_undo(self) -> None:
        self._undo.append(self.drawing.copy())
        del self._undo[:-UNDO_DEPTH]

    def _changed(self, cells: tuple[int, int, int, int] | None = None) -> None:
        """The drawing changed (within ``cells`` = top, left, bottom, right, if given)."""
        if cells is None:
            self.update()
        else:
            top, left, bottom, right = cells
            sx, sy = self.width() / CANVAS_SIZE, self.height() / CANVAS_SIZE
            x, y = math.floor(left * sx), math.floor(top * sy)
            self.update(x, y, math.ceil(right * sx) - x + 1, math.ceil(bottom * sy) - y + 1)
        self.drawingChanged.emit()

    # -- mouse ----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        if button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return super().mousePressEvent(event)
        self._push_undo()
        self.overlay = None
        self._erasing = button == Qt.MouseButton.RightButton
        self._last = self.to_grid(event.position())
        self._stroke_to(self._last)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._last is None:
            return super().mouseMoveEvent(event)
        self._stroke_to(self.to_grid(event.position()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._last is not None:
            self._stroke_to(self.to_grid(event.position()))
        self._last = None

    def _stroke_to(self, point: tuple[float, float]) -> None:
        start = self._last or point
        cells = paint_segment(self.drawing, start, point, self.brush_radius, self._erasing)
        self._last = point
        self._changed(cells)

    # -- painting -------------------------------------------------------------------------
    def _grid(self) -> QPixmap:
        """Faint cell lines, drawn once per size (a stroke repaints the canvas very often)."""
        ratio = self.devicePixelRatioF()  # sharp lines on high-DPI screens
        wanted = self.size() * ratio
        if self._grid_pixmap is None or self._grid_pixmap.size() != wanted:
            pixmap = QPixmap(wanted)
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            grid = QPainter(pixmap)
            pen = QPen(QColor(255, 255, 255, 22))
            pen.setWidth(0)
            grid.setPen(pen)
            w, h = self.width(), self.height()
            for i in range(1, CANVAS_SIZE):
                x, y = i * w / CANVAS_SIZE, i * h / CANVAS_SIZE
                grid.drawLine(QPointF(x, 0), QPointF(x, h))
                grid.drawLine(QPointF(0, y), QPointF(w, y))
            grid.end()
            self._grid_pixmap = pixmap
        return self._grid_pixmap

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        shown = self.overlay if self.overlay is not None else self.drawing
        painter.drawImage(QRectF(self.rect()), grey_image(shown))
        if self.saliency is not None:
            painter.drawImage(QRectF(self.rect()), heat_image(self.saliency))
        painter.drawPixmap(0, 0, self._grid())
        if self.overlay is not None:
            painter.setPen(QColor(255, 210, 80))
            painter.drawText(self.rect().adjusted(6, 4, -6, -4), "torch.randn(1, 1, 32, 32)")
        painter.end()


class SquareHolder(QWidget):
    """Keeps its one child the largest centred square, so the canvas's cells stay square."""

    def __init__(self, child: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.child = child
        child.setParent(self)
        self.setMinimumSize(child.minimumSize())
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return self.child.sizeHint()

    def resizeEvent(self, event) -> None:
        side = min(self.width(), self.height())
        self.child.setGeometry((self.width() - side) // 2, (self.height() - side) // 2, side, side)


class InputPreview(PaintTracked, QWidget):
    """The tensor the network actually got, drawn nearest-neighbour, min-max scaled."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inputPreview")
        self.setFixedSize(96, 96)
        self.setToolTip(
            "What the network gets: the drawing cropped, scaled to 20×20, centred by "
            "mass in 28×28, padded to 32×32 and normalised like MNIST"
        )
        self._image = QImage()

    def show_input(self, values: np.ndarray, request_id: int) -> None:
        plane = np.asarray(values, np.float32).reshape(-1, *values.shape[-2:])[0]
        self._image = grey_image(minmax01(plane))
        self.shown_request_id = request_id
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0))
        if not self._image.isNull():
            painter.drawImage(QRectF(self.rect()), self._image)
        painter.end()
        self.mark_painted()


class CanvasPanel(QWidget):
    """Canvas, buttons (clear, random, load, undo), brush size and the network-input preview.

    Writes the drawing, random input and brush to the app state; follows the state back."""

    message = Signal(str)  # for the status bar
    imageLoaded = Signal(bool)  # a load_image finished: on the canvas, or refused
    _decoded = Signal(object)  # from the decoding thread

    def __init__(self, state: AppState, spec: InputSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvasPanel")
        self.state = state
        self.canvas = DrawCanvas()
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

        buttons = QHBoxLayout()
        for b in (self.clear_button, self.random_button, self.load_button, self.undo_button):
            buttons.addWidget(b)
        side = QGridLayout()
        side.addWidget(QLabel("Network input"), 0, 0)
        side.addWidget(self.preview, 1, 0)
        side.addWidget(QLabel("Brush"), 2, 0)
        side.addWidget(self.brush_spin, 3, 0)
        side.addWidget(self.saliency_check, 4, 0)
        side.setRowStretch(5, 1)
        top = QHBoxLayout()
        top.addWidget(SquareHolder(self.canvas), 1)
        top.addLayout(side)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.input_note)

        self.canvas.drawingChanged.connect(self._on_drawing_changed)
        self._decoded.connect(self._on_decoded, Qt.ConnectionType.QueuedConnection)
        self.clear_button.clicked.connect(self.canvas.clear)
        self.random_button.clicked.connect(lambda: self.random_input())
        self.load_button.clicked.connect(self.choose_image)
        self.undo_button.clicked.connect(self.canvas.undo)
        self.brush_spin.valueChanged.connect(lambda r: setattr(state, "brush_radius", r))
        self.saliency_check.toggled.connect(self._show_saliency)
        state.on("brush_radius", self._on_brush)
        state.on("raw_input", self._on_raw_input)
        self.canvas.brush_radius = state.brush_radius
        self._update_note()

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setToolTip(tip)
        return button

    @property
    def raw_input(self) -> np.ndarray | None:
        return self.state.raw_input

    def _on_brush(self, radius: float) -> None:
        self.canvas.brush_radius = radius
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

    @Slot()
    def _on_drawing_changed(self) -> None:
        # Drawing again means the drawing is the input again.
        self.state.update(drawing=self.canvas.drawing.copy(), raw_input=None)

    def _on_raw_input(self, raw: np.ndarray | None) -> None:
        self.set_input_gradient(None)  # the gradient was for the input before this change
        if raw is None:
            self.canvas.show_overlay(None)
        else:
            plane = raw.reshape(-1, *raw.shape[-2:])[0] if raw.ndim >= 3 else None
            self.canvas.show_overlay(plane)
        self._update_note()

    @Slot()
    def random_input(self, seed: int | None = None) -> None:
        """A random tensor of the model's input shape (``torch.randn``, as the tutorial feeds
        its LeNet; random ids for token models), drawn from a new seed unless one is given."""
        seed = self.state.seed + 1 if seed is None else seed
        self.state.update(seed=seed, raw_input=random_input(self.input_spec, seed))

    def restore(self, drawing: np.ndarray, raw: np.ndarray | None) -> None:
        """Put back a saved drawing and random input (a session being opened)."""
        self.canvas.set_drawing(drawing)
        if raw is not None and tuple(raw.shape) == self.input_spec.shape:
            self.state.raw_input = np.array(raw, copy=True)

    def set_input_spec(self, spec: InputSpec) -> None:
        """What the current model takes: the canvas draws only for image inputs."""
        self.input_spec = spec
        uses_canvas = spec.kind != TENSOR
        self.canvas.setEnabled(uses_canvas)
        for button in (self.clear_button, self.load_button, self.undo_button):
            button.setEnabled(uses_canvas)
        self.random_button.setText("Random" if uses_canvas else "Re-roll input")
        if uses_canvas:
            self.state.raw_input = None
        else:
            self.random_input(seed=0)
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
        says when it is on the canvas (or why not, in ``message``). Returns False at once, the
        drawing kept, for a file that is missing, not an image, or too big to decode
        (``check_image``); True when decoding has started."""
        path = Path(path)
        problem = check_image(path)
        if problem is not None:
            self.message.emit(f"Could not load {path.name}: {problem}. The drawing is kept.")
            return False
        self._image_request += 1
        request = self._image_request
        threading.Thread(
            target=self._decode, args=(path, request), name="image-decode", daemon=True
        ).start()
        return True

    def _decode(self, path: Path, request: int) -> None:
        """On a side thread: decode, convert to grey, fit to the canvas (no widget touched)."""
        try:
            drawing, size = decode_drawing(path)
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


def check_image(path: Path) -> str | None:
    """Why ``path`` cannot be loaded as a digit image without decoding it, or None: missing,
    not an image Qt reads, over ``MAX_IMAGE_BYTES`` on disk or ``MAX_IMAGE_SIDE``² pixels
    (read from the header only)."""
    if not path.exists():
        return "file not found"
    if not path.is_file():
        return "not a file"
    size_bytes = path.stat().st_size
    if size_bytes > MAX_IMAGE_BYTES:
        return (
            f"the file is {size_bytes / 2**20:.0f} MB, over the {MAX_IMAGE_BYTES >> 20} MB "
            "an image may be here"
        )
    reader = QImageReader(str(path))
    if not reader.canRead():
        return "not a readable image"
    size = reader.size()
    if size.isValid() and size.width() * size.height() > MAX_IMAGE_SIDE**2:
        return (
            f"it is {size.width()}×{size.height()} pixels, over the "
            f"{MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} an image may be here"
        )
    return None


def decode_drawing(path: Path) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode ``path`` (any thread) to a canvas drawing and its size; ``ValueError`` if not."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    reader.setAllocationLimit(2 * (MAX_IMAGE_SIDE**2 * 4 >> 20))  # MB: a header that lied
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > DECODE_SIDE:
        # The canvas is 32×32: formats that can (JPEG) decode straight to a smaller size.
        keep = Qt.AspectRatioMode.KeepAspectRatio
        reader.setScaledSize(size.scaled(DECODE_SIDE, DECODE_SIDE, keep))
    image = reader.read()
    if image.isNull():
        raise ValueError(reader.errorString() or "not a readable image")
    w0, h0 = (size.width(), size.height()) if size.isValid() else (image.width(), image.height())
    grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
    w, h, stride = grey.width(), grey.height(), grey.bytesPerLine()
    buffer = np.frombuffer(grey.constBits(), np.uint8, count=stride * h)
    pixels = buffer.reshape(h, stride)[:, :w].astype(np.float32)
    return to_drawing(pixels, CANVAS_SIZE), (w0, h0)
