"""Writing what is on screen: the graph (JSON, DOT, SVG, PNG), activations, weights, the window.

Every file is written atomically (``core.io``): a failed or killed export never leaves a
half-written file where the previous one was.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRectF, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QFileDialog, QGraphicsScene, QWidget

from inspector.core.files.io import atomic_save_npy, atomic_write
from inspector.core.graph.export import TEXT_FORMATS, write_text_format
from inspector.core.graph.svg import write_svg
from inspector.gui.graph.view import GraphScene
from inspector.gui.theme import PANEL_BACKGROUND

GRAPH_FORMATS = (*TEXT_FORMATS, "svg", "png")
MAX_PNG_SIDE = 16_000


def render_svg(scene: GraphScene, path: Path) -> None:
    """The scene's picture, as it shows it (visited, carried, outlined), written as text."""
    write_svg(scene.graph, scene.layout, path, scene.style())


def render_png(scene: QGraphicsScene, path: Path) -> None:
    rect = scene.sceneRect()
    scale = min(1.0, MAX_PNG_SIDE / max(rect.width(), rect.height(), 1.0))
    image = QImage(
        int(rect.width() * scale), int(rect.height() * scale), QImage.Format.Format_RGB32
    )
    image.fill(QColor(PANEL_BACKGROUND))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    scene.render(painter, QRectF(image.rect()), rect)
    painter.end()
    save_image(image, path)


def save_image(image: QImage | QPixmap, path: Path) -> None:
    """A QImage or QPixmap as PNG, atomically; ``OSError`` if Qt could not write it."""

    def write(tmp: Path) -> None:
        if not image.save(str(tmp), "PNG"):
            raise OSError(f"could not write {path}")

    atomic_write(path, write)


def export_graph(record, scene: GraphScene | None, path: Path, fmt: str | None = None) -> str:
    """Write ``record`` (and its drawn ``scene`` for svg/png) to ``path``; returns the format."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in GRAPH_FORMATS:
        raise ValueError(
            f"{path.name}: unknown format {fmt!r}; use one of {', '.join(GRAPH_FORMATS)}"
        )
    if fmt in TEXT_FORMATS:
        write_text_format(record, path, fmt)
    else:
        if scene is None:
            raise ValueError("no graph has been drawn yet")
        (render_svg if fmt == "svg" else render_png)(scene, path)
    return fmt


class Exporter(QObject):
    """The File > Export actions: the panels it writes and the compute whose last result it
    saves; the window it pictures and its dialogs belong to is its Qt parent."""

    message = Signal(str, bool)  # a sentence, whether it is a warning

    def __init__(self, compute, tabs, graph, activations, weights, parent: QWidget) -> None:
        super().__init__(parent)
        self.compute, self.tabs = compute, tabs
        self.graph, self.activations, self.weights = graph, activations, weights

    def _ask(self, title: str, name: str, filters: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self.parent(), title, name, filters)
        return Path(path) if path else None

    @Slot()
    def export_current(self) -> None:
        if self.tabs.currentWidget() is self.graph and self.graph.stepper is not None:
            self.export_graph()
        else:
            self.export_activations()

    @Slot()
    def export_graph(self) -> None:
        graph = self.graph
        record = graph.stepper.record if graph.stepper else None
        if record is None:
            self.message.emit("Nothing to export yet: press Backward first.", True)
            return
        path = self._ask(
            "Export autograd graph",
            "autograd_graph.svg",
            "SVG (*.svg);;PNG (*.png);;JSON (*.json);;Graphviz DOT (*.dot)",
        )
        if path is None:
            return
        try:
            fmt = export_graph(record, graph.scene, path)
        except (OSError, ValueError) as exc:
            self.message.emit(f"Could not export to {path.name}: {exc}", True)
            return
        self.message.emit(f"Exported the graph as {fmt.upper()} to {path}.", False)

    @Slot()
    def export_activations(self) -> None:
        path = self._ask(
            "Export activations", "activations.png", "PNG image (*.png);;NumPy array (*.npy)"
        )
        if path is not None:
            self.write_activations(path)

    def write_activations(self, path: Path, step: int = 0) -> bool:
        """The panel as shown (``.png``) or one step's values (``.npy``, step ``step``)."""
        result = self.compute.last_result
        if path.suffix == ".npy":
            if result is None or not result.steps:
                return False
            values = result.steps[min(step, len(result.steps) - 1)].heatmap.image
            return self._write(path, lambda: atomic_save_npy(path, values))
        pixmap = self.activations.column.grab()
        return self._write(path, lambda: save_image(pixmap, path))

    @Slot()
    def export_weights(self) -> None:
        path = self._ask("Export weights", "weights.png", "PNG image (*.png);;NumPy array (*.npy)")
        if path is None:
            return
        if path.suffix == ".npy":
            result = self.weights.result
            if result is None or not result.parameters:
                self.message.emit("Select a module with parameters first.", True)
                return
            values = result.parameters[0].values
            self._write(path, lambda: atomic_save_npy(path, values))
        else:
            pixmap = self.weights.view.grab()
            self._write(path, lambda: save_image(pixmap, path))

    @Slot()
    def export_window(self) -> None:
        path = self._ask("Export window", "net-inspector.png", "PNG image (*.png)")
        if path is not None:
            pixmap = self.parent().grab()
            self._write(path, lambda: save_image(pixmap, path))

    def _write(self, path: Path, save) -> bool:
        """``save()`` (it writes ``path`` atomically), and say how it went."""
        try:
            save()
        except OSError as exc:
            self.message.emit(f"Could not write {path.name}: {exc}", True)
            return False
        self.message.emit(f"Wrote {path}.", False)
        return True
