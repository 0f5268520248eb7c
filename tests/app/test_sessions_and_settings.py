"""Nothing lost: sessions, settings, autosave, exports."""

import json
import os
import zipfile

import numpy as np
import pytest

from inspector.core.files.session import SessionError, SessionState, load_session, save_session
from inspector.testing import stroke
from tests.conftest import settle


def _make_a_session(qtbot, window):
    """Draw, pick CE against class 3 with accumulation, backward, step, update the weights."""
    stroke(window.canvas_panel.canvas)
    window.canvas_panel.brush_spin.setValue(2.1)
    window.loss.loss_combo.setCurrentIndex(window.loss.loss_combo.findData("ce"))
    window.loss.class_spin.setValue(3)
    window.loss.zero_grad.setChecked(False)
    window.loss.lr_spin.setValue(0.05)
    window.tree.select_path("conv2")
    with qtbot.waitSignal(window.compute.backwardReady, timeout=20_000):
        window.run_backward()
    with qtbot.waitSignal(window.compute.weightsUpdated, timeout=20_000):
        window.compute.update_weights(0.05)
    with qtbot.waitSignal(window.compute.backwardReady, timeout=20_000):
        window.run_backward()
    for _ in range(7):
        window.graph.step()
    settle(qtbot, window)


def _weights(qtbot, window) -> dict:
    with qtbot.waitSignal(window.compute.stateReady, timeout=20_000) as blocker:
        window.compute.request_weights()
    return blocker.args[0]


def test_save_close_open_restores_every_field(qtbot, tmp_path):
    from inspector.app import MainWindow

    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    settle(qtbot, first)
    _make_a_session(qtbot, first)
    path = tmp_path / "work.netinspector"
    with qtbot.waitSignal(first.persistence.sessionSaved, timeout=20_000):
        first.persistence.save_session(path)
    saved_weights = _weights(qtbot, first)
    drawing = first.canvas_panel.canvas.drawing.copy()
    step = first.graph.stepper.k
    first.close()

    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    settle(qtbot, second)
    with qtbot.waitSignal(second.persistence.sessionRestored, timeout=30_000):
        assert second.persistence.open_session(path)
    settle(qtbot, second)
    np.testing.assert_array_equal(second.canvas_panel.canvas.drawing, drawing)
    restored = _weights(qtbot, second)
    assert restored.keys() == saved_weights.keys()
    for name in saved_weights:
        np.testing.assert_array_equal(restored[name], saved_weights[name])  # bit for bit
    assert second.canvas_panel.canvas.brush_radius == pytest.approx(2.1)
    spec = second.loss.spec()
    assert (spec.kind, spec.target_class) == ("ce", 3)
    assert not second.loss.zero_grad.isChecked()
    assert second.loss.lr_spin.value() == pytest.approx(0.05)
    assert second.tree.current_path() == "conv2"
    assert second.graph.stepper.k == step == 6
    assert second.state.selected_module == "conv2"
    second.close()


def test_damaged_and_newer_sessions_are_refused_and_nothing_changes(qtbot, window, tmp_path):
    stroke(window.canvas_panel.canvas)
    drawing = window.canvas_panel.canvas.drawing.copy()
    title = window.windowTitle()
    damaged = tmp_path / "damaged.netinspector"
    damaged.write_bytes(b"PK\x03\x04 not really a zip")
    assert not window.persistence.open_session(damaged)
    assert "damaged.netinspector is damaged" in window.last_error

    newer = tmp_path / "newer.netinspector"
    save_session(newer, SessionState())
    with zipfile.ZipFile(newer) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    meta = json.loads(parts["session.json"])
    meta["version"] = 99
    parts["session.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(newer, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    assert not window.persistence.open_session(newer)
    assert "newer Net Inspector" in window.last_error
    np.testing.assert_array_equal(window.canvas_panel.canvas.drawing, drawing)
    assert window.windowTitle() == title


def test_an_interrupted_save_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "s.netinspector"
    first = SessionState(drawing=np.ones((32, 32), np.float32), weights={"w": np.ones(3)})
    save_session(path, first)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.numpy.save", crash)
    with pytest.raises(OSError):
        save_session(path, SessionState(weights={"w": np.zeros(3)}))
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".*partial"))
    np.testing.assert_array_equal(load_session(path).drawing, first.drawing)


