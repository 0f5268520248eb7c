"""Puts the attention view into the window: a central tab that asks the worker for the
attention maps while it is the tab shown, follows the selection and every forward, and lays
a vision transformer's patch map over the drawing."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QTabWidget

from inspector.core.forward.results import ForwardResult
from inspector.core.model.inputs import MNIST, resample_square
from inspector.core.model.preprocess import CANVAS_SIZE, input_map_on_canvas
from inspector.core.state import AppState
from inspector.gui.attention.panel import AttentionPanel


class AttentionControl(QObject):
    """Takes the state, the compute, the central ``tabs`` it adds its tab to, the ``frames``
    the worker waits on, the ``canvas_panel`` it draws over and ``submit`` (send the input
    again); says what it refused through ``message``."""

    message = Signal(str, bool)  # a sentence, whether it is a warning

    def __init__(
        self,
        state: AppState,
        compute,
        tabs: QTabWidget,
        frames,
        canvas_panel,
        submit: Callable[[], object],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.state, self.compute, self.tabs, self.canvas_panel = state, compute, tabs, canvas_panel
        self._submit = submit
        self.panel = panel = AttentionPanel()
        self.tab = tabs.addTab(panel, "Attention")
        panel.heads.frame_tracker = frames  # the worker waits for it, as for the others
        frames.panels.append(panel.heads)
        self.on = False  # whether the forwards capture attention now
        self.pending: tuple[str, int] | None = None  # a head to zero once its steps arrive
        compute.forwardReady.connect(self._on_result)
        compute.modelLoaded.connect(lambda _loaded: self._capture(self.on, force=True))
        state.on("selected_module", panel.select_module)
        tabs.currentChanged.connect(lambda _index: self._capture(self._shown()))
        panel.patchMapChanged.connect(self._over_drawing)
        panel.over_drawing.toggled.connect(lambda _on: panel.refresh())
        panel.allow_head_edits = hasattr(state, "interventions")
        panel.zeroHeadRequested.connect(self.zero_head)

    def show(self) -> None:
        """View > Attention (Ctrl+3)."""
        self.tabs.setCurrentWidget(self.panel)

    def _shown(self) -> bool:
        return self.tabs.currentWidget() is self.panel

    def _capture(self, on: bool, force: bool = False) -> None:
        """Attention maps cost a little on every forward: only while the tab is shown."""
        if on == self.on and not force:
            return
        self.on = on
        self.compute.configure(attention=on)
        if on:
            self._submit()
        else:
            self._over_drawing(None)

    def _on_result(self, result: ForwardResult) -> None:
        if self.on:
            self.panel.show_result(result)
        focus = (result.focus, self.state.selected_module)
        if self.pending is not None and focus[0] in ("", focus[1]):  # the layer's steps are in
            self.zero_head(*self.pending)

    def zero_head(self, module: str, head: int) -> None:
        """An intervention zeroing ``head`` of ``module`` (``core.edits.heads``), added to the
        state's list as the activations' menu adds its own. A big model's result keeps only
        the selected module's steps: the layer is selected first, and the edit made when its
        steps arrive. A refusal goes to the status bar."""
        from inspector.core.edits.heads import head_output_step, zero_head
        from inspector.core.edits.spec import EditError

        result = self.compute.last_result
        steps = [s.step for s in result.steps] if result is not None else []
        state = self.state
        if head_output_step(steps, module) is None and self.pending is None:
            inside = state.selected_module or ""
            if not (module == inside or module.startswith(inside + ".")) or not inside:
                self.pending = (module, head)
                state.selected_module = module
                self._submit()
                return
        self.pending = None
        try:
            edit = zero_head(steps, module, head)
        except EditError as exc:
            self.message.emit(str(exc), True)
            return
        state.interventions = (*state.interventions, edit)

    def _over_drawing(self, weights: np.ndarray | None) -> None:
        """The patch map (``[H, W]`` of the network's input, 0-1) over the drawing, mapped
        back through the canvas's preprocessing; None gives the canvas back its own overlay
        (the input gradient, if asked for)."""
        canvas_panel = self.canvas_panel
        if weights is None or not self.panel.over_drawing.isChecked() or not self._shown():
            canvas_panel._show_saliency()  # the input gradient, or nothing
            return
        if canvas_panel.raw_input is None and canvas_panel.input_spec.kind == MNIST:
            weights = input_map_on_canvas(weights, canvas_panel.canvas.drawing)
        elif weights.shape != (CANVAS_SIZE, CANVAS_SIZE):
            weights = resample_square(weights, CANVAS_SIZE)
        canvas_panel.canvas.set_saliency(weights)
