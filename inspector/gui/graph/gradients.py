"""The current node's gradients beside the graph: what came in, what was sent on, and the
tensors the op saved for backward, each as a small heatmap with its statistics."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from inspector.core.forward.heatmaps import picture
from inspector.core.graph.autograd import SavedTensor, format_shape
from inspector.core.graph.backward import GradInfo
from inspector.core.graph.palette import PANEL_BACKGROUND


def grad_text(info: GradInfo) -> str:
    stats = f"norm {info.norm:.4g} · min {info.min:.4g} · max {info.max:.4g}"
    return f"{format_shape(info.shape)}<br>{stats}"


class GradientPanel(QScrollArea):
    """The gradients that came into the current node and the ones it sent on, as heatmaps.

    Plain word-wrapped labels with a small heatmap view under each, in a vertical scroll
    area, so that long shapes and names never push the pictures out of sight.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("gradientPanel")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(240)
        self.shown: list[tuple[str, GradInfo]] = []
        self.saved_shown: dict[str, np.ndarray] = {}
        self._body = QWidget()
        self._layout = QVBoxLayout(self._body)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self.setWidget(self._body)

    def _label(self, html: str) -> None:
        label = QLabel(html)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout.addWidget(label)

    savedRequested = Signal(str)  # the name of a saved tensor whose values the user asked for

    def show_node(
        self,
        title: str,
        sections: list[tuple[str, list[tuple[str, GradInfo | None]]]],
        saved: list[SavedTensor] = (),
    ):
        """``sections``: (heading, [(name, gradient or None)]) pairs, e.g. incoming, outgoing;
        ``saved``: the node's saved tensors, each with a button that fetches its values."""
        body = QWidget()
        self._layout = QVBoxLayout(body)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self.shown = []
        self.saved_shown: dict[str, np.ndarray] = {}
        self._saved_buttons: dict[str, QPushButton] = {}
        self._label(f"<b>{title}</b>")
        for heading, grads in sections:
            self._label(f"<span style='color:#d9822b'><b>{heading}</b></span>")
            if not grads:
                self._label("<i>none</i>")
            for name, info in grads:
                if info is None:
                    self._label(f"{name}: <i>None (no gradient sent)</i>")
                    continue
                self._label(f"{name}<br><small>{grad_text(info)}</small>")
                self.shown.append((name, info))
                if info.values is None:
                    self._label("<i>too large to keep: statistics only</i>")
                else:
                    self._layout.addWidget(self._heatmap(name, info.values, info.shape))
        if saved:
            self._label("<span style='color:#d9822b'><b>saved for backward</b></span>")
        for tensor in saved:
            if tensor.shape is None:
                self._label(f"{tensor.name} = {tensor.value}")
                continue
            button = QPushButton(f"{tensor.name} {format_shape(tensor.shape)}: show values")
            button.setObjectName(f"saved_{tensor.name}")
            button.setToolTip("Read this saved tensor from the recorded graph and show it")
            button.clicked.connect(lambda _=False, n=tensor.name: self.savedRequested.emit(n))
            self._layout.addWidget(button)
            self._saved_buttons[tensor.name] = button
        self._layout.addStretch(1)
        self.setWidget(body)  # the old body is deleted with its children
        self._body = body

    def show_saved(self, name: str, values: np.ndarray | None) -> None:
        """Put a saved tensor's values where its button was."""
        button = self._saved_buttons.pop(name, None)
        if button is None or values is None:
            return
        index = self._layout.indexOf(button)
        button.deleteLater()
        shape = tuple(values.shape)
        self._layout.insertWidget(index, self._heatmap(name, values, shape))
        caption = (
            QLabel(
                f"{name} {format_shape(shape)}<br><small>min {np.nanmin(values):.4g} "
                f"· max {np.nanmax(values):.4g}</small>"
            )
            if values.size
            else QLabel(name)
        )
        caption.setWordWrap(True)
        self._layout.insertWidget(index, caption)
        self.saved_shown[name] = values

    @staticmethod
    def _heatmap(name: str, values: np.ndarray, shape) -> pg.GraphicsLayoutWidget:
        heatmap, rgba = picture(values)
        widget = pg.GraphicsLayoutWidget()
        widget.setBackground(PANEL_BACKGROUND)
        widget.ci.setContentsMargins(0, 0, 0, 0)
        view = widget.addViewBox(invertY=True, enableMouse=False)
        view.setMenuEnabled(False)
        image = pg.ImageItem(rgba)
        image.setToolTip(f"{name} {format_shape(shape)}")
        view.addItem(image)
        h, w = heatmap.image.shape
        if heatmap.is_strip:
            widget.setFixedHeight(26)
        else:
            view.setAspectLocked(True)
            widget.setMinimumHeight(60)
            widget.setMaximumHeight(170)
        view.setRange(xRange=(0, w), yRange=(0, h), padding=0.02)
        return widget
