"""One forward pass for the panels: preprocess, run with capture, convert everything to numpy."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .capture import Step, capture_forward, named_outputs
from .colormap import nice_bound
from .devices import synchronize
from .heatmaps import activation_heatmap, any_heatmap, finite_range, tensor_heatmap
from .inputs import MNIST, InputSpec, make_input
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


LENET_INPUT = InputSpec((1, 1, 32, 32), MNIST)
MAX_KEPT_STEPS = 48  # heatmaps shown at once; a big model shows the focused module's steps
CHANNEL_PAGE = 64  # channels shown at once for a wide layer


@dataclass(frozen=True)
class ForwardSettings:
    """How the worker turns a request into a result for the current model."""

    input: InputSpec = LENET_INPUT
    output_index: int = 0
    focus: str = ""  # capture the steps inside this module (all, for "")
    channel_page: int = 0


def network_input(request: ForwardRequest, spec: InputSpec = LENET_INPUT) -> np.ndarray:
    """The array the network gets for this request."""
    return make_input(spec, request.drawing, request.raw_input, request.seed)


def step_keeper(settings: ForwardSettings):
    """The capture's ``keep``: the steps inside the focused module, at most MAX_KEPT_STEPS."""
    kept = 0

    def keep(step: Step) -> bool:
        nonlocal kept
        inside = (
            not settings.focus
            or step.module == settings.focus
            or step.module.startswith(settings.focus + ".")
        )
        if inside and kept < MAX_KEPT_STEPS:
            kept += 1
            return True
        return False

    return keep


def _page(array: np.ndarray, page: int) -> tuple[np.ndarray, str]:
    """One page of channels of a [1, C, H, W] activation, and a note saying which."""
    if array.ndim != 4 or array.shape[1] <= CHANNEL_PAGE:
        return array, ""
    pages = (array.shape[1] + CHANNEL_PAGE - 1) // CHANNEL_PAGE
    page = min(page, pages - 1)
    start = page * CHANNEL_PAGE
    stop = min(array.shape[1], start + CHANNEL_PAGE)
    return array[:, start:stop], f"channels {start}–{stop - 1} of {array.shape[1]}"


def run_forward(
    model: nn.Module,
    request: ForwardRequest,
    device: torch.device,
    settings: ForwardSettings = ForwardSettings(),  # frozen: safe to share as a default
    cancel: threading.Event | None = None,
) -> ForwardResult:
    """Forward ``request`` through ``model`` on ``device`` and capture its steps as numpy."""
    x_np = network_input(request, settings.input)
    started = time.perf_counter()
    with torch.inference_mode():
        x = torch.from_numpy(x_np).to(device)
        capture = capture_forward(model, x, keep=step_keeper(settings), cancel=cancel)
        outputs = named_outputs(capture.output)
        index = min(settings.output_index, max(0, len(outputs) - 1))
        out = outputs[index][1] if outputs else None
        tensors = [
            _page(t.float().cpu().numpy(), settings.channel_page) if t is not None else None
            for t in capture.tensors
        ]
        output = out.float().cpu().numpy() if out is not None else np.zeros((1, 0), np.float32)
        synchronize(device)
    forward_ms = (time.perf_counter() - started) * 1000

    heatmaps = [activation_heatmap(t[0]) if t is not None else None for t in tensors]
    levels = shared_levels([h.image for h in heatmaps if h is not None])
    steps = tuple(
        StepResult(step, heatmap, heatmap.colorize(levels), note=tensors[i][1])
        for i, (step, heatmap) in enumerate(zip(capture.steps, heatmaps, strict=True))
        if heatmap is not None
    )
    warnings = []
    if output.size and not np.isfinite(output).all():
        warnings.append("The output contains NaN or Inf.")
    if not np.isfinite(x_np).all():
        warnings.append("The input contains NaN or Inf.")
    probabilities = None
    output_heatmap = output_rgba = None
    if output.ndim == 2 and output.shape[0] == 1 and output.shape[1] >= 2:
        logits = output[0].astype(np.float64)
        shifted = np.exp(logits - np.max(logits)) if np.isfinite(logits).all() else None
        if shifted is not None:
            probabilities = (shifted / shifted.sum()).astype(np.float32)
    elif output.size:
        output_heatmap = any_heatmap(_page(output, settings.channel_page)[0])
        output_rgba = output_heatmap.colorize(finite_range([output_heatmap.image]))
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
        output_names=tuple(name for name, _ in outputs) or ("output",),
        output_index=index,
        total_steps=len(capture.steps),
        output_heatmap=output_heatmap,
        output_rgba=output_rgba,
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
