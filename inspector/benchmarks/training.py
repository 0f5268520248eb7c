"""``net-inspector bench --train``: training throughput in the window vs headless, one run.

Headless is ``net-inspector train``'s loop (``core.train.train_step`` over batches of the
pre-converted training set, ``loss.item()`` each step) with the same settings as the window:
LeNet re-initialised, Adam at 1e-3, batch 64, augmentation on. It is timed before and after
the window, and the window's figure is compared with their mean. In the window, training runs
as the Train button runs it (chunks on the worker, a held-out accuracy every 100 steps, the
gradient health every 10, panels refreshed 4 times a second) while a figure-eight stroke is
drawn without a break, one mouse event every 8 ms: images/s counts wall-clock time from the
first chunk (data loaded) to the last.

``--epoch``: also one full epoch in the window from re-initialised weights with Adam (needs
the MNIST folder), reporting the test accuracy and what the drawn digits are recognised as.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ..testing import ONE, SEVEN, figure_eight, mouse_event, stroke

BATCH = 32  # the Training dock's defaults: Adam 2e-3, batch 32, augmentation
LR = 2e-3


def headless(data, seconds: float, threads: int) -> dict:
    """``net-inspector train``'s loop for about ``seconds`` on ``threads`` torch threads:
    images/s (after a few warm-up batches)."""
    import torch

    from ..core.nets import untrained_lenet
    from ..core.train import _batches, to_input, train_step
    from ..core.training_setup import reinitialise

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


def _window(app, folder: str):
    from ..app import create_window

    window = create_window()
    window.show()
    deadline = time.perf_counter() + 20
    while window.last_result is None and time.perf_counter() < deadline:
        app.processEvents()
    window.state.update(train_data=folder, train_optimizer="adam", train_lr=LR,
                        train_batch=BATCH, train_epochs=1, train_augment=True)  # fmt: skip
    _wait(app, window.training.reinitialise, window.compute.weightsUpdated)
    return window


def _wait(app, start, signal, timeout: float = 600.0):
    """Call ``start()`` and run the event loop until ``signal`` fires; its arguments."""
    got: list = []
    slot = lambda *args: got.append(args)  # noqa: E731
    signal.connect(slot)
    start()
    deadline = time.perf_counter() + timeout
    while not got and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)
    signal.disconnect(slot)
    if not got:
        raise RuntimeError("the window did not answer in time")
    return got[0]


def in_window(
    app, folder: str, seconds: float, interval_ms: float = 8.0, draw: bool = True, **knobs
) -> dict:
    """Images/s of the Train button while a stroke is drawn without a break (``knobs``:
    attributes of ``TrainingControl`` to try, e.g. ``depth=1``, ``chunk_threads=2``)."""
    window = _window(app, folder)
    try:
        training, canvas = window.training, window.canvas_panel.canvas
        for name, value in knobs.items():
            setattr(training, name, value)
        marks: list[tuple[float, int]] = []
        training.chunkDone.connect(lambda p: marks.append((time.perf_counter(), p.step)))
        _wait(app, training.start, training.chunkDone)  # the data loaded, the first chunk run
        computed = window.compute.runner.computed
        points = figure_eight(200)
        from PySide6.QtWidgets import QApplication

        started, i, events = time.perf_counter(), 0, 0
        QApplication.sendEvent(canvas, mouse_event(canvas, "press", points[0]))
        while time.perf_counter() - started < seconds:
            i = (i + 1) % len(points)
            if draw:
                QApplication.sendEvent(canvas, mouse_event(canvas, "move", points[i]))
            events += 1
            next_at = started + events * interval_ms / 1000
            while time.perf_counter() < next_at:
                app.processEvents()
                time.sleep(0.0005)
        QApplication.sendEvent(canvas, mouse_event(canvas, "release", points[i]))
        forwards = window.compute.runner.computed - computed
        training.pause()
        window_marks = [m for m in marks if m[0] >= marks[0][0]]
        (t0, s0), (t1, s1) = window_marks[0], window_marks[-1]
        return {"images": (s1 - s0) * BATCH, "seconds": round(t1 - t0, 2),
                "images_per_s": (s1 - s0) * BATCH / max(t1 - t0, 1e-9),
                "mouse_events": events, "drawing_forwards": forwards,
                "chunks": len(marks) - 1}  # fmt: skip
    finally:
        window.close()


def full_epoch(app, folder: str) -> dict:
    """One epoch with Adam from re-initialised weights in the window; then two drawn digits."""
    window = _window(app, folder)
    try:
        started = time.perf_counter()
        (why,) = _wait(app, window.training.start, window.training.stopped)
        seconds = time.perf_counter() - started
        last = window.training.last
        recognised = {}
        for name, path in (("7", SEVEN), ("1", ONE)):
            window.canvas_panel.canvas.clear()
            stroke(window.canvas_panel.canvas, path)
            wanted = window.compute.latest_request_id
            while window.last_result is None or window.last_result.request_id < wanted:
                app.processEvents()
            probs = window.last_result.probabilities
            recognised[name] = int(np.argmax(probs)) if probs is not None else None
        return {"stopped": why, "test_accuracy": float(last.test[-1]) if len(last.test) else None,
                "steps": last.step, "seconds": round(seconds, 1), "data": last.source,
                "drawn_digits_recognised_as": recognised}  # fmt: skip
    finally:
        window.close()


def run(seconds: float = 4.0, epoch: bool = False) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from ..core.mnist import default_folder
    from ..core.training_setup import load_data

    folder = default_folder()
    data = load_data(folder or None)
    # net-inspector train uses torch's default threads (every core); the window's worker
    # leaves one core to the GUI. Both are timed; the faster headless figure is the reference.
    cores = os.cpu_count() or 1
    counts = sorted({cores, max(1, cores - 1)})
    before = [headless(data, seconds, n) for n in counts]
    app = QApplication.instance() or QApplication(["net-inspector-bench"])
    window = in_window(app, folder, seconds)
    after = [headless(data, seconds, n) for n in reversed(counts)]
    reference = max(r["images_per_s"] for r in before + after)
    worker = max(1, cores - 1)  # the window's worker leaves a core to the GUI
    same = [r["images_per_s"] for r in before + after if r["torch_threads"] == worker]
    report = {"data": data.source, "batch": BATCH, "optimizer": f"Adam {LR:g}, augmentation on",
              "headless": before + after, "window": window,
              "ratio": window["images_per_s"] / reference,
              "ratio_same_threads": window["images_per_s"] / (sum(same) / len(same)),
              "worker_threads": worker}  # fmt: skip
    if epoch:
        report["epoch"] = full_epoch(app, folder) if folder else "needs ../shared/mnist"
    return report


def format_report(r: dict) -> str:
    w = r["window"]
    runs = ", ".join(f"{h['images_per_s']:.0f} ({h['torch_threads']} thr)" for h in r["headless"])
    lines = [
        f"data: {r['data']}; batch {r['batch']}, {r['optimizer']}",
        f"headless (net-inspector train's loop), before and after the window: {runs} images/s",
        f"in the window, Train while drawing: {w['images_per_s']:.0f} images/s over "
        f"{w['seconds']} s, {w['chunks']} chunks; {w['mouse_events']} mouse events, "
        f"{w['drawing_forwards']} forwards of the drawing computed meanwhile",
        f"ratio window / fastest headless: {r['ratio']:.2f} (target ≥ 0.8); / headless on the "
        f"worker's {r['worker_threads']} thread(s): {r['ratio_same_threads']:.2f}",
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
