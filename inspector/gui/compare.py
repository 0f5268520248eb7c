"""Compare: the Pin button, the Compare toggle, and keeping the worker's pin and the
panels in step with ``AppState.pin`` / ``AppState.comparing``.

Pin (``pinButton``, Ctrl+K) keeps the current input and a copy of the weights on the worker as
**A**; everything after is **B**. With Compare (``compareCheck``) on, every forward, parameter
and backward result comes back with its comparison (``core.compare``), and each panel shows it:
the activations A | B | B − A, the prediction's bars side by side, the weights A | B | B − A and
the graph's nodes coloured by how much their gradient changed.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QSignalBlocker, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QLabel, QToolButton

from inspector.core.forward.results import ForwardRequest
from inspector.core.state import AppState, Pinned


class Comparer(QObject):
    """Pin is a request in the state (``state.pin_wanted``); ``state.pin`` is the engine's
    acknowledgement, written from its answers only. Takes the state, the compute, the Pin
    action and the graph panel it colours; the window puts ``widgets`` in its toolbar."""

    message = Signal(str)
    refresh = Signal()  # forward and parameters again: they come with (or without) A now

    def __init__(self, state: AppState, compute, action: QAction, graph, parent=None) -> None:
        super().__init__(parent)
        self.state, self.compute, self.action, self.graph = state, compute, action, graph
        self.pin_button = QToolButton()
        self.pin_button.setObjectName("pinButton")
        self.pin_button.setDefaultAction(self.action)
        self.compare_check = QCheckBox("Compare A | B")
        self.compare_check.setObjectName("compareCheck")
        self.compare_check.setToolTip(
            "Show A (pinned) | B (now) | B − A: every activation step, the prediction, the "
            "selected module's weights, and after Backward the graph coloured by how much each "
            "node's gradient changed"
        )
        self.compare_check.setEnabled(False)
        self.status = QLabel("")
        self.status.setObjectName("compareStatus")
        self.widgets = (self.pin_button, self.compare_check, self.status)
        self._show_pin(None)
        self.compare_check.toggled.connect(self._on_check)
        state.on("pin_wanted", self._pin_requested)
        state.on("pin", self._show_pin)
        state.on("comparing", self._on_comparing)
        compute.pinChanged.connect(self._on_pinned)
        # Forward again once the engine has switched: a forward already taken by the worker
        # would come back without (or with) its comparison.
        compute.comparingChanged.connect(lambda _on: self.refresh.emit())
        compute.modelLoaded.connect(self._on_model_loaded)
        compute.backwardReady.connect(self._on_backward)

    # -- what the user asks for ---------------------------------------------------------------
    @Slot()
    def toggle_pin(self) -> None:
        """Pin A (the input and the weights as they are now), or unpin it."""
        self.state.pin_wanted = self.state.pin is None

    def _pin_requested(self, wanted: bool) -> None:
        state = self.state
        if wanted and state.pin is None:
            raw = None if state.raw_input is None else np.array(state.raw_input, copy=True)
            drawing = np.array(state.drawing, np.float32)
            self.compute.pin(ForwardRequest(0, drawing, raw, state.seed))
        elif not wanted and state.pin is not None:
            self.compute.unpin()

    @Slot(bool)
    def _on_check(self, on: bool) -> None:
        self.state.comparing = bool(on) and self.state.pin is not None

    # -- answers and state ---------------------------------------------------------------------
    @Slot(object)
    def _on_pinned(self, result) -> None:
        request = result.request
        pin = Pinned(request.drawing, request.raw_input, request.seed) if result.pinned else None
        self.state.update(pin=pin, pin_wanted=result.pinned)
        if result.pinned:
            hint = "" if self.state.comparing else " Change the input or the weights, tick Compare."
            self.message.emit(result.message + hint)
        else:
            self.message.emit(result.message)
        if self.state.comparing:
            self.refresh.emit()

    def _show_pin(self, pin: Pinned | None) -> None:
        pinned = pin is not None
        self.action.setText("Unpin A" if pinned else "Pin A")
        self.compare_check.setEnabled(pinned)
        self.status.setText(" A pinned " if pinned else "")
        if not pinned:
            self.state.comparing = False

    def _on_comparing(self, on: bool) -> None:
        if self.compare_check.isChecked() != on:
            with QSignalBlocker(self.compare_check):
                self.compare_check.setChecked(on)
        self.compute.set_comparing(on)
        if not on:
            self.graph.show_gradient_change(None)
        elif self.graph.result is not None:
            self.message.emit("Press Backward to colour the graph by how much each "
                                     "node's gradient changed from A's backward pass.")  # fmt: skip

    @Slot(object)
    def _on_model_loaded(self, _loaded) -> None:
        # The engine dropped the pin with the model.
        self.state.update(pin=None, pin_wanted=False, comparing=False)

    @Slot(object)
    def _on_backward(self, result) -> None:
        change = result.gradient_change
        if change is not None and result.record.loss_is_finite:
            note = f" {change.note}." if change.note else ""
            self.message.emit(
                "Graph: each node coloured by how much its gradient changed from A's backward "
                f"(‖g_B − g_A‖ / ‖g_A‖, brightest {change.maximum:.1%}).{note}"
            )
