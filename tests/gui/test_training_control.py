"""The training loop against a bare state and a fake Compute: every chunk is a typed Compute
call made from the state's settings; a refusal stops it with one sentence."""

from PySide6.QtCore import QObject, Signal

from inspector.core.model.inputs import LENET_INPUT
from inspector.core.runtime.threads import usable_cores
from inspector.core.state import AppState
from inspector.gui.training.control import TrainingControl
from inspector.gui.training.panel import TrainingPanel


class FakeCompute(QObject):
    modelLoaded = Signal(object)
    forwardReady = Signal(object)
    weightsUpdated = Signal(object)
    workCancelled = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[tuple] = []
        self.reinitialised = 0

    def train_chunk(self, config, folder, batches, ms, threads, done) -> None:
        self.chunks.append((config, folder, batches, threads, done))

    def reinitialise(self) -> None:
        self.reinitialised += 1


def _control(qtbot):
    state, compute = AppState(train_batch=8, train_data=""), FakeCompute()
    panel = TrainingPanel(state)
    qtbot.addWidget(panel)
    control = TrainingControl(state, compute, panel, LENET_INPUT)
    heard = []
    control.message.connect(lambda text, warning: heard.append((text, warning)))
    return state, compute, control, heard


def test_a_chunk_is_asked_with_the_state_settings_and_fewer_threads_while_drawing(qtbot):
    state, compute, control, _heard = _control(qtbot)
    control.start()
    ((config, folder, _batches, threads, _done),) = compute.chunks
    assert config.batch_size == 8 and folder is None and threads == usable_cores()
    assert control.in_flight
    state.stroking = True  # read from the state, not from the canvas
    control.pause()
    compute.chunks[0][-1]("The folder has no MNIST files")  # the answer to the first
    control.step_once()
    assert compute.chunks[-1][3] == max(1, usable_cores() - 1)


def test_a_refusal_stops_the_loop_with_its_sentence(qtbot):
    _state, compute, control, heard = _control(qtbot)
    stopped = []
    control.stopped.connect(stopped.append)
    control.start()
    compute.chunks[-1][-1]("This model's output is not 10 classes")
    assert not control.running and stopped == ["This model's output is not 10 classes"]
    assert heard[-1] == ("This model's output is not 10 classes", True)
    control.reinitialise()
    assert compute.reinitialised == 1
