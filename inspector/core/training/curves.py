"""What the training views draw, computed here so that panels only render: the loss's moving
average and the gradient-health rows of a module."""

from __future__ import annotations

import numpy as np

from inspector.core.training.trainer import TrainProgress


def smoothed(values: np.ndarray, window: int = 20) -> np.ndarray:
    """A trailing moving average (the first points average what there is so far)."""
    if len(values) == 0:
        return values
    sums = np.cumsum(np.asarray(values, np.float64))
    out = sums.copy()
    out[window:] = sums[window:] - sums[:-window]
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    return (out / counts).astype(np.float32)


def health_rows(
    progress: TrainProgress, metric: int, module: str | None
) -> tuple[tuple[str, ...], np.ndarray]:
    """The parameter rows of ``module`` (all for the model or no selection; all, too, for a
    module without parameters) and their ``log10`` values of ``HEALTH[metric]`` over time,
    ``[rows, T]``."""
    names = progress.names
    keep = [
        i for i, n in enumerate(names) if module and (n.startswith(f"{module}.") or n == module)
    ]
    keep = keep or list(range(len(names)))
    values = progress.health[metric][keep] if len(names) else np.zeros((0, 0), np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(np.maximum(values, 1e-12)).astype(np.float32)
    return tuple(names[i] for i in keep), logs
