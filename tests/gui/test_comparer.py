"""Pin and Compare against a bare state and a fake Compute: Pin is a request, the pin shown
is the engine's answer."""

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction

from inspector.core.forward.compare import PinResult
from inspector.core.state import AppState
from inspector.gui.compare import Comparer


class FakeCompute(QObject):
    pinChanged = Signal(object)
    comparingChanged = Signal(bool)
    modelLoaded = Signal(object)
    backwardReady = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.calls: list = []

    def pin(self, request, weights=None) -> None:
        self.calls.append(("pin", request))

    def unpin(self) -> None:
        self.calls.append(("unpin",))

    def set_comparing(self, on: bool) -> None:
        self.calls.append(("comparing", on))


class FakeGraph:
    result = None

    def show_gradient_change(self, change) -> None:
        pass


def test_pin_is_asked_for_and_shown_once_the_engine_answers(qtbot):
    state, compute = AppState(), FakeCompute()
    state.drawing = np.ones((32, 32), np.float32)
    comparer = Comparer(state, compute, QAction("Pin A"), FakeGraph())
    for widget in comparer.widgets:
        qtbot.addWidget(widget)
    comparer.toggle_pin()
    ((kind, request),) = compute.calls
    assert kind == "pin" and request.drawing.all() and state.pin_wanted
    assert state.pin is None and not comparer.compare_check.isEnabled()  # not pinned yet
    compute.pinChanged.emit(PinResult(True, "Pinned A.", request))
    assert state.pin is not None and state.pin.drawing is request.drawing
    assert comparer.compare_check.isEnabled() and comparer.action.text() == "Unpin A"
    comparer.compare_check.setChecked(True)
    assert state.comparing and compute.calls[-1] == ("comparing", True)
    comparer.toggle_pin()
    assert compute.calls[-1] == ("unpin",) and state.pin is not None  # until it answers
    compute.pinChanged.emit(PinResult(False, "Unpinned A."))
    assert state.pin is None and not state.pin_wanted and not state.comparing
    assert comparer.action.text() == "Pin A"


def test_a_new_model_drops_the_pin(qtbot):
    state, compute = AppState(), FakeCompute()
    comparer = Comparer(state, compute, QAction("Pin A"), FakeGraph())
    comparer.toggle_pin()
    compute.pinChanged.emit(PinResult(True, "Pinned A.", compute.calls[0][1]))
    compute.modelLoaded.emit(object())
    assert state.pin is None and not state.pin_wanted
    assert len(compute.calls) == 1  # dropped by the engine: nothing to ask
