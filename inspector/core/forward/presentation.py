"""A forward's collected tensors turned into what the panels show: the shared colour scale,
coloured heatmaps of the rows in sight, class probabilities, top-k lists, class maps, and the
pictures of weights. Numpy in, numpy out; nothing here runs the model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inspector.core.display.colormap import nice_bound
from inspector.core.display.output_picture import output_picture
from inspector.core.forward.capture import Step
from inspector.core.forward.heatmaps import (
    activation_heatmap,
    any_heatmap,
    finite_range,
    first_sample,
    tensor_heatmap,
)
from inspector.core.forward.results import ForwardRequest, ForwardResult, Picture, StepResult
from inspector.core.forward.settings import ForwardSettings, channel_page
from inspector.core.model.inputs import TENSOR

# The shared colour scale covers this percentile of |activation| over all layers, so that ten
# large logits do not wash out thousands of small convolution outputs.
SHARED_PERCENTILE = 99.5
TOP_K_ABOVE = 20  # a [1, N] output wider than this also gets a top-k list (bars get too thin)
TOP_K = 10
POSITION_TOP_K = 5


@dataclass
class Collected:
    """What one forward gave, as numpy, before any presentation."""

    input: np.ndarray  # what the network got
    kept: list[tuple[Step, np.ndarray, str, str]]  # each kept step, its values (the page), a
    # note saying which page, and what the values are (``outputs.shown_values``)
    output: np.ndarray  # the output chosen by ``ForwardSettings.output_index``
    output_names: tuple[str, ...]
    output_index: int
    module_shapes: dict[str, tuple[int, ...]]
    total_steps: int
    forward_ms: float  # forward + capture on the device
    device: str
    began: float  # perf_counter when the request was taken: compute_ms runs from here
    output_is: str = ""  # what the output's values are, if not themselves (``shown_values``)
    attention: tuple = ()  # every attention layer's probabilities, when asked for


def shared_levels(images: list[np.ndarray]) -> tuple[float, float]:
    """Symmetric levels for every step at once, rounded so they move in visible steps."""
    _, hi = finite_range(images, percentile=SHARED_PERCENTILE)
    bound = nice_bound(hi)
    return (-bound, bound)


def present(
    collected: Collected, request: ForwardRequest, settings: ForwardSettings, now: float
) -> ForwardResult:
    """The result the panels show for ``collected``; ``now`` ends its ``compute_ms``."""
    c = collected
    # Levels from the values themselves; only the rows in sight are tiled and coloured here
    # (a ResNet-50 frame tiled 48 steps, ~3 ms, and coloured them, ~5 ms).
    levels = shared_levels([first_sample(values) for _, values, _, _ in c.kept])
    first, last = settings.coloured or (0, len(c.kept))
    steps = []
    for row, (step, values, note, what) in enumerate(c.kept):
        seen = first <= row < last
        heatmap = activation_heatmap(values) if seen else None
        rgba = heatmap.colorize(levels) if seen else None
        steps.append(StepResult(step, heatmap, rgba, note, values, what))
    output = c.output
    warnings = []
    if output.size and not np.isfinite(output).all():
        warnings.append("The output contains NaN or Inf.")
    if not np.isfinite(c.input).all():
        warnings.append("The input contains NaN or Inf.")
    if c.output_is:
        warnings.append(f"The output is shown as its {c.output_is}.")
    probabilities = None
    output_heatmap = output_rgba = None
    ranked: tuple[tuple[int, float], ...] = ()
    per_position: tuple[tuple[tuple[int, float], ...], ...] = ()
    classes = classes_rgba = None
    fitting = output_picture(c.input, output, c.output_names[c.output_index])
    if fitting is not None:  # a reconstruction beside the input, or a single value
        output_rgba = fitting.rgba
    elif output.ndim == 2 and output.shape[0] == 1 and output.shape[1] >= 2:
        probabilities = softmax(output[0])
        if probabilities is not None and output.shape[1] > TOP_K_ABOVE:
            ranked = top_k(probabilities, TOP_K)
    elif output.size:
        output_heatmap = any_heatmap(channel_page(output, settings.channel_page)[0])
        output_rgba = output_heatmap.colorize(finite_range([output_heatmap.image]))
        if output.ndim == 3 and output.shape[0] == 1 and output.shape[2] >= 2:
            per_position = position_top_k(output[0], POSITION_TOP_K)
        if output.ndim == 4 and output.shape[0] == 1 and output.shape[1] >= 2:
            classes = class_map(output)
            classes_rgba = class_map_rgba(classes)
    return ForwardResult(
        request_id=request.request_id,
        input=c.input,
        steps=tuple(steps),
        output=output,
        probabilities=probabilities,
        module_shapes=c.module_shapes,
        forward_ms=c.forward_ms,
        device=c.device,
        levels=levels,
        warnings=tuple(warnings),
        output_names=c.output_names,
        output_index=c.output_index,
        total_steps=c.total_steps,
        output_heatmap=output_heatmap,
        output_rgba=output_rgba,
        top_k=ranked,
        position_top_k=per_position,
        class_map=classes,
        class_map_rgba=classes_rgba,
        compute_ms=(now - c.began) * 1000,
        blank=request.raw_input is None
        and settings.input.kind != TENSOR
        and not np.asarray(request.drawing).any(),
        focus=settings.focus,
        attention=c.attention,
        output_picture=fitting,
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
