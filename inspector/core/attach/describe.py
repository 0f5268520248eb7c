"""A live model object (the user's, already built) as the engine's ``OpenedModel``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from inspector.core.files.loading import OpenedModel, unwrap_compiled
from inspector.core.model.input_inference import infer_input_spec
from inspector.core.model.inputs import IMAGE, TENSOR, InputSpec, parse_dtype


def model_device(model: nn.Module) -> torch.device:
    """Where the model's first parameter (or buffer) lives; the CPU for one with neither."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def example_array(example_input: Any) -> np.ndarray | None:
    """The script's example input as numpy (one tensor, or the first of a tuple), or None."""
    if example_input is None:
        return None
    if isinstance(example_input, (tuple, list)) and example_input:
        example_input = example_input[0]
    if isinstance(example_input, torch.Tensor):
        t = example_input.detach()
        if t.dtype == torch.bfloat16:
            t = t.float()
        return t.cpu().numpy().copy()
    return np.asarray(example_input)


def live_opened(
    model: nn.Module, example: np.ndarray | None, name: str | None = None
) -> OpenedModel:
    """``model`` as the engine opens models: its input settled from ``example`` (its shape
    and dtype) or, without one, from what the model says (``infer_input_spec``). Raises
    ValueError in one sentence when neither says what it takes."""
    inspected, unwrapped = unwrap_compiled(model)
    name = name or type(inspected).__name__
    if example is not None:
        dtype = parse_dtype(str(example.dtype))
        spec = infer_input_spec(inspected, tuple(example.shape), dtype=dtype)
        if spec.kind != TENSOR and not np.issubdtype(example.dtype, np.floating):
            spec = InputSpec(spec.shape, TENSOR, dtype=spec.dtype, source="example_input")
        # The drawing on the script's own scale: ink 0..1 as it is for a 0..1 example (a
        # ToTensor() pipeline; -1..1 made its 7 read as a 2), -1..1 for one with negatives.
        normalise = spec.normalise and (spec.kind != IMAGE or bool(example.min() < 0))
        spec = InputSpec(spec.shape, spec.kind, normalise, spec.dtype, spec.high,
                         "the script's example_input")  # fmt: skip
    else:
        try:
            spec = infer_input_spec(inspected)
        except ValueError as exc:
            raise ValueError(
                f"{name}: cannot tell what input it takes: pass example_input= to attach"
            ) from exc
    note = "inspected through its original module (torch.compile)" if unwrapped else None
    return OpenedModel(inspected, name, spec, None, f"live:{name}", None, note)
