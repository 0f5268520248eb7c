"""The graph tab's controls: stepping buttons, the current node's label, search, collapse,
saved tensors and the colour legend. Only widgets: the graph panel connects them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from inspector.core.graph.autograd import OP, PARAM, ROOT
from inspector.core.graph.collapse import GROUP, SAVED
from inspector.gui.graph.view import FILL


class GraphControls(QWidget):
    NO_GRAPH = "Press Backward to build the autograd graph of the loss."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

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
        self.collapse_button = button(
            "Collapse blocks",
            "collapseBlocksButton",
            "Draw each repeated block (layer1.0, layers.12, ...) as one box",
        )
        self.expand_button = button("Expand all", "expandAllButton", "Draw every node again")
        self.saved_check = QCheckBox("Saved tensors")
        self.saved_check.setObjectName("showSavedCheck")
        self.saved_check.setToolTip(
            "Draw the tensors each op saved for its backward (as torchviz does); click one to "
            "see its values"
        )
        self.saved_check.setEnabled(False)
        legend = " ".join(
            f"<span style='color:{FILL[kind].name()}'>■</span> {text}"
            for kind, text in (
                (ROOT, "loss"),
                (OP, "op"),
                (PARAM, "parameter"),
                (GROUP, "module box"),
                (SAVED, "saved tensor"),
            )
        )
        self.legend = QLabel(legend)
        self.legend.setObjectName("graphLegend")
        self.legend.setToolTip("Node colours; orange edges carried a gradient, yellow outline: now")
        self.search = QLineEdit()
        self.search.setObjectName("graphSearch")
        self.search.setPlaceholderText("Find a node (Enter: next)")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Finds nodes by name, label or module; Enter jumps to the next")
        self.search.setEnabled(False)
        self.node_label = QLabel(self.NO_GRAPH)
        self.node_label.setObjectName("backwardNodeLabel")
        # A long node label must not widen the whole window.
        self.node_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.node_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        controls = QHBoxLayout()
        for b in (self.reset_button, self.prev_button, self.step_button, self.play_button):
            controls.addWidget(b)
        controls.addWidget(self.node_label, 1)
        view_controls = QHBoxLayout()  # a second row: the window stays narrow enough
        view_controls.addWidget(self.search, 1)
        view_controls.addWidget(self.saved_check)
        view_controls.addWidget(self.collapse_button)
        view_controls.addWidget(self.expand_button)
        view_controls.addWidget(self.fit_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addLayout(view_controls)
        layout.addWidget(self.legend)

    def set_enabled(self, on: bool) -> None:
        """Everything but the legend works only once there is a graph."""
        for widget in (
            self.reset_button,
            self.prev_button,
            self.step_button,
            self.play_button,
            self.fit_button,
            self.collapse_button,
            self.expand_button,
            self.search,
            self.saved_check,
        ):
            widget.setEnabled(on)
