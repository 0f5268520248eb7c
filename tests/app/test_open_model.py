"""Opening the zoo in the real window: each model works, or fails with the right message and
the previous model stays loaded and usable."""

import numpy as np
import pytest
from PySide6.QtWidgets import QComboBox

from inspector.core.forward.settings import MAX_KEPT_STEPS
from inspector.core.model.inputs import IMAGE, TENSOR
from inspector.core.state import ModelRef
from inspector.testing import stroke
from tests.conftest import settle


def _open(qtbot, window, spec, weights=None, shape=None, trust=False):
    with qtbot.waitSignal(window.compute.modelLoaded, timeout=30_000):
        window.open_model(ModelRef(spec, weights, shape, trust))
    qtbot.waitUntil(
        lambda: (
            window.last_result is not None
            and window.last_result.request_id >= window.compute.latest_request_id
        ),
        timeout=20_000,
    )


def _refused(qtbot, window, spec, weights=None, shape=None, trust=False) -> str:
    with qtbot.waitSignal(window.compute.loadFailed, timeout=30_000) as blocker:
        window.open_model(ModelRef(spec, weights, shape, trust))
    return blocker.args[0]


def _still_works(qtbot, window, title):
    assert window.windowTitle() == title
    before = window.last_result.request_id
    window.submit_input()
    qtbot.waitUntil(lambda: window.last_result.request_id > before, timeout=10_000)


@pytest.fixture
def close_dialogs(qtbot):
    """Error dialogs open without blocking; close them at the end of the test."""
    yield
    from PySide6.QtWidgets import QApplication, QMessageBox

    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox):
            widget.close()


def test_resnetish_with_skips_opens_and_draws(qtbot, window, zoo_files):
    _open(qtbot, window, f"{zoo_files['nets']}:ResNetish")
    assert window.windowTitle() == "Net Inspector — ResNetish"
    assert (
        window.canvas_panel.input_spec.kind == IMAGE
        and window.canvas_panel.input_spec.shape == (1, 3, 64, 64)
    )
    assert "resampled to 1×3×64×64" in window.canvas_panel.input_note.text()
    stroke(window.canvas_panel.canvas)
    qtbot.waitUntil(
        lambda: window.last_result.request_id >= window.compute.latest_request_id,
        timeout=10_000,
    )
    result = window.last_result
    assert result.input.shape == (1, 3, 64, 64)
    labels = [s.step.label for s in result.steps]
    assert "blocks.0 › add" in labels and "head" in labels
    assert window.prediction.probabilities.shape == (10,)
    model = window.tree.tree_model
    assert model.data(model.index(0, 0)) == "ResNetish"
    with qtbot.waitSignal(window.compute.backwardReady, timeout=20_000):
        window.run_backward()
    assert any(n.label.startswith("blocks.1.conv2.weight") for n in window.graph.scene.graph.nodes)


def test_mlp_gets_a_random_tensor_with_reroll(qtbot, window, zoo_files):
    _open(qtbot, window, f"{zoo_files['nets']}:make_mlp")
    assert window.canvas_panel.input_spec.kind == TENSOR
    assert not window.canvas_panel.canvas.isEnabled()
    assert not window.canvas_panel.canvas.isVisible()  # no idle canvas squeezing the editor
    assert "not an image" in window.canvas_panel.input_note.text()
    first = window.last_result.input.copy()
    assert first.shape == (1, 20)
    window.canvas_panel.random_button.click()
    qtbot.waitUntil(lambda: not np.array_equal(window.last_result.input, first), timeout=10_000)
    assert window.prediction.label.text()[0].isdigit()  # 4-way output: bars
    _open(qtbot, window, f"{zoo_files['nets']}:ResNetish")  # an image model: the canvas is back
    assert window.canvas_panel.canvas.isVisible() and window.canvas_panel.canvas.isEnabled()


def test_transformer_output_is_a_heatmap(qtbot, window, zoo_files):
    _open(qtbot, window, f"{zoo_files['nets']}:TinyTransformer")
    result = window.last_result
    assert result.probabilities is None and result.output_heatmap is not None
    assert window.prediction.stack.currentWidget() is window.prediction.output_view
    assert window.prediction.label.text() == "output [1, 16, 32]"


def test_two_outputs_are_listed_and_picked(qtbot, window, zoo_files):
    _open(qtbot, window, f"{zoo_files['nets']}:TwoHeads")
    combo = window.findChild(QComboBox, "outputCombo")
    assert combo.isVisibleTo(window) and combo.count() == 2
    assert [combo.itemText(i) for i in range(combo.count())] == ["output[0]", "output[1]"]
    assert window.last_result.output.shape == (1, 5)
    combo.setCurrentIndex(1)
    qtbot.waitUntil(lambda: window.last_result.output_index == 1, timeout=10_000)
    assert window.last_result.output.shape == (1, 3)
    with qtbot.waitSignal(window.compute.backwardReady, timeout=20_000):
        window.run_backward()
    leaves = {n.label.split(" ")[0] for n in window.graph.scene.graph.nodes if n.kind == "param"}
    assert "extra.weight" in leaves and "classes.weight" not in leaves  # the loss used output[1]