def test_missing_session_file(tmp_path):
    with pytest.raises(SessionError, match="no such file"):
        load_session(tmp_path / "gone.netinspector")


def test_window_layout_and_loss_settings_come_back(qtbot):
    from inspector.app import MainWindow

    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    first.resize(1300, 800)
    first.docks["weights"].setFloating(True)
    first.loss.lr_spin.setValue(0.2)
    first.canvas_panel.brush_spin.setValue(2.5)
    size = first.size()
    first.close()
    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    assert second.loss.lr_spin.value() == pytest.approx(0.2)
    assert second.canvas_panel.brush_spin.value() == pytest.approx(2.5)
    assert second.docks["weights"].isFloating()
    # The geometry is stored; the offscreen platform's 800×800 screen clamps what it restores.
    from PySide6.QtCore import QSettings

    assert not QSettings().value("window/geometry").isEmpty()
    assert second.size().width() >= min(size.width(), 790)
    second.close()


def test_autosaved_drawing_is_offered_after_a_crash(qtbot, window):
    from inspector.gui.session.autosave import Autosave, autosave_path

    stroke(window.canvas_panel.canvas)
    assert window.persistence.autosave.now().result(timeout=5)  # written off the GUI thread
    assert Autosave.leftover() is None  # this instance's own: not a leftover
    mine = autosave_path()
    live = mine.with_name(f"drawing-{os.getppid()}.npy")  # another instance, still running
    live.write_bytes(mine.read_bytes())
    assert Autosave.leftover() is None
    live.unlink()
    leftover = mine.with_name("drawing-999999999.npy")  # a run that was killed
    mine.rename(leftover)
    assert Autosave.leftover() == leftover
    drawing = window.canvas_panel.canvas.drawing.copy()
    window.canvas_panel.canvas.clear()
    assert window.persistence.autosave.restore(leftover)
    np.testing.assert_array_equal(window.canvas_panel.canvas.drawing, drawing)
    window.close()  # a clean exit removes it
    assert Autosave.leftover() is None


def test_a_tampered_or_fifo_autosave_is_refused_and_forgotten(qtbot, window):
    from inspector.gui.session.autosave import Autosave, autosave_path

    folder = autosave_path().parent
    folder.mkdir(parents=True, exist_ok=True)
    fifo = folder / "drawing-999999998.npy"
    os.mkfifo(fifo)  # reading it would block the GUI thread for ever
    assert Autosave.leftover() is None
    fifo.unlink()
    stale = folder / ".drawing-999999997.npy.999999997.abcdef.partial"
    stale.write_bytes(b"\0" * 4096)
    assert Autosave.leftover() is None and not stale.exists()  # a killed write's leftover
    drawing = window.canvas_panel.canvas.drawing.copy()
    for bad in (np.nan, np.inf):
        path = folder / "drawing-999999996.npy"
        np.save(path, np.full((32, 32), bad, np.float32))
        assert Autosave.leftover() == path
        assert not window.persistence.autosave.restore(path)
        assert "Could not restore the autosaved drawing" in window.statusBar().currentMessage()
        assert not path.exists()
        np.testing.assert_array_equal(window.canvas_panel.canvas.drawing, drawing)


def test_the_autosave_writes_off_the_gui_thread_and_a_clean_exit_waits_for_it(
    qtbot, window, monkeypatch
):
    """Two fsyncs every three seconds of a stroke: on a slow disk they stalled the drawing."""
    import threading

    from inspector.gui.session import autosave as module

    writers = []
    disk = threading.Event()  # a busy disk: the write finishes when the test says so

    def slow_save(path, array):
        writers.append(threading.current_thread())
        disk.wait(10)
        np.save(path, array)

    monkeypatch.setattr(module, "atomic_save_npy", slow_save)
    stroke(window.canvas_panel.canvas)
    future = window.persistence.autosave.now()
    assert not future.done()  # the GUI thread did not wait for the disk
    disk.set()
    window.close()  # waits for the write, then removes the file: no leftover to offer
    assert future.done() and writers[0] is not threading.main_thread()
    assert not module.autosave_path().exists()


def test_an_autosave_that_fails_is_logged_and_tried_again(qtbot, window, monkeypatch):
    from inspector.gui.session import autosave as module

    def broken(path, array):
        raise ValueError("no room")

    monkeypatch.setattr(module, "atomic_save_npy", broken)
    stroke(window.canvas_panel.canvas)
    autosave = window.persistence.autosave
    assert autosave.now().result(timeout=5) is False
    qtbot.waitUntil(lambda: autosave._dirty, timeout=2_000)  # the next tick writes again


