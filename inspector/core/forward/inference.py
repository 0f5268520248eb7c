"""One forward pass for the panels: preprocess, run with capture, convert everything to numpy."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from inspector.core.forward.attention import watching
from inspector.core.forward.capture import Step, capture_forward, named_outputs
from inspector.core.forward.colormap import nice_bound
from inspector.core.forward.heatmaps import (
    activation_heatmap,
    any_heatmap,
    finite_range,
    first_sample,
    tensor_heatmap,
)
from inspector.core.forward.outputs import shown_values
from inspector.core.forward.results import (
    ForwardRequest,
    ForwardResult,
    ParametersResult,
    ParameterView,
    Picture,
    StepResult,
)
from inspector.core.model.inputs import LENET_INPUT, TENSOR, InputSpec, make_input, to_tensor
from inspector.core.model.quantized import quantized_note, quantized_parameters
from inspector.core.runtime.devices import synchronize

if TYPE_CHECKING:
    from inspector.core.forward.step_cache import StepCache

MAX_PARAMETERS_SHOWN = 16
# The shared colour scale covers this percentile of |activation| over all layers, so that ten
# large logits do not wash out thousands of small convolution outputs.
SHARED_PERCENTILE = 99.5
# Values the shared scale is estimated from: it is rounded to 1, 2, 2.5 or 5 × 10^k, which a
# quarter of finite_range's default sample finds as well (at a quarter of its ~1 ms a frame).
SHARED_SAMPLE = 16_384


def shared_levels(images: list[np.ndarray]) -> tuple[float, float]:
    """Symmetric levels for every step at once, rounded so they move in visible steps."""
    _, hi = finite_range(images, percentile=SHARED_PERCENTILE, sample=SHARED_SAMPLE)
    bound = nice_bound(hi)
    return (-bound, bound)


TOP_K_ABOVE = 20  # a [1, N] output wider than this also gets a top-k list (bars get too thin)
TOP_K = 10
POSITION_TOP_K = 5
MAX_KEPT_STEPS = 48  # heatmaps shown at once; a big model shows the focused module's steps
CHANNEL_PAGE = 64  # channels shown at once for a wide layer


@dataclass(frozen=True)
class ForwardSettings:
    """How the worker turns a request into a result for the current model."""

    input: InputSpec = LENET_INPUT
    output_index: int = 0
    focus: str = ""  # capture the steps inside this module (all, for "")
    channel_page: int = 0
    # The rows [first, last) of kept steps in sight: only they are coloured here, the panel
    # colours the others if they come into sight (a ResNet-50 frame colours 48 steps, ~5 ms,
    # of which a few are on screen). None: all.
    coloured: tuple[int, int] | None = None
    attention: bool = False  # also every attention layer's probabilities (core.attention)


def network_input(request: ForwardRequest, spec: InputSpec = LENET_INPUT) -> np.ndarray:
    """The array the network gets for this request."""
    return make_input(spec, request.drawing, request.raw_input, request.seed)


def in_focus(step: Step, focus: str) -> bool:
    """Whether ``step`` belongs to module ``focus`` (to any, for ``""``)."""
    return not focus or step.module == focus or step.module.startswith(focus + ".")


def step_keeper(settings: ForwardSettings):
    """The capture's ``keep``: the steps inside the focused module, at most MAX_KEPT_STEPS."""
    kept = 0

    def keep(step: Step) -> bool:
        nonlocal kept
        if in_focus(step, settings.focus) and kept < MAX_KEPT_STEPS:
            kept += 1
            return True
        return False

    return keep


def _page(array, page: int):
    """One page of channels of a [1, C, H, W] activation (numpy or torch: paging before the
    copy to numpy moves only the channels shown), and a note saying which."""
    if array.ndim != 4 or array.shape[1] <= CHANNEL_PAGE:
        return array, ""
    pages = (array.shape[1] + CHANNEL_PAGE - 1) // CHANNEL_PAGE
    page = min(page, pages - 1)
    start = page * CHANNEL_PAGE
    stop = min(array.shape[1], start + CHANNEL_PAGE)
    return array[:, start:stop], f"channels {start}–{stop - 1} of {array.shape[1]}"


def _numpy_page(tensor: torch.Tensor, page: int) -> tuple[np.ndarray, str, str]:
    """The page of channels shown as float32, its note, and what the values are
    (``values.shown_values``: a complex tensor's magnitude, ...)."""
    real, what = shown_values(tensor)
    shown, note = _page(real, page)
    return shown.float().cpu().numpy(), note, what


