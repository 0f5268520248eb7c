"""Backward and Update weights: asking the worker, the progress dialog that cancels a long
backward, and handing the recorded pass to the loss panel, the graph and the canvas."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from inspector.core.forward.results import BackwardResult
from inspector.core.state import AppState
from inspector.gui.progress import BusyDialog


class BackwardControl(QObject):
    message = Signal(str, bool)  # a sentence, whether it is a warning
    graphShown = Signal(bool)  # a pass's graph is on screen now (False: it could not be drawn)
    gradientsChanged = Signal()  # .grad is there now: the weights panel may show it
    weightsChanged = Signal()  # the weights moved: forward and parameters again

    def __init__(
        self,
        state: AppState,
        compute,
        loss,
        graph,
        canvas_panel,
        opening: Callable[[], bool],
        dialog_parent: QWidget,
    ) -> None:
        super().__init__(dialog_parent)
        self.state, self.compute = state, compute
        self.loss, self.graph, self.canvas_panel = loss, graph, canvas_panel
        self._opening = opening  # whether a model is being opened
        self.busy = BusyDialog(dialog_parent, "backwardProgress", "Backward", 400)
        loss.backwardRequested.connect(self.run)
        loss.updateRequested.connect(self.update_weights)
        compute.backwardReady.connect(self.show)
        compute.weightsUpdated.connect(self._on_weights_updated)
        compute.workCancelled.connect(self._on_cancelled)
        compute.failed.connect(lambda *_why: self.busy.close())

    @Slot()
    def run(self) -> int:
        """Backward on the current input; 0 (nothing asked) while a model is opening: its
        loss and classes are not known yet."""
        if self._opening():
            self.message.emit("A model is opening: press Backward once it is open.", True)
            return 0
        self.message.emit("Running backward…", False)
        state = self.state
        request = self.compute.request(state.drawing, state.raw_input, state.seed)
        ident = self.compute.run_backward(request, self.loss.spec(), state.zero_grad)
        self.busy.open("Recording the backward pass…", self.compute.cancel_work)
        return ident

    @Slot(str)
    def _on_cancelled(self, kind: str) -> None:
        self.busy.close()
        if kind == "backward":
            text = "Backward cancelled; the graph and gradients shown are the previous ones."
            self.message.emit(text, False)

    @Slot(object)
    def show(self, result: BackwardResult) -> None:
        self.busy.close()
        started = time.perf_counter()
        record = result.record
        self.loss.show_record(record)
        if not record.loss_is_finite:  # reported, not drawn: a graph of NaN gradients says nothing
            self.graph.clear()
            self.canvas_panel.set_input_gradient(None)
            self.graphShown.emit(False)
            self.message.emit(record.loss_note, True)
            return
        self.graph.show_backward(result)
        self.graph.link_module(self.state.selected_module)
        self.canvas_panel.set_input_gradient(record.input_grad)
        self.graphShown.emit(True)
        self.gradientsChanged.emit()
        if record.loss_note:  # a loss of exactly 0: every gradient is 0, and why
            self.message.emit(record.loss_note, True)
            return
        scene_ms = (time.perf_counter() - started) * 1000
        t = result.timings_ms
        self.message.emit(
            f"{len(record.graph.nodes)} autograd nodes, loss {record.loss_value:.4f} "
            f"(backward {t['backward_ms']:.0f} ms, layout {t['layout_ms']:.0f} ms, "
            f"drawing {scene_ms:.0f} ms). Space steps through the engine's order.",
            False,
        )

    @Slot()
    def update_weights(self) -> None:
        self.compute.update_weights(self.state.learning_rate)

    @Slot(object)
    def _on_weights_updated(self, result) -> None:
        self.message.emit(result.message, False)
        self.weightsChanged.emit()  # the activations and prediction follow the new weights
