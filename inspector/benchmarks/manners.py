"""``net-inspector bench --manners``: how long the GUI thread is held by what must never hold it
long. Closing during a backward that would take seconds, closing mid-epoch, and asking for an
autosave (written off the GUI thread). The tests check that these do not wait for the work;
how long they take is this benchmark's figure, on the machine named beside it."""

from __future__ import annotations

import statistics
import threading
import time

import torch
from torch import nn

from inspector.benchmarks.common import wait_for

BACKWARD_RUNNING = threading.Event()  # set by the first slow node: a backward is under way


class _SlowBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 1.0

    @staticmethod
    def backward(ctx, grad):
        BACKWARD_RUNNING.set()
        time.sleep(0.02)
        return grad


class SlowBackward(nn.Module):
    """A backward of 300 nodes × 20 ms = 6 s, if nobody stops it."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        x = self.fc(x)
        for _ in range(300):
            x = _SlowBackward.apply(x)
        return x


def _shown(window) -> None:
    window.show()
    wait_for(lambda: window.last_result is not None, time.perf_counter() + 30)


def close_during_backward_s() -> float:
    """Seconds ``close()`` takes 0.3 s into a 6-second backward."""
    from inspector.app import MainWindow
    from inspector.core.files.loading import OpenedModel
    from inspector.core.model.inputs import InputSpec

    window = MainWindow(opened=OpenedModel(SlowBackward(), "Slow", InputSpec((1, 4), "tensor")))
    _shown(window)
    window.run_backward()
    wait_for(lambda: False, time.perf_counter() + 0.3)
    started = time.perf_counter()
    window.close()
    return time.perf_counter() - started


def close_mid_epoch_s() -> float:
    """Seconds ``close()`` takes while the window trains (the bundled sample, batches of 64)."""
    from inspector.app import MainWindow

    window = MainWindow()
    _shown(window)
    window.state.update(train_data="", train_batch=64, train_epochs=100)
    window.training.start()
    wait_for(lambda: window.training.last is not None, time.perf_counter() + 60)
    started = time.perf_counter()
    window.close()
    return time.perf_counter() - started


def autosave_call_ms(window, rounds: int = 5) -> list[float]:
    """Milliseconds the GUI thread spends asking for an autosave of a fresh stroke."""
    from inspector.testing import stroke

    times = []
    for _ in range(rounds):
        stroke(window.canvas_panel.canvas)
        started = time.perf_counter()
        future = window.persistence.autosave.now()
        times.append((time.perf_counter() - started) * 1000)
        if future is not None:
            future.result(timeout=30)
    return times


def run(rounds: int = 3) -> dict:
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from inspector.app import MainWindow

    QApplication.instance() or QApplication(["net-inspector-bench"])
    backward = [close_during_backward_s() for _ in range(rounds)]
    training = [close_mid_epoch_s() for _ in range(rounds)]
    window = MainWindow()
    _shown(window)
    try:
        autosave = autosave_call_ms(window)
    finally:
        window.close()

    def spread(values: list[float], digits: int) -> dict:
        return {
            "median": round(statistics.median(values), digits),
            "min": round(min(values), digits),
            "max": round(max(values), digits),
        }

    return {
        "close_during_backward_s": spread(backward, 3),
        "close_mid_epoch_s": spread(training, 3),
        "autosave_call_ms": spread(autosave, 2),
    }


def format_report(r: dict) -> str:
    def line(label: str, d: dict, unit: str) -> str:
        return f"{label}: median {d['median']} {unit} (min {d['min']}, max {d['max']})"

    return "\n".join(
        [
            line("close during a 6 s backward", r["close_during_backward_s"], "s"),
            line("close mid-epoch", r["close_mid_epoch_s"], "s"),
            line("asking for an autosave (GUI thread)", r["autosave_call_ms"], "ms"),
        ]
    )
