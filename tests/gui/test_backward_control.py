"""Backward against a bare state and a fake Compute: what it asks, and when it asks nothing."""

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from inspector.core.forward.results import ForwardRequest
from inspector.core.model.inputs import LENET_INPUT
from inspector.core.state import AppState
from inspector.gui.graph.backward_control import BackwardControl
from inspector.gui.graph.loss import LossPanel
from inspector.gui.graph.panel import GraphPanel
from inspector.gui.panels.canvas import CanvasPanel


class FakeCompute(QObject):
    backwardReady = Signal(object)
    weightsUpdated = Signal(object)
    workCancelled = Signal(str)
    failed = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.asked: list = []

    def request(self, drawing, raw_input=None, seed=0) -> ForwardRequest:
        return ForwardRequest(len(self.asked) + 1, drawing, raw_input, seed)

    def run_backward(self, request, loss, zero_grad) -> int:
        self.asked.append((request, loss, zero_grad))
        return request.request_id

    def cancel_work(self) -> None:
        self.workCancelled.emit("backward")


def test_backward_asks_with_the_state_and_says_why_when_it_cannot(qtbot):
    state = AppState(loss_kind="ce", target_class=4, zero_grad=False)
    state.drawing = np.ones((32, 32), np.float32)
    compute, parent, opening = FakeCompute(), QWidget(), [True]
    qtbot.addWidget(parent)
    canvas = CanvasPanel(state, LENET_INPUT)
    panels = (LossPanel(state), GraphPanel(), canvas)
    control = BackwardControl(state, compute, *panels, lambda: opening[0], parent)
    heard = []
    control.message.connect(lambda text, warning: heard.append((text, warning)))
    assert control.run() == 0 and compute.asked == [] and heard[-1][1] is True  # opening
    opening[0] = False
    assert control.run() == 1
    request, loss, zero_grad = compute.asked[0]
    assert request.drawing.all() and (loss.kind, loss.target_class) == ("ce", 4)
    assert zero_grad is False
    compute.cancel_work()
    assert not control.busy.is_open and "cancelled" in heard[-1][0]