def run_forward(
    model: nn.Module,
    request: ForwardRequest,
    device: torch.device,
    settings: ForwardSettings = ForwardSettings(),  # frozen: safe to share as a default
    cancel: threading.Event | None = None,
    steps: StepCache | None = None,
) -> ForwardResult:
    """Forward ``request`` through ``model`` on ``device`` and capture its steps as numpy
    (through ``steps``, a big model's focused module alone once its steps are known)."""
    began = time.perf_counter()
    x_np = network_input(request, settings.input)
    started = time.perf_counter()
    with torch.inference_mode():
        x = to_tensor(x_np, settings.input, device)
        with watching(model, settings.attention) as watch:
            if steps is None:
                capture = capture_forward(model, x, keep=step_keeper(settings), cancel=cancel)
            else:
                capture = steps.capture(model, x, settings, cancel)
        attention = watch.maps() if watch is not None else ()
        outputs = named_outputs(capture.output)
        index = min(settings.output_index, max(0, len(outputs) - 1))
        out = outputs[index][1] if outputs else None
        tensors = [
            _numpy_page(t, settings.channel_page) if t is not None else None
            for t in capture.tensors
        ]
        out, output_is = shown_values(out) if out is not None else (None, "")
        output = out.float().cpu().numpy() if out is not None else np.zeros((1, 0), np.float32)
        synchronize(device)
    forward_ms = (time.perf_counter() - started) * 1000

    kept = [(step, t) for step, t in zip(capture.steps, tensors, strict=True) if t is not None]
    # Levels from the values themselves; only the rows in sight are tiled and coloured here
    # (a ResNet-50 frame tiled 48 steps, ~3 ms, and coloured them, ~5 ms).
    levels = shared_levels([first_sample(values) for _, (values, _, _) in kept])
    first, last = settings.coloured or (0, len(kept))
    steps = []
    for row, (step, (values, note, what)) in enumerate(kept):
        seen = first <= row < last
        heatmap = activation_heatmap(values) if seen else None
        rgba = heatmap.colorize(levels) if seen else None
        steps.append(StepResult(step, heatmap, rgba, note, values, what))
    steps = tuple(steps)
    warnings = []
    if output.size and not np.isfinite(output).all():
        warnings.append("The output contains NaN or Inf.")
    if not np.isfinite(x_np).all():
        warnings.append("The input contains NaN or Inf.")
    if output_is:
        warnings.append(f"The output is shown as its {output_is}.")
    probabilities = None
    output_heatmap = output_rgba = None
    ranked: tuple[tuple[int, float], ...] = ()
    per_position: tuple[tuple[tuple[int, float], ...], ...] = ()
    classes = classes_rgba = None
    if output.ndim == 2 and output.shape[0] == 1 and output.shape[1] >= 2:
        probabilities = softmax(output[0])
        if probabilities is not None and output.shape[1] > TOP_K_ABOVE:
            ranked = top_k(probabilities, TOP_K)
    elif output.size:
        output_heatmap = any_heatmap(_page(output, settings.channel_page)[0])
        output_rgba = output_heatmap.colorize(finite_range([output_heatmap.image]))
        if output.ndim == 3 and output.shape[0] == 1 and output.shape[2] >= 2:
            per_position = position_top_k(output[0], POSITION_TOP_K)
        if output.ndim == 4 and output.shape[0] == 1 and output.shape[1] >= 2:
            classes = class_map(output)
            classes_rgba = class_map_rgba(classes)
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
        top_k=ranked,
        position_top_k=per_position,
        class_map=classes,
        class_map_rgba=classes_rgba,
        compute_ms=(time.perf_counter() - began) * 1000,
        blank=request.raw_input is None
        and settings.input.kind != TENSOR
        and not np.asarray(request.drawing).any(),
        focus=settings.focus,
        attention=attention,
    )


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray | None:
    """Softmax in float64, returned as float32; None when a logit is NaN or infinite."""
    values = np.asarray(logits, np.float64)
    if not np.isfinite(values).all():
        return None
    shifted = np.exp(values - values.max(axis=axis, keepdims=True))
    return (shifted / shifted.sum(axis=axis, keepdims=True)).astype(np.float32)


