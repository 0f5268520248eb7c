"""Compare: a pinned state **A** (an input and the weights as they were) against the current
state **B** — every forward step, the prediction, a module's weights and the gradients of a
backward pass — and the difference B − A.

All of it is computed here, on the worker: the differences, their colour scales, the one-line
summary of every step, the most-changed channel shown large, the colour of every autograd node.
The panels only show the images. What the engine keeps of the pin is ``core.pinboard``; every
step as arrays for a file is ``core.activation_export``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from inspector.core.display.colormap import colorize, nice_bound
from inspector.core.forward.capture import Step
from inspector.core.forward.heatmaps import (
    Heatmap,
    activation_heatmap,
    finite_range,
    tensor_heatmap,
)
from inspector.core.forward.results import (
    ForwardRequest,
    ForwardResult,
    ParametersResult,
    StepResult,
)

# The difference's colour scale covers this percentile of |B − A| over all steps (as the
# activations' shared scale does), so that one large logit change does not wash out the rest.
DIFF_PERCENTILE = 99.5


# -- the maths ---------------------------------------------------------------------------------
def _norm(values: np.ndarray) -> float:
    """‖values‖ without BLAS: on a busy machine ``np.linalg.norm``'s dot waited for OpenBLAS's
    threads (0.3 ms or 3 ms for the same 16k values, 2 cores shared)."""
    return float(np.sqrt(np.sum(np.square(values))))


def relative_change(a: np.ndarray, b: np.ndarray) -> float:
    """‖B − A‖ / ‖A‖ over the finite values (float64); 0 when nothing changed, inf when A is
    all zero and B is not."""
    a64 = np.asarray(a, np.float64)
    b64 = np.asarray(b, np.float64)
    finite = np.isfinite(a64) & np.isfinite(b64)
    delta = _norm((b64 - a64)[finite])
    base = _norm(a64[finite])
    if delta == 0.0:
        return 0.0
    return delta / base if base > 0 else math.inf


def channel_changes(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """‖B − A‖ of every channel of the first sample of a batched ``[N, C, ...]`` activation
    with channels (a ``[C, H, W]`` sample: what the panel tiles); None for vectors and images."""
    a = np.asarray(a)
    if a.ndim < 4:
        return None
    delta = np.asarray(b, np.float64)[0] - np.asarray(a, np.float64)[0]
    delta = np.where(np.isfinite(delta), delta, 0.0)
    return np.sqrt((delta.reshape(delta.shape[0], -1) ** 2).sum(axis=1))


def symmetric_levels(images: list[np.ndarray], percentile: float = DIFF_PERCENTILE):
    """Levels centred on 0 for a difference: ±(nice bound of the percentile of |values|)."""
    _, hi = finite_range(images, percentile=percentile)
    bound = nice_bound(hi)
    return (-bound, bound)


def describe_change(relative: float, channel: int | None) -> str:
    """The one-line summary of a step: ``Δ 12.3% · ch 4 changed most`` (Δ: ‖B − A‖ / ‖A‖)."""
    if relative == 0.0:
        return "Δ 0 · unchanged"
    text = "Δ ∞ (A is all zero)" if math.isinf(relative) else f"Δ {relative:.1%}"
    return text if channel is None else f"{text} · ch {channel} changed most"


# -- results -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelDetail:
    """One channel of a step, large: A, B and B − A, coloured (A and B at the step's levels)."""

    channel: int
    a: np.ndarray  # [H, W] values
    b: np.ndarray
    diff: np.ndarray
    rgba_a: np.ndarray
    rgba_b: np.ndarray
    rgba_diff: np.ndarray
    heatmaps: tuple[Heatmap, Heatmap, Heatmap]  # of a, b and diff: what hovering reads


@dataclass(frozen=True)
class StepComparison:
    """One forward step of A and of B, the difference, and how much it changed."""

    step: Step
    a: np.ndarray  # the values (batched, the channel page shown): what the tests compare
    b: np.ndarray
    diff: np.ndarray  # b - a
    heatmap_a: Heatmap
    heatmap_b: Heatmap
    heatmap_diff: Heatmap
    rgba_a: np.ndarray  # A and B at the comparison's shared levels
    rgba_b: np.ndarray
    rgba_diff: np.ndarray  # at the difference's levels (centred on 0)
    relative: float  # ‖B − A‖ / ‖A‖
    channel: int | None  # the channel that changed most (None: no channels)
    channel_norm: float
    summary: str
    detail: ChannelDetail | None  # that channel, large


@dataclass(frozen=True)
class ForwardComparison:
    """What the panels show in compare mode, for one forward of B."""

    steps: tuple[StepComparison, ...]
    levels: tuple[float, float]  # of A and B together
    diff_levels: tuple[float, float]  # of every B − A, symmetric
    probabilities_a: np.ndarray | None
    probabilities_b: np.ndarray | None
    output_a: np.ndarray
    output_b: np.ndarray
    same_input: bool
    same_weights: bool
    note: str = ""  # steps that could not be compared, and why
    attention_a: tuple = ()  # A's core.attention.AttentionMap's, when the forwards had them

    @property
    def what_differs(self) -> str:
        """``input``, ``weights``, ``input and weights`` or ``nothing``."""
        pairs = (("input", self.same_input), ("weights", self.same_weights))
        changed = [name for name, same in pairs if not same]
        return " and ".join(changed) if changed else "nothing"


@dataclass(frozen=True)
class ParameterComparison:
    """One parameter of the selected module: A, B and B − A."""

    name: str
    shape: tuple[int, ...]
    a: np.ndarray
    b: np.ndarray
    diff: np.ndarray
    heatmap: Heatmap  # the layout, shared by the three
    rgba_a: np.ndarray  # A and B at one range, so that equal values look equal
    rgba_b: np.ndarray
    rgba_diff: np.ndarray  # centred on 0
    diff_heatmap: Heatmap
    relative: float
    levels: tuple[float, float]
    diff_levels: tuple[float, float]

    @property
    def title(self) -> str:
        return f"{self.name} [{', '.join(map(str, self.shape))}]"


@dataclass(frozen=True)
class GradientChange:
    """How much each autograd node's incoming gradient changed from A's backward to B's:
    ‖g_B − g_A‖ / ‖g_A‖ per node of B's graph, and the colour it is drawn in."""

    change: dict[int, float]  # node id (B's graph) -> relative change
    colours: dict[int, tuple[int, int, int]]
    maximum: float
    note: str = ""


@dataclass(frozen=True)
class PinResult:
    """The answer to Pin / Unpin: what is pinned now."""

    pinned: bool
    message: str
    request: ForwardRequest | None = None


def _detail(comp_a: np.ndarray, comp_b: np.ndarray, channel: int, levels, diff_levels):
    a = np.asarray(comp_a[0, channel], np.float32).reshape(comp_a.shape[2], -1)
    b = np.asarray(comp_b[0, channel], np.float32).reshape(a.shape)
    d = b - a
    heatmaps = (tensor_heatmap(a), tensor_heatmap(b), tensor_heatmap(d))
    return ChannelDetail(
        channel,
        a,
        b,
        d,
        colorize(a, levels),
        colorize(b, levels),
        colorize(d, diff_levels),
        heatmaps,
    )


def compare_forwards(a: ForwardResult, b: ForwardResult) -> ForwardComparison:
    """Step by step, A against B. Steps are matched in order; where the two forwards ran
    different steps (a model whose forward depends on its input) the rest is not compared."""
    pairs: list[tuple[StepResult, StepResult]] = []
    note = ""
    for sa, sb in zip(a.steps, b.steps, strict=False):
        same = (
            sa.step.label == sb.step.label
            and sa.values is not None
            and sb.values is not None
            and sa.values.shape == sb.values.shape
        )
        if not same:
            note = f"A and B ran different steps from step {sb.step.index + 1} on: not compared"
            break
        pairs.append((sa, sb))
    if not note and len(a.steps) != len(b.steps):
        note = f"A ran {len(a.steps)} steps, B {len(b.steps)}: the common ones are compared"
    diffs = [sb.values.astype(np.float32) - sa.values.astype(np.float32) for sa, sb in pairs]
    # A step's own heatmap (tiled once per result, then kept): A's forward, cached between
    # frames by the pinboard or the interventions' clean run, is not tiled again.
    heat_a = [sa.heatmap for sa, _ in pairs]
    heat_b = [sb.heatmap for _, sb in pairs]
    heat_d = [activation_heatmap(d) for d in diffs]
    _, hi = finite_range([h.image for h in heat_a + heat_b], percentile=99.5)
    levels = (-nice_bound(hi), nice_bound(hi))
    diff_levels = symmetric_levels([h.image for h in heat_d])
    steps = []
    for (sa, sb), d, ha, hb, hd in zip(pairs, diffs, heat_a, heat_b, heat_d, strict=True):
        rel = relative_change(sa.values, sb.values)
        per_channel = channel_changes(sa.values, sb.values)
        channel, norm, detail = None, 0.0, None
        if per_channel is not None and per_channel.size:
            channel = int(np.argmax(per_channel))
            norm = float(per_channel[channel])
            detail = _detail(sa.values, sb.values, channel, levels, diff_levels)
        steps.append(
            StepComparison(
                step=sb.step,
                a=sa.values,
                b=sb.values,
                diff=d,
                heatmap_a=ha,
                heatmap_b=hb,
                heatmap_diff=hd,
                rgba_a=ha.colorize(levels),
                rgba_b=hb.colorize(levels),
                rgba_diff=hd.colorize(diff_levels),
                relative=rel,
                channel=channel,
                channel_norm=norm,
                summary=describe_change(rel, channel),
                detail=detail,
            )
        )
    return ForwardComparison(
        steps=tuple(steps),
        levels=levels,
        diff_levels=diff_levels,
        probabilities_a=a.probabilities,
        probabilities_b=b.probabilities,
        output_a=a.output,
        output_b=b.output,
        same_input=np.array_equal(a.input, b.input),
        same_weights=True,
        note=note,
        attention_a=a.attention,
    )


# -- comparing weights -------------------------------------------------------------------------
def compare_parameters(
    result: ParametersResult, weights_a: dict[str, torch.Tensor]
) -> tuple[ParameterComparison, ...]:
    """The selected module's parameters, A against B (parameters A did not have are left out)."""
    found = []
    for view in result.parameters:
        pinned = weights_a.get(view.name)
        if pinned is None or tuple(pinned.shape) != tuple(view.shape):
            continue
        a = pinned.detach().float().cpu().numpy()
        b = np.asarray(view.values, np.float32)
        d = b - a
        heat_a, heat_b, heat_d = tensor_heatmap(a), tensor_heatmap(b), tensor_heatmap(d)
        levels = finite_range([heat_a.image, heat_b.image])
        diff_levels = finite_range([heat_d.image]) if np.any(d) else (-1.0, 1.0)
        found.append(
            ParameterComparison(
                name=view.name,
                shape=tuple(view.shape),
                a=a,
                b=b,
                diff=d,
                heatmap=heat_b,
                rgba_a=heat_a.colorize(levels),
                rgba_b=heat_b.colorize(levels),
                rgba_diff=heat_d.colorize(diff_levels),
                diff_heatmap=heat_d,
                relative=relative_change(a, b),
                levels=levels,
                diff_levels=diff_levels,
            )
        )
    return tuple(found)


# -- comparing gradients -----------------------------------------------------------------------
# Sequential colours for "how much the gradient changed": unchanged nodes stay dark slate,
# the most changed are bright orange-yellow.
CHANGE_ANCHORS = np.array(
    [[0.0, 52, 62, 82], [0.35, 92, 72, 150], [0.7, 222, 96, 56], [1.0, 255, 214, 64]],
    dtype=np.float64,
)


def change_colour(fraction: float) -> tuple[int, int, int]:
    t = float(np.clip(fraction, 0.0, 1.0)) if math.isfinite(fraction) else 1.0
    xs = CHANGE_ANCHORS[:, 0]
    return tuple(round(float(np.interp(t, xs, CHANGE_ANCHORS[:, c]))) for c in (1, 2, 3))


def _first_incoming(record, node: int):
    grads = record.grads.get(node)
    if grads is None or not grads.incoming:
        return None
    return grads.incoming[0]


def gradient_change(record_a, record_b) -> GradientChange:
    """Per node of B's graph: ‖g_B − g_A‖ / ‖g_A‖ of the gradient that came into it, where
    A's graph has the same node (graphs are matched node by node: same model, same walk)."""
    nodes_a, nodes_b = record_a.graph.nodes, record_b.graph.nodes
    note = ""
    if len(nodes_a) != len(nodes_b) or any(
        x.name != y.name for x, y in zip(nodes_a, nodes_b, strict=True)
    ):
        note = "A's and B's autograd graphs differ: only matching nodes are coloured"
    change: dict[int, float] = {}
    for node in nodes_b:
        if node.id >= len(nodes_a) or nodes_a[node.id].name != node.name:
            continue
        ga, gb = _first_incoming(record_a, node.id), _first_incoming(record_b, node.id)
        if ga is None or gb is None or ga.shape != gb.shape:
            continue
        if ga.values is not None and gb.values is not None:
            change[node.id] = relative_change(ga.values, gb.values)
        else:  # too large to keep: the norms say at least this much
            change[node.id] = abs(gb.norm - ga.norm) / ga.norm if ga.norm > 0 else 0.0
    finite = [v for v in change.values() if math.isfinite(v)]
    top = max(finite, default=0.0)
    colours = {n: change_colour(v / top if top > 0 else 0.0) for n, v in change.items()}
    return GradientChange(change, colours, top, note)
