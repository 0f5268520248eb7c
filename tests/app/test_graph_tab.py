"""The backward flow in the real window: Backward, Step, Space, clicks, update, reset, export."""

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QPushButton

from inspector.core.graph.export import graph_from_json
from inspector.testing import stroke


def _press(qtbot, window, name):
    button = window.findChild(QPushButton, name)
    assert button is not None, name
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _backward(qtbot, window):
    before = window.graph.result
    _press(qtbot, window, "backwardButton")
    qtbot.waitUntil(lambda: window.graph.result is not before, timeout=10_000)
    return window.graph.result.record


@pytest.fixture
def drawn(qtbot, window):
    stroke(window.canvas_panel.canvas)
    qtbot.waitUntil(
        lambda: window.last_result.request_id >= window.compute.latest_request_id, timeout=10_000
    )
    return window


def test_backward_draws_the_graph_and_shows_the_loss(qtbot, drawn):
    record = _backward(qtbot, drawn)
    scene = drawn.graph.scene
    assert len(scene.nodes) == 26 == len(record.graph.nodes)
    assert drawn.tabs.currentWidget() is drawn.graph
    assert drawn.graph.view.objectName() == "autogradGraph"
    assert f"tensor({record.loss_value:.4f})" in drawn.loss.loss_label.text()
    assert drawn.findChild(QLabel, "backwardNodeLabel").text().startswith("Press Step")


def test_step_buttons_walk_the_engine_order(qtbot, drawn):
    record = _backward(qtbot, drawn)
    label = drawn.findChild(QLabel, "backwardNodeLabel")
    names = []
    for _ in range(len(record.order)):
        _press(qtbot, drawn, "backwardStepButton")
        names.append(label.text().split(" (")[0])
    assert names == [record.graph.nodes[i].name for i in record.order]
    assert label.text().startswith("AccumulateGrad (26/26)")
    assert not drawn.findChild(QPushButton, "backwardStepButton").isEnabled()
    _press(qtbot, drawn, "backwardPrevButton")
    assert "(25/26)" in label.text()
    _press(qtbot, drawn, "backwardResetButton")
    assert label.text().startswith("Press Step")


def test_first_step_is_the_loss_and_shows_its_gradients(qtbot, drawn):
    _backward(qtbot, drawn)
    _press(qtbot, drawn, "backwardStepButton")
    assert drawn.findChild(QLabel, "backwardNodeLabel").text() == "MseLossBackward0 (1/26)"
    shown = dict(drawn.graph.gradients.shown)
    assert "grad_output[0]" in shown  # d loss / d loss = 1
    assert shown["grad_output[0]"].values == pytest.approx(1.0)
    assert any(name.startswith("grad_input[0]") for name in shown)


def test_space_steps_and_shift_space_steps_back(qtbot, drawn):
    _backward(qtbot, drawn)
    drawn.activateWindow()
    drawn.graph.view.setFocus()
    label = drawn.findChild(QLabel, "backwardNodeLabel")
    qtbot.keyClick(drawn.graph.view, Qt.Key.Key_Space)
    qtbot.keyClick(drawn.graph.view, Qt.Key.Key_Space)
    assert "(2/26)" in label.text()
    qtbot.keyClick(drawn.graph.view, Qt.Key.Key_Space, Qt.KeyboardModifier.ShiftModifier)
    assert label.text() == "MseLossBackward0 (1/26)"


def test_parameter_step_shows_the_gradient_landing_in_grad(qtbot, drawn):
    record = _backward(qtbot, drawn)
    leaf = next(n.id for n in record.graph.nodes if n.label == "conv1.weight [6, 1, 5, 5]")
    assert drawn.graph.jump_to(leaf)
    np.testing.assert_allclose(
        drawn.graph.current_gradient(), record.param_grads["conv1.weight"].values, rtol=1e-6
    )
    assert "conv1.weight [6, 1, 5, 5]" in drawn.findChild(QLabel, "backwardNodeLabel").text()


def test_clicking_a_node_jumps_there_and_selects_its_module(qtbot, drawn):
    record = _backward(qtbot, drawn)
    node = next(
        n.id for n in record.graph.nodes if n.name == "ConvolutionBackward0" and n.module == "conv2"
    )
    view = drawn.graph.view
    view.centerOn(drawn.graph.scene.nodes[node])
    point = view.mapFromScene(drawn.graph.scene.nodes[node].pos())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert drawn.graph.stepper.current == node
    qtbot.waitUntil(lambda: drawn.tree.currentIndex().isValid(), timeout=5_000)
    assert drawn.tree.current_path() == "conv2"


