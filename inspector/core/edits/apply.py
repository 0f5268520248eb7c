"""Making interventions during a forward: ``Editor`` is ``capture_forward``'s ``edit``."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from inspector.core.edits.spec import EditError, Intervention, check_fits
from inspector.core.forward.capture import Step


def selection(edit: Intervention, ndim: int) -> tuple:
    """The index of the part ``edit`` changes in a step with ``ndim`` dims (all samples)."""
    index: list = [slice(None)] * ndim
    if ndim == 3:
        if edit.position is not None:
            index[1] = edit.position
        if edit.channel is not None:
            index[2] = edit.channel
    elif edit.channel is not None:
        index[1] = edit.channel
    return tuple(index)


def apply(edit: Intervention, value: torch.Tensor, source: torch.Tensor | None = None):
    """``value`` with ``edit`` made on a copy (the original, the clean run's, stays as it was).
    ``source``: the step's value in the run a patch takes it from."""
    check_fits(edit, tuple(value.shape))
    out = value.clone()
    part = selection(edit, value.dim())
    if edit.action == "zero":
        out[part] = 0
    elif edit.action == "scale":
        out[part] = out[part] * float(edit.value)
    elif edit.action == "set":
        out[part] = float(edit.value)
    elif edit.action == "clamp":
        low, high = edit.value
        out[part] = out[part].clamp(float(low), float(high))
    elif edit.action == "patch":
        if source is None:
            raise EditError(f"patching step {edit.key} needs a run to take it from: pin A first")
        if tuple(source.shape) != tuple(value.shape):
            raise EditError(
                f"cannot patch step {edit.key}: A's value is {list(source.shape)}, this run's "
                f"{list(value.shape)}"
            )
        out[part] = source.to(out.device, out.dtype)[part]
    elif edit.action == "paint" and edit.delta is not None:
        delta = torch.as_tensor(np.asarray(edit.delta), dtype=out.dtype, device=out.device)
        if out[part].shape[-delta.dim() :] != delta.shape:
            raise EditError(
                f"cannot paint on step {edit.key}: the map is {list(delta.shape)}, the channel "
                f"{list(out[part].shape[1:])}"
            )
        out[part] = out[part] + delta
    return out


class Editor:
    """Makes ``edits`` (the enabled ones) at their steps, in the order listed; ``sources``:
    each patched step's value in the run patches take from. An edit whose step has another
    label in this forward (the model's steps changed) is skipped and listed in ``skipped``."""

    def __init__(
        self, edits: Iterable[Intervention], sources: dict[int, torch.Tensor] | None = None
    ) -> None:
        self.by_step: dict[int, list[Intervention]] = {}
        for edit in edits:
            if edit.enabled:
                self.by_step.setdefault(edit.step, []).append(edit)
        self.sources = sources or {}
        self.skipped: list[Intervention] = []
        self.made: list[Intervention] = []

    def __bool__(self) -> bool:
        return bool(self.by_step)

    def __call__(self, step: Step, value: torch.Tensor) -> torch.Tensor | None:
        edits = self.by_step.get(step.index)
        if not edits:
            return None
        edited = None
        for edit in edits:
            if edit.label != step.label:
                self.skipped.append(edit)
                continue
            edited = apply(edit, value if edited is None else edited, self.sources.get(step.index))
            self.made.append(edit)
        return edited

    @property
    def patched_steps(self) -> frozenset[int]:
        return frozenset(
            i for i, edits in self.by_step.items() if any(e.action == "patch" for e in edits)
        )
