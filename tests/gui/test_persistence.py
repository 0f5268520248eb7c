"""Saving a session against a bare state and a fake Compute: what it asks the worker for, in
which order, and that the file holds the state as it was."""

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from inspector.core.files.session import load_session
from inspector.core.state import AppState, ModelRef, Pinned
from inspector.gui.session.persistence import Persistence


class FakeCompute(QObject):
    stateReady = Signal(object)
    pinWeightsReady = Signal(object)
    restored = Signal(object)
    loadFailed = Signal(str, str)
    workCancelled = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def request_weights(self) -> None:
        self.asked.append("weights")

    def request_pin_weights(self) -> None:
        self.asked.append("pin weights")


class FakeTraining:
    def request_snapshot(self, done) -> None:
        done(None)  # never trained here


def test_a_saved_session_holds_the_state_and_asks_the_worker_in_order(qtbot, tmp_path):
    parent = QWidget()
    qtbot.addWidget(parent)
    drawing = np.zeros((32, 32), np.float32)
    drawing[8:24, 15:17] = 1.0
    state = AppState(
        model=ModelRef("lenet", None, None, False, "float64"),
        loss_kind="ce",
        target_class=5,
        pin=Pinned(drawing),
        comparing=True,
    )
    state.drawing = drawing
    compute = FakeCompute()
    persistence = Persistence(state, compute, None, FakeTraining(), None, parent)
    saved = []
    persistence.sessionSaved.connect(saved.append)
    path = tmp_path / "s.netinspector"
    persistence.save_session(path)
    assert compute.asked == ["pin weights", "weights"] and not path.exists()
    weights = {"w": np.arange(3, dtype=np.float32)}
    compute.pinWeightsReady.emit({"w": np.zeros(3, np.float32)})
    compute.stateReady.emit(weights)
    assert saved == [str(path)]
    back = load_session(path)
    assert (back.loss_kind, back.target_class, back.input_dtype) == ("ce", 5, "float64")
    assert back.pins == ["A"] and back.comparing
    np.testing.assert_array_equal(back.drawing, drawing)
    np.testing.assert_array_equal(back.weights["w"].numpy(), weights["w"])
