"""Which forwards the state's changes ask for, against a fake Compute (no thread, no sleep)."""

from types import SimpleNamespace

import numpy as np
from PySide6.QtCore import QObject, Signal

from inspector.core.forward.settings import MAX_KEPT_STEPS
from inspector.core.state import AppState
from inspector.gui.work.submits import Submitter


class FakeCompute(QObject):
    forwardReady = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.calls: list = []
        self.latest_request_id = 0

    def submit(self, drawing, raw_input=None, seed=0) -> int:
        self.latest_request_id += 1
        self.calls.append("forward")
        return self.latest_request_id

    def configure(self, **changes) -> None:
        self.calls.append(changes)

    def select_module(self, path: str) -> None:
        self.calls.append(("parameters", path))


def test_a_big_models_forwards_keep_the_selected_modules_steps():
    state, compute = AppState(), FakeCompute()
    submitter = Submitter(state, compute)
    submitter.model_opened(MAX_KEPT_STEPS + 1, "layer1")
    assert compute.calls == [{"focus": "layer1"}]
    state.selected_module = "layer2"
    assert compute.calls[1:] == [("parameters", "layer2"), {"focus": "layer2"}, "forward"]
    compute.calls.clear()
    small = SimpleNamespace(total_steps=MAX_KEPT_STEPS, focus="layer2")
    compute.forwardReady.emit(small)  # its leaves were never called: all its steps fit
    assert compute.calls == [{"focus": ""}, "forward"]
    compute.calls.clear()
    state.selected_module = "layer3"  # small now: every step, no new forward
    assert compute.calls == [("parameters", "layer3"), {"focus": ""}]


def test_several_changes_ask_for_one_forward():
    state, compute = AppState(), FakeCompute()
    submitter = Submitter(state, compute)
    with submitter.held():
        state.drawing = np.ones((32, 32), np.float32)
        state.seed = 3
        state.output_index = 1
    assert compute.calls == [{"output_index": 1}, "forward"]
