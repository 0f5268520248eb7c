"""A trainer's whole state as JSON-able settings and CPU tensors, for a session file, and
the check that one read from a file is sound before anything of it is used."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from inspector.core.training.setup import OPTIMIZERS, TrainConfig, TrainingRefused

SNAPSHOT_VERSION = 1


@dataclass
class TrainingSnapshot:
    """A trainer's whole state: JSON-able ``meta`` and CPU tensors, for a session file."""

    meta: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, torch.Tensor] = field(default_factory=dict)


_META_KEYS = {"version", "config", "data", "train_size", "epoch", "pos", "step", "finished",
              "optimizer", "names"}  # fmt: skip


def check_snapshot(meta: Any, arrays: dict[str, torch.Tensor]) -> TrainingSnapshot:
    """A snapshot read from a file, every field checked; ``ValueError`` naming the first bad
    one. Nothing is applied by this."""
    if not isinstance(meta, dict) or set(meta) != _META_KEYS or meta["version"] != 1:
        raise ValueError("its training is not a training record this version knows")
    config = meta["config"]
    if not isinstance(config, dict) or set(config) != set(asdict(TrainConfig())):
        raise ValueError("its training settings are incomplete")
    try:
        TrainConfig(**config).checked()
    except (TrainingRefused, TypeError) as exc:
        raise ValueError(f"its training settings are wrong: {exc}") from None
    ints = ("train_size", "epoch", "pos", "step", "eval_every", "eval_images", "log_every",
            "seed", "batch_size", "epochs")  # fmt: skip
    for key in ints:
        value = meta.get(key, config.get(key))
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**40:
            raise ValueError(f"its training {key} is {value!r}")
    if not isinstance(config["augment"], bool) or not isinstance(meta["finished"], bool):
        raise ValueError("its training augmentation or finished flag is not true or false")
    if meta["optimizer"] not in ("", *OPTIMIZERS) or not isinstance(meta["data"], str):
        raise ValueError("its training optimiser or data folder is wrong")
    names = meta["names"]
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ValueError("its training parameter names are wrong")
    want = {"curve/loss": 1, "curve/held_steps": 1, "curve/held": 1, "curve/test_steps": 1,
            "curve/test": 1, "health/steps": 1, "health/values": 3, "rng": 1}  # fmt: skip
    for key, ndim in want.items():
        if key not in arrays or arrays[key].ndim != ndim:
            raise ValueError(f"its training has no valid {key}")
    if arrays["curve/loss"].numel() != meta["step"]:
        raise ValueError("its training loss curve does not match its step count")
    for a, b in (("curve/held_steps", "curve/held"), ("curve/test_steps", "curve/test")):
        if arrays[a].shape != arrays[b].shape:
            raise ValueError(f"its training {b} does not match its steps")
    values = arrays["health/values"]
    if values.shape[:2] != (3, len(names)) or values.shape[2] != arrays["health/steps"].numel():
        raise ValueError("its gradient health does not match its parameters")
    order = arrays.get("order")
    if order is not None and (order.dtype != torch.int64 or order.shape != (meta["train_size"],)):
        raise ValueError("its training order does not match its data")
    for key in arrays:
        known = key in want or key == "order"
        if not known and not (key.startswith("optim/") and key.count("/") == 2):
            raise ValueError(f"its training holds an unknown array {key}")
        if key.startswith("optim/") and key.split("/")[1] not in names:
            raise ValueError(f"its optimiser state names an unknown parameter in {key}")
    return TrainingSnapshot(dict(meta), dict(arrays))
