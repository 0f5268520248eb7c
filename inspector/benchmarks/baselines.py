"""The baselines a window benchmark is compared with: a bare forward of the same model (in the
calling thread or in a second one, as the app's worker runs it) and the capture's overhead,
measured in a fresh process whose main thread has started no team of torch threads."""

from __future__ import annotations

import statistics
import time


def baselines_in_fresh_process(model_spec: str, capture: bool = True) -> dict:
    """The bare forward in a new process's main thread (what a script gets), then in a second
    thread as the app's worker runs it, and (``capture``) the capture's overhead: measured away
    from this process, whose GUI thread must not start a team of torch threads
    (``core.threads``)."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_baselines, (model_spec, capture))


def _baselines(model_spec: str, capture: bool) -> dict:
    thread = bare_forward_ms(model_spec, thread=True)  # first: no team in the main thread yet
    return {
        "bare": bare_forward_ms(model_spec),
        "bare_thread": thread,
        "capture": capture_overhead(model_spec) if capture else None,
    }


def before_and_after(before: dict, after: dict, key: str) -> tuple[float, list[float]]:
    """The baseline as the mean of its measurements before and after the stroke: this shared
    machine's speed drifts by a fifth within a minute, and a ratio should not ride on it."""
    pair = [before[key], after[key]]
    return statistics.mean(pair), [round(v, 3) for v in pair]


def bare_forward_ms(model_spec: str = "lenet", seconds: float = 2.0, thread: bool = False) -> float:
    """Median time of a plain ``model(x)`` (no capture, no GUI) on the CPU: in the calling
    thread, or with ``thread`` in a second thread, as the app's worker runs it."""
    import threading

    import torch

    from inspector.core.files.loading import open_model

    if thread:
        box: list[float] = []
        worker = threading.Thread(target=lambda: box.append(bare_forward_ms(model_spec, seconds)))
        worker.start()
        worker.join()
        return box[0]

    opened = open_model(model_spec)
    model = opened.model
    x = torch.randn(*opened.input.shape)
    times = []
    with torch.inference_mode():
        for _ in range(3):
            model(x)
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop and len(times) < 300:
            started = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def capture_overhead(model_spec: str, rounds: int = 15) -> dict[str, float]:
    """Median plain forward vs forward with the capture the app uses (hooks, the function
    mode, the focused steps kept), interleaved in one loop so that noise hits both alike."""
    import torch

    from inspector.core.files.loading import open_model
    from inspector.core.forward.capture import capture_forward
    from inspector.core.forward.settings import ForwardSettings, step_keeper

    opened = open_model(model_spec)
    model, x = opened.model, torch.randn(*opened.input.shape)
    settings = ForwardSettings(input=opened.input)
    bare, captured = [], []
    with torch.inference_mode():
        for _ in range(3):
            model(x)
            capture_forward(model, x, keep=step_keeper(settings))
        for _ in range(rounds):
            t = time.perf_counter()
            model(x)
            bare.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            capture_forward(model, x, keep=step_keeper(settings))
            captured.append((time.perf_counter() - t) * 1000)
    b, c = statistics.median(bare), statistics.median(captured)
    return {"bare_ms": round(b, 2), "capture_ms": round(c, 2), "ratio": round(c / b, 2)}
