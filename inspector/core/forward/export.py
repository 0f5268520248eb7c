"""Every forward step as arrays, named as the activations panel names them: the
``net-inspector activations`` file (and the torchlens-style export people ask for)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from inspector.core.forward.capture import Step
from inspector.core.forward.outputs import stored_values


def step_name(step: Step) -> str:
    """A step as the activations panel names it: ``1. conv1``, ``2. relu``, ``5. layer1 › add``."""
    return f"{step.index + 1}. {step.label}"


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    """A tensor as numpy (``values.stored_values``: complex stays complex)."""
    return stored_values(tensor).cpu().numpy()


def forward_steps(model: nn.Module, x: torch.Tensor, edit=None) -> list[tuple[str, np.ndarray]]:
    """Every step of one forward of ``model`` on ``x`` — module outputs and functional ops, in
    the order they ran, named as the panel names them — as whole (batched) arrays; ``edit``:
    the capture's (``core.edits``)."""
    from inspector.core.forward.capture import capture_forward

    with torch.inference_mode():
        capture = capture_forward(model, x, edit=edit)
        return [
            (step_name(step), _numpy(t))
            for step, t in zip(capture.steps, capture.tensors, strict=True)
            if t is not None
        ]


def activation_arrays(
    input_a: np.ndarray,
    steps_a: list[tuple[str, np.ndarray]],
    input_b: np.ndarray | None = None,
    steps_b: list[tuple[str, np.ndarray]] | None = None,
) -> dict[str, np.ndarray]:
    """The arrays of an ``activations`` file: ``steps`` (the step names in order), ``input``
    and one array per step named as the panel names it; comparing, also ``b/input``,
    ``b/<step>`` and ``diff/<step>`` = B − A for every step both ran with the same shape."""
    arrays: dict[str, np.ndarray] = {"steps": np.array([name for name, _ in steps_a], dtype=str)}
    arrays["input"] = np.asarray(input_a)
    arrays.update(steps_a)
    if steps_b is None:
        return arrays
    arrays["b/steps"] = np.array([name for name, _ in steps_b], dtype=str)
    arrays["b/input"] = np.asarray(input_b)
    arrays.update((f"b/{name}", b) for name, b in steps_b)
    first = dict(steps_a)
    for name, b in steps_b:
        a = first.get(name)
        if a is not None and a.shape == b.shape:
            arrays[f"diff/{name}"] = b.astype(np.float32) - a.astype(np.float32)
    return arrays
