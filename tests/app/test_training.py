"""Watch it learn: the Training dock driven by its object names, on the bundled 1,000-image
sample (no download, no ../shared): re-initialise, train, pause, resume, sessions, drawing."""

import numpy as np
import pyqtgraph as pg
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QWidget,
)

from inspector.core.files.loading import open_model
from inspector.core.state import ModelRef
from inspector.gui.work.runner import Job
from inspector.testing import ONE, stroke


def _find(window, kind, name):
    widget = window.findChild(kind, name)
    assert widget is not None, name
    return widget


def _click(qtbot, window, name):
    qtbot.mouseClick(_find(window, QPushButton, name), Qt.MouseButton.LeftButton)


def _use_the_sample(window, batch=16, epochs=1):
    """The bundled sample (an empty folder field), small batches."""
    folder = _find(window, QLineEdit, "dataFolderEdit")
    folder.setText("")
    folder.editingFinished.emit()
    _find(window, QSpinBox, "batchSizeSpin").setValue(batch)
    _find(window, QSpinBox, "epochsSpin").setValue(epochs)


def _reinitialise(qtbot, window):
    with qtbot.waitSignal(window.compute.weightsUpdated, timeout=10_000):
        _click(qtbot, window, "reinitButton")


def _curve(window, name, index=0):
    plot = _find(window, pg.PlotWidget, name)
    x, y = plot.getPlotItem().listDataItems()[index].getData()
    return (np.array([]), np.array([])) if x is None else (x, y)


def _step(window):
    return window.training.last.step if window.training.last is not None else 0


def test_the_dock_has_its_controls(window):
    for kind, name in (
        (QPushButton, "trainButton"), (QPushButton, "trainStepButton"),
        (QPushButton, "reinitButton"), (QComboBox, "optimizerCombo"),
        (QCheckBox, "augmentCheck"), (QLabel, "trainingStatusLabel"),
        (pg.PlotWidget, "lossCurve"), (pg.PlotWidget, "accuracyCurve"),
    ):  # fmt: skip
        assert _find(window, kind, name).isVisible(), name
    combo = _find(window, QComboBox, "optimizerCombo")
    assert [combo.itemData(i) for i in range(combo.count())] == ["sgd", "momentum", "adam"]
    assert window.findChild(type(window.docks["loss"]), "trainingPanelDock") is not None


@pytest.mark.parametrize("size", [(1500, 950), (1920, 1080)])
def test_the_dock_sits_beside_loss_and_backward_and_nothing_in_it_is_cut(qtbot, size):
    """Under the central tabs, Loss and backward on its right under the right column; every
    control at least as wide as its text needs, the curves wide enough to read."""
    from inspector.app import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitUntil(lambda: win.last_result is not None, timeout=10_000)
    try:
        training, loss, column = (win.docks[k] for k in ("training", "loss", "prediction"))
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        assert win.dockWidgetArea(training) == win.dockWidgetArea(loss) == bottom
        assert training.geometry().right() < loss.x() and training.y() == loss.y()
        assert abs(loss.x() - column.x()) <= 8 and loss.y() > column.geometry().bottom()
        assert training.x() >= win.docks["canvas"].geometry().right()
        assert (win.width(), win.height()) == size  # no minimum width pushed the window
        kinds = (QLabel, QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit)
        for widget in win.training_panel.findChildren(QWidget):
            wrapped = isinstance(widget, QLabel) and widget.wordWrap()
            if isinstance(widget, kinds) and widget.isVisible() and not wrapped:
                name = widget.objectName() or getattr(widget, "text", str)()
                assert widget.width() >= widget.minimumSizeHint().width(), name
        for name in ("lossCurve", "accuracyCurve", "gradientHealthView"):
            plot = _find(win, pg.PlotWidget, name)
            assert plot.width() >= 150 and plot.height() >= 90, name
    finally:
        win.close()


