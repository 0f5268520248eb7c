"""Which devices torch can run on here."""

from __future__ import annotations

import torch


def available_devices() -> list[str]:
    """``cpu``, then every ``cuda:N``, then ``mps`` where this machine has them."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def synchronize(device: torch.device | str) -> None:
    """Wait for queued kernels, so that timings measure the work and not just its launch."""
    kind = torch.device(device).type
    if kind == "cuda":
        torch.cuda.synchronize(device)
    elif kind == "mps":
        torch.mps.synchronize()
