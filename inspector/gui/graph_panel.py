"""The autograd graph tab: the graph, the stepping controls, and the current node's gradients."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.autograd_graph import PARAM, format_shape
from ..core.backward import GradInfo
from ..core.colormap import colorize
from ..core.heatmaps import any_heatmap, finite_range
from ..core.results import BackwardResult
from ..core.stepping import Stepper
from .graph_view import GraphScene, GraphView

PLAY_INTERVAL_MS = 350


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
        self._body = QWidget()
        self._layout = QVBoxLayout(self._body)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self.setWidget(self._body)

    def _label(self, html: str) -> None:
        label = QLabel(html)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout.addWidget(label)

    def show_node(self, title: str, sections: list[tuple[str, list[tuple[str, GradInfo | None]]]]):
        """``sections``: (heading, [(name, gradient or None)]) pairs, e.g. incoming, outgoing."""
        body = QWidget()
        self._layout = QVBoxLayout(body)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self.shown = []
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
                    self._layout.addWidget(self._heatmap(name, info))
        self._layout.addStretch(1)
        self.setWidget(body)  # the old body is deleted with its children
        self._body = body

    @staticmethod
    def _heatmap(name: str, info: GradInfo) -> pg.GraphicsLayoutWidget:
        heatmap = any_heatmap(info.values)
        widget = pg.GraphicsLayoutWidget()
        widget.setBackground("#16181c")
        widget.ci.setContentsMargins(0, 0, 0, 0)
        view = widget.addViewBox(invertY=True, enableMouse=False)
        view.setMenuEnabled(False)
        image = pg.ImageItem(colorize(heatmap.image, finite_range([heatmap.image])))
        image.setToolTip(f"{name} {format_shape(info.shape)}")
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


class GraphPanel(QWidget):
    """Stepping buttons, the graph view and the gradient side panel."""

    nodeSelected = Signal(int)  # a node was clicked (for linking to the module tree)
    stepChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("graphPanel")
        self.view = GraphView()
        self.gradients = GradientPanel()
        self.result: BackwardResult | None = None
        self.stepper: Stepper | None = None
        self.scene: GraphScene | None = None

        def button(text: str, name: str, tip: str) -> QPushButton:
            b = QPushButton(text)
            b.setObjectName(name)
            b.setToolTip(tip)
            b.setEnabled(False)
            return b

        self.reset_button = button("Reset", "backwardResetButton", "Back to before the first node")
        self.prev_button = button("◀ Back", "backwardPrevButton", "Step back (Shift+Space)")
        self.step_button = button("Step ▶", "backwardStepButton", "Run the next node (Space)")
        self.play_button = button("Play", "backwardPlayButton", "Step through every node")
        self.fit_button = button("Fit", "graphFitButton", "Fit the graph in the view")
        self.node_label = QLabel("Press Backward to build the autograd graph of the loss.")
        self.node_label.setObjectName("backwardNodeLabel")
        # A long node label must not widen the whole window.
        self.node_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.node_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        controls = QHBoxLayout()
        for b in (self.reset_button, self.prev_button, self.step_button, self.play_button):
            controls.addWidget(b)
        controls.addWidget(self.node_label, 1)
        controls.addWidget(self.fit_button)

        self.placeholder = QLabel(
            "The autograd graph of the loss appears here.\n\n"
            "Pick a loss and press Backward: every node of loss.grad_fn is recorded as the engine "
            "runs it.\nThen Step (Space) walks the backward pass node by node."
        )
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setObjectName("graphPlaceholder")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.view)
        splitter = QSplitter()
        splitter.addWidget(self.stack)
        splitter.addWidget(self.gradients)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(controls)
        layout.addWidget(splitter, 1)

        self.play_timer = QTimer(self)
        self.play_timer.setInterval(PLAY_INTERVAL_MS)
        self.play_timer.timeout.connect(self._play_tick)
        self.reset_button.clicked.connect(self.reset)
        self.prev_button.clicked.connect(self.back)
        self.step_button.clicked.connect(self.step)
        self.play_button.clicked.connect(self.toggle_play)
        self.fit_button.clicked.connect(self.view.fit)

    # -- a new backward pass ----------------------------------------------------------------
    def show_backward(self, result: BackwardResult) -> None:
        self.play_timer.stop()
        self.result = result
        self.stepper = Stepper(result.record)
        self.scene = GraphScene(result.record.graph, result.layout, self)
        self.scene.nodeClicked.connect(self._on_node_clicked)
        self.view.setScene(self.scene)
        self.stack.setCurrentWidget(self.view)
        for b in (self.reset_button, self.prev_button, self.step_button, self.play_button):
            b.setEnabled(True)
        self.fit_button.setEnabled(True)
        self.view.fit()  # and again on every resize until the user zooms or pans
        self._refresh()

    def clear(self) -> None:
        """A new model: no graph until the next Backward."""
        self.play_timer.stop()
        self.result = self.stepper = None
        self.scene = None
        self.view.setScene(None)
        self.stack.setCurrentWidget(self.placeholder)
        for b in (self.reset_button, self.prev_button, self.step_button, self.play_button):
            b.setEnabled(False)
        self.fit_button.setEnabled(False)
        self.node_label.setText("Press Backward to build the autograd graph of the loss.")

    # -- stepping -----------------------------------------------------------------------------
    @Slot()
    def step(self) -> bool:
        moved = self.stepper is not None and self.stepper.step()
        if moved:
            self._refresh()
        return moved

    @Slot()
    def back(self) -> bool:
        moved = self.stepper is not None and self.stepper.back()
        if moved:
            self._refresh()
        return moved

    @Slot()
    def reset(self) -> None:
        if self.stepper is not None:
            self.play_timer.stop()
            self.stepper.reset()
            self._refresh()

    @Slot()
    def toggle_play(self) -> None:
        if self.play_timer.isActive():
            self.play_timer.stop()
        elif self.stepper is not None:
            if self.stepper.k + 1 >= self.stepper.total:
                self.stepper.reset()
            self.play_timer.start()
        self._update_play_text()

    def jump_to(self, node: int) -> bool:
        if self.stepper is None or not self.stepper.jump_to(node):
            return False
        self._refresh()
        return True

    @Slot()
    def _play_tick(self) -> None:
        if not self.step():
            self.play_timer.stop()
            self._update_play_text()

    def _update_play_text(self) -> None:
        self.play_button.setText("Pause" if self.play_timer.isActive() else "Play")

    @Slot(int)
    def _on_node_clicked(self, node: int) -> None:
        if not self.jump_to(node) and self.stepper is not None:
            self.node_label.setText(f"{self.stepper.record.graph.nodes[node].label}: never ran")
        self.nodeSelected.emit(node)

    def _refresh(self) -> None:
        stepper, scene = self.stepper, self.scene
        if stepper is None or scene is None:
            return
        current = stepper.current
        scene.set_progress(current, stepper.visited(), stepper.carried())
        self.node_label.setText(stepper.label())
        self.prev_button.setEnabled(stepper.k >= 0)
        self.step_button.setEnabled(stepper.k + 1 < stepper.total)
        if current is not None:
            self.view.center_on_node(current)
        self._show_gradients(current)
        self.stepChanged.emit()

    def _show_gradients(self, node: int | None) -> None:
        record = self.stepper.record
        if node is None:
            self.gradients.show_node(
                f"loss = {record.loss_value:.4f}", [("Step to see gradients flow", [])]
            )
            return
        graph_node = record.graph.nodes[node]
        grads = record.grads.get(node)
        incoming = [(f"grad_output[{i}]", g) for i, g in enumerate(grads.incoming if grads else [])]
        if graph_node.kind == PARAM:
            name = graph_node.label.split(" ")[0]
            sections = [(f"lands in {name}.grad", incoming)]
        else:
            targets = {slot: b for a, b, slot in record.graph.edges if a == node}
            outgoing = []
            for slot, g in enumerate(grads.outgoing if grads else []):
                to = targets.get(slot)
                where = f" → {record.graph.nodes[to].label}" if to is not None else ""
                outgoing.append((f"grad_input[{slot}]{where}", g))
            sections = [("incoming (grad_outputs)", incoming), ("sent on (grad_inputs)", outgoing)]
        module = f"  ·  {graph_node.module}" if graph_node.module else ""
        self.gradients.show_node(f"{graph_node.label}{module}", sections)

    def current_gradient(self) -> np.ndarray | None:
        """The first incoming gradient of the current node (what the tests compare)."""
        if self.stepper is None or self.stepper.current is None:
            return None
        grads = self.stepper.record.grads.get(self.stepper.current)
        if grads is None or not grads.incoming or grads.incoming[0] is None:
            return None
        return grads.incoming[0].values