def test_training_from_scratch_lowers_the_loss_and_raises_the_accuracy(qtbot, window):
    _use_the_sample(window, batch=16, epochs=6)  # 50 steps an epoch: 300 small batches
    _reinitialise(qtbot, window)
    status = _find(window, QLabel, "trainingStatusLabel")
    assert status.text() == "Not trained yet."
    before = window.last_result.request_id
    with qtbot.waitSignal(window.training.stopped, timeout=30_000) as stop:
        _click(qtbot, window, "trainButton")
        assert _find(window, QPushButton, "trainButton").text() == "Pause"
    assert stop.args == ["finished"] and _step(window) == 300
    assert _find(window, QPushButton, "trainButton").text() == "Train"
    _, loss = _curve(window, "lossCurve", 1)  # the smoothed line
    assert len(loss) == 300 and loss[-1] < 0.5 * loss[20]
    steps, held = _curve(window, "accuracyCurve", 0)
    assert steps.tolist() == [200] and held[-1] > 70
    _, test = _curve(window, "accuracyCurve", 1)
    assert len(test) == 6 and test[-1] > test[0] and test[-1] > 70
    assert status.text().startswith("epoch 6/6 · step 50/50 · loss ")
    assert "test " in status.text()
    # The drawing's forward ran again as it learnt: the prediction follows the new weights.
    assert window.last_result.request_id > before
    health = window.training_panel.health
    window.tree.select_path("")  # the model: every parameter tensor
    assert len(health.rows) == 10 and health.values.shape[1] == 15
    window.tree.select_path("conv1")
    assert health.rows == ("conv1.weight", "conv1.bias")


def test_pause_keeps_everything_and_train_resumes(qtbot, window):
    _use_the_sample(window, batch=8, epochs=20)
    _reinitialise(qtbot, window)
    _click(qtbot, window, "trainButton")
    qtbot.waitUntil(lambda: _step(window) >= 30, timeout=20_000)
    with qtbot.waitSignal(window.training.stopped, timeout=5_000):
        _click(qtbot, window, "trainButton")  # Pause
    qtbot.waitUntil(lambda: not window.training.in_flight, timeout=5_000)
    paused_at = _step(window)
    chunks: list = []
    window.training.chunkDone.connect(chunks.append)
    marked: list = []  # a job queued now runs after anything queued before it
    window.compute.runner.call(Job("mark", "Marking", lambda e, c: None, marked.append))
    qtbot.waitUntil(lambda: bool(marked), timeout=5_000)
    assert chunks == [] and _step(window) == paused_at and not window.training.running
    with qtbot.waitSignal(window.training.chunkDone, timeout=5_000) as one:
        _click(qtbot, window, "trainStepButton")
    assert one.args[0].step == paused_at + 1 and one.args[0].batches == 1
    _click(qtbot, window, "trainButton")
    qtbot.waitUntil(lambda: _step(window) >= paused_at + 20, timeout=20_000)
    losses = window.training.last.losses
    assert len(losses) == _step(window)  # one curve, nothing lost at the pause
    _click(qtbot, window, "trainButton")
    qtbot.waitUntil(lambda: not window.training.in_flight, timeout=5_000)


def test_drawing_during_training_updates_the_activations(qtbot, window):
    _use_the_sample(window, batch=8, epochs=50)
    _click(qtbot, window, "trainButton")
    qtbot.waitUntil(lambda: _step(window) >= 5, timeout=20_000)
    stroke(window.canvas_panel.canvas, ONE)
    submitted = window.compute.latest_request_id
    qtbot.waitUntil(lambda: window.last_result.request_id >= submitted, timeout=10_000)
    assert window.last_result.input.max() > 0  # the drawing reached the network
    assert window.training.running
    first = _step(window)
    qtbot.waitUntil(lambda: _step(window) > first + 5, timeout=10_000)  # still learning
    shown = window.last_result.request_id
    qtbot.waitUntil(lambda: window.last_result.request_id > shown, timeout=10_000)  # refreshed
    _click(qtbot, window, "trainButton")
    qtbot.waitUntil(lambda: not window.training.in_flight, timeout=5_000)


