"""The Input box's list of every input of a model with several: the main one (the drawing, or
the ids typed above) and the others with their shape and dtype, each re-rolled on its own.

The seeds live in the app state (``input_seeds``, kept by sessions); the engine draws the other
inputs from them (``core.feed.named.reseed``), and a forward follows once it has.
"""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QWidget

from inspector.core.feed.named import ModelInputs
from inspector.core.model.inputs import TENSOR
from inspector.core.state import AppState


class OtherInputs(QWidget):
    """One row per input; Re-roll beside each random one but the main (Random does that)."""

    def __init__(
        self, state: AppState, compute, canvas_panel, inputs: ModelInputs | None, submit
    ) -> None:
        super().__init__()
        self.setObjectName("otherInputs")
        self.state, self.compute, self.submit = state, compute, submit
        self.inputs: ModelInputs | None = None
        self.rows: dict[str, tuple[QLabel, QPushButton | None]] = {}
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.editor = canvas_panel.input_editor
        self.editor.layout().addWidget(self)
        state.on("input_seeds", self._on_seeds)
        compute.modelLoaded.connect(self._on_loaded)
        self.set_inputs(inputs)

    def _on_loaded(self, loaded) -> None:
        self.set_inputs(getattr(loaded, "inputs", None))
        if self.several and self.state.input_seeds:  # a session's, or kept
            self.compute.set_input_seeds(self.state.input_seeds, self.submit)

    @property
    def several(self) -> bool:
        return self.inputs is not None and len(self.inputs.inputs) > 1

    def set_inputs(self, inputs: ModelInputs | None) -> None:
        self.inputs = inputs
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.rows = {}
        self.setVisible(self.several)
        self.editor.lists_inputs = self.several
        if not self.several:
            self.editor.setVisible(self.editor.spec is not None and self.editor.spec.kind == TENSOR)
            return
        self.grid.addWidget(QLabel(f"{len(inputs.inputs)} inputs:"), 0, 0, 1, 2)
        for row, item in enumerate(inputs.inputs, start=1):
            label = QLabel()
            label.setObjectName(f"inputRow_{item.name}")
            label.setWordWrap(True)
            label.setMinimumWidth(1)
            button = None
            if item.name != inputs.primary and item.spec.fill is None:
                button = QPushButton("Re-roll")
                button.setObjectName(f"rerollInput_{item.name}")
                button.setToolTip(f"Draw new random values for {item.name}")
                button.clicked.connect(lambda _=False, name=item.name: self.reroll(name))
                self.grid.addWidget(button, row, 1)
            self.grid.addWidget(label, row, 0)
            self.rows[item.name] = (label, button)
        self.grid.setColumnStretch(0, 1)
        self._show_rows()
        self.editor.setVisible(True)  # the box lists the inputs even for an image model

    def seeds(self) -> dict[str, int]:
        return dict(self.state.input_seeds)

    def reroll(self, name: str) -> None:
        seeds = self.seeds()
        seeds[name] = seeds.get(name, 0) + 1
        self.state.input_seeds = tuple(sorted(seeds.items()))

    def _on_seeds(self, seeds) -> None:
        if self.several:  # the next forward once the engine has them
            self.compute.set_input_seeds(seeds, self.submit)
            self._show_rows()

    def _show_rows(self) -> None:
        seeds = self.seeds()
        for item in self.inputs.inputs:
            label, _button = self.rows[item.name]
            text = item.describe(item.name == self.inputs.primary)
            if item.name == self.inputs.primary:
                text += " (the input above)" if item.spec.kind == TENSOR else " (the canvas)"
            elif item.spec.fill is None:
                text += f", seed {seeds.get(item.name, 0)}"
            label.setText(text)