def test_exports(qtbot, window, tmp_path):
    stroke(window.canvas_panel.canvas)
    settle(qtbot, window)
    exporter = window.exporter
    assert exporter.write_activations(tmp_path / "act.png")
    assert (tmp_path / "act.png").read_bytes()[:4] == b"\x89PNG"
    assert exporter.write_activations(tmp_path / "conv1.npy", step=0)
    values = np.load(tmp_path / "conv1.npy")
    np.testing.assert_array_equal(values, window.last_result.steps[0].heatmap.image)
    from inspector.gui.exports import save_image

    save_image(window.grab(), tmp_path / "window.png")
    assert (tmp_path / "window.png").read_bytes()[:4] == b"\x89PNG"


def test_snapshot_command_writes_the_window(tmp_path, qapp):
    from PySide6.QtGui import QImage

    from inspector.cli.snapshot import main

    out = tmp_path / "shot.png"
    assert main(["--out", str(out), "--backward-step", "3", "--size", "1400x900"]) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1400, 900)


def _open_then_quit(qtbot, spec: str, monkeypatch) -> None:
    """File > Open (the user's own choice, so consent to run it), then close the window."""
    import inspector.gui.session.opener as opener
    from inspector.app import MainWindow
    from inspector.core.state import ModelRef

    class Accepting:  # the Open Model dialog, filled in and accepted
        DialogCode = opener.OpenModelDialog.DialogCode

        def __init__(self, *args) -> None:
            self.request = ModelRef(spec, None, None, False)

        def exec(self):
            return self.DialogCode.Accepted

    monkeypatch.setattr(opener, "OpenModelDialog", Accepting)
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.compute.modelLoaded, timeout=30_000):
        window.choose_model()
    window.close()


def test_the_next_start_reopens_the_last_model(qtbot, zoo_files, tmp_path, monkeypatch):
    """A model the user opened is reopened at the next start without asking (they chose it);
    one whose file is gone is not (only consented models are remembered, so the
    model is opened through File > Open here rather than window.open_model)."""
    from inspector.app import last_model_or_none

    _open_then_quit(qtbot, f"{zoo_files['nets']}:TwoHeads", monkeypatch)
    monkeypatch.chdir(tmp_path)  # from another folder: the saved path is absolute
    opened, note = last_model_or_none()
    assert note is None and opened.name == "TwoHeads"

    zoo_copy = tmp_path / "gone.py"
    zoo_copy.write_text(zoo_files["nets"].read_text())
    _open_then_quit(qtbot, f"{zoo_copy}:TwoHeads", monkeypatch)
    zoo_copy.unlink()
    opened, note = last_model_or_none()
    assert opened is None and "Could not reopen" in note and "gone.py" in note


def test_the_next_start_uses_the_last_device(monkeypatch):
    from PySide6.QtCore import QSettings

    import inspector.app
    from inspector.cli import main

    started = {}
    monkeypatch.setattr(inspector.app, "run", lambda **kw: started.update(kw) or 0)
    monkeypatch.setattr(inspector.app, "set_identity", lambda: None)  # keep the test's names
    QSettings().setValue("device", "cpu")
    assert main([]) == 0 and started["device"] == "cpu"
    QSettings().setValue("device", "cuda:7")  # gone since: fall back to the CPU
    assert main([]) == 0 and started["device"] == "cpu"


@pytest.mark.parametrize(
    ("key", "stored", "words"),
    [
        ("model/input_shape", "abc", "sizes"),
        ("model/input_shape", ["1", " 0"], "sizes"),  # INI reads "1, 0" as a list
        ("model/trust", "maybe", "true or false"),
        ("model/input_dtype", "complex256", "a dtype name"),
    ],
)
def test_a_hand_edited_model_setting_is_forgotten_with_a_note(key, stored, words):
    from PySide6.QtCore import QSettings

    from inspector.app import remembered_model

    s = QSettings()
    s.setValue("model/spec", "lenet")
    s.setValue(key, stored)
    opened, note, ask = remembered_model()  # no traceback, at this start or the next
    assert opened is None and ask is None
    assert note.startswith(f"Forgot the saved setting {key} (") and words in note
    assert not QSettings().contains(key)
    assert remembered_model() == (None, None, None)


