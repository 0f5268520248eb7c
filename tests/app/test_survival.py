"""Surviving abuse: unexpected exceptions, quitting mid-backward, the log file."""

import threading
import time

import pytest
import torch
from torch import nn

from inspector.logs import install_excepthook, setup_logging

BACKWARD_RUNNING = threading.Event()


class SlowBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1.0

    @staticmethod
    def backward(ctx, grad):
        BACKWARD_RUNNING.set()
        time.sleep(0.02)
        return grad


class Slow(nn.Module):
    """A backward of 300 nodes × 20 ms = 6 s, if nobody stops it."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        x = self.fc(x)
        for _ in range(300):
            x = SlowBackward.apply(x)
        return x


@pytest.fixture
def slow_window(qtbot):
    """The window on a model whose backward takes 6 s, its first forward on screen."""
    from inspector.core.files.loading import OpenedModel
    from inspector.core.model.inputs import InputSpec
    from inspector.gui.main_window import MainWindow

    window = MainWindow(opened=OpenedModel(Slow(), "Slow", InputSpec((1, 4), "tensor")))
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


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 3.0])
def test_nan_inf_and_constant_tensors_render(qtbot, window, value):
    """conv1's output of a NaN input is NaN everywhere, of +Inf it is ±Inf or NaN, of a
    constant it is constant per channel: the panel paints each in the colours they promise."""
    import numpy as np
    from PySide6.QtGui import QColor

    from inspector.core.forward.colormap import NAN_RGBA, NEG_INF_RGBA, POS_INF_RGBA

    last = window.last_result.request_id
    window.state.raw_input = np.full((1, 1, 32, 32), value, np.float32)
    qtbot.waitUntil(lambda: window.last_result.request_id > last, timeout=10_000)
    step = window.last_result.steps[0]
    image = step.heatmap.image
    gaps = step.heatmap.gaps()
    shown = step.rgba[np.ones(image.shape, bool) if gaps is None else ~gaps]  # tensor pixels
    specials = {NAN_RGBA, POS_INF_RGBA, NEG_INF_RGBA}
    colours = {tuple(int(c) for c in px) for px in shown.reshape(-1, 4)}
    if np.isnan(value):
        assert colours == {NAN_RGBA}
    elif np.isinf(value):
        assert colours <= specials and colours
    else:
        assert not colours & specials and 1 < len(colours) <= 6  # one colour per channel
    picture = window.activations.column.grab().toImage()
    wanted = QColor(*NAN_RGBA[:3])
    found = any(
        picture.pixelColor(x, y) == wanted
        for x in range(0, picture.width(), 3)
        for y in range(0, picture.height(), 3)
    )
    rows = window.activations.column.rows  # painted: coloured by the worker or when shown
    nan_coloured = any(
        (row._rgbas[0].reshape(-1, 4) == NAN_RGBA).all(axis=1).any()
        for row in rows
        if row._rgbas[0] is not None
    )
    assert found == nan_coloured and nan_coloured == (value != 3.0)  # Inf - Inf is NaN too


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
