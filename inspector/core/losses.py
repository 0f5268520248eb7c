"""The losses a user can pick: the tutorial's MSE against a dummy target, or cross-entropy."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class LossSpec:
    """``mse`` (the tutorial's ``torch.arange(1, 11)`` target), ``ce`` (a class) or ``sum``."""

    kind: str = "mse"
    target_class: int = 0

    @classmethod
    def parse(cls, text: str) -> LossSpec:
        """``mse``, ``sum``, ``ce`` or ``ce:7`` (as on the command line)."""
        kind, _, arg = text.strip().lower().partition(":")
        if kind not in ("mse", "ce", "sum"):
            raise ValueError(f"unknown loss {text!r}: use mse, sum, ce or ce:CLASS")
        if arg and kind != "ce":
            raise ValueError(f"loss {kind} takes no argument (got {text!r})")
        try:
            target = int(arg) if arg else 0
        except ValueError:
            raise ValueError(f"ce:CLASS needs a whole number, got {arg!r}") from None
        return cls(kind, target)

    def describe(self) -> str:
        if self.kind == "mse":
            return "MSELoss vs torch.arange(1, 11)"
        if self.kind == "ce":
            return f"CrossEntropyLoss vs class {self.target_class}"
        return "sum of the output"


def tutorial_target(output: torch.Tensor) -> torch.Tensor:
    """The tutorial's dummy target, ``torch.arange(1, 11).view(1, -1)`` as float, for a 10-wide
    output; zeros of the output's shape otherwise."""
    if output.shape == (1, 10):
        return torch.arange(1, 11, dtype=output.dtype, device=output.device).view(1, -1)
    return torch.zeros_like(output)


def compute_loss(output: torch.Tensor, spec: LossSpec) -> torch.Tensor:
    """The loss of ``output`` under ``spec``; raises ValueError naming what does not fit."""
    if spec.kind == "mse":
        return F.mse_loss(output, tutorial_target(output))
    if spec.kind == "sum":
        return output.sum()
    if output.ndim != 2:
        raise ValueError(
            f"CrossEntropyLoss needs a [batch, classes] output, got {list(output.shape)}"
        )
    classes = output.shape[1]
    if not 0 <= spec.target_class < classes:
        raise ValueError(f"class {spec.target_class} is outside the output's {classes} classes")
    target = torch.full((output.shape[0],), spec.target_class, device=output.device)
    return F.cross_entropy(output, target)
