"""Compare in the real window, driven by objectName: pin a 7 (``pinButton``), draw a 1, tick
``compareCheck`` — and the panel's arrays are checked against the reference computed with
hooks and ``F`` calls; then two weight sets (before and after one Update weights), the graph
coloured after a backward on both, unpinning, and a session keeping the pin."""

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QToolButton

from inspector.core.files.loading import bundled_lenet
from inspector.core.model.inputs import LENET_INPUT, make_input
from inspector.testing import ONE, SEVEN, stroke
from tests.lenet_reference import NAMES, expected_steps


def _pin(qtbot, window):
    button = window.findChild(QToolButton, "pinButton")
    assert button is not None and button.text() == "Pin A"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state.pin is not None, timeout=10_000)
    assert button.text() == "Unpin A"
    return button


def _compare(qtbot, window, on=True):
    check = window.findChild(QCheckBox, "compareCheck")
    assert check is not None and check.isEnabled()
    if check.isChecked() != on:
        qtbot.mouseClick(check, Qt.MouseButton.LeftButton)
    assert check.isChecked() == on and window.state.comparing == on


def _draw(qtbot, window, path):
    canvas = window.canvas_panel.canvas
    window.canvas_panel.clear_button.click()
    stroke(canvas, path)
    drawing = window.state.drawing.copy()
    return drawing


def _wait_comparison(qtbot, window, differs):
    def ready():
        c = window.activations.comparison
        last = window.last_result
        return (
            c is not None
            and last is not None
            and last.comparison is c
            and last.request_id >= window.compute.latest_request_id
            and c.what_differs == differs
        )

    qtbot.waitUntil(ready, timeout=10_000)
    return window.activations.comparison


def _x(drawing):
    return make_input(LENET_INPUT, drawing)


def _check_panel(window, expected_a, expected_b):
    c = window.activations.comparison
    assert [f"{s.step.index + 1}. {s.step.label}" for s in c.steps] == NAMES
    rows = window.activations.column.rows
    assert len(rows) == 12 and all(row.panes == 3 for row in rows)
    for s, row, name in zip(c.steps, rows, NAMES, strict=True):
        np.testing.assert_allclose(s.a, expected_a[name], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(s.b, expected_b[name], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(s.diff, expected_b[name] - expected_a[name], atol=1e-4)
        assert row.summary == s.summary and row.summary.startswith("Δ")
        assert all(h is not None for h in row.heatmaps)
        # what is painted in the B − A pane is the difference, tiled
        np.testing.assert_array_equal(row.heatmaps[2].image, s.heatmap_diff.image)


def test_a_seven_against_a_one(qtbot, window):
    net = bundled_lenet().model
    seven = _draw(qtbot, window, SEVEN)
    qtbot.waitUntil(lambda: window.last_result.request_id >= window.compute.latest_request_id)
    _pin(qtbot, window)
    one = _draw(qtbot, window, ONE)
    _compare(qtbot, window)
    c = _wait_comparison(qtbot, window, "input")
    _check_panel(window, expected_steps(net, _x(seven)), expected_steps(net, _x(one)))
    assert window.activations.diff_bar_view.isVisible()
    lo, hi = window.activations.diff_bar.levels()
    assert lo == -hi
    # the prediction: A's bars beside B's
    assert window.prediction.comparing
    assert window.prediction.label.text().startswith("A 7")
    np.testing.assert_allclose(window.prediction.probabilities_a, c.probabilities_a)
    # clicking a row's summary shows its most-changed channel large
    column = window.activations.column
    row = column.rows[0]
    where = QPoint(20, int(row.cell.center().y()))
    qtbot.mouseClick(column, Qt.MouseButton.LeftButton, pos=where)
    assert window.activations.detail_box.isVisible()
    detail = window.activations.detail.rows[0]
    step = window.activations.comparison.steps[0]
    np.testing.assert_array_equal(detail.heatmaps[2].image, step.detail.diff)
    assert f"channel {step.channel}" in window.activations.detail_label.text()
    # unpin: back to one pane, compare off
    qtbot.mouseClick(window.findChild(QToolButton, "pinButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state.pin is None, timeout=10_000)
    assert not window.state.comparing
    assert not window.findChild(QCheckBox, "compareCheck").isEnabled()
    qtbot.waitUntil(lambda: window.activations.comparison is None, timeout=10_000)
    assert all(row.panes == 1 for row in window.activations.column.rows)
    assert not window.prediction.comparing


def test_two_weight_sets_and_the_gradients(qtbot, window):
    net = bundled_lenet().model
    seven = _draw(qtbot, window, SEVEN)
    before = expected_steps(net, _x(seven))
    _pin(qtbot, window)
    _compare(qtbot, window)
    _wait_comparison(qtbot, window, "nothing")
    # a backward on both (A's is the same), then Update weights
    with qtbot.waitSignal(window.compute.backwardReady, timeout=20_000):
        window.run_backward()
    assert window.graph.gradient_change.maximum == 0.0
    window.update_weights()
    c = _wait_comparison(qtbot, window, "weights")
    weights = window.compute.runner.engine.weights()
    net.load_state_dict(weights)
    _check_panel(window, before, expected_steps(net, _x(seven)))
    assert c.steps[0].relative > 0
    # the weights panel: A | B | B − A of the selected module
    window.state.selected_module = "conv1"
    qtbot.waitUntil(
        lambda: (
            window.weights.result is not None
            and window.weights.result.module == "conv1"
            and window.weights.result.comparison is not None
        ),
        timeout=10_000,
    )
    param = window.weights.result.comparison[0]
    assert param.name == "conv1.weight"
    pinned = window.compute.runner.engine.pinboard.pin.weights["conv1.weight"]
    np.testing.assert_allclose(param.a, pinned.numpy())
    np.testing.assert_allclose(param.diff, weights["conv1.weight"].numpy() - pinned.numpy())
    assert "A | B | B − A" in window.weights.title.text()
    # a backward on B (new weights) against A's: every node coloured by its change
    with qtbot.waitSignal(window.compute.backwardReady, timeout=20_000):
        window.run_backward()
    change = window.graph.gradient_change
    assert change.maximum > 0
    assert window.graph.scene._fills  # the scene paints the change colours
    _compare(qtbot, window, on=False)
    assert window.graph.scene._fills == {}


def test_a_session_keeps_the_pin(qtbot, window, tmp_path):
    seven = _draw(qtbot, window, SEVEN)
    _pin(qtbot, window)
    _draw(qtbot, window, ONE)
    _compare(qtbot, window)
    _wait_comparison(qtbot, window, "input")
    path = tmp_path / "pinned.netinspector"
    with qtbot.waitSignal(window.persistence.sessionSaved, timeout=10_000):
        window.persistence.save_session(path)
    qtbot.mouseClick(window.findChild(QToolButton, "pinButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state.pin is None, timeout=10_000)
    with qtbot.waitSignal(window.persistence.sessionRestored, timeout=20_000):
        assert window.persistence.open_session(path, trusted=True)
    qtbot.waitUntil(lambda: window.state.pin is not None and window.state.comparing, timeout=10_000)
    np.testing.assert_array_equal(window.state.pin.drawing, seven)
    _wait_comparison(qtbot, window, "input")
