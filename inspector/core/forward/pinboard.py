"""The pin of Compare: A's input and a copy of its weights, what the engine keeps of it (A's
forward for the current settings, A's backward for the current loss), and running a block with
A's weights in the model."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from inspector.core.forward.compare import compare_forwards
from inspector.core.forward.results import ForwardRequest, ForwardResult
from inspector.core.model.quantized import tensor_state


# -- the pin -----------------------------------------------------------------------------------
def weights_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every tensor of the state dict cloned where it lives (a copy, never a reference)."""
    with torch.no_grad():
        return {k: v.detach().clone() for k, v in tensor_state(model).items()}


def _same_tensor(x: torch.Tensor, y: torch.Tensor) -> bool:
    if x.shape != y.shape or x.dtype != y.dtype:
        return False
    return bool(torch.equal(x, y.to(x.device)))


@dataclass
class Pin:
    """A: the input (a frozen request) and a copy of every weight."""

    request: ForwardRequest
    weights: dict[str, torch.Tensor]


@contextlib.contextmanager
def weights_of(model: nn.Module, weights: dict[str, torch.Tensor] | None) -> Iterator[None]:
    """Run the block with ``weights`` in ``model`` (copied in), the model's own put back after
    it whatever happens. ``None``: the model as it is."""
    if weights is None:
        yield
        return
    live = tensor_state(model)
    saved = {k: v.detach().clone() for k, v in live.items()}
    try:
        with torch.no_grad():
            for k, v in live.items():
                v.copy_(weights[k])
        yield
    finally:
        with torch.no_grad():
            for k, v in live.items():
                v.copy_(saved[k])


def _request_key(request: ForwardRequest) -> tuple:
    raw = None if request.raw_input is None else request.raw_input.tobytes()
    return (request.drawing.tobytes(), raw, request.seed)


@dataclass
class Pinboard:
    """What the engine keeps for Compare. One per model: opening a model drops the pin."""

    pin: Pin | None = None
    comparing: bool = False
    _a_forward: tuple[Any, ForwardResult] | None = None  # (settings, device) -> A's result
    _a_backward: tuple[Any, Any] | None = None  # (loss, output index, device) -> A's record
    _versions: tuple | None = None  # the live weights' versions when last found equal to A's
    _same: bool = True

    def set_pin(self, request: ForwardRequest, weights: dict[str, torch.Tensor]) -> None:
        self.pin = Pin(request, weights)
        self._a_forward = self._a_backward = None
        self._versions = None

    def clear(self) -> None:
        self.pin = None
        self._a_forward = self._a_backward = None
        self._versions = None

    def same_weights(self, model: nn.Module) -> bool:
        """Whether the live weights equal A's, looked at again only after an in-place change
        (an update, a reset, training: every one bumps the tensors' version counters)."""
        live = tensor_state(model)
        versions = tuple((k, v._version, v.data_ptr()) for k, v in live.items())
        if versions != self._versions:
            self._versions = versions
            weights = self.pin.weights
            self._same = live.keys() == weights.keys() and all(
                _same_tensor(v, weights[k]) for k, v in live.items()
            )
        return self._same

    def a_weights(self, model: nn.Module) -> dict[str, torch.Tensor] | None:
        """A's weights to swap in, or None when they are the live ones already."""
        return None if self.same_weights(model) else self.pin.weights

    def a_forward(self, model, device, settings, run) -> ForwardResult:
        """A's forward for these settings (computed once per pin, settings and device)."""
        key = (settings, str(device))
        if self._a_forward is not None and self._a_forward[0] == key:
            return self._a_forward[1]
        with weights_of(model, self.a_weights(model)):
            result = run(self.pin.request)
        self._a_forward = (key, result)
        return result

    def a_backward(self, key, run):
        if self._a_backward is not None and self._a_backward[0] == key:
            return self._a_backward[1]
        record = run()
        self._a_backward = (key, record)
        return record


# -- comparing forwards ------------------------------------------------------------------------


def with_comparison(board: Pinboard, model, device, settings, b: ForwardResult, run):
    """``b`` with its comparison against the pin attached (``b`` as it is when not comparing)."""
    if board.pin is None or not board.comparing:
        return b
    a = board.a_forward(model, device, settings, run)
    comparison = replace(compare_forwards(a, b), same_weights=board.same_weights(model))
    return replace(b, comparison=comparison)


def twin_with(model: nn.Module, weights: dict[str, torch.Tensor]) -> nn.Module:
    """A deep copy of ``model`` holding ``weights``, for A's backward: B's ``.grad`` stays
    untouched."""
    twin = copy.deepcopy(model)
    with torch.no_grad():
        for k, v in tensor_state(twin).items():
            v.copy_(weights[k])
    return twin
