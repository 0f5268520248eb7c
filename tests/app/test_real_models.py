"""The models people really bring, in the real window, opened with no input flags: each shows
its activations, a prediction (bars, a top-k list, the top tokens per position, a class map),
a loss naming its real target and a backward pass that steps. Token models get the Input
editor; a model whose loss is 0 or NaN says why."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from inspector.core.state import ModelRef
from tests.conftest import settle

pytest.importorskip("transformers")

ZOO = Path(__file__).parents[1] / "core" / "real_models.py"

# name, what the prediction panel shows, the loss label before a backward (MSE)
EXPECTED = {
    "vit": ("bars", "MSELoss vs zeros [1, 7]"),
    "bert": ("bars", "MSELoss vs zeros [1, 3]"),
    "gpt2": ("positions", "MSELoss vs zeros [1, 8, 97]"),
    "resnet": ("top-k", "MSELoss vs zeros [1, 1000]"),
    "convnext": ("bars", "MSELoss vs zeros [1, 5]"),
    "segformer": ("class map", "MSELoss vs zeros [1, 4, 16, 16]"),
    "vit_rectangular": ("bars", "MSELoss vs zeros [1, 3]"),
    "BagOfWords": ("bars", "MSELoss vs zeros [1, 4]"),
    "PretrainedCfgNet": ("bars", "MSELoss vs zeros [1, 5]"),
    "ImageSizeNet": ("bars", "MSELoss vs zeros [1, 6]"),
}


def open_zoo(qtbot, window, name: str, **ref) -> None:
    with qtbot.waitSignal(window.compute.modelLoaded, timeout=60_000):
        window.open_model(ModelRef(f"{ZOO}:{name}", **ref))
    settle(qtbot, window, 30_000)


def backward(qtbot, window):
    with qtbot.waitSignal(window.compute.backwardReady, timeout=60_000) as blocker:
        window.run_backward()
    return blocker.args[0].record


def check_model(qtbot, window, name: str) -> None:
    showing, label = EXPECTED[name]
    open_zoo(qtbot, window, name)
    assert window.windowTitle().endswith(name)
    result = window.last_result
    assert result.steps and result.total_steps >= 2, "activations show the model's insides"
    assert not result.warnings
    assert window.activations.result is result, "the activations panel shows them"
    assert window.prediction.showing == showing, name
    assert window.loss.target_label.text() == label

    record = backward(qtbot, window)
    assert math.isfinite(record.loss_value) and record.loss_value > 0
    assert window.loss.target_label.text() == record.loss_label == label
    assert f"tensor({record.loss_value:.4f})" in window.loss.loss_label.text()
    assert not window.loss.note_label.isVisibleTo(window.loss)
    assert window.tabs.currentWidget() is window.graph
    assert len(window.graph.scene.graph.nodes) > 5
    assert window.graph.step() and window.graph.step(), "the backward pass steps"


@pytest.mark.parametrize(
    "names",
    [
        ("vit", "bert", "gpt2"),
        ("resnet", "convnext", "segformer"),
        ("vit_rectangular", "BagOfWords", "PretrainedCfgNet", "ImageSizeNet"),
    ],
    ids=["transformers-1", "transformers-2", "plain"],
)
def test_each_zoo_model_shows_activations_prediction_and_a_steppable_backward(qtbot, window, names):
    for name in names:
        check_model(qtbot, window, name)


def test_prediction_views_show_what_the_output_is(qtbot, window):
    open_zoo(qtbot, window, "resnet")
    table = window.prediction.table
    assert window.prediction.stack.currentWidget() is table
    assert table.rowCount() == 10
    ranked = window.last_result.top_k
    assert table.item(0, 0).text() == str(ranked[0][0])
    assert window.prediction.label.text() == f"{ranked[0][0]} ({ranked[0][1]:.1%})"

    open_zoo(qtbot, window, "gpt2")
    assert table.rowCount() == 8  # one row per position
    first = window.last_result.position_top_k[0]
    assert table.item(0, 1).text().startswith(f"{first[0][0]} (")
    assert window.prediction.label.text() == "output['logits'] [1, 8, 97]"

    open_zoo(qtbot, window, "segformer")
    shown = window.prediction.output_image.image
    assert window.prediction.stack.currentWidget() is window.prediction.output_view
    assert np.array_equal(shown, window.last_result.class_map_rgba)


def test_token_ids_can_be_rerolled_and_typed_and_a_mistake_loses_nothing(qtbot, window):
    open_zoo(qtbot, window, "bert")
    editor = window.canvas_panel.input_editor
    assert editor.isVisible() and editor.ids_row.isVisible()
    assert "1×16 int64: ids in [0, 97)" in editor.shape_label.text()
    shown = [int(v) for v in editor.ids_edit.text().split()]
    assert shown == window.last_result.input.reshape(-1).tolist()

    window.canvas_panel.random_button.click()  # Re-roll
    settle(qtbot, window, 10_000)
    rerolled = [int(v) for v in editor.ids_edit.text().split()]
    assert rerolled != shown and rerolled == window.last_result.input.reshape(-1).tolist()

    typed = " ".join(str(i) for i in range(5, 21))
    editor.ids_edit.setText(typed)
    editor.apply_button.click()
    settle(qtbot, window, 10_000)
    assert window.last_result.input.reshape(-1).tolist() == list(range(5, 21))

    before = window.state.raw_input.copy()
    wrong = "5 17 500 " + " ".join(["1"] * 13)
    editor.ids_edit.setText(wrong)
    editor.ids_edit.returnPressed.emit()
    message = window.statusBar().currentMessage()
    assert "Token id 500 is outside [0, 97)" in message and "unchanged" in message
    assert message.count(". ") == 0  # one sentence
    assert editor.error.isVisibleTo(editor) and "500" in editor.error.text()
    assert editor.ids_edit.text() == wrong, "what was typed stays, to be corrected"
    assert np.array_equal(window.state.raw_input, before)

    editor.ids_edit.setText("1 2 x")
    editor.apply()
    assert "'x' is not a whole number" in window.statusBar().currentMessage()


def test_a_token_model_is_not_asked_for_a_digit_nor_trained_on_mnist(qtbot, window):
    open_zoo(qtbot, window, "bert")
    hint = window.hint
    assert "Draw" not in hint.text.text() and "Re-roll input" in hint.text.text()
    train = window.training_panel.train_button
    qtbot.waitUntil(lambda: not train.isEnabled(), timeout=10_000)
    assert "it takes 16 random token ids" in train.toolTip()
    assert not window.canvas_panel.brush_spin.isEnabled(), "no canvas, no brush"
    window.canvas_panel.random_button.click()  # Re-roll: the first step is done
    assert hint.done == {"draw"} and "✓" in hint.text.text()
    ids = window.canvas_panel.input_editor.ids_edit
    assert ids.cursorPosition() == 0 and len(ids.text()) > 20  # opens on its first ids

    open_zoo(qtbot, window, "vit")  # an image model: drawing is how its input changes
    assert "Draw on the canvas" in hint.text.text()


def test_image_models_keep_the_drawing_and_no_input_editor(qtbot, window):
    open_zoo(qtbot, window, "vit")
    assert window.canvas_panel.canvas.isEnabled()
    assert not window.canvas_panel.input_editor.isVisible()
    assert window.last_result.input.shape == (1, 3, 96, 96)


def test_a_zero_loss_says_why_and_a_nan_loss_is_reported_not_drawn(qtbot, window, zoo_files):
    open_zoo(qtbot, window, "ZeroHead")
    assert window.prediction.showing == "top-k"  # 30 classes
    record = backward(qtbot, window)
    assert record.loss_value == 0.0
    note = window.loss.note_label
    assert note.isVisibleTo(window.loss) and "exactly 0" in note.text()
    assert "classifier.weight" in note.text()
    assert "exactly 0" in window.statusBar().currentMessage()

    with qtbot.waitSignal(window.compute.modelLoaded, timeout=30_000):
        window.open_model(ModelRef(f"{zoo_files['nets']}:NaNOutput"))
    settle(qtbot, window, 10_000)
    record = backward(qtbot, window)
    assert math.isnan(record.loss_value)
    assert "tensor(nan)" in window.loss.loss_label.text()
    assert "NaN" in window.loss.note_label.text()
    assert "NaN" in window.statusBar().currentMessage()
    assert window.graph.result is None, "no graph of NaN gradients"
    assert window.tabs.currentWidget() is window.activations
    assert not window.actions["exportGraphAction"].isEnabled()


def test_a_model_from_the_command_line_gets_the_output_picker(qtbot, zoo_files):
    from inspector.app import MainWindow
    from inspector.core.files.loading import open_model

    win = MainWindow(opened=open_model(f"{zoo_files['nets']}:TwoHeads"))
    qtbot.addWidget(win)
    win.show()
    try:
        qtbot.waitUntil(lambda: win.last_result is not None, timeout=10_000)
        combo = win.prediction.output_combo
        assert combo.isVisible() and combo.count() == 2
        combo.setCurrentIndex(1)
        qtbot.waitUntil(lambda: win.last_result.output_index == 1, timeout=10_000)
        assert win.state.output_index == 1 and combo.currentIndex() == 1
    finally:
        win.close()


def test_a_token_model_opened_with_a_dtype_uses_it(qtbot, window):
    open_zoo(qtbot, window, "BagOfWords", input_shape=(1, 6), input_dtype="int32")
    assert window.last_result.input.dtype == np.int32
    assert window.last_result.input.shape == (1, 6)
    assert "1×6 int32" in window.canvas_panel.input_editor.shape_label.text()


def test_a_session_keeps_the_input_dtype(qtbot, window, tmp_path):
    """The dtype asked for when opening is a setting like any other: saved, and the model
    opened with it again (it was lost while sessions copied their fields by hand)."""
    open_zoo(qtbot, window, "BagOfWords", input_shape=(1, 6), input_dtype="int32")
    assert window.state.model.input_dtype == "int32"
    path = tmp_path / "tokens.netinspector"
    with qtbot.waitSignal(window.persistence.sessionSaved, timeout=20_000):
        window.persistence.save_session(path)
    open_zoo(qtbot, window, "BagOfWords", input_shape=(1, 6))  # its own dtype: int64
    assert window.last_result.input.dtype == np.int64
    with qtbot.waitSignal(window.persistence.sessionRestored, timeout=30_000):
        assert window.persistence.open_session(path, trusted=True)
    settle(qtbot, window, 30_000)
    assert window.state.model.input_dtype == "int32"
    assert window.last_result.input.dtype == np.int32
