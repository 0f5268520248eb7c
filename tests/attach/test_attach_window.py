"""The window connected to a training in a subprocess: its tree, activations of the drawing,
weights that move, the Training dock fed by probe.step, Backward and stepping recorded in the
training process, Train refused with the reason, Disconnect leaving the training running, the
end said in one sentence; ``snapshot --connect`` and ``inspector.show``."""

import time

import numpy as np
import torch
import torch.nn.functional as F

import inspector
from inspector.cli import main
from tests.attach.conftest import TOKEN
from tests.attach.training_script import SmallNet
from tests.conftest import run_inspector


def _connect(qtbot, window, port: int, token: str = TOKEN) -> None:
    window.connection.connect_to(f"127.0.0.1:{port}", token)
    qtbot.waitUntil(lambda: window.state.connection == f"127.0.0.1:{port}", timeout=20_000)


def test_the_window_follows_a_training(qtbot, window, training):
    _connect(qtbot, window, training.port)
    paths = {n.path for n in window.tree.tree_model._by_path.values()}
    assert {"conv1", "conv2", "fc"} <= paths
    assert "connected to" in window.windowTitle()
    qtbot.waitUntil(lambda: window.last_result is not None
                    and window.last_result.module_shapes.get("conv1") == (1, 4, 16, 16),
                    timeout=20_000)  # fmt: skip
    steps = window.last_result.steps
    conv, relu = steps[0], steps[1]
    assert (conv.step.module, relu.step.op) == ("conv1", "relu")
    np.testing.assert_allclose(relu.values, np.maximum(conv.values, 0), atol=1e-6)
    # Train is off and says why; the curves come from the script's probe.step(loss=...).
    panel = window.training_panel
    assert not panel.train_button.isEnabled() and "its own script" in panel.train_button.toolTip()
    owned = ("pinAction", "updateAction", "resetWeightsAction")  # the script's: greyed
    assert not any(window.actions[name].isEnabled() for name in owned)
    assert not window.loss.update_button.isEnabled()
    qtbot.waitUntil(lambda: panel.loss_raw.getData()[0] is not None
                    and len(panel.loss_raw.getData()[0]) > 5, timeout=20_000)  # fmt: skip
    # The weights and the drawing's forward follow the training by themselves.
    window.state.selected_module = "conv1"
    qtbot.waitUntil(lambda: window.weights.result is not None
                    and window.weights.result.module == "conv1", timeout=20_000)  # fmt: skip
    first = window.weights.result.parameters[0].values.copy()
    forward = window.last_result.request_id
    qtbot.waitUntil(lambda: not np.array_equal(window.weights.result.parameters[0].values, first),
                    timeout=20_000)  # fmt: skip
    qtbot.waitUntil(lambda: window.last_result.request_id > forward, timeout=20_000)
    assert "epoch" not in panel.status_label.text(), "a script's loop has no epochs known here"
    assert panel.status_label.text().startswith("step ")
    # Backward is recorded in the training process; stepping walks its graph here.
    window.run_backward()
    qtbot.waitUntil(lambda: window.graph.result is not None, timeout=30_000)
    record = window.graph.result.record
    assert any(n.label.startswith("conv1.weight") for n in record.graph.nodes)
    assert window.graph.shown is not None  # drawn as it came, not waiting for a layout
    qtbot.waitUntil(window.graph.step, timeout=10_000)  # once its scene is drawn
    assert window.graph.step() and window.graph.stepper.k >= 1
    # Disconnect: the LeNet is back, the training goes on to finish normally.
    window.connection.disconnect()
    qtbot.waitUntil(lambda: window.state.connection == "", timeout=20_000)
    qtbot.waitUntil(lambda: "fc1" in {n.path for n in window.tree.tree_model._by_path.values()},
                    timeout=20_000)  # fmt: skip
    assert "connected" not in window.windowTitle()
    assert panel.train_button.isEnabled()
    assert all(window.actions[name].isEnabled() for name in owned)
    training.stop()
    assert training.wait() == 0
    assert "finished" in training.output()


def test_the_end_of_the_training_is_said(qtbot, window, training):
    _connect(qtbot, window, training.port)
    training.stop()
    assert training.wait() == 0
    ended = time.monotonic()
    # Said within 2 s on a quiet machine (the next half-second poll); a loaded one only delays it.
    qtbot.waitUntil(lambda: window.connection.ended is not None, timeout=30_000)
    print(f"the end was said {time.monotonic() - ended:.2f} s after the training exited")
    assert "finished" in window.statusBar().currentMessage()


def test_snapshot_connect(training, tmp_path, qapp, capsys):
    out = tmp_path / "shot.png"
    done = run_inspector("snapshot", "--connect", f"127.0.0.1:{training.port}", "--token", TOKEN,
                         "--out", str(out), tmp_path=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 10_000
    # The refusal in this process: the same command, without a second interpreter's start-up.
    bad = tmp_path / "no.png"
    assert main(["snapshot", "--connect", f"127.0.0.1:{training.port}", "--token", "no",
                 "--out", str(bad)]) == 1  # fmt: skip
    said = capsys.readouterr().err.strip().splitlines()
    assert len(said) == 1 and "refused the token" in said[0], said  # one sentence
    assert not bad.exists()


def test_show_opens_the_window_on_a_live_model(qtbot):
    torch.manual_seed(0)
    model = SmallNet()
    example = torch.randn(1, 1, 16, 16)
    window = inspector.show(model, example)  # a QApplication runs: it returns at once
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.last_result is not None, timeout=20_000)
    result = window.last_result
    assert result.module_shapes["conv1"] == (1, 4, 16, 16)
    x = torch.from_numpy(result.input)
    expected = F.max_pool2d(F.relu(model.conv1(x)), 2)
    pool = next(s for s in result.steps if s.step.op == "max_pool2d")
    np.testing.assert_allclose(pool.values, expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    window.close()


def test_the_window_command_refuses_a_connection_with_a_model(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["--connect", "127.0.0.1:5870", "--model", "lenet"])
    assert "--connect" in capsys.readouterr().err