def top_k(probabilities: np.ndarray, k: int = TOP_K) -> tuple[tuple[int, float], ...]:
    """The ``k`` likeliest ``(class, probability)`` of a 1-d probability vector, likeliest
    first (ties: the lower class first)."""
    p = np.asarray(probabilities, np.float64).reshape(-1)
    k = max(0, min(k, p.size))
    if k == 0:
        return ()
    best = np.argpartition(-p, k - 1)[:k] if k < p.size else np.arange(p.size)
    best = best[np.lexsort((best, -p[best]))]
    return tuple((int(i), float(p[i])) for i in best)


def position_top_k(
    logits: np.ndarray, k: int = POSITION_TOP_K
) -> tuple[tuple[tuple[int, float], ...], ...]:
    """Sequence logits ``[T, V]`` (or ``[1, T, V]``): for every position the ``k`` likeliest
    ``(token id, probability)`` under the softmax over the vocabulary; a position with a NaN or
    infinite logit gets ``()``."""
    values = np.asarray(logits)
    if values.ndim == 3 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 2:
        raise ValueError(f"position_top_k needs [T, V] logits, got {list(values.shape)}")
    found = []
    for row in values:
        p = softmax(row)
        found.append(() if p is None else top_k(p, k))
    return tuple(found)


def class_map(output: np.ndarray) -> np.ndarray:
    """A segmentation output ``[1, C, H, W]`` (or ``[C, H, W]``) → the argmax class of every
    pixel, ``[H, W]`` int32 (NaN scores never win)."""
    scores = np.asarray(output, np.float32)
    if scores.ndim == 4:
        scores = scores[0]
    if scores.ndim != 3:
        raise ValueError(f"class_map needs [C, H, W] scores, got {list(scores.shape)}")
    return np.nan_to_num(scores, nan=-np.inf).argmax(axis=0).astype(np.int32)


# Distinct colours for classes (Glasbey-like, readable on dark and light backgrounds).
_PALETTE = np.array(
    [
        (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
        (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
        (174, 199, 232), (255, 187, 120), (152, 223, 138), (255, 152, 150), (197, 176, 213),
        (196, 156, 148), (247, 182, 210), (199, 199, 199), (219, 219, 141), (158, 218, 229),
    ],
    dtype=np.uint8,
)  # fmt: skip


def class_map_rgba(classes: np.ndarray) -> np.ndarray:
    """An ``[H, W]`` class map coloured one colour per class (cycling after 20), RGBA uint8."""
    rgb = _PALETTE[np.asarray(classes, np.int64) % len(_PALETTE)]
    alpha = np.full((*rgb.shape[:2], 1), 255, np.uint8)
    return np.ascontiguousarray(np.concatenate([rgb, alpha], axis=-1))


HISTOGRAM_BINS = 40


def picture(values: np.ndarray) -> Picture:
    """Heatmap, colours and histogram of a weight or gradient (all here, off the GUI thread)."""
    heatmap = tensor_heatmap(values)
    finite = values[np.isfinite(values)]
    if finite.size:
        counts, edges = np.histogram(finite, bins=HISTOGRAM_BINS)
    else:
        counts, edges = np.zeros(0, np.int64), np.zeros(1)
    return Picture(heatmap, heatmap.colorize(finite_range([heatmap.image])), counts, edges)


def submodule(model: nn.Module, path: str) -> nn.Module:
    """``model.get_submodule(path)``, also for TorchScript (which refuses ``get_submodule``
    but keeps its submodules as attributes)."""
    module = model
    for part in path.split(".") if path else ():
        child = getattr(module, part, None)
        if not isinstance(child, (nn.Module, torch.jit.ScriptModule)):
            raise AttributeError(f"{type(model).__name__} has no submodule {path!r}")
        module = child
    return module


def module_parameters(model: nn.Module, path: str, request_id: int = 0) -> ParametersResult:
    """The parameters of module ``path`` (its own first, then its children's) as numpy views.
    A path the model does not have (asked just before another model opened) shows nothing."""
    try:
        module = submodule(model, path)
    except AttributeError:
        return ParametersResult(request_id, path, (), f"{path} is not a module of this model.")
    named = list(module.named_parameters(prefix=path, recurse=True))
    named += quantized_parameters(module, path)
    note = quantized_note(module, path)
    if not named:
        note = f"{path or module._get_name()} has no parameters."
    elif len(named) > MAX_PARAMETERS_SHOWN:
        shown = f"Showing {MAX_PARAMETERS_SHOWN} of {len(named)} parameters: select a child module."
        note = f"{shown} {note}".strip()
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
                    picture(values),
                    grad,
                    None if grad is None else picture(grad),
                )
            )
    return ParametersResult(request_id, path, tuple(views), note)