def test_selecting_a_module_in_the_tree_highlights_its_nodes(qtbot, drawn):
    record = _backward(qtbot, drawn)
    drawn.tree.select_path("conv1")
    linked = drawn.graph.scene._linked
    expected = {n.id for n in record.graph.nodes if n.module == "conv1"}
    assert linked == expected and len(expected) == 3  # the convolution and its two leaves


def test_update_weights_moves_them_by_minus_lr_grad(qtbot, drawn):
    drawn.tree.select_path("fc3")
    qtbot.waitUntil(lambda: drawn.weights.result is not None, timeout=5_000)
    record = _backward(qtbot, drawn)
    # The panel asks for the parameters again after a backward (to show .grad): wait for it.
    qtbot.waitUntil(lambda: drawn.weights.result.parameters[0].grad is not None, timeout=5_000)
    before = {p.name: p.values for p in drawn.weights.result.parameters}
    grad = record.param_grads["fc3.weight"].values
    forward_before = drawn.last_result.request_id
    old = drawn.weights.result
    drawn.loss.lr_spin.setValue(0.05)
    _press(qtbot, drawn, "updateWeightsButton")
    qtbot.waitUntil(lambda: drawn.weights.result is not old, timeout=5_000)
    after = {p.name: p.values for p in drawn.weights.result.parameters}
    np.testing.assert_allclose(after["fc3.weight"], before["fc3.weight"] - 0.05 * grad, atol=1e-7)
    qtbot.waitUntil(lambda: drawn.last_result.request_id > forward_before, timeout=5_000)

    old = drawn.weights.result
    _press(qtbot, drawn, "resetWeightsButton")
    qtbot.waitUntil(lambda: drawn.weights.result is not old, timeout=5_000)
    reset = {p.name: p.values for p in drawn.weights.result.parameters}
    np.testing.assert_array_equal(reset["fc3.weight"], before["fc3.weight"])


def test_unticking_zero_grad_accumulates(qtbot, drawn):
    first = _backward(qtbot, drawn).param_grads["fc3.bias"].values
    check = drawn.findChild(QCheckBox, "zeroGradCheck")
    check.setChecked(False)
    second = _backward(qtbot, drawn).param_grads["fc3.bias"].values
    np.testing.assert_allclose(second, 2 * first, rtol=1e-5)
    check.setChecked(True)
    third = _backward(qtbot, drawn).param_grads["fc3.bias"].values
    np.testing.assert_allclose(third, first, rtol=1e-5)


def test_weights_panel_shows_grad_and_canvas_shows_saliency(qtbot, drawn):
    drawn.tree.select_path("conv1")
    _backward(qtbot, drawn)
    qtbot.waitUntil(
        lambda: (
            drawn.weights.result is not None and drawn.weights.result.parameters[0].grad is not None
        ),
        timeout=5_000,
    )
    drawn.weights.grad_check.setChecked(True)
    titles = [title for _image, _heatmap, title in drawn.weights._images]
    assert titles[0] == "conv1.weight.grad [6, 1, 5, 5]"
    saliency = drawn.findChild(QCheckBox, "saliencyCheck")
    assert saliency.isEnabled()
    saliency.setChecked(True)
    overlay = drawn.canvas_panel.canvas.saliency
    assert overlay is not None and overlay.shape == (32, 32) and overlay.max() == pytest.approx(1.0)
    ink = drawn.canvas_panel.canvas.drawing > 0.5
    assert overlay[ink].mean() > overlay[~ink].mean()  # the gradient sits on and around the ink


def test_export_json_svg_png(qtbot, drawn, tmp_path):
    from inspector.gui.exports import export_graph

    record = _backward(qtbot, drawn)
    for fmt in ("json", "dot", "svg", "png"):
        path = tmp_path / f"graph.{fmt}"
        assert export_graph(record, drawn.graph.scene, path) == fmt
        assert path.stat().st_size > 100
    graph, order = graph_from_json(json.loads((tmp_path / "graph.json").read_text()))
    assert order == record.order and len(graph.nodes) == 26
    assert b"<svg" in (tmp_path / "graph.svg").read_bytes()[:500]


