"""``net-inspector bench --all``: every figure of the speed targets in one run, with the machine
they came from. Ratios are against baselines measured in the same run, never absolute."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from inspector.benchmarks.machine import describe, headline

# A user's file, as someone would write a ResNet-18 (torchvision's layout, BasicBlocks 2-2-2-2).
RESNET18_FILE = """
import torch.nn.functional as F
from torch import nn


class Basic(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.down is None else self.down(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + identity)


class ResNet18(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        blocks, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            blocks += [Basic(cin, cout, stride), Basic(cout, cout)]
            cin = cout
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, 1000)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        return self.fc(self.layers(x).mean((2, 3)))
"""


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"


def run(lenet_runs: int = 3) -> dict:
    from inspector.benchmarks.export import run as run_export
    from inspector.benchmarks.latency import run as run_latency

    machine = describe()
    lenet = [run_latency(320, 8.0, "lenet") for _ in range(lenet_runs)]
    resnet50 = run_latency(120, 16.0, "resnet50")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "my_resnet.py"
        path.write_text(RESNET18_FILE)
        resnet18 = run_latency(60, 16.0, f"{path}:ResNet18")
    export = run_export()
    return {
        "machine": machine,
        "lenet": lenet,
        "resnet50": resnet50,
        "resnet18": resnet18,
        "export": export,
    }


def table(r: dict) -> str:
    lenet = r["lenet"]
    p95 = [x["latency_ms"]["p95"] for x in lenet]
    interval = [x["frame_interval_ms"] for x in lenet]
    computed = [f"{x['requests_computed']}/{x['requests_submitted']}" for x in lenet]
    r50, r18, exp = r["resnet50"], r["resnet18"], r["export"]
    rows = [
        ("LeNet stroke → screen p95", "≤ 16 ms", f"{_spread(p95)} ms"),
        ("LeNet frame interval", "—", f"{_spread(interval)} ms"),
        ("LeNet requests computed / submitted", "every one", ", ".join(computed)),
        (
            "ResNet-50 worker (forward + capture + heatmaps) vs bare forward",
            "≤ 1.5×",
            f"{r50['worker_ms']} vs {r50['bare_forward_ms']} ms = {r50['worker_over_bare']}× "
            f"({r50['worker_over_bare_thread']}× a bare forward on a second thread)",
        ),
        (
            "ResNet-50 stroke → screen p95 vs bare forward",
            "≤ 3×",
            f"{r50['latency_ms']['p95']} ms = {r50['p95_over_bare_forward']}×",
        ),
        ("ResNet-50 open → usable", "≤ 2 s", f"{r50['opening']['usable_ms'] / 1000:.2f} s"),
        (
            "ResNet-18 at 64×64 from a user's file: worker vs bare forward",
            "≤ 1.5×",
            f"{r18['worker_ms']} vs {r18['bare_forward_ms']} ms = {r18['worker_over_bare']}× "
            f"({r18['worker_over_bare_thread']}× on a second thread)",
        ),
        (
            "48-layer TransformerEncoder graph → SVG vs torchviz make_dot + dot -Tsvg",
            "≥ 5× faster",
            f"{exp['ours_ms']:.0f} vs {exp['torchviz_ms']:.0f} ms = {exp['speedup']}×"
            if exp["torchviz_ms"] is not None
            else f"{exp['ours_ms']:.0f} ms (torchviz or dot not installed)",
        ),
    ]
    lines = [headline(r["machine"]), "", "| figure | goal | measured |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)
