"""``net-inspector bench --attach``: what ``inspector.attach`` costs a training loop.

LeNet on MNIST and a ResNet-18, each trained in a fresh process three ways, interleaved in
rounds (this shared machine's speed drifts): without a probe, with a probe and nobody
looking, and with a viewer drawing. The viewer is this process, asking what the window asks
(headless, so that its painting is not measured as the probe's cost): a forward of a stroke
being drawn at 30 per second and, twice a second, the curves and gradient health.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time

import numpy as np

MODES = ("none", "probe", "viewer")
TARGETS = {"probe": 2.0, "viewer": 5.0}  # % slower at most
FRAME_S, PROGRESS_S = 1 / 30, 0.5
TOKEN = "bench-attach"


def _loop(model: str, mode: str, seconds: float, port: int) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "BENCH_MNIST": _mnist()}
    command = [sys.executable, "-m", "inspector.benchmarks.attach_loop", model, mode,
               str(seconds), str(port), TOKEN]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                               text=True)  # fmt: skip
    viewer = None
    stop = threading.Event()
    frames: list[int] = []
    line = process.stderr.readline()  # the probe's line (or the bare loop's), once started
    if mode == "viewer" and " listens on " in line:
        viewer = threading.Thread(target=_view, args=(port, stop, frames), daemon=True)
        viewer.start()
    out, err = process.communicate(timeout=600)
    stop.set()
    if viewer is not None:
        viewer.join(5)
    if process.returncode != 0:
        raise RuntimeError(f"the {model} loop ({mode}) failed: {(line + err).strip()[-400:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["frames"] = frames[0] if frames else 0
    return result


def _mnist() -> str:
    """``../shared/mnist`` beside this checkout or any folder above it ("" if none)."""
    from pathlib import Path

    from inspector.core.training.mnist import default_folder

    found = default_folder()
    for parent in Path(__file__).resolve().parents:
        if not found and (parent / "shared" / "mnist").is_dir():
            found = str(parent / "shared" / "mnist")
    return found


def _view(port: int, stop: threading.Event, frames: list[int]) -> None:
    """A viewer drawing: a stroke's forwards at 30 per second, progress twice a second."""
    from inspector.core.attach.client import AttachError
    from inspector.core.attach.remote import RemoteEngine
    from inspector.core.forward.results import ForwardRequest

    try:
        remote = RemoteEngine.connect(f"127.0.0.1:{port}", TOKEN)
    except AttachError:
        return
    drawing = np.zeros((32, 32), np.float32)
    shown, polled, ident = 0, 0.0, 0
    try:
        while not stop.is_set():
            began = time.perf_counter()
            ident += 1
            drawing[(ident // 32) % 32, ident % 32] = 1.0  # the stroke goes on
            remote.forward(ForwardRequest(ident, drawing.copy()))
            shown += 1
            if began - polled >= PROGRESS_S:
                remote.progress()
                polled = began
            time.sleep(max(0.0, FRAME_S - (time.perf_counter() - began)))
    except AttachError:
        pass  # the loop finished
    finally:
        frames.append(shown)
        remote.close()


SECONDS = {"lenet": 6.0, "resnet18": 12.0}  # the measured window: hundreds / dozens of steps


def run(rounds: int = 3, port: int = 5990, models=("lenet", "resnet18")) -> dict:
    from inspector.benchmarks.machine import describe
    from inspector.core.attach import remote  # noqa: F401  (imported before any timing)

    report: dict = {"machine": describe(), "rounds": rounds, "models": {}}
    for model in models:
        seconds = SECONDS[model]
        runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
        for _ in range(rounds):
            for mode in MODES:
                runs[mode].append(_loop(model, mode, seconds, port))
                time.sleep(0.5)
        rates = {m: [r["steps_per_s"] for r in runs[m]] for m in MODES}
        base = statistics.median(rates["none"])
        report["models"][model] = {
            "source": runs["none"][0]["source"],
            "seconds": seconds,
            "steps_per_s": rates,
            "slower_pct": {m: 100 * (1 - statistics.median(rates[m]) / base) for m in MODES[1:]},
            "frames_per_s": [r["frames"] / (seconds + 2) for r in runs["viewer"]],
            "added_cpu_pct": {m: [r["added_cpu_pct"] for r in runs[m]] for m in MODES},
            "served": [r["served"] for r in runs["viewer"]],
        }
    return report


def format_report(report: dict) -> str:
    lines = [f"{report['rounds']} interleaved rounds (a fresh process per run, one torch thread; "
             "median [min–max]). CPU added: the CPU time of the probe's threads and of the "
             "requests it ran in the training thread, against the training's own: it does not "
             "move with the machine's load as steps/s do"]  # fmt: skip
    for model, r in report["models"].items():
        lines.append(f"{model} ({r['source']}, {r['seconds']:g} s measured per run):")
        for mode in MODES:
            rates = r["steps_per_s"][mode]
            spread = f"{statistics.median(rates):.1f} [{min(rates):.1f}–{max(rates):.1f}]"
            what = {"none": "no probe", "probe": "probe, nobody looking",
                    "viewer": "a viewer drawing"}[mode]  # fmt: skip
            line = f"  {what:<24} {spread} steps/s"
            if mode in TARGETS:
                slower = r["slower_pct"][mode]
                line += f"  {slower:+.1f} % slower (target ≤ {TARGETS[mode]:g} %)"
            cpu = r["added_cpu_pct"][mode]
            line += f"; CPU added {statistics.median(cpu):.2f} % [{min(cpu):.2f}–{max(cpu):.2f}]"
            lines.append(line)
        fps = r["frames_per_s"]
        lines.append(f"  the viewer got {min(fps):.1f}–{max(fps):.1f} forwards/s")
    return "\n".join(lines)
