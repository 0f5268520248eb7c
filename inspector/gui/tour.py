"""The first-run hint: what to try first, ticked off as the user does it, gone for good once done
(or dismissed); Help > Tour shows it again."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from inspector.core.model.inputs import MNIST, TENSOR, InputSpec
from inspector.core.state import AppState

SETTING = "hint/done"
# The first step names the input the model takes.
DRAW_DIGIT, DRAW, REROLL, IDS = (
    "Draw a digit on the canvas",
    "Draw on the canvas",
    "Change the input (Re-roll input)",
    "Change the input (Re-roll input, or type token ids)",
)
STEPS = (
    ("draw", DRAW_DIGIT),
    ("layer", "click a layer in Modules to see its weights"),
    ("backward", "press Backward (Ctrl+B), then Space to step through it"),
)


class FirstRunHint(QFrame):
    """A slim bar above the tabs; each step is ticked when done, and when all are the bar goes
    (remembered in QSettings, so the next start shows none)."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunHint")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#firstRunHint { background: #2d4a6b; border-radius: 4px; }")
        self.done: set[str] = set()
        self.steps = dict(STEPS)
        self.text = QLabel()
        self.text.setObjectName("firstRunHintText")
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setWordWrap(True)
        close = QPushButton("Got it")
        close.setObjectName("dismissHintButton")
        close.setToolTip("Hide this hint for good (Help > Tour shows it again)")
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.text, 1)
        layout.addWidget(close)
        state.on("drawing", lambda drawing: drawing.any() and self.tick("draw"))
        state.on("backward_step", lambda k: k is not None and k >= 0 and self.tick("backward"))
        self._render()
        self.setVisible(not QSettings().value(SETTING, False, type=bool))

    def set_input(self, spec: InputSpec) -> None:
        """The model takes this input: the first step says how to change it."""
        if spec.kind == TENSOR:
            self.steps["draw"] = IDS if spec.is_integer else REROLL
        else:
            self.steps["draw"] = DRAW_DIGIT if spec.kind == MNIST else DRAW
        self._render()

    def input_changed(self) -> None:
        """The user changed a tensor input (re-rolled it, typed ids): step one is done."""
        self.tick("draw")

    def layer_clicked(self) -> None:
        """The user (not the start-up) picked a module in the tree."""
        self.tick("layer")

    def tick(self, step: str) -> None:
        if not self.isVisible() or step in self.done:
            return
        self.done.add(step)
        if len(self.done) == len(STEPS):
            self.dismiss()
        else:
            self._render()

    def dismiss(self) -> None:
        QSettings().setValue(SETTING, True)
        self.hide()

    def show_again(self) -> None:
        """Help > Tour: the hint from the start."""
        self.done.clear()
        self._render()
        self.show()

    def _render(self) -> None:
        parts = []
        for i, (key, text) in enumerate(self.steps.items(), 1):
            if key in self.done:
                parts.append(f"<span style='color:#9ad09a'>✓ <s>{text}</s></span>")
            else:
                parts.append(f"<b>{i}.</b> {text}")
        self.text.setText("<b>Start here:</b> " + " · ".join(parts))
