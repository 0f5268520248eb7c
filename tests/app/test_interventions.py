"""Interventions in the real window: right-click a channel tile of conv1, Zero this channel,
and the panels show clean | edited | edited − clean, each pane checked against the tutorial's
Net run by hand; the list's tick, remove and Clear; painting into a channel; a session keeps
the edits."""

import numpy as np
import torch
import torch.nn.functional as F
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QPushButton, QToolButton, QWidget

from inspector.core.edits.spec import Intervention
from inspector.core.files.loading import bundled_lenet
from inspector.core.model.inputs import LENET_INPUT, make_input
from inspector.testing import SEVEN, stroke


def _seven(window):
    window.canvas_panel.clear_button.click()
    stroke(window.canvas_panel.canvas, SEVEN)
    return window.state.drawing.copy()


def _wait_edited(qtbot, window, edited=True):
    def ready():
        last = window.last_result
        return (
            last is not None
            and last.request_id >= window.compute.latest_request_id
            and bool(last.edits) == edited
        )

    qtbot.waitUntil(ready, timeout=10_000)
    return window.last_result


def _tile_centre(window, row: int, channel: int) -> QPoint:
    """Where channel ``channel``'s tile of row ``row`` is on the column (the clean pane)."""
    r = window.activations.column.rows[row]
    heatmap, target = r.heatmaps[0], r.targets[0]
    layout = heatmap.layout
    tile_row, tile_col = divmod(channel, layout.cols)
    y = (tile_row * (layout.height + 1) + layout.height / 2) / heatmap.image.shape[0]
    x = (tile_col * (layout.width + 1) + layout.width / 2) / heatmap.image.shape[1]
    return QPoint(int(target.left() + x * target.width()), int(target.top() + y * target.height()))


