"""``net-inspector graph --format svg`` against torchviz's ``make_dot`` + ``dot -Tsvg`` on the
same graph, in the same process, after imports (what the issue compares)."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def ours_svg(model, x, out: Path) -> float:
    """What ``net-inspector graph --format svg`` does: forward and graph (no backward pass: a
    picture needs none), layout, SVG written as text."""
    from inspector.core.graph.backward import record_backward
    from inspector.core.graph.collapse import lay_out
    from inspector.core.graph.losses import LossSpec
    from inspector.core.graph.svg import write_svg

    started = time.perf_counter()
    record, _ = record_backward(model, x, LossSpec("sum"), with_saliency=False, run_backward=False)
    view = lay_out(record.graph)
    write_svg(view.shown.graph, view.layout, out)
    return (time.perf_counter() - started) * 1000


def torchviz_svg(model, x, out: Path) -> float | None:
    """torchviz's make_dot and Graphviz's dot, or None where either is missing."""
    try:
        from torchviz import make_dot
    except ImportError:
        return None
    if shutil.which("dot") is None:
        return None
    started = time.perf_counter()
    dot = make_dot(model(x).sum(), params=dict(model.named_parameters()))
    source = out.with_suffix(".dot")
    source.write_text(dot.source)
    subprocess.run(["dot", "-Tsvg", str(source), "-o", str(out)], check=True)
    return (time.perf_counter() - started) * 1000


def run(layers: int = 48, repeats: int = 3) -> dict:
    import torch

    from inspector.core.model.zoo import transformer_encoder

    torch.manual_seed(0)
    model = transformer_encoder(layers).eval()
    x = torch.randn(1, 16, 128)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ours_svg(model, x, folder / "warm.svg")  # imports and first-call costs out of the way
        ours = [ours_svg(model, x, folder / "ours.svg") for _ in range(repeats)]
        viz = [torchviz_svg(model, x, folder / "viz.svg") for _ in range(repeats)]
    row = {"model": f"TransformerEncoder, {layers} layers", "ours_ms": statistics.median(ours)}
    row["ours_runs_ms"] = [round(v, 1) for v in ours]
    if None in viz:
        row["torchviz_ms"] = None
        row["speedup"] = None
    else:
        row["torchviz_ms"] = statistics.median(viz)
        row["torchviz_runs_ms"] = [round(v, 1) for v in viz]
        row["speedup"] = round(row["torchviz_ms"] / row["ours_ms"], 1)
    return row
