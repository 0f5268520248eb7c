"""Activation patching swept over a grid: every position of every step of one kind (each
block's output, say) patched in turn from A's run into B's, and how much the chosen logit
moved each time — the positions × steps picture of the activation-patching papers."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from inspector.core.edits.apply import Editor
from inspector.core.edits.spec import EditError, Intervention
from inspector.core.forward.capture import Cancelled, Step, capture_forward, named_outputs


def _kind(step: Step) -> str:
    return re.sub(r"\d+", "#", step.label)


def steps_like(steps: list[Step], chosen: Step) -> list[Step]:
    """The steps of ``chosen``'s kind: the same label but for layer numbers, and the same
    occurrence within its module (a block's second ``add``, its output, in every block)."""

    def occurrence(step: Step) -> int:
        return sum(1 for s in steps[: step.index] if s.label == step.label)

    kind, nth = _kind(chosen), occurrence(chosen)
    return [s for s in steps if _kind(s) == kind and occurrence(s) == nth]


def chosen_output(output, index: int = 0) -> torch.Tensor:
    outputs = named_outputs(output)
    return outputs[min(index, len(outputs) - 1)][1]


def default_pick(output: torch.Tensor) -> tuple[int, ...]:
    """Which logit to watch: the last position's likeliest token (``[1, T, V]``), or the
    likeliest class (``[1, N]``)."""
    first = output[0]
    if first.dim() == 2:
        last = first.shape[0] - 1
        return (last, int(first[last].argmax()))
    return tuple(int(i) for i in np.unravel_index(int(first.argmax()), tuple(first.shape)))


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep needs before its first row: the steps (rows), A's values there, B's input
    and B's clean value of the logit watched."""

    steps: tuple[Step, ...]
    positions: int
    pick: tuple[int, ...]  # index into the chosen output's first sample
    clean: float  # the logit in B's clean run
    patched_from: float  # the logit in A's run
    x: torch.Tensor
    sources: dict[int, torch.Tensor]
    output_index: int = 0

    @property
    def title(self) -> str:
        if len(self.pick) == 2:  # [position, token]: say which is which
            logit = f"token {self.pick[1]}'s logit at position {self.pick[0]}"
        else:
            logit = f"logit [{', '.join(map(str, self.pick))}]"
        return f"Change of {logit} when one position of {_kind(self.steps[0])} is A's"


def _nothing(step: Step) -> bool:
    return False


@dataclass(frozen=True)
class SweepRow:
    row: int
    step: Step
    changes: np.ndarray  # [positions]: patched logit − clean logit


def plan_sweep(
    model: nn.Module,
    x_a: torch.Tensor,
    x_b: torch.Tensor,
    step_index: int,
    pick: tuple[int, ...] | None = None,
    weights_a: dict | None = None,
    output_index: int = 0,
    token: int | None = None,
) -> SweepPlan:
    """Run A and B once each and prepare the rows of the sweep over ``step_index``'s kind;
    ``token``: watch its logit at the last position (``pick`` wins; default: B's likeliest)."""
    from inspector.core.edits.board import patch_sources

    with torch.inference_mode():
        clean = capture_forward(model, x_b, keep=lambda s: False)
    steps = clean.steps
    if not 0 <= step_index < len(steps):
        raise EditError(f"there is no step {step_index + 1}: the forward ran {len(steps)} steps")
    chosen = steps[step_index]
    if len(chosen.shape) != 3:
        raise EditError(
            f"step {step_index + 1}. {chosen.label} {list(chosen.shape)} has no token positions: "
            "the sweep patches [N, T, D] steps"
        )
    rows = tuple(steps_like(steps, chosen))
    sources = patch_sources(model, x_a, frozenset(s.index for s in rows), weights_a)
    with torch.inference_mode():
        out_b = chosen_output(clean.output, output_index)
        if pick is None:
            pick = default_pick(out_b)
            if token is not None:
                if not 0 <= token < out_b.shape[-1]:
                    raise EditError(f"there is no token {token}: the output has {out_b.shape[-1]}")
                pick = (*pick[:-1], token)
        pick = tuple(pick)
        from inspector.core.forward.pinboard import weights_of

        with weights_of(model, weights_a):
            out_a = chosen_output(model(x_a), output_index)
    return SweepPlan(
        steps=rows,
        positions=chosen.shape[1],
        pick=pick,
        clean=float(out_b[0][pick]),
        patched_from=float(out_a[0][pick]),
        x=x_b,
        sources=sources,
        output_index=output_index,
    )


def sweep_row(model: nn.Module, plan: SweepPlan, row: int, cancel=None) -> SweepRow:
    """Row ``row``: each position of that step patched from A in turn; all positions in one
    forward of a batch (sample i patched at position i) where the model takes a batch."""
    step = plan.steps[row]
    try:
        changes = _batched_row(model, plan, step, cancel)
    except Cancelled:
        raise
    except Exception:  # a model that only takes a batch of 1: one forward per position
        changes = _row_one_by_one(model, plan, step, cancel)
    return SweepRow(row, step, changes)


def _batched_row(model: nn.Module, plan: SweepPlan, step: Step, cancel) -> np.ndarray:
    count = plan.positions
    source = plan.sources[step.index]
    index = torch.arange(count)

    def patch(seen: Step, value: torch.Tensor) -> torch.Tensor | None:
        if seen.index != step.index:
            return None
        if seen.label != step.label or value.shape[0] != count:
            raise EditError(f"the batched forward ran other steps at {step.label}")
        out = value.clone()
        out[index, index] = source[0, index].to(out.device, out.dtype)
        return out

    batch = plan.x.expand(count, *plan.x.shape[1:]).contiguous()
    with torch.inference_mode():
        capture = capture_forward(model, batch, keep=_nothing, edit=patch, cancel=cancel)
        out = chosen_output(capture.output, plan.output_index)
        if out.shape[0] != count:
            raise EditError("the output is not batched")
        picked = out[(slice(None), *plan.pick)].float().cpu().numpy()
    return (picked - plan.clean).astype(np.float32)


def _row_one_by_one(model: nn.Module, plan: SweepPlan, step: Step, cancel) -> np.ndarray:
    changes = np.empty(plan.positions, np.float32)
    with torch.inference_mode():
        for position in range(plan.positions):
            edit = Intervention(step.index, step.label, "patch", position=position)
            editor = Editor([edit], {step.index: plan.sources[step.index]})
            capture = capture_forward(model, plan.x, keep=_nothing, edit=editor, cancel=cancel)
            out = chosen_output(capture.output, plan.output_index)
            changes[position] = float(out[0][plan.pick]) - plan.clean
    return changes


def sweep(model: nn.Module, plan: SweepPlan, cancel=None, progress=None) -> np.ndarray:
    """The whole grid, ``[steps, positions]``; ``progress(done, total)`` after each row."""
    grid = np.full((len(plan.steps), plan.positions), np.nan, np.float32)
    for row in range(len(plan.steps)):
        grid[row] = sweep_row(model, plan, row, cancel).changes
        if progress is not None:
            progress(row + 1, len(plan.steps))
    return grid
