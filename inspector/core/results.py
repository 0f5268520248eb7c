"""What the worker hands the panels: frozen requests in, numpy-only results out."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .capture import Step
from .heatmaps import Heatmap


@dataclass(frozen=True)
class ForwardRequest:
    """A snapshot of the input: the canvas drawing (0-1), or a raw tensor used as it is."""

    request_id: int
    drawing: np.ndarray
    raw_input: np.ndarray | None = None


@dataclass(frozen=True)
class StepResult:
    step: Step
    heatmap: Heatmap | None  # None when the step was not kept
    rgba: np.ndarray | None = None  # the heatmap coloured at the result's shared levels


@dataclass(frozen=True)
class ForwardResult:
    request_id: int
    input: np.ndarray  # what the network got, [1, 1, H, W]
    steps: tuple[StepResult, ...]
    output: np.ndarray  # the raw output (first tensor), as numpy
    probabilities: np.ndarray | None  # softmax over a [1, N] output, else None
    module_shapes: dict[str, tuple[int, ...]]
    forward_ms: float  # forward + capture on the device
    device: str
    levels: tuple[float, float] = (-1.0, 1.0)  # the shared colour scale of ``rgba``
    warnings: tuple[str, ...] = ()

    @property
    def top_class(self) -> int | None:
        return None if self.probabilities is None else int(np.argmax(self.probabilities))


@dataclass(frozen=True)
class ParameterView:
    name: str  # qualified: "conv1.weight"
    shape: tuple[int, ...]
    values: np.ndarray
    heatmap: Heatmap

    @property
    def title(self) -> str:
        return f"{self.name} [{', '.join(map(str, self.shape))}]"


@dataclass(frozen=True)
class ParametersResult:
    request_id: int
    module: str
    parameters: tuple[ParameterView, ...]
    note: str = ""


@dataclass(frozen=True)
class DeviceResult:
    device: str
    ok: bool
    message: str = ""
    devices: tuple[str, ...] = field(default_factory=tuple)
