"""Issue 9 in the window: a file from someone else never runs code without consent (asked once,
in words, default No; No changes nothing), sessions of real models round-trip bit for bit, a
failed session open leaves nothing armed, and closing never hangs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from inspector.core.state import ModelRef
from inspector.testing import stroke
from tests import hostile
from tests.conftest import ROOT, isolated_env, settle


def _weights(qtbot, window) -> dict:
    with qtbot.waitSignal(window.compute.stateReady, timeout=20_000) as blocker:
        window.compute.request_weights()
    return blocker.args[0]


def _restored_when_lenet_opens(qtbot, window) -> list:
    """The sessions applied when the user next opens a model (none, if nothing is armed)."""
    restored = []
    window.persistence.sessionRestored.connect(restored.append)
    with qtbot.waitSignal(window.compute.modelLoaded, timeout=30_000):
        window.open_model(ModelRef("lenet"))
    qtbot.wait(200)
    return restored


def _question(qtbot, window) -> QMessageBox:
    qtbot.waitUntil(lambda: _visible_question(window) is not None, timeout=5_000)
    return _visible_question(window)


def _visible_question(window) -> QMessageBox | None:
    for box in window.findChildren(QMessageBox, "consentDialog"):
        if box.isVisible():
            return box
    return None


def _answer(box: QMessageBox, yes: bool) -> None:
    button = QMessageBox.StandardButton.Yes if yes else QMessageBox.StandardButton.No
    box.button(button).click()


@pytest.fixture
def code_session(tmp_path):
    """A session whose model is a .py file that writes a marker when imported."""
    marker = tmp_path / "marker"
    nets = hostile.model_file(tmp_path, marker)
    weights = hostile.mixed_weights()
    path = hostile.session(
        tmp_path / "code.netinspector", model_spec=f"{nets}:Mixed", weights=weights
    )
    return path, marker, nets, weights


def test_a_session_naming_code_asks_first_and_no_changes_nothing(qtbot, window, code_session):
    path, marker, nets, _weights_saved = code_session
    stroke(window.canvas_panel.canvas)
    drawing = window.canvas_panel.canvas.drawing.copy()
    title = window.windowTitle()
    assert window.persistence.open_session(path)
    box = _question(qtbot, window)
    assert str(nets.resolve()) in box.text() and "runs the python code in" in box.text().lower()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
    assert not marker.exists()  # nothing ran before the answer
    _answer(box, yes=False)
    qtbot.wait(300)
    assert not marker.exists()
    assert window.windowTitle() == title
    np.testing.assert_array_equal(window.canvas_panel.canvas.drawing, drawing)
    assert "Nothing was changed" in window.statusBar().currentMessage()
    # Nothing armed: the next model the user opens does not get the session applied.
    restored = _restored_when_lenet_opens(qtbot, window)
    assert not restored and not marker.exists()
    np.testing.assert_array_equal(window.canvas_panel.canvas.drawing, drawing)


def test_yes_opens_it_with_its_weights_and_is_asked_once(qtbot, window, code_session, tmp_path):
    """Yes runs it, with the session's weights bit for bit (fp32, fp16, bf16, int64, 0-d,
    BatchNorm); the consent is remembered for that file as it is, so the next start reopens
    it without asking; a changed file is asked about again."""
    from inspector.app import remembered_model

    path, marker, nets, saved_weights = code_session
    restored = []
    window.persistence.sessionRestored.connect(restored.append)
    assert window.persistence.open_session(path)
    _answer(_question(qtbot, window), yes=True)
    qtbot.waitUntil(lambda: bool(restored), timeout=30_000)
    assert marker.exists()
    hostile.assert_same_bits(_weights(qtbot, window), saved_weights)
    marker.unlink()
    window.persistence.save_settings()  # as on close
    assert QSettings().value("model/spec") == f"{nets.resolve()}:Mixed"
    opened, note, ask = remembered_model()
    assert ask is None and note is None and opened.name == "Mixed"
    assert marker.exists()  # reopened: it ran, as agreed
    marker.unlink()
    nets.write_text(nets.read_text() + "\n# changed since\n")
    opened, note, ask = remembered_model()
    assert opened is None and ask is not None and not marker.exists()
    _ref, risks = ask
    assert [r.path for r in risks] == [nets.resolve()]


def test_a_remembered_model_nobody_agreed_to_is_asked_about_at_start(qtbot, tmp_path):
    """Settings from an older version (or written by someone else) name a .py model: the
    LeNet opens, the question comes up, nothing runs before Yes; No keeps the LeNet and the
    model is not remembered again; Yes opens it."""
    from inspector.app import MainWindow, offer_remembered_model, remembered_model

    marker = tmp_path / "marker"
    nets = hostile.model_file(tmp_path, marker)
    for answer in (False, True):
        QSettings().setValue("model/spec", f"{nets}:Mixed")
        opened, _note, ask = remembered_model()
        assert opened is None and ask is not None and not marker.exists()
        window = MainWindow()
        qtbot.addWidget(window)
        window.show()
        offer_remembered_model(window, *ask)
        box = _question(qtbot, window)
        assert "Reopening" in box.text() and str(nets.resolve()) in box.text()
        settle(qtbot, window)
        assert not marker.exists()
        if answer:
            with qtbot.waitSignal(window.compute.modelLoaded, timeout=30_000):
                _answer(box, yes=True)
            assert marker.exists() and window.windowTitle().endswith("Mixed")
        else:
            _answer(box, yes=False)
            qtbot.wait(200)
            assert not marker.exists()
            window.close()
            assert QSettings().value("model/spec") != f"{nets.resolve()}:Mixed"
            continue
        window.close()
        assert QSettings().value("model/spec") == f"{nets.resolve()}:Mixed"


def test_an_unconsented_model_is_never_remembered(qtbot, window, tmp_path):
    """A model opened by code (not File > Open, not a Yes) is not put into the settings."""
    marker = tmp_path / "marker"
    nets = hostile.model_file(tmp_path, marker)
    QSettings().setValue("model/spec", "lenet")
    with qtbot.waitSignal(window.compute.modelLoaded, timeout=30_000):
        window.open_model(ModelRef(f"{nets}:Mixed"))
    window.close()
    assert QSettings().value("model/spec") is None


def test_hostile_pickles_and_pt2_in_sessions(qtbot, window, tmp_path, zoo_files):
    """``"trust": true`` with a hostile checkpoint as the model, or a .pt2 with a pickled
    weight: asked first (No: nothing ran); without trust the .pt2 is still asked about (it is a
    program), and even after Yes its pickles are refused by the loader: nothing is applied."""
    marker = tmp_path / "marker"
    evil = hostile.hostile_checkpoint(tmp_path / "evil.pt", marker)
    evil_pt2 = hostile.hostile_pt2(zoo_files["export"], tmp_path / "evil.pt2", marker)
    stroke(window.canvas_panel.canvas)
    drawing = window.canvas_panel.canvas.drawing.copy()
    title = window.windowTitle()
    for spec, what in ((evil, "unpickles"), (evil_pt2, "pickled parts")):
        path = hostile.session(
            tmp_path / f"{spec.stem}.netinspector", model_spec=str(spec), trust=True
        )
        assert window.persistence.open_session(path)
        box = _question(qtbot, window)
        assert what in box.text().lower() and str(spec) in box.text()
        _answer(box, yes=False)
    untrusted = hostile.session(tmp_path / "u.netinspector", model_spec=str(evil_pt2))
    assert window.persistence.open_session(untrusted)
    box = _question(qtbot, window)
    assert "torch.export program" in box.text() and "read and write files" in box.text()
    with qtbot.waitSignal(window.compute.loadFailed, timeout=30_000):
        _answer(box, yes=True)
    assert "trust-checkpoint" in window.last_error
    qtbot.wait(200)
    assert not marker.exists()
    assert window.windowTitle() == title
    np.testing.assert_array_equal(window.canvas_panel.canvas.drawing, drawing)
    assert window.persistence._restoring is None


def test_a_session_whose_weights_do_not_fit_changes_nothing_and_leaves_nothing_armed(
    qtbot, window, tmp_path
):
    from inspector.core.files.loading import bundled_lenet

    weights = {k: v.clone() for k, v in bundled_lenet().model.state_dict().items()}
    weights["fc3.bias"] = weights["fc3.bias"][:5].clone()
    path = hostile.session(tmp_path / "misfit.netinspector", weights=weights, learning_rate=0.5)
    stroke(window.canvas_panel.canvas)
    drawing = window.canvas_panel.canvas.drawing.copy()
    before = _weights(qtbot, window)
    with qtbot.waitSignal(window.compute.loadFailed, timeout=30_000) as failed:
        assert window.persistence.open_session(path)
    assert "misfit.netinspector" in failed.args[0] and "fc3.bias" in failed.args[0]
    hostile.assert_same_bits(_weights(qtbot, window), before)
    assert window.state.learning_rate != 0.5
    np.testing.assert_array_equal(window.canvas_panel.canvas.drawing, drawing)
    restored = _restored_when_lenet_opens(qtbot, window)
    assert not restored and window.state.learning_rate != 0.5
    np.testing.assert_array_equal(window.canvas_panel.canvas.drawing, drawing)


def test_a_cancelled_session_open_leaves_nothing_armed(qtbot, window, tmp_path):
    nets = tmp_path / "sleepy.py"  # sleeps rather than spin: the side thread is left behind
    nets.write_text(
        "import time\nfrom torch import nn\n\n\ndef Sleepy():\n"
        "    time.sleep(5)\n    return nn.Linear(4, 2)\n"
    )
    slow = hostile.session(
        tmp_path / "slow.netinspector",
        model_spec=f"{nets}:Sleepy",
        learning_rate=0.5,
        weights={},
    )
    assert window.persistence.open_session(slow, trusted=True)
    qtbot.wait(200)
    with qtbot.waitSignal(window.compute.workCancelled, timeout=5_000):
        window.opener.cancel()
    restored = _restored_when_lenet_opens(qtbot, window)
    assert not restored and window.state.learning_rate != 0.5


def test_every_dtype_round_trips_through_the_window_from_another_folder(
    qtbot, tmp_path, monkeypatch
):
    """Open a BatchNorm/bf16/fp16/int64 model with a weights file, change the weights, save a
    session beside the model, move the folder, delete the weights file, open the session from
    elsewhere: the weights are the saved ones bit for bit."""
    import torch

    from inspector.app import MainWindow
    from inspector.gui.session import trust

    folder = tmp_path / "work"
    folder.mkdir()
    nets = hostile.model_file(folder)
    weights_file = folder / "w.pt"
    torch.save(hostile.mixed_weights(), weights_file)
    ref = ModelRef(f"{nets}:Mixed", str(weights_file))
    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    trust.consent_to(ref)
    with qtbot.waitSignal(first.compute.modelLoaded, timeout=30_000):
        first.open_model(ref)
    stroke(first.canvas_panel.canvas)
    settle(qtbot, first)
    with qtbot.waitSignal(first.compute.backwardReady, timeout=30_000):
        first.run_backward()
    with qtbot.waitSignal(first.compute.weightsUpdated, timeout=20_000):
        first.compute.update_weights(0.1)
    saved = _weights(qtbot, first)
    assert saved["bf"].dtype == torch.bfloat16 and saved["bn.num_batches_tracked"].dim() == 0
    with qtbot.waitSignal(first.persistence.sessionSaved, timeout=20_000):
        first.persistence.save_session(folder / "s.netinspector")  # at backward step -1
    first.close()
    weights_file.unlink()
    moved = tmp_path / "moved"
    folder.rename(moved)
    monkeypatch.chdir(tmp_path)
    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    settle(qtbot, second)
    restored = []
    second.persistence.sessionRestored.connect(restored.append)
    assert second.persistence.open_session(moved / "s.netinspector")
    _answer(_question(qtbot, second), yes=True)  # another path: asked again
    qtbot.waitUntil(lambda: bool(restored), timeout=30_000)
    hostile.assert_same_bits(_weights(qtbot, second), saved)
    assert second.graph.stepper is not None and second.graph.stepper.k == -1
    assert second.state.model.spec == f"{moved / 'mixed.py'}:Mixed"
    second.close()


def test_a_state_that_would_not_read_back_is_reported_not_raised(qtbot, window, tmp_path):
    """save_session's ValueError (a state that would not read back) becomes a message."""
    with qtbot.waitSignal(window.persistence.sessionSaved, timeout=20_000):
        window.persistence.save_session(tmp_path / "ok.netinspector")
    window.state.drawing = np.full((32, 32), np.nan, np.float32)  # would not read back
    window.persistence.save_session(tmp_path / "bad.netinspector")
    qtbot.waitUntil(lambda: "Could not save" in window.statusBar().currentMessage(), timeout=10_000)
    assert not (tmp_path / "bad.netinspector").exists()


