"""The autograd graph tab: the graph, the stepping controls, and the current node's gradients."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QLabel,
    QMenu,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.core.forward.results import BackwardResult
from inspector.core.graph.collapse import GROUP, SAVED, CollapsedGraph, LaidOutView, repeated_blocks
from inspector.core.graph.stepping import Stepper, node_sections
from inspector.gui.graph.controls import GraphControls
from inspector.gui.graph.gradients import GradientPanel
from inspector.gui.graph.view import GraphScene, GraphView

PLAY_INTERVAL_MS = 350


class GraphPanel(QWidget):
    """Stepping buttons, the graph view and the gradient side panel."""

    moduleSelected = Signal(str)  # a node or box was clicked: its module (for the tree)
    savedValueRequested = Signal(int, str)  # node, saved tensor name
    stepChanged = Signal(int)  # the step now shown (-1: before the first node)
    # Collapse or saved tensors changed: lay out (record, collapsed modules, saved tensors?)
    # again, on the worker; the answer comes back through ``show_view``.
    layoutRequested = Signal(object, object, bool)
    viewShown = Signal()  # a (re-)laid-out view is on screen

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("graphPanel")
        self.view = GraphView()
        self.gradients = GradientPanel()
        self.gradients.savedRequested.connect(self._on_saved_requested)
        self.result: BackwardResult | None = None
        self.stepper: Stepper | None = None
        self.scene: GraphScene | None = None
        self.shown: CollapsedGraph | None = None  # what the scene draws (boxes for modules)
        self.collapsed: set[str] = set()
        self._original_of: dict[int, int] = {}  # view node -> original node (not for boxes)
        self._saved_owner: dict[int, tuple[int, str]] = {}  # saved-tensor node -> (op, name)
        self._matches: list[int] = []
        self._match = -1
        self.gradient_change = None  # core.compare.GradientChange: colours nodes when comparing

        self.controls = GraphControls()
        c = self.controls
        # The panel's own names for its controls (tests and the window use them).
        self.reset_button, self.prev_button = c.reset_button, c.prev_button
        self.step_button, self.play_button, self.fit_button = (
            c.step_button,
            c.play_button,
            c.fit_button,
        )
        self.collapse_button, self.expand_button = c.collapse_button, c.expand_button
        self.saved_check, self.search, self.node_label = c.saved_check, c.search, c.node_label
        self.saved_check.toggled.connect(self._on_saved_toggled)

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
        layout.addWidget(self.controls)
        layout.addWidget(splitter, 1)

        self.play_timer = QTimer(self)
        self.play_timer.setInterval(PLAY_INTERVAL_MS)
        self.play_timer.timeout.connect(self._play_tick)
        self.reset_button.clicked.connect(self.reset)
        self.prev_button.clicked.connect(self.back)
        self.step_button.clicked.connect(self.step)
        self.play_button.clicked.connect(self.toggle_play)
        self.fit_button.clicked.connect(self.view.fit)
        self.collapse_button.clicked.connect(self.collapse_blocks)
        self.expand_button.clicked.connect(self.expand_all)
        self.search.returnPressed.connect(self.find_next)
        self.search.textChanged.connect(self._on_search_changed)

    # -- a new backward pass ----------------------------------------------------------------
    def show_backward(self, result: BackwardResult) -> None:
        self.play_timer.stop()
        self.result = result
        self.gradient_change = result.gradient_change
        self.stepper = Stepper(result.record)
        self.collapsed = set(result.view.collapsed)
        self.controls.set_enabled(True)
        self._rebuild()

    def _rebuild(self) -> None:
        """Draw the graph with the modules in ``self.collapsed`` as boxes: as the worker laid it
        out with the backward pass, or laid out again there for the new choice."""
        first = self.result.view
        if self.collapsed == set(first.collapsed) and not self.saved_check.isChecked():
            self.show_view(first)
        else:
            saved = self.saved_check.isChecked()
            self.layoutRequested.emit(self.result.record, frozenset(self.collapsed), saved)

    def show_view(self, view: LaidOutView) -> None:
        """Draw ``view`` (if it is still what is wanted: the user may have moved on)."""
        if (
            self.result is None
            or view.source is not self.result.record.graph
            or view.collapsed != frozenset(self.collapsed)
            or view.saved != self.saved_check.isChecked()
        ):
            return
        self.shown = view.shown
        self._saved_owner = dict(view.saved_owner)
        self._original_of = {
            shown: original
            for original, shown in enumerate(self.shown.shown_as)
            if self.shown.graph.nodes[shown].kind != GROUP
        }
        for saved, (op, _name) in self._saved_owner.items():
            self._original_of[saved] = self._original_of[op]  # a saved tensor leads to its op
        if self.scene is not None:
            self.scene.deleteLater()  # it is a child of this panel: it would live forever
        self.scene = GraphScene(self.shown.graph, view.layout, self)
        self.scene.nodeClicked.connect(self._on_node_clicked)
        self.scene.nodeDoubleClicked.connect(self._on_node_double_clicked)
        self.scene.nodeMenuRequested.connect(self._on_node_menu)
        self.view.setScene(self.scene)
        self.stack.setCurrentWidget(self.view)
        self.view.fit()  # and again on every resize until the user zooms or pans
        self._colour_by_change()
        self._refresh()
        self.viewShown.emit()

    def link_module(self, path: str | None) -> None:
        """Outline the nodes of module ``path`` (none for the model itself: all would light)."""
        scene = self.scene
        if scene is None:
            return
        if not path:
            scene.link_nodes(set())
            return
        inside = {
            n.id for n in scene.graph.nodes if n.module == path or n.module.startswith(path + ".")
        }
        scene.link_nodes(inside)

    # -- collapsing -------------------------------------------------------------------------
    @Slot(bool)
    def _on_saved_toggled(self, _on: bool) -> None:
        if self.result is not None:
            self._rebuild()

    @Slot()
    def collapse_blocks(self) -> None:
        if self.result is not None:
            self.collapsed = repeated_blocks(self.result.record.graph)
            self._rebuild()

    @Slot()
    def expand_all(self) -> None:
        if self.result is not None and self.collapsed:
            self.collapsed = set()
            self._rebuild()

    def set_collapsed(self, module: str, collapsed: bool) -> None:
        if self.result is None:
            return
        if collapsed:
            self.collapsed = {p for p in self.collapsed if not p.startswith(module + ".")}
            self.collapsed.add(module)
        else:
            self.collapsed.discard(module)
        self._rebuild()

    @Slot(int)
    def _on_node_double_clicked(self, view_node: int) -> None:
        node = self.shown.graph.nodes[view_node]
        if node.kind == GROUP:
            self.set_collapsed(node.module, False)

    @Slot(int, QPoint)
    def _on_node_menu(self, view_node: int, where: QPoint) -> None:
        node = self.shown.graph.nodes[view_node]
        menu = QMenu(self)
        if node.kind == GROUP:
            menu.addAction(f"Expand {node.module}", lambda: self.set_collapsed(node.module, False))
        parts = node.module.split(".") if node.module else []
        for depth in range(len(parts), 0, -1):  # the node's module, then each enclosing one
            path = ".".join(parts[:depth])
            if path != node.module or node.kind != GROUP:
                menu.addAction(f"Collapse {path}", lambda p=path: self.set_collapsed(p, True))
        if not menu.isEmpty():
            menu.popup(where)

    # -- search -------------------------------------------------------------------------------
    @Slot(str)
    def _on_search_changed(self, text: str) -> None:
        self._matches, self._match = [], -1
        if not text.strip() or self.result is None:
            return
        needle = text.strip().lower()
        order = {node: i for i, node in enumerate(self.result.record.order)}
        found = [
            n.id
            for n in self.result.record.graph.nodes
            if needle in n.label.lower() or needle in n.name.lower() or needle in n.module.lower()
        ]
        self._matches = sorted(found, key=lambda n: order.get(n, len(order)))

    @Slot()
    def find_next(self) -> bool:
        """Jump to the next node matching the search text (in the engine's order)."""
        if not self._matches:
            self._on_search_changed(self.search.text())
        if not self._matches:
            self.node_label.setText(f"No node matches {self.search.text()!r}")
            return False
        self._match = (self._match + 1) % len(self._matches)
        node = self._matches[self._match]
        if not self.jump_to(node):
            self.view.center_on_node(self.shown.shown_as[node])
        self.node_label.setText(
            f"{self.node_label.text()}  —  match {self._match + 1} of {len(self._matches)}"
        )
        return True

    def clear(self) -> None:
        """A new model: no graph until the next Backward."""
        self.play_timer.stop()
        self.result = self.stepper = None
        self.view.setScene(None)
        if self.scene is not None:
            self.scene.deleteLater()
        self.scene = self.shown = None
        self.collapsed = set()
        self.controls.set_enabled(False)
        self.stack.setCurrentWidget(self.placeholder)
        self.node_label.setText(GraphControls.NO_GRAPH)

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
    def _on_node_clicked(self, view_node: int) -> None:
        """Jump to the node (or, for a box, to the first of its nodes the engine ran)."""
        shown_node = self.shown.graph.nodes[view_node]
        if shown_node.kind == GROUP:
            members = self.shown.members[view_node]
            ran = [n for n in self.stepper.record.order if n in set(members)]
            if ran:
                self.jump_to(ran[0])
        else:
            node = self._original_of[view_node]
            if not self.jump_to(node):
                self.node_label.setText(f"{self.stepper.record.graph.nodes[node].label}: never ran")
            if shown_node.kind == SAVED:  # and show the tensor it stands for
                self.savedValueRequested.emit(node, self._saved_owner[view_node][1])
        self.moduleSelected.emit(shown_node.module)

    def _refresh(self) -> None:
        stepper, scene = self.stepper, self.scene
        if stepper is None or scene is None:
            return
        current = stepper.current
        shown_as = self.shown.shown_as
        view_current = None if current is None else shown_as[current]
        scene.set_progress(
            view_current,
            {shown_as[n] for n in stepper.visited()},
            self.shown.view_edges(stepper.carried()),
        )
        label = stepper.label()
        if view_current is not None and self.shown.graph.nodes[view_current].kind == GROUP:
            label += f"  —  inside {self.shown.graph.nodes[view_current].module}"
        self.node_label.setText(label)
        self.prev_button.setEnabled(stepper.k >= 0)
        self.step_button.setEnabled(stepper.k + 1 < stepper.total)
        if view_current is not None:
            self.view.center_on_node(view_current)
        self._show_gradients(current)
        self.stepChanged.emit(stepper.k)

    def _show_gradients(self, node: int | None) -> None:
        self.gradients.show_node(*node_sections(self.stepper.record, node))

    @Slot(str)
    def _on_saved_requested(self, name: str) -> None:
        if self.stepper is not None and self.stepper.current is not None:
            self.savedValueRequested.emit(self.stepper.current, name)

    def show_saved_value(self, result) -> None:
        """A saved tensor's values arrived from the worker (for the node still shown?)."""
        if self.stepper is not None and result.node == self.stepper.current:
            self.gradients.show_saved(result.name, result.values)

    def current_gradient(self) -> np.ndarray | None:
        """The first incoming gradient of the current node (what the tests compare)."""
        if self.stepper is None or self.stepper.current is None:
            return None
        grads = self.stepper.record.grads.get(self.stepper.current)
        if grads is None or not grads.incoming or grads.incoming[0] is None:
            return None
        return grads.incoming[0].values

    # -- compare: nodes coloured by how much their gradient changed -----------------------------
    def show_gradient_change(self, change) -> None:
        """Colour every node by ``change`` (a ``core.compare.GradientChange``: A's backward
        against B's), or by kind again for None."""
        self.gradient_change = change
        self._colour_by_change()

    def _colour_by_change(self) -> None:
        scene, change = self.scene, self.gradient_change
        if scene is None or self.shown is None:
            return
        if change is None:
            scene.set_fills(None)
            return
        best: dict[int, tuple[float, int]] = {}  # shown node -> (largest change, its node)
        for original, shown in enumerate(self.shown.shown_as):
            value = change.change.get(original)
            if value is not None and (shown not in best or value > best[shown][0]):
                best[shown] = (value, original)
        scene.set_fills({n: QColor(*change.colours[o]) for n, (_v, o) in best.items()})
