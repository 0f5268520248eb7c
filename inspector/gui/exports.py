"""Writing what is on screen: the graph (JSON, DOT, SVG, PNG), activations, weights, the window.

Every file is written atomically (``core.io``): a failed or killed export never leaves a
half-written file where the previous one was.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRectF, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QFileDialog, QGraphicsScene

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
    """The File > Export actions of one window."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window

    def _ask(self, title: str, name: str, filters: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self.window, title, name, filters)
        return Path(path) if path else None

    @Slot()
    def export_current(self) -> None:
        w = self.window
        if w.tabs.currentWidget() is w.graph and w.graph.stepper is not None:
            self.export_graph()
        else:
            self.export_activations()

    @Slot()
    def export_graph(self) -> None:
        w = self.window
        record = w.graph.stepper.record if w.graph.stepper else None
        if record is None:
            w.show_message("Nothing to export yet: press Backward first.", warning=True)
            return
        path = self._ask(
            "Export autograd graph",
            "autograd_graph.svg",
            "SVG (*.svg);;PNG (*.png);;JSON (*.json);;Graphviz DOT (*.dot)",
        )
        if path is None:
            return
        try:
            fmt = export_graph(record, w.graph.scene, path)
        except (OSError, ValueError) as exc:
            w.show_message(f"Could not export to {path.name}: {exc}", warning=True)
            return
        w.show_message(f"Exported the graph as {fmt.upper()} to {path}.")

    @Slot()
    def export_activations(self) -> None:
        path = self._ask(
            "Export activations", "activations.png", "PNG image (*.png);;NumPy array (*.npy)"
        )
        if path is not None:
            self.write_activations(path)

    def write_activations(self, path: Path, step: int = 0) -> bool:
        """The panel as shown (``.png``) or one step's values (``.npy``, step ``step``)."""
        result = self.window.last_result
        if path.suffix == ".npy":
            if result is None or not result.steps:
                return False
            values = result.steps[min(step, len(result.steps) - 1)].heatmap.image
            return self._write(path, lambda: atomic_save_npy(path, values))
        pixmap = self.window.activations.column.grab()
        return self._write(path, lambda: save_image(pixmap, path))

    @Slot()
    def export_weights(self) -> None:
        w = self.window
        path = self._ask("Export weights", "weights.png", "PNG image (*.png);;NumPy array (*.npy)")
        if path is None:
            return
        if path.suffix == ".npy":
            result = w.weights.result
            if result is None or not result.parameters:
                w.show_message("Select a module with parameters first.", warning=True)
                return
            values = result.parameters[0].values
            self._write(path, lambda: atomic_save_npy(path, values))
        else:
            pixmap = w.weights.view.grab()
            self._write(path, lambda: save_image(pixmap, path))

    @Slot()
    def export_window(self) -> None:
        path = self._ask("Export window", "net-inspector.png", "PNG image (*.png)")
        if path is not None:
            pixmap = self.window.grab()
            self._write(path, lambda: save_image(pixmap, path))

    def _write(self, path: Path, save) -> bool:
        """``save()`` (it writes ``path`` atomically), and say how it went."""
        try:
            save()
        except OSError as exc:
            self.window.show_message(f"Could not write {path.name}: {exc}", warning=True)
            return False
        self.window.show_message(f"Wrote {path}.")
        return True
