"""The losses a user can pick: the tutorial's MSE against a dummy target, cross-entropy or a sum.

Every loss says what it really compares against (``evaluate_loss`` returns the value and that
label together, so the two cannot disagree): ``MSELoss vs torch.arange(1, 11)`` only for a
10-wide output, ``MSELoss vs zeros [1, 1000]`` otherwise; sequence logits ``[B, T, V]`` get a
next-token cross-entropy over positions; a segmentation map ``[B, C, H, W]`` a per-pixel one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F


class ClassOutOfRange(ValueError):
    """A cross-entropy class the output does not have."""


def _dims(shape: Sequence[int]) -> str:
    return f"[{', '.join(map(str, shape))}]"


@dataclass(frozen=True)
class LossSpec:
    """``mse`` (the tutorial's ``torch.arange(1, 11)`` target for a 10-wide output, zeros
    otherwise), ``ce`` (a class; next token for sequences) or ``sum``."""

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

    def describe(self, output_shape: Sequence[int] | None = None) -> str:
        """The loss and its real target for an output of ``output_shape`` (for sequence logits
        the exact target also depends on the input: ``BackwardRecord.loss_label`` has it)."""
        if self.kind == "sum":
            return "sum of the output"
        if self.kind == "mse":
            # No shape: the old label, which the window's loss panel still shows until it
            # passes the shape (or shows BackwardRecord.loss_label); true for 10-wide outputs.
            if output_shape is None or tuple(output_shape) == (1, 10):
                return "MSELoss vs torch.arange(1, 11)"
            return f"MSELoss vs zeros {_dims(output_shape)}"
        if output_shape is not None and len(output_shape) == 3:
            return f"CrossEntropyLoss over {output_shape[1]} positions (next token, or argmax)"
        if output_shape is not None and len(output_shape) == 4:
            return f"CrossEntropyLoss vs class {self.target_class} at every pixel"
        return f"CrossEntropyLoss vs class {self.target_class}"


def tutorial_target(output: torch.Tensor) -> torch.Tensor:
    """The tutorial's dummy target, ``torch.arange(1, 11).view(1, -1)`` as float, for a 10-wide
    output; zeros of the output's shape otherwise."""
    if output.shape == (1, 10):
        return torch.arange(1, 11, dtype=output.dtype, device=output.device).view(1, -1)
    return torch.zeros_like(output)


def _sequence_cross_entropy(
    output: torch.Tensor, inputs: torch.Tensor | None
) -> tuple[torch.Tensor, str]:
    """``[B, T, V]`` logits: next-token cross-entropy against the input ids shifted by one
    where the input is ids of shape ``[B, T]`` below V, else against each position's argmax."""
    batch, length, vocab = output.shape
    if (
        inputs is not None
        and not inputs.is_floating_point()
        and tuple(inputs.shape) == (batch, length)
        and length >= 2
        and int(inputs.min()) >= 0
        and int(inputs.max()) < vocab
    ):
        logits = output[:, :-1].reshape(-1, vocab)
        target = inputs[:, 1:].reshape(-1).to(device=output.device, dtype=torch.long)
        label = (
            f"CrossEntropyLoss over {length - 1} positions vs the next input token "
            "(target = input ids shifted by one)"
        )
        return F.cross_entropy(logits, target), label
    target = output.detach().argmax(dim=-1).reshape(-1)
    label = (
        f"CrossEntropyLoss over {length} positions vs each position's own top token "
        "(target = argmax of the logits)"
    )
    return F.cross_entropy(output.reshape(-1, vocab), target), label


def evaluate_loss(
    output: torch.Tensor, spec: LossSpec, inputs: torch.Tensor | None = None
) -> tuple[torch.Tensor, str]:
    """The loss of ``output`` under ``spec`` and a label naming its real target; ``inputs``
    (the model's input) gives sequence models their next-token target. Raises ValueError
    naming what does not fit."""
    if output.is_complex():  # torch.fft: the loss of its magnitude, as the panels show it
        loss, label = evaluate_loss(output.abs(), spec, inputs)
        return loss, f"{label}, of |z|"
    if not output.is_floating_point():
        raise ValueError(
            f"the output is {str(output.dtype).removeprefix('torch.')}, not floating point: "
            "no loss can be differentiated through it (pick another output)"
        )
    if spec.kind == "mse":
        return F.mse_loss(output, tutorial_target(output)), spec.describe(tuple(output.shape))
    if spec.kind == "sum":
        return output.sum(), spec.describe()
    if output.ndim == 3:
        return _sequence_cross_entropy(output, inputs)
    if output.ndim not in (2, 4):
        raise ValueError(
            "CrossEntropyLoss needs a [batch, classes], [batch, positions, vocabulary] or "
            f"[batch, classes, height, width] output, got {list(output.shape)}"
        )
    classes = output.shape[1]
    if not 0 <= spec.target_class < classes:
        raise ClassOutOfRange(
            f"class {spec.target_class} is outside the output's {classes} classes"
        )
    target_shape = (output.shape[0], *output.shape[2:])
    target = torch.full(target_shape, spec.target_class, device=output.device)
    return F.cross_entropy(output, target), spec.describe(tuple(output.shape))


def compute_loss(
    output: torch.Tensor, spec: LossSpec, inputs: torch.Tensor | None = None
) -> torch.Tensor:
    """The loss of ``output`` under ``spec``; raises ValueError naming what does not fit."""
    return evaluate_loss(output, spec, inputs)[0]


def loss_note(
    value: float,
    output: torch.Tensor,
    spec: LossSpec,
    label: str,
    zero_parameters: Sequence[str] = (),
) -> str:
    """Why a loss is not a useful number, in a sentence or two; ``""`` when it is fine.

    NaN/Inf: whether the output already held them. Exactly 0: the output equals the target, so
    every gradient is 0 too; an all-zero output with all-zero weights (``zero_parameters``)
    means a zero-initialised head."""
    finite_output = bool(torch.isfinite(output.detach()).all())
    if math.isnan(value) or math.isinf(value):
        what = "NaN" if math.isnan(value) else "infinite"
        why = (
            "the output itself holds NaN or Inf values"
            if not finite_output
            else "the output is finite, so the loss overflowed"
        )
        return f"The loss is {what}: {why}; its gradients are not meaningful and are not drawn."
    if value != 0.0:
        return ""
    out = output.detach()
    all_zero = finite_output and not bool(out.any())
    if spec.kind == "mse":
        why = f"the output equals the target ({label.removeprefix('MSELoss vs ')})"
    elif spec.kind == "sum":
        why = "the output sums to exactly 0"
    else:
        why = "the model gives the target probability 1"
    cause = ""
    if all_zero:
        cause = " The output is all zeros"
        if zero_parameters:
            shown = ", ".join(zero_parameters[:3])
            more = f" and {len(zero_parameters) - 3} more" if len(zero_parameters) > 3 else ""
            cause += f", and {shown}{more} {'is' if len(zero_parameters) == 1 else 'are'} all zero"
            cause += " (a zero-initialised head, as transformers builds ViT's classifier)"
        cause += "."
    hint = " Pick another loss (sum, or ce) to see gradients flow." if spec.kind == "mse" else ""
    return f"The loss is exactly 0 because {why}, so every gradient is 0.{cause}{hint}"