def test_a_hand_edited_setting_is_forgotten_with_a_note_in_the_status_bar(qtbot):
    from PySide6.QtCore import QSettings

    from inspector.app import MainWindow

    QSettings().setValue("loss/class", "seven")
    window = MainWindow()
    qtbot.addWidget(window)
    qtbot.waitUntil(
        lambda: "Forgot the saved setting loss/class" in window.statusBar().currentMessage()
    )
    assert not QSettings().contains("loss/class")
    window.close()


def test_a_big_session_is_read_off_the_gui_thread(qtbot, window, tmp_path, monkeypatch):
    import threading

    from inspector.gui.session import persistence, reading

    path = tmp_path / "big.netinspector"
    save_session(path, SessionState())
    readers: list[threading.Thread] = []
    real = persistence.load_session

    def spying(p):
        readers.append(threading.current_thread())
        return real(p)

    monkeypatch.setattr(reading, "load_session", spying)
    monkeypatch.setattr(reading, "SYNC_BYTES", 0)  # every session counts as big
    with qtbot.waitSignal(window.persistence.sessionRestored, timeout=30_000):
        assert window.persistence.open_session(path, trusted=True)
    assert readers and readers[0] is not threading.main_thread()
    damaged = tmp_path / "damaged.netinspector"
    with zipfile.ZipFile(damaged, "w") as archive:  # a zip, but no session
        archive.writestr("weights.safetensors", b"x" * 100)
    assert window.persistence.open_session(damaged)  # answered later, from the reader
    qtbot.waitUntil(lambda: "damaged.netinspector" in (window.last_error or ""), timeout=10_000)


def test_a_session_is_restored_by_one_job_and_applied_in_one_step(qtbot, window, tmp_path):
    """Model, weights, pin, Compare and the backward pass come back from one engine job; the
    window takes it all in before Qt runs anything else (no half-restored frame)."""
    from PySide6.QtCore import QTimer

    from inspector.core.files.loading import bundled_lenet
    from tests import hostile

    weights = {k: v * 0.5 for k, v in bundled_lenet().model.state_dict().items()}
    pinned = np.zeros((32, 32), np.float32)
    pinned[4:28, 15:17] = 1.0
    path = hostile.session(tmp_path / "s.netinspector", weights=weights, loss_kind="ce",
                           target_class=2, backward_step=3, pins=["A"], pin_drawing=pinned,
                           pin_weights=dict(bundled_lenet().model.state_dict()),
                           comparing=True)  # fmt: skip
    jobs, between = [], []
    window.compute.runner.jobDone.connect(lambda job: jobs.append(job.kind))

    def loaded(_loaded) -> None:
        QTimer.singleShot(0, lambda: between.append("event loop ran"))

    window.compute.modelLoaded.connect(loaded)
    done = []
    window.persistence.sessionRestored.connect(lambda _path: done.append(list(between)))
    with qtbot.waitSignal(window.persistence.sessionRestored, timeout=30_000):
        assert window.persistence.open_session(path, trusted=True)
    assert done == [[]]  # restored before the event loop ran once after the model came in
    assert jobs.count("open") == 1 and "backward" not in jobs and "pin" not in jobs
    state = window.state
    assert state.pin is not None and state.comparing and state.loss_kind == "ce"
    assert window.graph.stepper.k == 3 and state.backward_step == 3
    np.testing.assert_array_equal(state.pin.drawing, pinned)


def test_partials_a_killed_save_left_go_at_the_next_start(qtbot, window, tmp_path):
    from PySide6.QtCore import QSettings

    from inspector.app import MainWindow
    from inspector.gui.session.persistence import SAVE_FOLDER_KEY

    with qtbot.waitSignal(window.persistence.sessionSaved, timeout=20_000):
        window.persistence.save_session(tmp_path / "s.netinspector")
    assert QSettings().value(SAVE_FOLDER_KEY) == str(tmp_path.resolve())
    stale = tmp_path / ".s.netinspector.999999999.k2j4h1.partial"  # its writer was killed
    stale.write_bytes(bytes(1 << 20))
    live = tmp_path / f".s.netinspector.{os.getpid()}.x8f7s6.partial"  # still being written
    live.write_bytes(b"")
    window.close()
    second = MainWindow()
    qtbot.addWidget(second)
    assert not stale.exists() and live.exists()
    second.close()
