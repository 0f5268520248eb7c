"""Opening models as requests in the state, against a bare state and a fake Compute."""

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from inspector.core.state import AppState, ModelRef
from inspector.gui.session.opener import ModelOpener


class FakeCompute(QObject):
    modelLoaded = Signal(object)
    loadFailed = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[tuple] = []
        self.cancelled = 0

    def open_model(self, *args, from_elsewhere: bool = False, **_options) -> int:
        self.opened.append((*args, from_elsewhere))
        return len(self.opened)

    def cancel_load(self) -> None:
        self.cancelled += 1


def _opener(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    state, compute = AppState(), FakeCompute()
    return state, compute, ModelOpener(state, compute, parent)


def test_a_request_in_the_state_is_answered_by_asking_the_worker(qtbot):
    state, compute, opener = _opener(qtbot)
    ref = ModelRef("resnet18", None, (1, 3, 64, 64), False, "float16")
    assert opener.request(ref) == 1
    assert compute.opened == [("resnet18", None, False, (1, 3, 64, 64), "float16", False)]
    assert state.model_request == ref and state.model == ModelRef()  # not acknowledged
    assert opener.request(ref) == 2  # the same model again is a new request
    state.model_request = ModelRef("lenet")  # asked through the state: the same way
    assert len(compute.opened) == 3 and compute.opened[-1][0] == "lenet"
    opener.request(ref, from_elsewhere=True)  # a remembered model: tried in a child first
    assert compute.opened[-1][-1] is True


def test_a_failed_open_is_one_sentence_and_a_dialog(qtbot):
    _state, compute, opener = _opener(qtbot)
    heard = []
    opener.failed.connect(heard.append)
    opener.request(ModelRef("nets.py:Broken"))
    compute.loadFailed.emit("nets.py:Broken failed: ValueError: no", "Traceback…")
    assert heard == ["nets.py:Broken failed: ValueError: no"] and not opener.busy.is_open
    box = opener._dialog_parent.findChild(QMessageBox, "loadErrorDialog")
    assert box is not None and "Broken" in box.text()
    box.close()
