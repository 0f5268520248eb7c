"""One training loop for ``bench --attach``, run in its own process: ``python -m
inspector.benchmarks.attach_loop MODEL MODE SECONDS PORT TOKEN`` prints one JSON line with
its steps per second. MODE: ``none`` (no probe), ``probe`` (attached, ``probe.step`` each
step) or ``viewer`` (the same; the bench process is the viewer). Every mode reads
``loss.item()`` each step, as a loop that logs its loss does."""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

WARM_S = 2.0  # steps before the measured window: start-up, the viewer connecting


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))  # fmt: skip

    def forward(self, x):
        identity = x if self.down is None else self.down(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + identity)


class ResNet18(nn.Module):
    """ResNet-18's 11.2 M parameters and its blocks, with a 3×3 stem for 32×32 images."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        blocks, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            blocks += [_Block(cin, cout, stride), _Block(cout, cout)]
            cin = cout
        self.layers = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def workload(name: str):
    """``(model, batches)``: LeNet on MNIST (``../shared/mnist``; random digits when it is
    absent) with batches of 64, or a ResNet-18 on random 32×32 images with batches of 8."""
    gen = torch.Generator().manual_seed(0)
    if name == "lenet":
        from inspector.core.model.nets import untrained_lenet

        model = untrained_lenet()
        images = None
        try:
            from inspector.core.training.mnist import load_split

            images, labels = load_split(os.environ.get("BENCH_MNIST", ""), "train")
            images = torch.from_numpy(np.pad(images[:8192], ((0, 0), (2, 2), (2, 2))))
            x_all = (images.float() / 255.0 - 0.5).div(0.5).unsqueeze(1)
            y_all = torch.from_numpy(labels[:8192].astype(np.int64))
            source = "MNIST"
        except (OSError, ValueError):
            x_all = torch.randn(8192, 1, 32, 32, generator=gen)
            y_all = torch.randint(0, 10, (8192,), generator=gen)
            source = "random digits (no ../shared/mnist)"

        def batches():
            while True:
                for i in range(0, len(x_all) - 63, 64):
                    yield x_all[i : i + 64], y_all[i : i + 64]

        return model, batches(), source, torch.randn(1, 1, 32, 32)
    model = ResNet18()
    x_all = torch.randn(256, 3, 32, 32, generator=gen)
    y_all = torch.randint(0, 10, (256,), generator=gen)

    def cycle():
        while True:
            for i in range(0, 256, 8):
                yield x_all[i : i + 8], y_all[i : i + 8]

    return model, cycle(), "random 32×32 images", x_all[:1].clone()


def main(argv: list[str]) -> int:
    name, mode, seconds, port, token = argv[0], argv[1], float(argv[2]), int(argv[3]), argv[4]
    torch.manual_seed(0)
    # One thread: on a machine shared with other work, a team of torch threads on every core
    # waits for its slowest member at each barrier (up to 10x slower, DEVELOPERS.md).
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    model, batches, source, example = workload(name)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    probe = None
    if mode != "none":
        import inspector

        probe = inspector.attach(model, example, port=port, token=token)
    else:
        print("net-inspector: no probe listens on nothing", file=sys.stderr, flush=True)
    started = time.perf_counter()
    measured_from, steps = None, 0
    while True:
        x, y = next(batches)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = loss.item()
        if probe is not None:
            probe.step(loss=value)
        now = time.perf_counter()
        if measured_from is None:
            if now - started >= WARM_S:
                measured_from, steps = now, 0
                cpu = (time.thread_time(), time.process_time())
                served_before = probe.serving_cpu_s if probe is not None else 0.0
            continue
        steps += 1
        if now - measured_from >= seconds:
            break
    rate = steps / (time.perf_counter() - measured_from)
    main_cpu = time.thread_time() - cpu[0]
    all_cpu = time.process_time() - cpu[1]
    served = probe.served if probe is not None else 0
    serving = (probe.serving_cpu_s - served_before) if probe is not None else 0.0
    # CPU the probe added, against the training's own: its threads, and its requests'
    # time in the training thread (one torch thread: the training computes on this one).
    added = (all_cpu - main_cpu) + serving
    own = max(main_cpu - serving, 1e-9)
    if probe is not None:
        probe.close()
    result = {"steps_per_s": rate, "served": served, "source": source,
              "added_cpu_pct": 100 * added / own,
              "in_step_cpu_pct": 100 * serving / own}  # fmt: skip
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