def test_a_session_saved_mid_training_resumes_there(qtbot, window, tmp_path):
    from inspector.app import MainWindow

    _use_the_sample(window, batch=16, epochs=3)
    _find(window, QComboBox, "optimizerCombo").setCurrentIndex(1)  # SGD with momentum
    _reinitialise(qtbot, window)
    for _ in range(3):
        with qtbot.waitSignal(window.training.chunkDone, timeout=5_000):
            _click(qtbot, window, "trainStepButton")
    window.training.chunk_batches = 8
    _click(qtbot, window, "trainButton")
    qtbot.waitUntil(lambda: _step(window) >= 30, timeout=10_000)
    _click(qtbot, window, "trainButton")
    qtbot.waitUntil(lambda: not window.training.in_flight, timeout=10_000)
    assert 30 <= _step(window) < 100 and _step(window) % 50  # mid-training, mid-epoch
    path = tmp_path / "learning.netinspector"
    with qtbot.waitSignal(window.persistence.sessionSaved, timeout=10_000):
        window.persistence.save_session(path)
    mine = []
    window.training.request_snapshot(mine.append)
    qtbot.waitUntil(lambda: bool(mine), timeout=5_000)

    other = MainWindow()
    qtbot.addWidget(other)
    other.show()
    try:
        with qtbot.waitSignal(other.training.restored, timeout=20_000) as restored:
            assert other.persistence.open_session(path, trusted=True)
        back = restored.args[0]
        assert back.step == _step(window)
        assert np.array_equal(back.losses, window.training.last.losses)
        assert _find(other, QComboBox, "optimizerCombo").currentData() == "momentum"
        assert _find(other, QSpinBox, "batchSizeSpin").value() == 16
        _, loss = _curve(other, "lossCurve", 0)
        assert len(loss) == back.step
        theirs = []
        other.training.request_snapshot(theirs.append)
        qtbot.waitUntil(lambda: bool(theirs), timeout=5_000)
        for key, value in mine[0].arrays.items():
            if key.startswith("optim/"):
                assert torch.equal(theirs[0].arrays[key], value), key
        with qtbot.waitSignal(other.training.chunkDone, timeout=5_000) as more:
            _click(qtbot, other, "trainStepButton")
        assert more.args[0].step == back.step + 1
    finally:
        other.close()


def test_save_weights_writes_safetensors_that_open_with_weights(qtbot, window, tmp_path):
    _use_the_sample(window)
    with qtbot.waitSignal(window.training.chunkDone, timeout=10_000):
        _click(qtbot, window, "trainStepButton")
    path = tmp_path / "trained.safetensors"
    with qtbot.waitSignal(window.training.weightsSaved, timeout=10_000):
        window.training.save_weights(path)
    opened = open_model("lenet", str(path))
    with qtbot.waitSignal(window.compute.stateReady, timeout=10_000) as state:
        window.compute.request_weights()
    for name, value in opened.model.state_dict().items():
        assert torch.equal(value, state.args[0][name]), name
    assert not list(tmp_path.glob(".*partial"))


def test_a_model_that_cannot_learn_mnist_says_why_before_train_is_pressed(qtbot, window):
    train, status = _find(window, QPushButton, "trainButton"), window.training_panel.status_label
    step = _find(window, QPushButton, "trainStepButton")
    assert train.isEnabled() and step.isEnabled()
    with qtbot.waitSignal(window.compute.modelLoaded, timeout=20_000):
        window.open_model(ModelRef("transformer"))
    assert not train.isEnabled() and not step.isEnabled()  # from its input, before a forward
    panel = window.training_panel
    settings = (panel.optimizer_combo, panel.lr_spin, panel.epochs_spin, panel.data_button)
    assert not any(w.isEnabled() for w in settings), "settings no training here will use"
    assert "Draw" not in window.hint.text.text() and "token ids" not in window.hint.text.text()
    assert "cannot be trained on MNIST: it takes a random" in status.text()
    assert train.toolTip() == status.text()
    # Started anyway (a script, a session), the trainer refuses with the same sentence.
    with qtbot.waitSignal(window.training.stopped, timeout=10_000) as stop:
        window.training.start()
    assert stop.args[0] == status.text()
    assert train.text() == "Train"

    with qtbot.waitSignal(window.compute.modelLoaded, timeout=20_000):
        window.open_model(ModelRef("lenet"))
    qtbot.waitUntil(train.isEnabled, timeout=10_000)
    assert step.isEnabled() and status.text() == "Not trained yet."
    assert all(w.isEnabled() for w in settings)


def test_mnist_refusal_names_the_input_or_the_output_that_does_not_fit():
    from inspector.core.model.inputs import IMAGE, LENET_INPUT, TENSOR, InputSpec
    from inspector.core.training.setup import mnist_refusal

    assert mnist_refusal(LENET_INPUT, (1, 10)) is None
    assert mnist_refusal(LENET_INPUT, None) is None  # no forward yet: the input alone
    assert mnist_refusal(InputSpec((1, 3, 64, 64), IMAGE), (1, 10)) is None
    why = mnist_refusal(InputSpec((1, 3, 64, 64), IMAGE), (1, 1000))
    assert why.endswith("its output for one image is [1, 1000], not 10 class scores.")
    ids = InputSpec((1, 16), TENSOR, dtype="int64", high=97)
    assert "it takes 16 random token ids" in mnist_refusal(ids, (1, 10))


