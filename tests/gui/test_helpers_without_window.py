"""The attention tab, the interventions and the connection against a bare state and a fake
Compute: what each asks of the worker and says, with no window around them."""

from types import SimpleNamespace

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QTabWidget, QWidget

from inspector.core.edits.spec import Intervention
from inspector.core.forward.capture import Step
from inspector.core.forward.results import ForwardRequest
from inspector.core.model.inputs import LENET_INPUT
from inspector.core.state import AppState
from inspector.gui.attention.control import AttentionControl
from inspector.gui.edits.controller import Intervener
from inspector.gui.edits.targets import Target
from inspector.gui.panels.activations import ActivationsPanel
from inspector.gui.panels.canvas import CanvasPanel
from inspector.gui.training.panel import TrainingPanel
from inspector.gui.work.connection import Connection
from inspector.gui.work.frames import FrameTracker


class FakeRunner(QObject):
    finished = Signal()
    engine = None


class FakeCompute(QObject):
    forwardReady = Signal(object)
    modelLoaded = Signal(object)
    sweepPlanned = Signal(object)
    sweepRowReady = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.last_result = None
        self.runner = FakeRunner()
        self.configured: list[dict] = []
        self.edits: list[tuple] = []
        self.switches: list[str] = []
        self.sweeps: list[tuple] = []

    def request(self, drawing, raw_input=None, seed=0) -> ForwardRequest:
        return ForwardRequest(1, drawing, raw_input, seed)

    def plan_sweep(self, request, step: int, token) -> None:
        self.sweeps.append(("plan", request.seed, step, token))

    def sweep_row(self, row: int) -> None:
        self.sweeps.append(("row", row))

    def configure(self, **changes) -> None:
        self.configured.append(changes)

    def set_edits(self, edits: tuple) -> None:
        self.edits.append(edits)

    def switch_engine(self, what: str, build, adopt) -> int:
        self.switches.append(what)
        return len(self.switches)


def _heard(helper) -> list[tuple[str, bool]]:
    heard = []
    helper.message.connect(lambda text, warning: heard.append((text, warning)))
    return heard


def test_the_attention_tab_captures_only_while_shown_and_says_why_a_head_is_refused(qtbot):
    state, compute, tabs, submits = AppState(), FakeCompute(), QTabWidget(), []
    qtbot.addWidget(tabs)
    tabs.addTab(QWidget(), "Activations")
    frames = FrameTracker([], lambda: 0)
    canvas = CanvasPanel(state, LENET_INPUT)
    qtbot.addWidget(canvas)
    control = AttentionControl(state, compute, tabs, frames, canvas, lambda: submits.append(1))
    heard = _heard(control)
    assert tabs.indexOf(control.panel) == 1 and control.panel.heads in frames.panels

    tabs.setCurrentWidget(control.panel)
    assert compute.configured == [{"attention": True}] and len(submits) == 1
    tabs.setCurrentIndex(0)
    assert compute.configured[-1] == {"attention": False} and len(submits) == 1

    control.zero_head("encoder.attn", 2)  # not selected, no steps yet: select it, forward
    assert state.selected_module == "encoder.attn" and len(submits) == 2
    assert control.pending == ("encoder.attn", 2) and heard == []
    control.zero_head("encoder.attn", 2)  # selected, and still no step with its heads
    assert control.pending is None and state.interventions == ()
    assert heard[-1][1] is True and "cannot be zeroed one by one" in heard[-1][0]


def test_interventions_go_through_the_state_to_the_worker_and_the_next_forward(qtbot):
    state, compute, submits, parent = AppState(), FakeCompute(), [], QWidget()
    qtbot.addWidget(parent)
    activations = ActivationsPanel()
    qtbot.addWidget(activations)
    intervener = Intervener(state, compute, activations, lambda: submits.append(1), parent)
    zero = Intervention(0, "conv1", "zero", channel=1)
    scale = Intervention(7, "fc1", "scale", value=0.5)
    assert intervener.add(zero) == 0 and intervener.add(scale) == 1
    assert compute.edits[-1] == (zero, scale) == state.interventions and len(submits) == 2
    assert intervener.list.lines() == ["1. conv1 [ch 1] = 0", "8. fc1 × 0.5"]

    intervener._on_toggled(1, False)
    assert compute.edits[-1][1].enabled is False and len(submits) == 3
    intervener.remove(0)
    assert [e.label for e in compute.edits[-1]] == ["fc1"] and len(submits) == 4
    compute.modelLoaded.emit(None)  # a new model: the listed edits again, no forward of its own
    assert compute.edits[-1] == state.interventions and len(submits) == 4
    intervener.clear()
    assert compute.edits[-1] == () and intervener.list.lines() == []

    state.seed = 5
    intervener.sweep(Target(Step(3, "Linear", "h.0", True, (1, 4, 8))))  # its rows in turn
    sweeper = intervener.sweeper
    assert sweeper.dialog.parent() is parent and compute.sweeps == [("plan", 5, 3, None)]
    rows = (Step(1, "Linear", "h.0.q", True, (1, 4, 8)), Step(3, "Linear", "h.0", True, (1, 4, 8)))
    plan = SimpleNamespace(steps=rows, positions=4, title="t", clean=1.0, patched_from=2.0)
    compute.sweepPlanned.emit(plan)
    compute.sweepRowReady.emit(SimpleNamespace(row=0, changes=np.ones(4, np.float32)))
    assert compute.sweeps[1:] == [("row", 0), ("row", 1)] and sweeper.running
    compute.sweepRowReady.emit(SimpleNamespace(row=1, changes=np.zeros(4, np.float32)))
    assert not sweeper.running and sweeper.grid.tolist() == [[1.0] * 4, [0.0] * 4]


def test_connecting_asks_for_the_switch_and_refuses_an_address_in_one_sentence(qtbot):
    state, compute = AppState(), FakeCompute()

    class Busy:
        def __init__(self) -> None:
            self.opened: list[str] = []

        def open(self, text: str, cancel) -> None:
            self.opened.append(text)

    class Opener:
        busy = Busy()

        def cancel(self) -> None:
            pass

    panel, disconnect = TrainingPanel(state), QAction("Disconnect")
    qtbot.addWidget(panel)
    disconnect.setEnabled(True)
    titles = ["Net Inspector — LeNet"]
    opener = Opener()
    connection = Connection(state, compute, opener, panel, disconnect, lambda: titles[-1],
                            titles.append)  # fmt: skip
    heard = _heard(connection)
    assert not disconnect.isEnabled() and titles[-1] == "Net Inspector — LeNet"
    assert panel.reinit_button.isEnabled()

    assert connection.connect_to("localhost:port") is None
    assert heard[-1][1] is True and "is not HOST:PORT" in heard[-1][0]
    assert compute.switches == [] and opener.busy.opened == []
    assert connection.connect_to("127.0.0.1:5999", "secret") == 1
    assert compute.switches == ["Connecting to 127.0.0.1:5999"]
    assert opener.busy.opened == [heard[-1][0]] == ["Connecting to 127.0.0.1:5999…"]

    connection.disconnect()  # the fake never connected
    assert heard[-1] == ("Not connected to a training.", False)
    assert compute.switches == ["Connecting to 127.0.0.1:5999"]
