"""``net-inspector bench --train``: training throughput in the window vs headless, one run.

Headless is ``net-inspector train``'s loop (``core.train.train_step`` over batches of the
pre-converted training set, ``loss.item()`` each step) with the window's default settings
(LeNet re-initialised, Adam 2e-3, batch 32, augmentation on), each run in a fresh process as
the command runs, on every core and on one fewer, before and after the window. In the window,
training runs as the Train button runs it (chunks on the worker, a held-out accuracy every 200
steps, the gradient health every 20, panels refreshed 4 times a second), first while a
figure-eight stroke is drawn without a break (one mouse event every 8 ms from a timer), then
with nobody drawing: images/s counts wall-clock time from chunk to chunk.

``--epoch``: also one full epoch in the window from re-initialised weights with Adam (needs
the MNIST folder), reporting the test accuracy and what the drawn digits are recognised as.
"""

from __future__ import annotations

import os
import time

import numpy as np

from inspector.benchmarks.common import wait_for
from inspector.testing import ONE, SEVEN, figure_eight, mouse_event, settled, stroke

BATCH = 32  # the Training dock's defaults: Adam 2e-3, batch 32, augmentation
LR = 2e-3


def headless(data, seconds: float, threads: int) -> dict:
    """``net-inspector train``'s loop for about ``seconds`` on ``threads`` torch threads:
    images/s (after a few warm-up batches)."""
    import torch

    from inspector.core.model.nets import untrained_lenet
    from inspector.core.training.recipe import _batches, to_input, train_step
    from inspector.core.training.setup import reinitialise

    model = untrained_lenet(0)
    reinitialise(model)
    optimiser = torch.optim.Adam(model.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(0)
    inputs = to_input(data.train_x)
    targets = torch.as_tensor(np.array(data.train_y), dtype=torch.long)
    model.train()
    was = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        images, running, warm = 0, 0.0, 5
        while True:
            for idx in _batches(len(inputs), BATCH, gen):
                running += train_step(model, optimiser, inputs[idx], targets[idx], gen).item()
                warm -= 1
                if warm == 0:
                    started = time.perf_counter()
                elif warm < 0:
                    images += len(idx)
                    if time.perf_counter() - started >= seconds:
                        elapsed = time.perf_counter() - started
                        rate = images / elapsed
                        return {"images": images, "seconds": round(elapsed, 2),
                                "images_per_s": rate, "torch_threads": threads}  # fmt: skip
    finally:
        torch.set_num_threads(was)


def _window(folder: str):
    from inspector.app import create_window

    window = create_window()
    window.show()
    wait_for(lambda: window.last_result is not None, time.perf_counter() + 20)
    window.state.update(train_data=folder, train_optimizer="adam", train_lr=LR,
                        train_batch=BATCH, train_epochs=1, train_augment=True)  # fmt: skip
    _wait(window.training.reinitialise, window.compute.weightsUpdated)
    return window


def _wait(start, signal, timeout: float = 600.0):
    """Call ``start()`` and run the event loop until ``signal`` fires; its arguments."""
    got: list = []
    slot = lambda *args: got.append(args)  # noqa: E731
    signal.connect(slot)
    start()
    wait_for(lambda: bool(got), time.perf_counter() + timeout)
    signal.disconnect(slot)
    if not got:
        raise RuntimeError("the window did not answer in time")
    return got[0]


def in_window(app, folder: str, seconds: float, interval_ms: float = 8.0, **knobs) -> dict:
    """Images/s of the Train button, first while a stroke is drawn without a break (a mouse
    event every ``interval_ms`` from a timer, the event loop idling between them as it does
    for a person), then for as long with nobody drawing. ``knobs``: attributes of
    ``TrainingControl`` to try, e.g. ``chunk_threads=1``."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    window = _window(folder)
    try:
        training, canvas = window.training, window.canvas_panel.canvas
        for name, value in knobs.items():
            setattr(training, name, value)
        marks: list[tuple[float, int]] = []
        training.chunkDone.connect(lambda p: marks.append((time.perf_counter(), p.step)))
        _wait(training.start, training.chunkDone)  # the data loaded, the first chunk run
        points, moves = figure_eight(200), {"n": 0}

        def move() -> None:
            moves["n"] += 1
            point = points[moves["n"] % len(points)]
            QApplication.sendEvent(canvas, mouse_event(canvas, "move", point))

        def phase(drawing: bool) -> dict:
            computed, first = window.compute.runner.computed, len(marks)
            timer = QTimer()
            timer.setTimerType(Qt.TimerType.PreciseTimer)
            if drawing:
                QApplication.sendEvent(canvas, mouse_event(canvas, "press", points[0]))
                timer.timeout.connect(move)
                timer.start(round(interval_ms))
            loop = QEventLoop()
            QTimer.singleShot(round(seconds * 1000), loop.quit)
            loop.exec()
            timer.stop()
            if drawing:
                QApplication.sendEvent(canvas, mouse_event(canvas, "release", points[0]))
            (t0, s0), (t1, s1) = marks[first - 1], marks[-1]
            return {"images": (s1 - s0) * BATCH, "seconds": round(t1 - t0, 2),
                    "images_per_s": (s1 - s0) * BATCH / max(t1 - t0, 1e-9),
                    "mouse_events": moves["n"] if drawing else 0,
                    "drawing_forwards": window.compute.runner.computed - computed,
                    "chunks": len(marks) - first}  # fmt: skip

        drawing = phase(True)
        idle = phase(False)
        training.pause()
        return {"drawing": drawing, "not_drawing": idle}
    finally:
        window.close()


def full_epoch(app, folder: str) -> dict:
    """One epoch with Adam from re-initialised weights in the window; then two drawn digits."""
    window = _window(folder)
    try:
        started = time.perf_counter()
        (why,) = _wait(window.training.start, window.training.stopped)
        seconds = time.perf_counter() - started
        last = window.training.last
        recognised = {}
        for name, path in (("7", SEVEN), ("1", ONE)):
            window.canvas_panel.canvas.clear()
            stroke(window.canvas_panel.canvas, path)
            wait_for(lambda: settled(window), time.perf_counter() + 60)
            probs = window.last_result.probabilities
            recognised[name] = int(np.argmax(probs)) if probs is not None else None
        return {"stopped": why, "test_accuracy": float(last.test[-1]) if len(last.test) else None,
                "steps": last.step, "seconds": round(seconds, 1), "data": last.source,
                "drawn_digits_recognised_as": recognised}  # fmt: skip
    finally:
        window.close()


def _headless_in_fresh_process(folder: str | None, seconds: float, threads: int) -> dict:
    """``headless`` in a new process, as ``net-inspector train`` runs: its main thread alone
    (a team of torch threads this process had started would slow the window's, see
    ``core.threads``)."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_headless_job, (folder, seconds, threads))


def _headless_job(folder: str | None, seconds: float, threads: int) -> dict:
    from inspector.core.training.setup import load_data

    return headless(load_data(folder), seconds, threads)


def run(seconds: float = 4.0, epoch: bool = False) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from inspector.core.runtime.process import prepare_window_process
    from inspector.core.runtime.threads import usable_cores
    from inspector.core.training.mnist import default_folder
    from inspector.core.training.setup import load_data

    prepare_window_process()  # as the app does: this process is the window's
    folder = default_folder()
    source = load_data(folder or None).source
    # net-inspector train uses torch's default threads (every core); one fewer is what the
    # window trains on while a stroke is drawn. Both are timed before and after the window.
    cores = usable_cores()
    counts = sorted({cores, max(1, cores - 1)})
    before = [_headless_in_fresh_process(folder or None, seconds, n) for n in counts]
    app = QApplication.instance() or QApplication(["net-inspector-bench"])
    window = in_window(app, folder, seconds)
    after = [_headless_in_fresh_process(folder or None, seconds, n) for n in reversed(counts)]
    fastest = max(r["images_per_s"] for r in before + after)
    every_core = [r["images_per_s"] for r in before + after if r["torch_threads"] == cores]
    reference = sum(every_core) / len(every_core)
    report = {"data": source, "batch": BATCH, "optimizer": f"Adam {LR:g}, augmentation on",
              "headless": before + after, "window": window, "cores": cores,
              "ratio_drawing": window["drawing"]["images_per_s"] / reference,
              "ratio_not_drawing": window["not_drawing"]["images_per_s"] / reference,
              "ratio_drawing_vs_fastest": window["drawing"]["images_per_s"] / fastest}  # fmt: skip
    if epoch:
        report["epoch"] = full_epoch(app, folder) if folder else "needs ../shared/mnist"
    return report


def format_report(r: dict) -> str:
    runs = ", ".join(f"{h['images_per_s']:.0f} ({h['torch_threads']} thr)" for h in r["headless"])
    d, n = r["window"]["drawing"], r["window"]["not_drawing"]
    lines = [
        f"data: {r['data']}; batch {r['batch']}, {r['optimizer']}",
        f"headless (net-inspector train's loop, a fresh process each), before and after the "
        f"window: {runs} images/s",
        f"in the window, Train while drawing: {d['images_per_s']:.0f} images/s over "
        f"{d['seconds']} s, {d['chunks']} chunks; {d['mouse_events']} mouse events, "
        f"{d['drawing_forwards']} forwards of the drawing computed meanwhile",
        f"in the window, Train with nobody drawing: {n['images_per_s']:.0f} images/s over "
        f"{n['seconds']} s, {n['chunks']} chunks",
        f"ratio window / headless on all {r['cores']} cores: while drawing "
        f"{r['ratio_drawing']:.2f} (target ≥ 0.8), not drawing {r['ratio_not_drawing']:.2f}; "
        f"while drawing / the fastest headless run: {r['ratio_drawing_vs_fastest']:.2f}",
    ]
    epoch = r.get("epoch")
    if isinstance(epoch, dict):
        lines.append(
            f"one epoch with Adam from re-initialised weights: test accuracy "
            f"{epoch['test_accuracy']:.2%} ({epoch['steps']} steps, {epoch['seconds']} s); "
            f"drawn digits recognised as {epoch['drawn_digits_recognised_as']}"
        )
    elif epoch:
        lines.append(f"one epoch: {epoch}")
    return "\n".join(lines)