CLOSE_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from inspector import app
    from inspector.core.state import ModelRef

    qapp = QApplication(sys.argv[:1])

    def find():
        return next(w for w in qapp.topLevelWidgets() if w.objectName() == "mainWindow")

    def open_slow():
        find().open_model(ModelRef(sys.argv[1] + ":SlowToBuild"))
        QTimer.singleShot(500, close)

    def close():
        print(f"closing {time.time()}", flush=True)
        find().close()

    QTimer.singleShot(1000, open_slow)
    sys.exit(app.run())
    """
)


def test_closing_while_a_constructor_runs_python_exits_at_once(tmp_path):
    """The window is closed 500 ms into a model constructor stuck in pure Python for 30 s:
    the process is gone within a few seconds, exit code 0, no abort."""
    env = isolated_env(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-c", CLOSE_SCRIPT, str(ROOT / "tests/zoo/nets.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        out, err = child.communicate(timeout=25)  # the constructor alone takes 30 s
    except subprocess.TimeoutExpired:
        child.kill()
        raise AssertionError("closing waited for the model constructor") from None
    ended = time.time()
    assert child.returncode == 0, err
    assert "terminate called" not in err and "Abort" not in err
    closing = float(out.split("closing ")[1].split()[0])
    print(f"close to exit: {ended - closing:.2f} s")
    assert ended - closing < 3.0, f"{ended - closing:.1f} s from close to exit"


@pytest.mark.parametrize("spec", ["folder", "x" * 4096 + ".pt"])
def test_an_os_error_while_opening_closes_the_progress_dialog(qtbot, window, tmp_path, spec):
    if spec == "folder":
        spec = str(tmp_path)
    with qtbot.waitSignal(window.compute.loadFailed, timeout=30_000) as failed:
        window.open_model(ModelRef(spec))
    assert failed.args[0]
    qtbot.waitUntil(lambda: window.open_busy.dialog is None, timeout=5_000)


def test_a_session_naming_a_crashing_torchscript_asks_then_costs_one_sentence(
    qtbot, window, tmp_path
):
    """The archive segfaults its first forward: tried in a child process, the crash there is
    one sentence here; the window, its drawing and its model carry on."""
    program = hostile.lying_torchscript(tmp_path / "lying.pt")
    path = hostile.session(
        tmp_path / "lying.netinspector", model_spec=str(program), input_shape=(2,)
    )
    stroke(window.canvas_panel.canvas)
    drawing = window.canvas_panel.canvas.drawing.copy()
    title = window.windowTitle()
    assert window.persistence.open_session(path)
    box = _question(qtbot, window)
    assert "TorchScript program" in box.text() and "read and write files" in box.text()
    with qtbot.waitSignal(window.compute.loadFailed, timeout=120_000) as failed:
        _answer(box, yes=True)
    assert failed.args[0] == (
        "lying.pt is refused: it crashed the process that tried it (SIGSEGV), "
        "so it was not opened here"
    )
    assert window.windowTitle() == title
    np.testing.assert_array_equal(window.canvas_panel.canvas.drawing, drawing)
    assert window.persistence._restoring is None