def test_zero_conv1_channel_3_from_the_menu_while_drawing_a_seven(qtbot, window):
    drawing = _seven(window)
    _wait_edited(qtbot, window, edited=False)
    column = window.activations.column
    where = _tile_centre(window, 0, 3)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, where, column.mapToGlobal(where))
    QApplication.sendEvent(column, event)
    menu = window.intervener.menu
    assert menu is not None
    names = [a.objectName() for a in menu.actions()]
    assert names[:5] == ["zeroChannelAction", "zeroStepAction", "scaleAction", "setAction",
                         "clampAction"] and "paintAction" in names  # fmt: skip
    assert "patchAction" not in names  # nothing pinned
    menu.hide()
    next(a for a in menu.actions() if a.objectName() == "zeroChannelAction").trigger()
    assert window.state.interventions == (Intervention(0, "conv1", "zero", channel=3),)
    listing = window.findChild(QWidget, "interventionList")
    assert listing.lines() == ["1. conv1 [ch 3] = 0"]
    result = _wait_edited(qtbot, window)
    c = window.activations.comparison
    assert window.activations.column.pane_names == ("clean", "edited", "edited − clean")
    bars = (window.activations.column.colorbar, window.activations.diff_bar)
    assert [b.axis.labelText for b in bars] == ["clean, edited", "edited − clean"]
    net = bundled_lenet().model
    x = torch.from_numpy(make_input(LENET_INPUT, drawing))
    with torch.no_grad():
        clean_c1 = net.conv1(x)
        edited_c1 = clean_c1.clone()
        edited_c1[:, 3] = 0
        s2 = F.max_pool2d(F.relu(edited_c1), (2, 2))
        s4 = torch.flatten(F.max_pool2d(F.relu(net.conv2(s2)), 2), 1)
        edited_out = net.fc3(F.relu(net.fc2(F.relu(net.fc1(s4)))))
        clean_out = net(x)
    np.testing.assert_allclose(c.steps[0].a, clean_c1.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(c.steps[0].b, edited_c1.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(result.output, edited_out.numpy(), rtol=1e-5, atol=1e-5)
    clean_p = torch.softmax(clean_out, 1)[0]
    edited_p = torch.softmax(edited_out, 1)[0]
    top_c, top_e = int(clean_p.argmax()), int(edited_p.argmax())
    expected = f"clean {top_c} ({clean_p[top_c]:.1%}) → edited {top_e} ({edited_p[top_e]:.1%})"
    assert window.findChild(QWidget, "predictionLabel").text() == expected


def test_the_list_switches_off_removes_and_clears(qtbot, window):
    window.intervener.add(Intervention(0, "conv1", "zero", channel=1))
    window.intervener.add(Intervention(2, "max_pool2d", "scale", value=2.0))
    listing = window.findChild(QWidget, "interventionList")
    assert listing.lines() == ["1. conv1 [ch 1] = 0", "3. max_pool2d × 2"]
    _wait_edited(qtbot, window)
    for i in (0, 1):  # real clicks: each answer rebuilds the rows, the clicked one too
        tick = listing.findChildren(QCheckBox, "interventionCheck")[i]
        qtbot.mouseClick(tick, Qt.MouseButton.LeftButton, pos=QPoint(6, tick.height() // 2))
        qtbot.waitUntil(lambda i=i: not window.state.interventions[i].enabled, timeout=5_000)
    assert [e.enabled for e in window.state.interventions] == [False, False]
    _wait_edited(qtbot, window, edited=False)  # all off: the clean forward alone
    remove = listing.findChildren(QToolButton, "removeInterventionButton")[0]
    qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: listing.lines() == ["3. max_pool2d × 2"], timeout=5_000)
    clear = window.findChild(QPushButton, "clearInterventionsButton")
    clear.click()
    assert window.state.interventions == () and listing.lines() == []
    _wait_edited(qtbot, window, edited=False)
    assert not window.activations.column.colorbar.axis.label.isVisible(), "one bar: unnamed"
    assert not clear.isEnabled()


def test_painting_into_a_channel_adds_activation_units(qtbot, window):
    _seven(window)
    _wait_edited(qtbot, window, edited=False)
    target = window.intervener.target(0, 0, None)
    assert target.channel is None
    column = window.activations.column
    where = _tile_centre(window, 0, 2)
    target = window.intervener.target(0, 0, column.rows[0].pixel_at(where)[1])
    assert target.channel == 2 and target.can_paint
    window.intervener.list.amount.setValue(3.0)
    window.intervener.start_painting(target)
    assert column.painting_row == 0
    qtbot.mousePress(column, Qt.MouseButton.LeftButton, pos=where)
    qtbot.mouseRelease(column, Qt.MouseButton.LeftButton, pos=where)
    edit = window.state.interventions[0]
    assert edit.action == "paint" and edit.delta.max() == 3.0
    _wait_edited(qtbot, window)
    c = window.activations.comparison
    np.testing.assert_allclose(c.steps[0].b[0, 2] - c.steps[0].a[0, 2], edit.delta, atol=1e-5)
    assert not np.any(np.delete(c.steps[0].b - c.steps[0].a, 2, 1))
    window.intervener.stop_painting()
    assert column.painting_row is None


def test_a_session_keeps_the_interventions(tmp_path):
    from inspector.core.files.session import load_session, save_session
    from inspector.core.files.session_fields import session_from, state_values
    from inspector.core.state import AppState

    state = AppState()
    paint = np.linspace(0, 1, 28 * 28, dtype=np.float32).reshape(28, 28)
    edits = (
        Intervention(0, "conv1", "paint", channel=2, delta=paint),
        Intervention(7, "fc1", "clamp", value=(-1.0, 0.5), enabled=False),
    )
    state.interventions = edits
    weights = {k: v for k, v in bundled_lenet().model.state_dict().items()}
    save_session(tmp_path / "s.netinspector", session_from(state, weights))
    back = state_values(load_session(tmp_path / "s.netinspector"))["interventions"]
    assert back == edits
    np.testing.assert_allclose(back[0].delta, paint)


def test_a_token_model_patches_a_position_and_sweeps_with_progress_and_cancel(qtbot, window):
    """A tiny GPT-2 (8 positions, 2 blocks): Patch from A on one position of a block's output,
    then Patch every position of this step: a 2 × 8 grid, a row at a time; Cancel stops it."""
    from pathlib import Path

    import pytest

    pytest.importorskip("transformers")
    from inspector.core.state import ModelRef
    from tests.conftest import settle

    zoo = Path(__file__).parents[1] / "core" / "real_models.py"
    with qtbot.waitSignal(window.compute.modelLoaded, timeout=60_000):
        window.open_model(ModelRef(f"{zoo}:gpt2", trust=True))
    settle(qtbot, window, 30_000)
    window.canvas_panel.random_input(seed=1)
    settle(qtbot, window)
    window.comparer.toggle_pin()
    qtbot.waitUntil(lambda: window.state.pin is not None, timeout=10_000)
    window.canvas_panel.random_input(seed=2)
    settle(qtbot, window)
    window.state.selected_module = "transformer.h.0"  # the activations show its steps
    settle(qtbot, window)
    rows = [s.step for s in window.last_result.steps if s.kept]
    row = max(i for i, s in enumerate(rows) if s.label == "transformer.h.0 › add")  # its output
    target = window.intervener.target(row, 0, (3, 5))
    assert target.position == 3 and target.channel is None
    menu = window.intervener.build_menu(target)
    actions = {a.objectName(): a for a in menu.actions()}
    assert "paintAction" not in actions and "sweepAction" in actions
    actions["patchAction"].trigger()
    assert window.intervener.list.lines() == [f"{rows[row].index + 1}. {rows[row].label} "
                                              "[pos 3] ← A"]  # fmt: skip
    result = _wait_edited(qtbot, window)
    step = result.comparison.steps[row]
    np.testing.assert_array_equal(step.diff[:, :3], 0)  # causal: earlier positions untouched
    assert np.abs(step.diff[:, 3]).max() > 0 and np.abs(step.diff[:, 4:]).max() == 0
    actions["sweepAction"].trigger()
    sweeper = window.intervener.sweeper
    qtbot.waitUntil(lambda: not sweeper.running, timeout=60_000)
    grid = sweeper.grid
    assert grid.shape == (2, 8) and np.isfinite(grid).all()
    likeliest = int(np.argmax(window.last_result.comparison.output_a[0, -1]))  # clean B
    assert sweeper.dialog.token.value() == -1 and sweeper.plan.pick == (7, likeliest)
    assert sweeper.dialog.progress.value() == 2 == sweeper.dialog.progress.maximum()
    assert sweeper.row_names == tuple(s.label for s in sweeper.plan.steps)
    position, token = sweeper.plan.pick
    assert f"token {token}'s logit at position {position}" in sweeper.dialog.title.text()
    from inspector.gui.edits.sweep import CELL

    shown = sweeper.dialog.grid_label.pixmap()  # the cells, room for step names and positions
    assert shown.width() > 8 * CELL and shown.height() > 2 * CELL
    chosen = (sweeper.plan.pick[-1] + 5) % 97  # another token's logit
    sweeper.dialog.token.setValue(chosen)
    sweeper.dialog.again.click()
    qtbot.waitUntil(lambda: not sweeper.running, timeout=60_000)
    assert sweeper.plan.pick == (7, chosen) and np.isfinite(sweeper.grid).all()
    sweeper.start(rows[row])  # again, cancelled at once: no row is filled
    sweeper.dialog.cancel.click()
    assert not sweeper.running and "cancelled" in sweeper.dialog.title.text()
    qtbot.wait(300)
    assert sweeper.grid is None or np.isnan(sweeper.grid).all()


def test_a_unit_of_a_vector_step_is_a_channel_too(qtbot, window):
    """fc1's 120 values are a strip: a pixel is one unit, zeroed alone."""
    _seven(window)
    _wait_edited(qtbot, window, edited=False)
    rows = [s.step for s in window.last_result.steps if s.kept]
    row = next(i for i, s in enumerate(rows) if s.label == "fc1")
    heatmap = window.last_result.steps[row].heatmap
    target = window.intervener.target(row, 0, (0, 17 // heatmap.stride))
    assert target.channel == 17 and not target.can_paint
    window.intervener.add(target.edit("zero"))
    c = _wait_edited(qtbot, window).comparison
    assert c.steps[row].b[0, 17] == 0 and c.steps[row].a[0, 17] != 0
    np.testing.assert_array_equal(
        np.delete(c.steps[row].b, 17, 1), np.delete(c.steps[row].a, 17, 1)
    )


def test_a_saved_session_brings_its_interventions_back_into_the_forward(qtbot, tmp_path):
    from inspector.app import MainWindow
    from tests.conftest import settle

    first = MainWindow()
    qtbot.addWidget(first)
    first.show()
    settle(qtbot, first)
    _seven(first)
    first.intervener.add(Intervention(0, "conv1", "zero", channel=3))
    first.intervener.add(Intervention(7, "fc1", "scale", value=0.5, enabled=False))
    _wait_edited(qtbot, first)
    path = tmp_path / "edits.netinspector"
    with qtbot.waitSignal(first.persistence.sessionSaved, timeout=20_000):
        first.persistence.save_session(path)
    output = first.last_result.output.copy()
    first.close()

    second = MainWindow()
    qtbot.addWidget(second)
    second.show()
    settle(qtbot, second)
    from PySide6.QtWidgets import QTabBar

    bar = next(b for b in second.findChildren(QTabBar)
               if "Interventions" in [b.tabText(i) for i in range(b.count())])  # fmt: skip
    bar.setCurrentIndex([bar.tabText(i) for i in range(bar.count())].index("Weights"))
    with qtbot.waitSignal(second.persistence.sessionRestored, timeout=30_000):
        assert second.persistence.open_session(path)
    result = _wait_edited(qtbot, second)
    assert second.intervener.list.lines() == ["1. conv1 [ch 3] = 0", "8. fc1 × 0.5"]
    assert [e.enabled for e in second.state.interventions] == [True, False]
    assert bar.tabText(bar.currentIndex()) == "Interventions", "in front of the Weights"
    assert result.edits == ("1. conv1 [ch 3] = 0",)
    np.testing.assert_allclose(result.output, output, rtol=1e-6, atol=1e-6)
    second.close()


def test_an_output_drawn_as_a_picture_says_it_is_the_edited_one(qtbot, window):
    from pathlib import Path

    from inspector.core.state import ModelRef

    zoo = Path(__file__).parents[1] / "zoo" / "patterns.py"
    with qtbot.waitSignal(window.compute.modelLoaded, timeout=30_000):
        window.open_model(ModelRef(f"{zoo}:AutoEncoder"))
    _wait_edited(qtbot, window, edited=False)
    label = window.findChild(QWidget, "predictionLabel")
    assert label.text() == "output [1, 1, 28, 28]"
    window.intervener.add(Intervention(2, "enc.2", "zero"))
    _wait_edited(qtbot, window)
    assert label.text() == "edited: output [1, 1, 28, 28]"
    window.intervener.clear()
    _wait_edited(qtbot, window, edited=False)
    assert label.text() == "output [1, 1, 28, 28]"
