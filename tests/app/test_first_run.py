"""The first five minutes: a hint that is ticked off as the user follows it, gone for good."""

from PySide6.QtCore import QSettings, Qt

from inspector.testing import stroke


def test_the_hint_is_followed_and_then_gone_for_good(qtbot, window):
    hint = window.hint
    assert hint.isVisible() and "Draw a digit" in hint.text.text()
    stroke(window.canvas_panel.canvas)
    assert hint.done == {"draw"} and "✓" in hint.text.text()
    tree = window.tree
    rect = tree.visualRect(tree.view_index_for_path("fc1"))
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert hint.done == {"draw", "layer"} and window.state.selected_module == "fc1"
    with qtbot.waitSignal(window.compute.backwardReady, timeout=20_000):
        window.run_backward()
    assert hint.isVisible()
    window.graph.step()
    assert not hint.isVisible() and QSettings().value("hint/done", type=bool)


def test_a_dismissed_hint_stays_away_and_the_tour_brings_it_back(qtbot):
    from inspector.app import MainWindow

    QSettings().setValue("hint/done", True)
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    assert not win.hint.isVisible()
    win.actions["tourAction"].trigger()
    assert win.hint.isVisible() and not win.hint.done
    win.close()
