"""A module's parameters: conv kernels as out×in tiles, matrices, bias strips, histograms."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from inspector.core.forward.results import ParametersResult
from inspector.core.graph.palette import PANEL_BACKGROUND
from inspector.gui.panels.path_title import PathTitle

NOTHING_SELECTED = "Select a module in the tree to see its weights."
STRIP_ROW = 110  # pixels for a bias (title, strip and a small histogram)
IMAGE_ROW = 240


class WeightsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("weightsPanel")
        self.title = PathTitle(NOTHING_SELECTED)
        self.title.setObjectName("weightsTitle")
        # Long dotted names have no place to wrap: they must not widen the dock (and window).
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout = QLabel("")
        self.readout.setObjectName("weightsReadout")
        self.grad_check = QCheckBox("Show .grad")
        self.grad_check.setObjectName("weightsGradCheck")
        self.grad_check.setToolTip("Show each parameter's gradient (filled by Backward) instead")
        self.grad_check.toggled.connect(self._redraw)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setObjectName("weightsView")
        self.view.setBackground(PANEL_BACKGROUND)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.view)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.grad_check)
        layout.addLayout(header)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.readout)
        self.result: ParametersResult | None = None
        self._images: list[tuple[pg.ImageItem, object, str]] = []
        # What the plots on screen were built for, and their histogram curves: a result with
        # the same layout (training refreshes, Update weights) only swaps images and data,
        # since building the plots again costs ~80 ms of the GUI thread for LeNet's conv1.
        self._layout: tuple | None = None
        self._curves: list[pg.PlotDataItem | None] = []
        self.view.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def clear(self) -> None:
        self.result = None
        self._images, self._curves, self._layout = [], [], None
        self.view.clear()
        self.title.set_plain(NOTHING_SELECTED)

    @property
    def showing_grad(self) -> bool:
        return self.grad_check.isChecked()

    def _redraw(self) -> None:
        if self.result is not None:
            self.show_parameters(self.result)

    def show_parameters(self, result: ParametersResult) -> None:
        self.result = result
        layout = _layout_of(result, self.showing_grad)
        if layout == self._layout:
            self._swap_values(result)
            return
        self.view.clear()
        self._images, self._curves, self._layout = [], [], layout
        if result.comparison and not self.showing_grad:
            self._show_comparison(result)
            return
        grad = self.showing_grad
        self._title(result)
        for row, param in enumerate(result.parameters):
            shown = param.grad_picture if grad else param.picture
            title = f"{param.name}.grad [{param.title.split('[', 1)[1]}" if grad else param.title
            if shown is None:
                self.view.addLabel(f"{title}: no gradient yet (press Backward)", row=row, col=0)
                continue
            heatmap = shown.heatmap
            view = self._image_plot(
                row, 0, _short(title, result.module), shown.rgba, heatmap, title
            )
            view.setObjectName(param.name)
            hist = self.view.addPlot(row=row, col=1, title="histogram")
            hist.setMouseEnabled(x=False, y=False)
            hist.setMenuEnabled(False)
            hist.hideButtons()
            self._curves.append(
                hist.plot(
                    shown.edges, shown.counts, stepMode="center", fillLevel=0, brush="#4f8cc980"
                )
                if len(shown.counts)
                else None
            )
            hist.setMaximumWidth(150)  # the kernels get the room
            if heatmap.is_strip:
                self.view.ci.layout.setRowMaximumHeight(row, STRIP_ROW)
            else:
                self.view.ci.layout.setRowPreferredHeight(row, IMAGE_ROW)
        total = sum(
            STRIP_ROW if p.picture.heatmap.is_strip else IMAGE_ROW for p in result.parameters
        )
        self.view.setMinimumHeight(max(120, total))

    def _title(self, result: ParametersResult) -> None:
        note = f"<br><i>{html.escape(result.note)}</i>" if result.note else ""
        self.title.set_title(result.module or "(model)", [p.title for p in result.parameters], note)

    def _swap_values(self, result: ParametersResult) -> None:
        """The same plots with the new values: images, histograms and the hover's heatmaps."""
        if result.comparison and not self.showing_grad:
            self._show_comparison(result, reuse=True)
            return
        self._title(result)
        shown = [p.grad_picture if self.showing_grad else p.picture for p in result.parameters]
        shown = [s for s in shown if s is not None]
        for i, (picture, curve) in enumerate(zip(shown, self._curves, strict=True)):
            image, _, hover = self._images[i]
            image.setImage(picture.rgba)
            self._images[i] = (image, picture.heatmap, hover)
            if curve is not None:
                curve.setData(picture.edges, picture.counts)

    def _on_mouse_moved(self, pos) -> None:
        for image, heatmap, title in self._images:
            if not image.sceneBoundingRect().contains(pos):
                continue
            point = image.mapFromScene(pos)
            r, c = int(np.floor(point.y())), int(np.floor(point.x()))
            where = heatmap.describe(r, c)
            if where is not None:
                self.readout.setText(f"{title} {where} = {float(heatmap.image[r, c]):.4g}")
            return

    def _image_plot(self, row: int, col: int, title: str, rgba, heatmap, hover: str):
        view = self.view.addPlot(row=row, col=col, title=title)
        view.invertY(True)
        view.hideAxis("bottom")
        view.hideAxis("left")
        view.setMouseEnabled(x=False, y=False)
        view.setMenuEnabled(False)
        view.hideButtons()
        image = pg.ImageItem(rgba, axisOrder="row-major")
        view.addItem(image)
        h, w = heatmap.image.shape
        if not heatmap.is_strip:
            view.setAspectLocked(True)
        view.setRange(xRange=(0, w), yRange=(0, h), padding=0.02)
        self._images.append((image, heatmap, hover))
        return view

    # -- compare: A | B | B − A for each parameter ----------------------------------------------

    def _show_comparison(self, result: ParametersResult, reuse: bool = False) -> None:
        """Each parameter as A (pinned) | B (now) | B − A; A and B on one scale, B − A on its
        own, centred on 0. ``reuse``: the plots are there, only their values change."""
        module = result.module or "(model)"
        changed = [c for c in result.comparison if c.relative > 0]
        self.title.set_title(
            module,
            suffix=" A | B | B − A — "
            + (
                ", ".join(f"{html.escape(c.name)} Δ {c.relative:.1%}" for c in changed)
                or "unchanged"
            ),
        )
        if reuse:
            for row, c in enumerate(result.comparison):
                pictures = (
                    (c.rgba_a, c.heatmap),
                    (c.rgba_b, c.heatmap),
                    (c.rgba_diff, c.diff_heatmap),
                )
                for col, (rgba, heatmap) in enumerate(pictures):
                    image, _, hover = self._images[3 * row + col]
                    image.setImage(rgba)
                    self._images[3 * row + col] = (image, heatmap, hover)
                self.view.getItem(row, 2).setTitle(f"B − A (±{c.diff_levels[1]:.3g})")
            return
        for row, c in enumerate(result.comparison):
            short = _short(c.title, result.module)
            self._image_plot(row, 0, f"A {short}", c.rgba_a, c.heatmap, f"A {c.title}")
            self._image_plot(row, 1, "B", c.rgba_b, c.heatmap, f"B {c.title}")
            diff = f"B − A (±{c.diff_levels[1]:.3g})"
            self._image_plot(row, 2, diff, c.rgba_diff, c.diff_heatmap, f"B − A {c.title}")
            if c.heatmap.is_strip:
                self.view.ci.layout.setRowMaximumHeight(row, STRIP_ROW)
            else:
                self.view.ci.layout.setRowPreferredHeight(row, IMAGE_ROW)
        for col in range(3):
            self.view.ci.layout.setColumnStretchFactor(col, 1)
        total = sum(STRIP_ROW if c.heatmap.is_strip else IMAGE_ROW for c in result.comparison)
        self.view.setMinimumHeight(max(120, total))


def _layout_of(result: ParametersResult, grad: bool) -> tuple:
    """What decides the plots: which pictures, their shapes and kinds (not their values)."""
    if result.comparison and not grad:
        kept = [(c.title, c.heatmap.image.shape, c.heatmap.is_strip) for c in result.comparison]
        return ("compare", result.module, *kept)
    shown = [(p, p.grad_picture if grad else p.picture) for p in result.parameters]
    kept = [
        (p.title, None)
        if s is None
        else (p.title, s.heatmap.image.shape, s.heatmap.is_strip, bool(len(s.counts)))
        for p, s in shown
    ]
    return (grad, result.module, *kept)


TITLE_CHARS = 30  # a plot title longer than this is cut off in the dock's usual width


def _short(title: str, module: str) -> str:
    """``resnet.embedder.convolution.weight [8, 3, 7, 7]`` → ``weight [8, 3, 7, 7]`` when the
    whole name would not fit (the panel's title above names the module)."""
    if len(title) <= TITLE_CHARS or not module or not title.startswith(module + "."):
        return title
    return title[len(module) + 1 :]
