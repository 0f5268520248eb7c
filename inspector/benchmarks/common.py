"""What the window benchmarks share: waiting in the event loop, percentiles, and the error
that ends a benchmark in one sentence."""

from __future__ import annotations

import time

import numpy as np


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


class BenchError(Exception):
    """A benchmark that cannot run (its model does not open): one sentence, exit 1."""


def wait_for(condition, deadline: float) -> None:
    """Run the event loop until ``condition()`` or ``deadline``, checking every millisecond;
    between checks the GUI thread sleeps in the event loop, as the app's does (spinning
    ``processEvents`` took the GIL from the worker thousands of times a second)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    timer = QTimer()
    timer.timeout.connect(
        lambda: loop.quit() if condition() or time.perf_counter() >= deadline else None
    )
    timer.start(1)
    if not condition():
        loop.exec()
    timer.stop()