def test_headless_graph_command(tmp_path, capsys, qapp):
    from inspector.cli import main

    out = tmp_path / "lenet.json"
    assert main(["graph", "--loss", "ce:3", "--format", "json", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert len(data["nodes"]) == 27 and data["loss"]["kind"] == "ce"  # NllLoss + LogSoftmax
    assert data["backward_order"][0] == data["root"]
    assert main(["graph", "--out", str(tmp_path / "lenet.svg")]) == 0
    assert main(["graph", "--loss", "ce:12", "--out", str(tmp_path / "x.json")]) == 1
    assert "class 12" in capsys.readouterr().err
    assert main(["graph", "--model", "vgg", "--out", str(tmp_path / "x.json")]) == 1


def test_big_graph_opens_collapsed_and_steps_through_boxes(qtbot, window):
    from inspector.core.graph.collapse import GROUP
    from inspector.core.state import ModelRef

    with qtbot.waitSignal(window.compute.modelLoaded, timeout=30_000):
        window.open_model(ModelRef("resnet50", None, None, False))
    record = _backward(qtbot, window)
    graph = window.graph
    assert len(record.graph.nodes) == 338
    assert len(graph.scene.nodes) < 40  # the 16 bottlenecks are boxes
    label = window.findChild(QLabel, "backwardNodeLabel")
    while "inside layer4.2" not in label.text():  # stepping enters the last block's box
        assert graph.step()
    box = graph.shown.shown_as[graph.stepper.current]
    assert graph.shown.graph.nodes[box].kind == GROUP
    while "inside layer4.2" in label.text():  # ... and leaves it
        assert graph.step()
    with qtbot.waitSignal(graph.viewShown, timeout=10_000):  # laid out again on the worker
        graph.set_collapsed("layer4.2", False)  # expand one box: its nodes are drawn again
    assert len(graph.scene.nodes) > 40 and "layer4.2" not in graph.collapsed
    with qtbot.waitSignal(graph.viewShown, timeout=10_000):
        _press(qtbot, window, "expandAllButton")
    assert len(graph.scene.nodes) == 338
    with qtbot.waitSignal(graph.viewShown, timeout=10_000):
        _press(qtbot, window, "collapseBlocksButton")
    assert len(graph.scene.nodes) < 40


def test_search_finds_nodes_in_order(qtbot, drawn):
    record = _backward(qtbot, drawn)
    search = drawn.graph.search
    search.setText("Convolution")
    assert drawn.graph.find_next()
    first = drawn.graph.stepper.current
    assert record.graph.nodes[first].name == "ConvolutionBackward0"
    assert "match 1 of 2" in drawn.findChild(QLabel, "backwardNodeLabel").text()
    assert drawn.graph.find_next()
    second = drawn.graph.stepper.current
    assert second != first and record.order.index(second) > record.order.index(first)
    search.setText("no such node")
    assert not drawn.graph.find_next()


def test_saved_tensors_are_listed_and_read_on_demand(qtbot, drawn):
    record = _backward(qtbot, drawn)
    fc1 = next(n for n in record.graph.nodes if n.name == "AddmmBackward0" and n.module == "fc1")
    assert drawn.graph.jump_to(fc1.id)
    button = drawn.graph.gradients.findChild(QPushButton, "saved_mat1")
    assert button is not None and "[1, 400]" in button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "mat1" in drawn.graph.gradients.saved_shown, timeout=10_000)
    values = drawn.graph.gradients.saved_shown["mat1"]
    # mat1 of fc1's addmm is the flattened pooling output the forward produced
    assert values.shape == (1, 400) and (values >= 0).all()  # after a ReLU and max-pool


def test_saved_tensors_can_be_drawn_as_nodes(qtbot, drawn):
    from inspector.core.graph.collapse import SAVED

    record = _backward(qtbot, drawn)
    check = drawn.findChild(QCheckBox, "showSavedCheck")
    with qtbot.waitSignal(drawn.graph.viewShown, timeout=10_000):
        check.setChecked(True)
    graph = drawn.graph.shown.graph
    saved = [n for n in graph.nodes if n.kind == SAVED]
    expected = sum(1 for n in record.graph.nodes for t in n.saved if t.shape is not None)
    assert len(saved) == expected > 0 and len(drawn.graph.scene.nodes) == 26 + expected
    mat1 = next(n for n in saved if n.label == "mat1 [1, 400]")
    drawn.graph._on_node_clicked(mat1.id)  # as a click on it does
    qtbot.waitUntil(lambda: "mat1" in drawn.graph.gradients.saved_shown, timeout=10_000)
    assert drawn.graph.stepper.record.graph.nodes[drawn.graph.stepper.current].module == "fc1"
    with qtbot.waitSignal(drawn.graph.viewShown, timeout=10_000):
        check.setChecked(False)
    assert len(drawn.graph.scene.nodes) == 26