@pytest.mark.parametrize("batch", [64])
def test_closing_mid_epoch_stops_the_worker(qtbot, batch):
    """Closing stops training between batches: the worker has ended when close returns (it
    is given a second before being left behind). How long closing takes is a figure of
    ``net-inspector bench --manners``."""
    from inspector.app import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.last_result is not None, timeout=10_000)
    _use_the_sample(win, batch=batch, epochs=100)
    _click(qtbot, win, "trainButton")
    qtbot.waitUntil(lambda: _step(win) >= 3, timeout=10_000)
    assert win.training.running
    win.close()
    assert not win.compute.runner.isRunning()


def test_reset_weights_pauses_and_forgets_the_training(qtbot, window):
    """Loss and backward's Reset weights puts the bundled weights back under the optimiser:
    training pauses, and its curves, steps and optimiser state go with the weights."""
    _use_the_sample(window, batch=8, epochs=50)
    _click(qtbot, window, "trainButton")
    qtbot.waitUntil(lambda: _step(window) >= 5, timeout=20_000)
    status = _find(window, QLabel, "trainingStatusLabel")
    assert status.text().startswith("epoch 1/50")
    with qtbot.waitSignal(window.compute.weightsUpdated, timeout=10_000) as reset:
        _click(qtbot, window, "resetWeightsButton")
    assert reset.args[0].kind == "reset" and reset.args[0].training_forgotten
    assert "training so far" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not window.training.in_flight, timeout=5_000)
    qtbot.wait(300)  # no chunk queued behind the reset trains on
    assert not window.training.running and window.training.last is None
    assert _find(window, QPushButton, "trainButton").text() == "Train"
    assert status.text() == "Not trained yet." and len(_curve(window, "lossCurve")[1]) == 0
    assert not _find(window, QProgressBar, "trainingProgressBar").isVisible()
    kept = []
    window.training.request_snapshot(kept.append)
    qtbot.waitUntil(lambda: bool(kept), timeout=5_000)
    assert kept == [None]  # nothing of the old training would go into a session
    with qtbot.waitSignal(window.training.chunkDone, timeout=5_000) as one:
        _click(qtbot, window, "trainStepButton")
    assert one.args[0].step == 1 and len(one.args[0].losses) == 1


@pytest.mark.parametrize("stepped", [False, True])
def test_a_session_whose_mnist_folder_is_gone_opens_on_the_sample(
    qtbot, window, tmp_path, mnist_folder, stepped
):
    """Trained on a folder, saved, the folder deleted (another computer), the session opened:
    the curves and the optimiser come back, the folder field falls back to the bundled
    sample, and one sentence names the missing folder. ``stepped``: the session also holds a
    backward step, so "Opened the session" comes after the training's note, not before."""
    import shutil

    _use_the_sample(window, batch=16, epochs=3)
    folder = _find(window, QLineEdit, "dataFolderEdit")
    folder.setText(str(mnist_folder))
    folder.editingFinished.emit()
    for _ in range(3):
        with qtbot.waitSignal(window.training.chunkDone, timeout=10_000):
            _click(qtbot, window, "trainStepButton")
    assert "MNIST (96 images)" in _find(window, QLabel, "trainingStatusLabel").text()
    losses = window.training.last.losses
    if stepped:
        with qtbot.waitSignal(window.compute.backwardReady, timeout=20_000):
            window.run_backward()
        window.graph.step()
    path = tmp_path / "elsewhere.netinspector"
    with qtbot.waitSignal(window.persistence.sessionSaved, timeout=10_000):
        window.persistence.save_session(path)
    shutil.rmtree(mnist_folder)

    taken = []
    window.training.restored.connect(taken.append)
    with qtbot.waitSignal(window.persistence.sessionRestored, timeout=20_000):
        assert window.persistence.open_session(path, trusted=True)
    qtbot.waitUntil(lambda: bool(taken), timeout=10_000)
    back = taken[0]
    assert back.step == 3 and np.array_equal(back.losses, losses)
    assert len(_curve(window, "lossCurve")[1]) == 3
    note = f"The session's MNIST folder {mnist_folder} is missing"
    assert _find(window, QLabel, "trainingStatusLabel").text().startswith(note)
    assert note in window.statusBar().currentMessage()
    assert folder.text() == "" and window.state.train_data == ""  # the bundled sample
    with qtbot.waitSignal(window.training.chunkDone, timeout=10_000) as more:
        _click(qtbot, window, "trainStepButton")
    assert more.args[0].step == 4 and "bundled sample" in more.args[0].source
