"""The real window, driven with real mouse events, offscreen."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton, QTreeView, QWidget

from inspector.core.model.preprocess import preprocess_drawing
from inspector.testing import stroke

REQUIRED_NAMES = {
    "moduleTree": QTreeView,
    "drawCanvas": QWidget,
    "clearCanvasButton": QPushButton,
    "randomInputButton": QPushButton,
    "predictionLabel": QLabel,
    "activationsPanel": QWidget,
    "weightsPanel": QWidget,
    "weightsTitle": QLabel,
    "deviceCombo": QComboBox,
}


def _find(window, name, kind=QWidget):
    widget = window.findChild(kind, name)
    assert widget is not None, f"no {kind.__name__} named {name}"
    return widget


def _wait_for_new_result(qtbot, window, after_id: int) -> None:
    qtbot.waitUntil(
        lambda: (
            window.last_result is not None
            and window.last_result.request_id >= window.compute.latest_request_id > after_id
        ),
        timeout=10_000,
    )


def _draw_seven(qtbot, canvas) -> None:
    """A '7' with real mouse events: press, many moves with the button held, release."""
    stroke(canvas)


def test_the_named_widgets_are_unique_and_on_screen(window):
    """Automation finds widgets by these names: each names one widget, and one the window
    shows (a widget built but never placed in a dock would be found too)."""
    window.show()
    for name, kind in REQUIRED_NAMES.items():
        found = window.findChildren(kind, name)
        assert len(found) == 1, f"{len(found)} {kind.__name__}s named {name}"
        assert found[0].isVisible(), f"{name} is not on screen"


def test_the_named_buttons_do_what_they_are_named_for(qtbot, window):
    canvas = _find(window, "drawCanvas")
    _draw_seven(qtbot, canvas)
    assert window.state.drawing.any()
    qtbot.mouseClick(_find(window, "clearCanvasButton", QPushButton), Qt.MouseButton.LeftButton)
    assert not window.state.drawing.any()
    assert window.state.raw_input is None
    qtbot.mouseClick(_find(window, "randomInputButton", QPushButton), Qt.MouseButton.LeftButton)
    assert window.state.raw_input is not None
    assert "cpu" in [
        _find(window, "deviceCombo", QComboBox).itemText(i)
        for i in range(_find(window, "deviceCombo", QComboBox).count())
    ]


def test_initial_state_shows_every_layer(window):
    result = window.last_result
    assert [s.step.label for s in result.steps][:3] == ["conv1", "relu", "max_pool2d"]
    assert len(window.activations.column.rows) == 12
    # An empty canvas gets no confident answer: an invitation, and faded bars.
    assert result.blank and window.prediction.label.text() == "Draw a digit"
    assert all(QColor(b).alpha() < 100 for b in window.prediction.bars.opts["brushes"])


def test_the_weights_open_on_the_first_layer_with_weights(qtbot, window):
    qtbot.waitUntil(lambda: window.weights.result is not None, timeout=5_000)
    assert window.weights.result.module == "conv1" and window.state.selected_module == "conv1"
    assert window.tree.current_path() == "conv1"


def test_the_canvas_takes_the_room_its_dock_has(qtbot, window):
    """Square, as wide as its dock allows, and growing with it (not a fixed 200 px)."""
    canvas, dock = window.canvas_panel.canvas, window.docks["canvas"]
    assert canvas.width() == canvas.height()
    assert canvas.width() >= 0.8 * dock.width()
    before = canvas.width()
    window.resize(window.width(), window.height() + 200)
    window.resizeDocks([dock], [dock.width() + 120], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: canvas.width() > before + 60, timeout=5_000)
    assert canvas.width() == canvas.height()


def test_drawing_with_the_mouse_changes_activations_and_prediction(qtbot, window):
    canvas = _find(window, "drawCanvas")
    before = window.last_result
    before_image = window.activations.column.rows[0].heatmap.image.copy()
    _draw_seven(qtbot, canvas)
    assert canvas.drawing.max() > 0.9
    _wait_for_new_result(qtbot, window, before.request_id)
    after = window.last_result
    assert not np.array_equal(after.input, before.input)
    np.testing.assert_allclose(after.input, preprocess_drawing(canvas.drawing), atol=1e-6)
    assert not np.array_equal(window.activations.column.rows[0].heatmap.image, before_image)
    label = _find(window, "predictionLabel", QLabel).text()
    assert label.startswith("7 ("), f"drew a 7, the LeNet says {label}"
    assert label.endswith("%)")


def test_right_button_erases(qtbot, window):
    canvas = _find(window, "drawCanvas")
    _draw_seven(qtbot, canvas)
    ink = canvas.drawing.sum()
    centre = QPoint(int(canvas.width() * 0.5), int(canvas.height() * 0.22))
    qtbot.mousePress(canvas, Qt.MouseButton.RightButton, pos=centre)
    qtbot.mouseRelease(canvas, Qt.MouseButton.RightButton, pos=centre)
    assert canvas.drawing.sum() < ink


def test_widget_point_maps_to_grid_cell(window):
    canvas = _find(window, "drawCanvas")
    assert canvas.width() == canvas.height()  # square cells
    x, y = canvas.to_grid(QPoint(canvas.width() // 2, canvas.height() // 4).toPointF())
    assert (x, y) == pytest.approx((16.0, 8.0), abs=0.2)


def test_clear_random_and_undo(qtbot, window):
    canvas = _find(window, "drawCanvas")
    _draw_seven(qtbot, canvas)
    qtbot.mouseClick(_find(window, "clearCanvasButton", QPushButton), Qt.MouseButton.LeftButton)
    assert canvas.drawing.max() == 0
    assert canvas.undo() and canvas.drawing.max() > 0.9  # the drawing is not lost

    last = window.compute.latest_request_id
    qtbot.mouseClick(_find(window, "randomInputButton", QPushButton), Qt.MouseButton.LeftButton)
    _wait_for_new_result(qtbot, window, last)
    shown = window.last_result.input
    np.testing.assert_array_equal(shown, window.canvas_panel.raw_input)
    assert shown.shape == (1, 1, 32, 32) and abs(float(shown.mean())) < 0.5
    assert canvas.drawing.max() > 0.9  # the drawing stays underneath the random input


def test_clicking_conv1_in_the_tree_shows_its_kernels(qtbot, window):
    tree = _find(window, "moduleTree", QTreeView)
    index = tree.view_index_for_path("conv1")
    rect = tree.visualRect(index)
    assert rect.isValid()
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    title = _find(window, "weightsTitle", QLabel)
    qtbot.waitUntil(lambda: "conv1.weight [6, 1, 5, 5]" in title.text(), timeout=10_000)
    assert "conv1.bias [6]" in title.text()
    params = window.weights.result.parameters
    assert [p.name for p in params] == ["conv1.weight", "conv1.bias"]
    assert params[0].values.shape == (6, 1, 5, 5)
    assert params[0].picture.heatmap.layout.count == 6


def test_tree_columns_and_root_row(qtbot, window):
    model = window.tree.tree_model
    root = model.index(0, 0)
    assert model.data(root) == "Net"
    assert model.data(model.index(0, 2)) == "61,706"
    conv1 = model.index_for_path("conv1")
    row = conv1.row()
    assert (
        model.data(model.index(row, 1, root)) == "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))"
    )
    assert model.data(model.index(row, 2, root)) == "156"
    assert model.data(model.index(row, 3, root)) == "[1, 6, 28, 28]"


def test_tree_model_passes_qt_model_tester(qtmodeltester, window):
    qtmodeltester.check(window.tree.tree_model)


def test_device_combo_lists_cpu_and_switches(qtbot, window):
    combo = _find(window, "deviceCombo", QComboBox)
    items = [combo.itemText(i) for i in range(combo.count())]
    assert items[0] == "cpu"
    assert all(i == "cpu" or i.startswith("cuda:") or i == "mps" for i in items)
    assert window.device_label.text() == "cpu"
    combo.addItem("meta")  # a device every torch has: picking it really moves the model
    failures = []
    window.compute.failed.connect(lambda message, _details: failures.append(message))
    with qtbot.waitSignal(window.compute.deviceChanged, timeout=10_000) as blocker:
        combo.setCurrentText("meta")
    assert blocker.args[0].ok and window.device_label.text() == "meta"
    assert window.state.device == window.state.active_device == "meta"
    assert next(window.compute.runner.engine.model.parameters()).device.type == "meta"
    # The forward on meta that follows the switch fails (no data to show), after importing
    # sympy the first time (seconds): wait for it, so that the worker is idle when the window
    # closes.
    qtbot.waitUntil(lambda: any("forward pass" in m for m in failures), timeout=30_000)


def _save_digit_png(path: Path) -> None:
    image = QImage(64, 64, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setPen(QPen(QColor("black"), 6))
    painter.drawLine(32, 8, 32, 56)  # a dark "1" on white paper
    painter.end()
    assert image.save(str(path))


def test_load_image_file(qtbot, window, tmp_path):
    path = tmp_path / "one.png"
    _save_digit_png(path)
    last = window.compute.latest_request_id
    assert window.canvas_panel.load_image(path)
    _wait_for_new_result(qtbot, window, last)
    assert window.canvas_panel.canvas.drawing[16, 16] > 0.5
    assert window.prediction.label.text().startswith("1 (")


@pytest.mark.parametrize("content", [None, b"definitely not a png"])
def test_bad_image_file_keeps_the_drawing_and_says_why(qtbot, window, tmp_path, content):
    canvas = _find(window, "drawCanvas")
    _draw_seven(qtbot, canvas)
    kept = canvas.drawing.copy()
    path = tmp_path / "broken.png"
    if content is not None:
        path.write_bytes(content)
    assert not window.canvas_panel.load_image(path)
    message = window.statusBar().currentMessage()
    assert "broken.png" in message
    np.testing.assert_array_equal(canvas.drawing, kept)


def test_nan_input_is_reported_not_fatal(qtbot, window):
    last = window.compute.latest_request_id
    window.state.raw_input = np.full((1, 1, 32, 32), np.nan, np.float32)
    _wait_for_new_result(qtbot, window, last)
    assert "NaN" in window.statusBar().currentMessage()
    _draw_seven(qtbot, window.canvas_panel.canvas)  # and it carries on
    _wait_for_new_result(qtbot, window, window.last_result.request_id)
    assert np.isfinite(window.last_result.output).all()


def test_missing_weights_warn_and_run_untrained(qtbot, tmp_path):
    from inspector.app import MainWindow

    win = MainWindow(weights=tmp_path / "gone.safetensors")
    qtbot.addWidget(win)
    assert "gone.safetensors" in win.statusBar().currentMessage()
    assert "untrained" in win.windowTitle()
    qtbot.waitUntil(lambda: win.last_result is not None, timeout=10_000)
    win.close()


def test_close_stops_the_worker(qtbot):
    from inspector.app import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    worker = win.compute.runner
    assert worker.isRunning()
    win.close()
    assert not worker.isRunning()


def test_tree_filter_finds_modules_by_name_or_type(qtbot, window):
    panel = window.tree_panel
    panel.filter.setText("linear")
    qtbot.waitUntil(
        lambda: window.tree.proxy.filterRegularExpression().pattern() != "", timeout=2_000
    )
    proxy = window.tree.proxy
    root = proxy.index(0, 0)
    names = [proxy.data(proxy.index(r, 0, root)) for r in range(proxy.rowCount(root))]
    assert names == ["fc1", "fc2", "fc3"]
    panel.filter.setText("")
    qtbot.waitUntil(lambda: proxy.rowCount(proxy.index(0, 0)) == 5, timeout=2_000)


def test_a_tree_of_thousands_of_modules_opens_lazily(qtbot):
    from torch import nn

    from inspector.core.forward.summary import summarize
    from inspector.gui.panels.tree import ModuleTreeView, TreePanel

    model = nn.Sequential(*[nn.Sequential(nn.Linear(2, 2), nn.ReLU()) for _ in range(2500)])
    view = ModuleTreeView()
    panel = TreePanel(view)
    qtbot.addWidget(panel)
    panel.show()
    view.set_root(summarize(model))
    assert view.isExpanded(view.proxy.index(0, 0))
    assert not view.isExpanded(view.view_index_for_path("0"))  # deeper levels wait
    view.select_path("2499.1")  # selecting a deep module opens its way there
    assert view.current_path() == "2499.1"
    qtmodel = view.tree_model
    assert qtmodel.data(qtmodel.index_for_path("2499.1")) == "1"
