"""Compare (issue 13): the Pin button, the Compare toggle, and keeping the worker's pin and the
panels in step with ``AppState.pin`` / ``AppState.comparing``.

Pin (``pinButton``, Ctrl+K) keeps the current input and a copy of the weights on the worker as
**A**; everything after is **B**. With Compare (``compareCheck``) on, every forward, parameter
and backward result comes back with its comparison (``core.compare``), and each panel shows it:
the activations A | B | B − A, the prediction's bars side by side, the weights A | B | B − A and
the graph's nodes coloured by how much their gradient changed. The window only creates this.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QSignalBlocker, Slot
from PySide6.QtWidgets import QCheckBox, QLabel, QToolBar, QToolButton

from inspector.core.forward.results import ForwardRequest
from inspector.core.state import Pinned


class Comparer(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.compute = window.compute
        self.action = window.actions["pinAction"]
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
        toolbar = window.findChild(QToolBar, "mainToolbar")
        toolbar.addSeparator()
        for widget in (self.pin_button, self.compare_check, self.status):
            toolbar.addWidget(widget)
        self._show_pin(None)
        self.compare_check.toggled.connect(self._on_check)
        self.state.on("pin", self._show_pin)
        self.state.on("comparing", self._on_comparing)
        self.compute.pinChanged.connect(self._on_pinned)
        # Forward again once the engine has switched: a forward already taken by the worker
        # would come back without (or with) its comparison.
        self.compute.comparingChanged.connect(self._refresh)
        self.compute.modelLoaded.connect(self._on_model_loaded)
        self.compute.backwardReady.connect(self._on_backward)

    # -- what the user asks for ---------------------------------------------------------------
    @Slot()
    def toggle_pin(self) -> None:
        """Pin A (the input and the weights as they are now), or unpin it."""
        if self.state.pin is None:
            self.pin()
        else:
            self.unpin()

    def pin(self, pinned: Pinned | None = None, weights: dict | None = None) -> None:
        """Pin ``pinned`` (default: the current input) with ``weights`` (default: the weights as
        they are now, copied on the worker)."""
        state = self.state
        if pinned is None:
            raw = None if state.raw_input is None else np.array(state.raw_input, copy=True)
            pinned = Pinned(np.array(state.drawing, np.float32), raw, state.seed)
        request = ForwardRequest(0, pinned.drawing, pinned.raw_input, pinned.seed)
        self.compute.pin(request, weights)

    def unpin(self) -> None:
        self.compute.unpin()

    @Slot(bool)
    def _on_check(self, on: bool) -> None:
        self.state.comparing = bool(on) and self.state.pin is not None

    # -- answers and state ---------------------------------------------------------------------
    @Slot(object)
    def _on_pinned(self, result) -> None:
        request = result.request
        self.state.pin = (
            Pinned(request.drawing, request.raw_input, request.seed) if result.pinned else None
        )
        if result.pinned:
            hint = "" if self.state.comparing else " Change the input or the weights, tick Compare."
            self.window.show_message(result.message + hint)
        else:
            self.window.show_message(result.message)
        if self.state.comparing:
            self._refresh()

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
            self.window.graph.show_gradient_change(None)
        elif self.window.graph.result is not None:
            self.window.show_message("Press Backward to colour the graph by how much each "
                                     "node's gradient changed from A's backward pass.")  # fmt: skip

    @Slot()
    def _refresh(self, *_args) -> None:
        """Forward and parameters again, now with (or without) their comparison."""
        self.window.submit_input()
        self.window.refresh_parameters()

    @Slot(object)
    def _on_model_loaded(self, _loaded) -> None:
        self.state.update(pin=None, comparing=False)  # the engine dropped the pin with the model

    @Slot(object)
    def _on_backward(self, result) -> None:
        change = result.gradient_change
        if change is not None and result.record.loss_is_finite:
            note = f" {change.note}." if change.note else ""
            self.window.show_message(
                "Graph: each node coloured by how much its gradient changed from A's backward "
                f"(‖g_B − g_A‖ / ‖g_A‖, brightest {change.maximum:.1%}).{note}"
            )
