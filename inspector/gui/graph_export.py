"""Writing the graph scene as SVG or PNG (JSON and DOT come from ``core.graph_export``)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsScene

from ..core.graph_export import TEXT_FORMATS, write_text_format

FORMATS = (*TEXT_FORMATS, "svg", "png")
MAX_PNG_SIDE = 16_000


def render_svg(scene: QGraphicsScene, path: Path) -> None:
    rect = scene.sceneRect()
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(int(rect.width()), int(rect.height())))
    generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
    generator.setTitle("Autograd graph (Net Inspector)")
    painter = QPainter(generator)
    scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
    painter.end()


def render_png(scene: QGraphicsScene, path: Path) -> None:
    rect = scene.sceneRect()
    scale = min(1.0, MAX_PNG_SIDE / max(rect.width(), rect.height(), 1.0))
    image = QImage(
        int(rect.width() * scale), int(rect.height() * scale), QImage.Format.Format_RGB32
    )
    image.fill(QColor("#16181c"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    scene.render(painter, QRectF(image.rect()), rect)
    painter.end()
    if not image.save(str(path)):
        raise OSError(f"could not write {path}")


def export_graph(record, scene: QGraphicsScene | None, path: Path, fmt: str | None = None) -> str:
    """Write ``record`` (and its drawn ``scene`` for svg/png) to ``path``; returns the format."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"{path.name}: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt in TEXT_FORMATS:
        write_text_format(record, path, fmt)
    else:
        if scene is None:
            raise ValueError("no graph has been drawn yet")
        (render_svg if fmt == "svg" else render_png)(scene, path)
    return fmt
