"""``net-inspector bench --attention``: what capturing every attention layer costs.

A 12-layer ViT-Small-shaped Hugging Face ViT (patch 16, 224 px, 384 wide, 6 heads, random
weights, its default "sdpa" attention) on the CPU, in a fresh process (this one's main thread
is kept serial for the window, ``core.threads``). Three forwards interleaved in one loop, so
that the machine's drift hits them alike: bare ``model(x)``, the app's capture of the steps,
and that capture with the attention probabilities of every layer, turned into numpy as the
app's results carry them. Each round gives the median of its loop; the figure is the median
of the rounds, with their range.

Two clocks: the wall clock with torch's threads, and the CPU time of the one thread computing
with one torch thread. On a shared machine (9 agents on 2 cores when this was written) the wall
clock of one forward swung by 7× between rounds; CPU time counts the work, not the waiting.
"""

from __future__ import annotations

import statistics
import time

VIT_SMALL = dict(
    image_size=224,
    patch_size=16,
    hidden_size=384,
    num_hidden_layers=12,
    num_attention_heads=6,
    intermediate_size=1536,
    num_labels=1000,
)


def vit_small():
    """A ViT-Small-shaped ``ViTForImageClassification``, random weights (no download)."""
    from transformers import ViTConfig, ViTForImageClassification

    return ViTForImageClassification(ViTConfig(**VIT_SMALL)).eval()


def run(rounds: int = 5, loops: int = 3) -> dict:
    """The figures, measured in spawned processes: wall clock, then CPU time on one thread."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        wall = pool.apply(_measure, (rounds, loops, False))
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        cpu = pool.apply(_measure, (rounds, loops, True))
    return {**wall, "cpu": cpu}


def _measure(rounds: int, loops: int, cpu_time: bool) -> dict:
    import torch

    from inspector.core.runtime.memory import keep_freed_memory

    keep_freed_memory()  # as the app's process does: every forward reuses the last one's memory
    if cpu_time:
        torch.set_num_threads(1)
    clock = time.thread_time if cpu_time else time.perf_counter

    from inspector.benchmarks.machine import describe
    from inspector.core.forward.attention import watch_attention
    from inspector.core.forward.capture import capture_forward
    from inspector.core.forward.settings import ForwardSettings, step_keeper

    torch.manual_seed(0)
    model = vit_small()
    x = torch.randn(1, 3, 224, 224)
    settings = ForwardSettings()

    def bare() -> None:
        model(x)

    def steps() -> None:
        capture_forward(model, x, keep=step_keeper(settings))

    layers: list[int] = []

    def attention() -> None:
        with watch_attention(model) as watch:
            capture_forward(model, x, keep=step_keeper(settings))
        layers.append(len(watch.maps()))

    ways = {"bare": bare, "capture": steps, "capture_attention": attention}
    per_round: list[dict[str, float]] = []
    with torch.inference_mode():
        for run_once in ways.values():
            run_once()  # warm up
        for _ in range(rounds):
            times: dict[str, list[float]] = {name: [] for name in ways}
            for _ in range(loops):
                for name, run_once in ways.items():
                    started = clock()
                    run_once()
                    times[name].append((clock() - started) * 1000)
            per_round.append({name: statistics.median(t) for name, t in times.items()})
    ratios = [r["capture_attention"] / r["bare"] for r in per_round]
    steps_only = [r["capture"] / r["bare"] for r in per_round]
    return {
        "machine": describe(),
        "model": "ViT-Small-shaped (12 layers, 6 heads, 384 wide, patch 16, 224 px), sdpa",
        "attention_layers": layers[-1],
        "rounds": per_round,
        "ratio": _spread(ratios),
        "capture_ratio": _spread(steps_only),
        "bare_ms": _spread([r["bare"] for r in per_round]),
        "capture_attention_ms": _spread([r["capture_attention"] for r in per_round]),
    }


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def format_report(r: dict) -> str:
    def show(s: dict, unit: str = "") -> str:
        return f"{s['median']}{unit} ({s['min']}–{s['max']})"

    rounds, cpu = len(r["rounds"]), r["cpu"]
    return "\n".join(
        [
            f"{r['model']}: {r['attention_layers']} attention layers captured; median of "
            f"{rounds} rounds (their range)",
            f"wall clock, {r['machine']['torch_threads']} torch threads: bare forward "
            f"{show(r['bare_ms'], ' ms')}, capture with attention "
            f"{show(r['capture_attention_ms'], ' ms')}",
            f"  capture with attention / bare: {show(r['ratio'], '×')} (goal ≤ 1.3×); "
            f"without attention: {show(r['capture_ratio'], '×')}",
            f"CPU time, 1 torch thread: bare forward {show(cpu['bare_ms'], ' ms')}, capture "
            f"with attention {show(cpu['capture_attention_ms'], ' ms')}",
            f"  capture with attention / bare: {show(cpu['ratio'], '×')} (goal ≤ 1.3×); "
            f"without attention: {show(cpu['capture_ratio'], '×')}",
        ]
    )
