"""The runner thread and its GUI-side handle: latest input wins, stale answers are dropped,
failures are one sentence, Cancel and shutdown always win."""

import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from inspector.core.files.loading import bundled_lenet
from inspector.core.forward.results import ForwardRequest
from inspector.gui.work.compute import Compute
from inspector.gui.work.runner import Job
from tests.conftest import ZOO


@pytest.fixture
def compute(qtbot):
    c = Compute(bundled_lenet())
    yield c
    c.shutdown()


def _stroke(i: int) -> np.ndarray:
    drawing = np.zeros((32, 32), np.float32)
    drawing[4 + i % 20, 4:28] = 1.0
    return drawing


def test_hundreds_of_submissions_coalesce_to_the_last(qtbot, compute):
    results = []
    compute.forwardReady.connect(results.append)
    ids = [compute.submit(_stroke(i)) for i in range(500)]
    qtbot.waitUntil(lambda: bool(results) and results[-1].request_id == ids[-1], timeout=10_000)
    assert compute.runner.submitted == 500
    assert compute.runner.computed < 100  # far fewer computed than submitted
    delivered = [r.request_id for r in results]
    assert delivered == sorted(delivered)  # never an older result after a newer one


def test_stale_results_are_dropped(qtbot, compute):
    shown = []
    compute.forwardReady.connect(shown.append)
    engine = compute.runner.engine
    newer = engine.forward(ForwardRequest(5, _stroke(1)))
    older = engine.forward(ForwardRequest(3, _stroke(2)))
    compute._on_forward(newer)
    compute._on_forward(older)
    assert [r.request_id for r in shown] == [5]


def test_only_the_latest_selection_is_answered(qtbot, compute, monkeypatch):
    """Selections asked for while the worker is busy: only the last is read and answered.
    A job queued after them marks when every answer would have come."""
    engine = compute.runner.engine
    read: list[str] = []
    real = engine.parameters
    monkeypatch.setattr(engine, "parameters", lambda path, *a: read.append(path) or real(path, *a))
    answers, marked = [], []
    compute.parametersReady.connect(answers.append)
    gate = threading.Event()
    compute.runner.call(Job("gate", "Holding the worker", lambda e, c: gate.wait(10)))
    for path in ("conv1", "conv2", "fc1", "fc3"):
        compute.select_module(path)
    compute.runner.call(Job("mark", "Marking", lambda e, c: None, marked.append))
    gate.set()
    qtbot.waitUntil(lambda: bool(marked), timeout=10_000)
    assert read == ["fc3"]
    assert [a.module for a in answers] == ["fc3"]


def test_a_failing_forward_is_one_sentence_and_the_runner_survives(qtbot, compute):
    failures, results = [], []
    compute.failed.connect(lambda message, details: failures.append((message, details)))
    compute.forwardReady.connect(results.append)
    from inspector.core.model.inputs import InputSpec

    compute.configure(input=InputSpec((1, 1, 7, 7), "image"))  # too small for the LeNet
    compute.submit(_stroke(1))
    qtbot.waitUntil(lambda: bool(failures), timeout=10_000)
    message, details = failures[0]
    assert message.startswith("The forward pass failed: RuntimeError") and "\n" not in message
    assert "Traceback" in details
    compute.configure(input=InputSpec((1, 1, 32, 32), "mnist"))
    compute.submit(_stroke(2))
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)


def test_open_failure_of_any_type_is_reported(qtbot, compute):
    with qtbot.waitSignal(compute.loadFailed, timeout=30_000) as blocker:
        compute.open_model(f"{ZOO / 'nets.py'}:RaisesInForward")
    assert "RaisesInForward" in blocker.args[0]


def test_cancel_abandons_a_constructor_stuck_in_python(qtbot, compute):
    loaded, cancelled, results = [], [], []
    compute.modelLoaded.connect(loaded.append)
    compute.workCancelled.connect(cancelled.append)
    compute.forwardReady.connect(results.append)
    compute.open_model(f"{ZOO / 'nets.py'}:SlowToBuild")
    qtbot.wait(300)
    started = time.monotonic()
    compute.cancel_load()
    qtbot.waitUntil(lambda: cancelled == ["open"], timeout=5_000)
    assert time.monotonic() - started < 5  # not the constructor's 30 s
    compute.submit(_stroke(4))  # the runner is free again, still on the LeNet
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    assert results[-1].probabilities is not None and not loaded


def test_shutdown_does_not_wait_for_a_stuck_constructor(qtbot):
    compute = Compute(bundled_lenet())
    compute.open_model(f"{ZOO / 'nets.py'}:SlowToBuild")
    qtbot.wait(300)
    started = time.monotonic()
    assert compute.shutdown()  # the runner stops; the side thread is left behind
    assert time.monotonic() - started < 2
    assert not compute.runner.isRunning()


