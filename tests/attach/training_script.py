"""A user's training script with ``inspector.attach``: what the attach tests run in a
subprocess (alone, or one process per rank under torchrun). It trains a small conv net on
random batches until the file named by ``STOP_FILE`` exists (or ``MAX_STEPS``), then closes
the probe and prints ``finished N steps``."""

import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import inspector


class SmallNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


def _stopping(stop: Path, distributed: bool) -> bool:
    """Whether to stop: every rank stops at the same step (one that left would make the
    others' next all-reduce fail)."""
    asked = torch.tensor([float(stop.exists())])
    if distributed:
        import torch.distributed as dist

        dist.all_reduce(asked, op=dist.ReduceOp.MAX)
    return bool(asked.item())


def main() -> int:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        import torch.distributed as dist

        dist.init_process_group("gloo")
    model = SmallNet()
    example = torch.randn(1, 1, 16, 16)
    probe = inspector.attach(model, example_input=example)
    trained = nn.parallel.DistributedDataParallel(model) if distributed else model
    opt = torch.optim.SGD(trained.parameters(), lr=0.05)
    stop = Path(os.environ["STOP_FILE"])
    limit = int(os.environ.get("MAX_STEPS", "100000"))
    started = time.monotonic()
    step = 0
    while step < limit and not _stopping(stop, distributed) and time.monotonic() - started < 150:
        x = torch.randn(8, 1, 16, 16)
        y = torch.randint(0, 10, (8,))
        loss = F.cross_entropy(trained(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        probe.step(loss=loss.item(), lr=0.05)
        time.sleep(0.005)
    probe.close()
    if distributed:
        dist.destroy_process_group()
    print(f"finished {step} steps", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
