"""One forward pass for the panels: preprocess, run with capture, convert everything to numpy."""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from .capture import capture_forward, first_tensor
from .colormap import colorize, nice_bound
from .devices import synchronize
from .heatmaps import activation_heatmap, finite_range, tensor_heatmap
from .preprocess import preprocess_drawing
from .results import ForwardRequest, ForwardResult, ParametersResult, ParameterView, StepResult

MAX_PARAMETERS_SHOWN = 16
# The shared colour scale covers this percentile of |activation| over all layers, so that ten
# large logits do not wash out thousands of small convolution outputs.
SHARED_PERCENTILE = 99.5


def shared_levels(images: list[np.ndarray]) -> tuple[float, float]:
    """Symmetric levels for every step at once, rounded so they move in visible steps."""
    _, hi = finite_range(images, percentile=SHARED_PERCENTILE)
    bound = nice_bound(hi)
    return (-bound, bound)


def network_input(request: ForwardRequest) -> np.ndarray:
    """The tensor the network gets for this request (float32, ``[1, 1, 32, 32]``)."""
    if request.raw_input is not None:
        return np.asarray(request.raw_input, dtype=np.float32)
    return preprocess_drawing(request.drawing)


def run_forward(model: nn.Module, request: ForwardRequest, device: torch.device) -> ForwardResult:
    """Forward ``request`` through ``model`` on ``device`` and capture every step as numpy."""
    x_np = network_input(request)
    started = time.perf_counter()
    with torch.inference_mode():
        x = torch.from_numpy(x_np).to(device)
        capture = capture_forward(model, x)
        out = first_tensor(capture.output)
        tensors = [t.float().cpu().numpy() if t is not None else None for t in capture.tensors]
        output = out.float().cpu().numpy() if out is not None else np.zeros((1, 0), np.float32)
        synchronize(device)
    forward_ms = (time.perf_counter() - started) * 1000

    heatmaps = [activation_heatmap(a) if a is not None else None for a in tensors]
    levels = shared_levels([h.image for h in heatmaps if h is not None])
    steps = tuple(
        StepResult(step, heatmap, colorize(heatmap.image, levels) if heatmap is not None else None)
        for step, heatmap in zip(capture.steps, heatmaps, strict=True)
    )
    warnings = []
    if output.size and not np.isfinite(output).all():
        warnings.append("The output contains NaN or Inf.")
    if not np.isfinite(x_np).all():
        warnings.append("The input contains NaN or Inf.")
    probabilities = None
    if output.ndim == 2 and output.shape[0] == 1 and output.shape[1] >= 2:
        logits = output[0].astype(np.float64)
        shifted = np.exp(logits - np.max(logits)) if np.isfinite(logits).all() else None
        if shifted is not None:
            probabilities = (shifted / shifted.sum()).astype(np.float32)
    return ForwardResult(
        request_id=request.request_id,
        input=x_np,
        steps=steps,
        output=output,
        probabilities=probabilities,
        module_shapes=capture.module_shapes,
        forward_ms=forward_ms,
        device=str(device),
        levels=levels,
        warnings=tuple(warnings),
    )


def module_parameters(model: nn.Module, path: str, request_id: int = 0) -> ParametersResult:
    """The parameters of module ``path`` (its own first, then its children's) as numpy views."""
    module = model.get_submodule(path) if path else model
    named = list(module.named_parameters(prefix=path, recurse=True))
    note = ""
    if not named:
        note = f"{path or module._get_name()} has no parameters."
    elif len(named) > MAX_PARAMETERS_SHOWN:
        note = f"Showing {MAX_PARAMETERS_SHOWN} of {len(named)} parameters: select a child module."
        named = named[:MAX_PARAMETERS_SHOWN]
    views = []
    with torch.no_grad():
        for name, param in named:
            values = param.detach().float().cpu().numpy().copy()
            grad = None if param.grad is None else param.grad.detach().float().cpu().numpy().copy()
            views.append(
                ParameterView(
                    name,
                    tuple(param.shape),
                    values,
                    tensor_heatmap(values),
                    grad,
                    None if grad is None else tensor_heatmap(grad),
                )
            )
    return ParametersResult(request_id, path, tuple(views), note)