SLOW_MODEL = """
import time
from torch import nn


class Slow(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        for _ in range(60):  # ~150 ms, an op (a chance to stop) every few milliseconds
            time.sleep(0.0025)
            x = x * 1.0
        return self.conv(x).flatten(1)
"""


def _slow_compute(qtbot, tmp_path, painted: bool):
    from inspector.core.files.loading import open_model

    (tmp_path / "slow.py").write_text(SLOW_MODEL)
    compute = Compute(open_model(f"{tmp_path / 'slow.py'}:Slow"))
    results: list[int] = []
    compute.forwardReady.connect(lambda r: results.append(r.request_id))
    if painted:  # as the window does once its panels have painted the result
        compute.forwardReady.connect(lambda _r: compute.frame_shown())
    try:
        for _ in range(2):
            done = compute.submit(_stroke(1))
            qtbot.waitUntil(lambda: done in results, timeout=10_000)  # noqa: B023
        yield compute, results
    finally:
        compute.shutdown()


@pytest.fixture
def slow(qtbot, tmp_path):
    """A Compute on ``SLOW_MODEL`` whose results are painted at once, and the ids of its
    results, two forwards in: the last forward's time is known, past the first one's extra."""
    yield from _slow_compute(qtbot, tmp_path, painted=True)


@pytest.fixture
def slow_unpainted(qtbot, tmp_path):
    """The same, with nobody painting its results."""
    yield from _slow_compute(qtbot, tmp_path, painted=False)


def test_a_newer_input_replaces_a_long_forward_just_started_once(qtbot, slow):
    """Early in a long forward a newer input stops it and starts at once (waiting made an
    input wait up to two forwards); the restarted forward runs to its end. Which inputs get
    stopped is ``Schedule``'s decision (tests/core/test_schedule.py); this is the runner
    acting on it."""
    compute, results = slow
    runner = compute.runner
    started: list[int] = []
    runner.forwardStarted.connect(started.append)
    replaced = compute.submit(_stroke(2))
    qtbot.waitUntil(lambda: replaced in started, timeout=10_000)
    newer = compute.submit(_stroke(3))  # early in the forward of `replaced`
    qtbot.waitUntil(lambda: newer in started, timeout=10_000)
    last = compute.submit(_stroke(4))  # `newer` was a restart: it runs to its end
    qtbot.waitUntil(lambda: last in results, timeout=10_000)
    assert runner.superseded == 1
    assert replaced not in results and newer in results


def test_a_long_forward_waits_for_the_last_result_on_screen_too(qtbot, slow_unpainted):
    """Every model is paced: the next forward starts once the last result is painted, not
    while the GUI thread paints it, since the two fight over the cores. The paint comes two
    forwards' time after the input: a forward that did not wait would start long before."""
    from PySide6.QtCore import QTimer

    compute, results = slow_unpainted
    runner = compute.runner
    # Only the paint can end the wait.
    runner.schedule.knobs = replace(runner.schedule.knobs, frame_timeout_s=5.0)
    assert runner.schedule.last_forward_ms > 100
    compute.frame_shown()  # the fixture's last result, as if painted
    first = compute.submit(_stroke(2))
    qtbot.waitUntil(lambda: first in results, timeout=10_000)
    events: list[str] = []
    runner.forwardStarted.connect(lambda i: events.append(f"started {i}"))

    def paint() -> None:
        events.append("painted")
        compute.frame_shown()

    second = compute.submit(_stroke(3))
    QTimer.singleShot(300, paint)
    qtbot.waitUntil(lambda: second in results, timeout=10_000)
    assert events == ["painted", f"started {second}"]


def test_the_time_an_open_took_counts_building_the_model(qtbot, compute, monkeypatch):
    """The model is built in a side thread and adopted on the worker: "Opened … in N ms" had
    counted only the adoption (6 ms for a ResNet-50 that took 0.4 s)."""
    from inspector.gui.work import compute as compute_module

    real = compute_module.open_model

    def slow_to_build(*args, **kwargs):
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(compute_module, "open_model", slow_to_build)
    with qtbot.waitSignal(compute.modelLoaded, timeout=20_000) as blocker:
        compute.open_model("lenet")
    assert blocker.args[0].load_ms >= 300


def test_jobs_never_wait_for_a_result_nobody_paints(qtbot, slow_unpainted):
    """Only a forward waits for the last result to be on screen: a minimised window paints
    nothing, and training chunks or a module's weights must not wait for it."""
    compute, results = slow_unpainted
    runner = compute.runner
    runner.schedule.knobs = replace(runner.schedule.knobs, frame_timeout_s=5.0)
    first = compute.submit(_stroke(2))
    compute.frame_shown()
    qtbot.waitUntil(lambda: first in results, timeout=10_000)  # its result is never painted
    started = time.perf_counter()
    for _ in range(2):  # the second one is asked for while the worker would wait for a frame
        with qtbot.waitSignal(compute.parametersReady, timeout=10_000):
            compute.select_module("conv")
    assert time.perf_counter() - started < 2.5