@pytest.mark.parametrize("kind", ["torchscript", "export"])
def test_lenet_archives_open_and_predict(qtbot, window, zoo_files, kind):
    _open(qtbot, window, str(zoo_files[kind]))
    stroke(window.canvas_panel.canvas)
    qtbot.waitUntil(
        lambda: window.last_result.request_id >= window.compute.latest_request_id,
        timeout=10_000,
    )
    assert window.prediction.label.text().startswith("7 (")


@pytest.mark.usefixtures("close_dialogs")
@pytest.mark.parametrize(
    ("spec", "weights", "shape", "expected"),
    [
        ("{syntax}:Broken", None, None, "broken_syntax.py, line 4: syntax error"),
        ("{nets}:Nope", None, None, "nets.py has no 'Nope'"),
        ("{nets}:NeedsDepth", None, None, "NeedsDepth() needs the argument 'depth'"),
        ("{nets}:RaisesInForward", None, (1, 8), "the forward of this model always fails"),
        ("{nets}:WantsBigImages", None, (1, 3, 64, 64), "runs with --input-shape 1,3,128,128"),
        ("{pickled_model}", None, None, "needs full unpickling"),
        ("lenet", "{wrong_keys}", None, "does not fit the model"),
    ],
)
def test_refusals_keep_the_previous_model(qtbot, window, zoo_files, spec, weights, shape, expected):
    paths = {k: str(v) for k, v in zoo_files.items()}
    title = window.windowTitle()
    message = _refused(
        qtbot, window, spec.format(**paths), weights.format(**paths) if weights else None, shape
    )
    assert expected in message
    assert window.last_error == message
    assert expected in window.statusBar().currentMessage()
    _still_works(qtbot, window, title)


def test_trusted_pickle_and_explicit_shape_open(qtbot, window, zoo_files):
    _open(qtbot, window, str(zoo_files["pickled_model"]), shape=(1, 1, 16, 16), trust=True)
    assert window.last_result.input.shape == (1, 1, 16, 16)
    _open(qtbot, window, f"{zoo_files['nets']}:WantsBigImages", shape=(1, 3, 128, 128))
    assert window.last_result.output.shape == (1, 2)


def test_nan_output_is_reported(qtbot, window, zoo_files):
    _open(qtbot, window, f"{zoo_files['nets']}:NaNOutput")
    assert "NaN" in window.statusBar().currentMessage()


def test_cancelled_open_keeps_the_current_model(qtbot, window, zoo_files):
    """Cancel wins even over a constructor stuck in Python for 30 s."""
    from PySide6.QtWidgets import QPushButton

    title = window.windowTitle()
    window.open_model(ModelRef(f"{zoo_files['nets']}:SlowToBuild"))
    progress = window.open_busy.dialog
    qtbot.waitUntil(lambda: progress.isVisible(), timeout=5_000)  # shown after 300 ms
    with qtbot.waitSignal(window.compute.workCancelled, timeout=5_000) as cancelled:
        progress.findChild(QPushButton).click()
    assert cancelled.args == ["open"] and not window.open_busy.is_open
    _still_works(qtbot, window, title)
    assert window.state.model.spec == "lenet"


def test_cli_refusals_exit_non_zero_with_one_sentence(zoo_files, capsys):
    from inspector.cli import main

    assert main(["--model", f"{zoo_files['syntax']}:Broken"]) == 1
    err = capsys.readouterr().err
    assert "broken_syntax.py, line 4: syntax error" in err and "Traceback" not in err
    assert main(["graph", "--model", str(zoo_files["pickled_model"]), "--out", "x.json"]) == 1
    assert "--trust-checkpoint" in capsys.readouterr().err


def _forwards_after_opening(qtbot, window, spec, shape=None) -> list:
    """The results of the forwards asked for once the model was open, until it settled
    (not a late one of the previous model's)."""
    sent: list = []
    before = window.compute.latest_request_id
    window.compute.forwardReady.connect(
        lambda result: sent.append(result) if result.request_id > before else None
    )
    _open(qtbot, window, spec, shape=shape)
    settle(qtbot, window)
    return sent


def test_a_big_model_keeps_the_selected_modules_steps_from_its_first_forward(qtbot, window):
    """107 leaf modules: big before any forward says so, so no forward is thrown away."""
    sent = _forwards_after_opening(qtbot, window, "resnet50")
    assert [r.focus for r in sent] == ["conv1"]
    assert window.last_result.total_steps > MAX_KEPT_STEPS
    assert [s.step.label for s in window.last_result.steps] == ["conv1"]


def test_a_model_with_many_leaves_it_never_calls_shows_all_its_steps(qtbot, window, zoo_files):
    spec = f"{zoo_files['nets']}:ManyUnusedLeaves"
    sent = _forwards_after_opening(qtbot, window, spec, shape=(1, 4))
    assert [r.focus for r in sent] == ["layers.0", ""]  # guessed big, then shown whole
    result = window.last_result
    assert result.focus == "" and [s.step.label for s in result.steps] == ["layers.0", "layers.1"]
