"""``net-inspector bench --graph``: time graph extraction, layout and drawing on three models.

(a) the LeNet, (b) a ResNet-50-shaped CNN (about 340 autograd nodes), (c) a 48-layer
``nn.TransformerEncoder`` with d_model 128 in training mode (about 3,550 nodes). Where torchviz
and Graphviz's ``dot`` are installed, ``make_dot`` + ``dot -Tsvg`` runs on the same graphs in
the same process for the ratio.
"""

from __future__ import annotations

import gc
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable


def _models() -> list[tuple[str, Callable, tuple[int, ...], bool]]:
    from inspector.core.files.loading import bundled_lenet
    from inspector.core.model.zoo import ResNet50, transformer_encoder

    return [
        ("lenet", lambda: bundled_lenet().model, (1, 1, 32, 32), False),
        ("resnet50", ResNet50, (1, 3, 64, 64), False),
        ("transformer48", transformer_encoder, (1, 16, 128), True),
        ("transformer136", lambda: transformer_encoder(136), (1, 16, 128), True),  # ~10k nodes
    ]


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def time_ours(model, x, train: bool) -> dict[str, float]:
    """One build from forward to the first painted frame of the graph view."""
    from inspector.core.forward.capture import first_tensor
    from inspector.core.graph.autograd import extract_graph
    from inspector.core.graph.backward import forward_with_ownership
    from inspector.core.graph.layout import layered_layout
    from inspector.gui.graph.view import GraphScene, GraphView

    model.train(train)
    t = time.perf_counter()
    output, owners = forward_with_ownership(model, x)
    loss = first_tensor(output).sum()
    forward = _ms(t)
    t = time.perf_counter()
    names = {id(p): n for n, p in model.named_parameters()}
    graph, _fns = extract_graph(loss, names, owners)
    extract = _ms(t)
    t = time.perf_counter()
    layout = layered_layout(len(graph.nodes), [(a, b) for a, b, _ in graph.edges])
    lay = _ms(t)
    t = time.perf_counter()
    scene = GraphScene(graph, layout)
    build = _ms(t)
    t = time.perf_counter()
    view = GraphView()
    view.resize(1000, 800)
    view.setScene(scene)
    view.show()
    view.fit()
    view.viewport().grab()  # renders the visible part of the scene, exposed or not
    paint = _ms(t)
    view.close()
    return {
        "nodes": len(graph.nodes),
        "forward_ms": forward,
        "extract_ms": extract,
        "layout_ms": lay,
        "scene_ms": build,
        "first_paint_ms": paint,
        "ready_ms": extract + lay + build + paint,
    }


def time_pan(model, x, train: bool, zoom: float, frames: int = 40) -> float:
    """Mean milliseconds per frame while panning at ``zoom`` (labels show from 0.45 up)."""
    from inspector.core.forward.capture import first_tensor
    from inspector.core.graph.autograd import extract_graph
    from inspector.core.graph.backward import forward_with_ownership
    from inspector.core.graph.layout import layered_layout
    from inspector.gui.graph.view import GraphScene, GraphView

    model.train(train)
    output, owners = forward_with_ownership(model, x)
    graph, _ = extract_graph(first_tensor(output).sum(), {}, owners)
    scene = GraphScene(graph, layered_layout(len(graph.nodes), [(a, b) for a, b, _ in graph.edges]))
    view = GraphView()
    view.resize(1000, 800)
    view.setScene(scene)
    view.show()
    view.set_zoom(zoom)
    bar = view.verticalScrollBar()
    t = time.perf_counter()
    for i in range(frames):
        bar.setValue(bar.minimum() + i * 37)
        view.viewport().grab()
    per_frame = _ms(t) / frames
    view.close()
    return per_frame


def time_torchviz(model, x, train: bool) -> float | None:
    """``make_dot`` + ``dot -Tsvg`` in milliseconds, or None where they are not installed."""
    if shutil.which("dot") is None:
        return None
    try:
        from torchviz import make_dot
    except ImportError:
        return None
    from inspector.core.forward.capture import first_tensor

    model.train(train)
    loss = first_tensor(model(x)).sum()
    t = time.perf_counter()
    dot = make_dot(loss, params=dict(model.named_parameters()))
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "g.dot")
        with open(src, "w") as fh:
            fh.write(dot.source)
        subprocess.run(["dot", "-Tsvg", src, "-o", os.path.join(tmp, "g.svg")], check=True)
    return _ms(t)


def run(repeats: int = 3) -> list[dict]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import torch
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["net-inspector-graph-bench"])
    torch.manual_seed(0)
    rows = []
    for name, make, shape, train in _models():
        model = make()
        x = torch.randn(*shape)
        gc.collect()
        gc.freeze()  # as the app does after start-up: a full collection must not land mid-build
        runs = [time_ours(model, x, train) for _ in range(repeats)]
        row = {"model": name, "nodes": runs[0]["nodes"]}
        for key in (
            "forward_ms",
            "extract_ms",
            "layout_ms",
            "scene_ms",
            "first_paint_ms",
            "ready_ms",
        ):
            row[key] = round(statistics.median(r[key] for r in runs), 1)
        row["pan_frame_ms"] = round(time_pan(model, x, train, 0.6), 2)
        row["pan_zoomed_out_ms"] = round(time_pan(model, x, train, 0.05), 2)
        viz = time_torchviz(model, x, train) if row["nodes"] < 5000 else None
        row["torchviz_dot_ms"] = None if viz is None else round(viz, 1)
        row["speedup_vs_torchviz"] = None if viz is None else round(viz / row["ready_ms"], 1)
        rows.append(row)
        del model
    del app
    return rows


def format_rows(rows: list[dict]) -> str:
    head = (
        f"{'model':14s} {'nodes':>6s} {'forward':>8s} {'extract':>8s} {'layout':>7s} "
        f"{'scene':>6s} {'paint':>6s} {'READY':>7s} {'pan':>6s} {'pan-out':>7s} "
        f"{'torchviz+dot':>13s} {'×':>6s}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        viz = "n/a" if r["torchviz_dot_ms"] is None else f"{r['torchviz_dot_ms']:.0f}"
        ratio = "" if r["speedup_vs_torchviz"] is None else f"{r['speedup_vs_torchviz']:.0f}×"
        lines.append(
            f"{r['model']:14s} {r['nodes']:6d} {r['forward_ms']:8.1f} {r['extract_ms']:8.1f} "
            f"{r['layout_ms']:7.1f} {r['scene_ms']:6.1f} {r['first_paint_ms']:6.1f} "
            f"{r['ready_ms']:7.1f} {r['pan_frame_ms']:6.1f} {r['pan_zoomed_out_ms']:7.1f} "
            f"{viz:>13s} {ratio:>6s}"
        )
    lines.append(
        "ms; READY = extract + layout + scene + first paint (target ≤ 500 for transformer48), "
        "medians of 3 runs;\npan = one frame panning at zoom 0.6 (labels on), pan-out at 0.05"
    )
    return "\n".join(lines)
