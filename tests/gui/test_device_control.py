"""The device picker against a bare state and a fake Compute: requests go out, only answers
change where the model runs."""

from PySide6.QtCore import QObject, Signal

from inspector.core.forward.results import DeviceResult
from inspector.core.state import AppState
from inspector.gui.device_control import DeviceControl


class FakeCompute(QObject):
    deviceChanged = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def set_device(self, device: str) -> None:
        self.asked.append(device)


def _control(qtbot):
    state, compute = AppState(), FakeCompute()
    control = DeviceControl(state, compute)
    qtbot.addWidget(control.combo)
    qtbot.addWidget(control.label)
    control.combo.addItem("meta")
    heard = []
    control.message.connect(lambda text, warning: heard.append((text, warning)))
    return state, compute, control, heard


def test_picking_a_device_asks_the_engine_and_its_answer_is_what_shows(qtbot):
    state, compute, control, heard = _control(qtbot)
    moved = []
    control.moved.connect(moved.append)
    control.combo.setCurrentText("meta")
    assert state.device == "meta" and compute.asked == ["meta"]
    assert state.active_device == "cpu" and control.label.text() == "cpu"  # not moved yet
    compute.deviceChanged.emit(DeviceResult("meta", True))
    assert state.active_device == "meta" and control.label.text() == "meta"
    assert moved == ["meta"] and heard[-1] == ("Running on meta.", False)


def test_a_refused_move_puts_the_request_and_the_combo_back(qtbot):
    state, compute, control, heard = _control(qtbot)
    state.device = "meta"  # asked through the state (a session, a script): the same way
    assert compute.asked == ["meta"]
    compute.deviceChanged.emit(DeviceResult("cpu", False, "Could not move the model to meta"))
    assert state.device == state.active_device == "cpu"
    assert control.combo.currentText() == "cpu" and heard[-1][1] is True
    compute.deviceChanged.emit(DeviceResult("cpu", True))  # the engine says where it runs
    assert compute.asked == ["meta"]  # an answer is never a new request
