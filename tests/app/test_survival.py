"""Surviving abuse: unexpected exceptions, quitting mid-backward, the log file."""

import pytest

from inspector.benchmarks.manners import BACKWARD_RUNNING, SlowBackward
from inspector.logs import install_excepthook, setup_logging


@pytest.fixture
def slow_window(qtbot):
    """The window on a model whose backward takes 6 s, its first forward on screen."""
    from inspector.core.files.loading import OpenedModel
    from inspector.core.model.inputs import InputSpec
    from inspector.gui.main_window import MainWindow

    window = MainWindow(opened=OpenedModel(SlowBackward(), "Slow", InputSpec((1, 4), "tensor")))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.last_result is not None, timeout=10_000)
    return window


def test_closing_during_a_long_backward_stops_the_worker(qtbot, slow_window):
    """The backward stops at its next node: the worker has ended when close returns (it is
    given a second before being left behind). How long closing takes is a figure of
    ``net-inspector bench --manners``."""
    window = slow_window
    worker = window.compute.runner
    BACKWARD_RUNNING.clear()
    window.run_backward()
    qtbot.waitUntil(BACKWARD_RUNNING.is_set, timeout=10_000)  # its first slow node
    window.close()
    assert not worker.isRunning()


def test_excepthook_logs_and_shows_instead_of_crashing(tmp_path, monkeypatch):
    import sys

    path = setup_logging(tmp_path)
    shown = []
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    handler = install_excepthook(lambda message, details: shown.append((message, details)))
    try:
        raise ValueError("a slot went wrong")
    except ValueError:
        handler(*sys.exc_info())
    assert shown and shown[0][0] == "Something went wrong: ValueError: a slot went wrong"
    assert "Traceback" in shown[0][1]
    for h in __import__("inspector.logs").logs.LOG.handlers:
        h.flush()
    assert "a slot went wrong" in path.read_text()


def test_error_dialog_does_not_block(qtbot, window):
    from PySide6.QtWidgets import QMessageBox

    window.show_error("Something went wrong: boom", "details")  # returns: open(), not exec()
    box = window.findChild(QMessageBox, "errorDialog")
    assert box is not None and box.isVisible()
    assert window.last_error == "Something went wrong: boom"
    asked = window.submit_input()
    qtbot.waitUntil(lambda: window.last_result.request_id >= asked, timeout=10_000)
    assert box.isVisible()  # the app computed and showed a result while the dialog was up
    box.close()


def test_a_long_backward_can_be_cancelled_and_the_app_goes_on(qtbot, slow_window):
    window = slow_window
    from PySide6.QtWidgets import QPushButton

    window.run_backward()
    progress = window.backward_busy.dialog
    qtbot.waitUntil(lambda: progress.isVisible(), timeout=5_000)  # shown after 400 ms
    with qtbot.waitSignal(window.compute.workCancelled, timeout=5_000) as cancelled:
        progress.findChild(QPushButton).click()  # the dialog's Cancel button
    assert cancelled.args == ["backward"]
    assert not window.backward_busy.is_open
    assert window.graph.result is None  # no half-recorded graph is shown
    before = window.last_result.request_id
    window.submit_input()  # and the worker carries on
    qtbot.waitUntil(lambda: window.last_result.request_id > before, timeout=10_000)
    window.close()
