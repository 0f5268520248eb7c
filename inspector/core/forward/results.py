"""What the worker hands the panels: frozen requests in, numpy-only results out."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inspector.core.forward.capture import Step
from inspector.core.forward.heatmaps import (
    Heatmap,
    activation_heatmap,
    first_sample,
    is_strip_shape,
)


@dataclass(frozen=True)
class ForwardRequest:
    """A snapshot of the input: the canvas drawing (0-1), or a raw tensor used as it is."""

    request_id: int
    drawing: np.ndarray
    raw_input: np.ndarray | None = None
    seed: int = 0  # for models that take a random tensor: which one


@dataclass(frozen=True)
class StepResult:
    step: Step
    # the values tiled into an image; None for a step not kept, or for a row out of sight
    # (``ForwardSettings.coloured``), whose ``heatmap`` is tiled when first asked for
    tiled: Heatmap | None
    # the heatmap coloured at the result's shared levels; None for a row out of sight: the
    # panel colours it when it comes into sight
    rgba: np.ndarray | None = None
    note: str = ""  # e.g. "channels 0–63 of 256" when only a page is shown
    values: np.ndarray | None = None  # the step's values (batched; the page shown), float32
    shown_as: str = ""  # what the values are when not the step's own: "magnitude |z| of ..."

    @property
    def kept(self) -> bool:
        return self.tiled is not None or self.values is not None

    @functools.cached_property
    def heatmap(self) -> Heatmap | None:
        """The step as an image (None when not kept), tiled here if the worker did not."""
        if self.tiled is not None or self.values is None:
            return self.tiled
        return activation_heatmap(self.values)

    @property
    def is_strip(self) -> bool:
        """Whether the heatmap is a strip (a vector), known without tiling."""
        if self.tiled is not None:
            return self.tiled.is_strip
        return is_strip_shape(first_sample(self.values).shape)


@dataclass(frozen=True)
class ForwardResult:
    request_id: int
    input: np.ndarray  # what the network got: [1, C, H, W] floats, [1, T] token ids, ...
    steps: tuple[StepResult, ...]
    output: np.ndarray  # the raw output (first tensor), as numpy
    probabilities: np.ndarray | None  # softmax over a [1, N] output, else None
    module_shapes: dict[str, tuple[int, ...]]
    forward_ms: float  # forward + capture on the device
    device: str
    levels: tuple[float, float] = (-1.0, 1.0)  # the shared colour scale of ``rgba``
    warnings: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ("output",)  # every tensor the model returned
    output_index: int = 0  # the one shown (and used by the loss)
    total_steps: int = 0  # steps the forward ran (``steps`` holds the ones kept)
    output_heatmap: Heatmap | None = None  # for outputs that are not class scores
    output_rgba: np.ndarray | None = None
    # [1, N] outputs wider than presentation.TOP_K_ABOVE: the k likeliest (class, probability)
    top_k: tuple[tuple[int, float], ...] = ()
    # [1, T, V] sequence logits: per position the k likeliest (token id, probability)
    position_top_k: tuple[tuple[tuple[int, float], ...], ...] = ()
    # [1, C, H, W] outputs (C >= 2, a segmentation map): the argmax class per pixel, [H, W]
    # int32, and the same coloured one colour per class (RGBA uint8, [H, W, 4])
    class_map: np.ndarray | None = None
    class_map_rgba: np.ndarray | None = None
    focus: str = ""  # the module whose steps were kept ("" for all): ForwardSettings.focus
    compute_ms: float = 0.0  # all of it on the worker: input, forward, capture, colouring
    blank: bool = False  # the input is an empty canvas: the prediction answers nothing
    comparison: Any = None  # core.compare.ForwardComparison against the pin, when comparing
    # core.display.output_picture: a reconstruction drawn beside the input, or a single value
    output_picture: Any = None
    # The interventions made (core.edits), one line each: ``comparison`` is then the clean
    # forward (A) against this edited one (B).
    edits: tuple[str, ...] = ()
    # with ForwardSettings.attention: core.attention.AttentionMap per attention layer, in order
    attention: tuple = ()


@dataclass(frozen=True)
class Picture:
    """A tensor ready to show: its heatmap, coloured at its own range, and its histogram."""

    heatmap: Heatmap
    rgba: np.ndarray
    counts: np.ndarray  # histogram of the finite values
    edges: np.ndarray


@dataclass(frozen=True)
class ParameterView:
    name: str  # qualified: "conv1.weight"
    shape: tuple[int, ...]
    values: np.ndarray
    picture: Picture
    grad: np.ndarray | None = None  # .grad, where a backward pass has filled it
    grad_picture: Picture | None = None

    @property
    def title(self) -> str:
        return f"{self.name} [{', '.join(map(str, self.shape))}]"


@dataclass(frozen=True)
class ParametersResult:
    request_id: int
    module: str
    parameters: tuple[ParameterView, ...]
    note: str = ""
    comparison: Any = None  # tuple of core.compare.ParameterComparison, when comparing


@dataclass(frozen=True)
class ModelLoaded:
    """A model the worker has opened and switched to (the previous one is gone)."""

    token: int
    name: str
    summary: Any  # core.summary.ModuleNode
    input: Any  # core.inputs.InputSpec
    output_names: tuple[str, ...]
    warning: str | None
    load_ms: float
    spec: str = ""
    note: str | None = None  # how it is inspected (a torch.compile'd model: its original)
    inputs: Any = None  # core.feed.named.ModelInputs of a model with several inputs, else None


@dataclass(frozen=True)
class DeviceResult:
    device: str
    ok: bool
    message: str = ""
    devices: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class BackwardResult:
    """A recorded backward pass and the layout of its graph (both computed on the worker)."""

    request_id: int
    record: Any  # core.backward.BackwardRecord
    view: Any  # core.collapse.LaidOutView: collapsed as it opens, and laid out
    timings_ms: dict[str, float]
    gradient_change: Any = None  # core.compare.GradientChange against A's backward, comparing


@dataclass(frozen=True)
class UpdateResult:
    kind: str  # "update", "reset", "restore" or "reinit"
    updated: tuple[str, ...]  # parameter names that changed
    message: str
    # The weights were replaced under the optimiser: the training so far (its curves, steps
    # and optimiser state) was forgotten with them, and the Training dock shows it.
    training_forgotten: bool = False


@dataclass(frozen=True)
class SavedValueResult:
    node: int
    name: str
    values: np.ndarray | None
