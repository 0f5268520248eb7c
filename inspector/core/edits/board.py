"""What the engine keeps for interventions: the edits, the clean forward they are compared
with (computed once per input, settings and weights), and A's values that patches take.

An edited forward is the model's own forward with ``Editor`` as the capture's ``edit``: each
edited step's value is replaced as it is produced, and every later step is computed from it by
the model's layers. The result is the edited run with a comparison against the clean one (the
compare view's A | B | B − A, here clean | edited | edited − clean).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from inspector.core.edits.apply import Editor
from inspector.core.edits.spec import EditError, Intervention
from inspector.core.forward.capture import capture_forward
from inspector.core.forward.compare import compare_forwards
from inspector.core.forward.inference import network_input, run_forward
from inspector.core.forward.pinboard import Pinboard, weights_of
from inspector.core.forward.results import ForwardRequest, ForwardResult
from inspector.core.forward.settings import ForwardSettings
from inspector.core.model.inputs import to_tensor


@dataclass(frozen=True)
class EditsResult:
    """The answer to setting the interventions: what is set now, one line each."""

    edits: tuple[Intervention, ...]
    lines: tuple[str, ...]


def weight_versions(model: nn.Module) -> tuple:
    """Changes whenever a weight does (every in-place write bumps a tensor's version). Not
    ``state_dict()``: for a 12-block GPT-2 it took longer than comparing its forwards."""
    tensors = [*model.parameters(), *model.buffers()]
    return tuple((t._version, t.data_ptr()) for t in tensors)


class _Enough(Exception):
    """Every step a patch needs has run: the rest of A's forward is not needed."""


def request_key(request: ForwardRequest) -> tuple:
    raw = None if request.raw_input is None else request.raw_input.tobytes()
    return (request.drawing.tobytes(), raw, request.seed)


def patch_sources(
    model: nn.Module, x: torch.Tensor, steps: frozenset[int], weights: dict | None = None
) -> dict[int, torch.Tensor]:
    """The values of ``steps`` in the forward of ``x`` (through ``weights``, if given): what
    patches take from the run A. The forward stops once the last of them has run."""
    found: dict[int, torch.Tensor] = {}
    last = max(steps, default=-1)

    def take(step, value: torch.Tensor) -> None:
        if step.index in steps:
            found[step.index] = value.detach().clone()
        if step.index >= last:
            raise _Enough

    with weights_of(model, weights), torch.no_grad(), contextlib.suppress(_Enough):
        capture_forward(model, x, keep=lambda step: False, edit=take)
    return found


@dataclass
class EditBoard:
    """The interventions of the current model (a new model starts with none)."""

    edits: tuple[Intervention, ...] = ()
    sweep: Any = None  # the activation-patching sweep in progress (core.edits.sweep.SweepPlan)
    _clean: tuple[Any, ForwardResult] | None = None
    _sources: tuple[Any, Any, dict[int, torch.Tensor]] | None = None  # (pin, key, values)

    @property
    def active(self) -> bool:
        return any(edit.enabled for edit in self.edits)

    def set(self, edits: tuple[Intervention, ...]) -> EditsResult:
        self.edits = tuple(edits)
        return EditsResult(self.edits, tuple(e.describe() for e in self.edits))

    def clean(self, model, device, settings: ForwardSettings, request, cancel) -> ForwardResult:
        """The forward without edits, kept while input, settings and weights stay the same
        (painting on an activation changes none of them)."""
        plain = replace(settings, coloured=(0, 0))  # the comparison colours its own panes
        key = (request_key(request), plain, str(device), weight_versions(model))
        if self._clean is None or self._clean[0] != key:
            self._clean = (key, run_forward(model, request, device, plain, cancel))
        return replace(self._clean[1], request_id=request.request_id)

    def sources(self, model, device, settings, pinboard: Pinboard, steps: frozenset[int]):
        """A's values at the patched ``steps`` (A's input through A's weights)."""
        if not steps:
            return {}
        pin = pinboard.pin
        if pin is None:
            raise EditError("Patch from A needs A: pin a run first")
        key = (str(device), settings.input, weight_versions(model))
        cached = self._sources
        same = cached is not None and cached[0] is pin and cached[1] == key
        known = cached[2] if same else {}
        if not steps <= known.keys():  # A runs again for every step patched so far, and the new
            x = to_tensor(network_input(pin.request, settings.input), settings.input, device)
            wanted = frozenset(known) | steps
            self._sources = (pin, key, patch_sources(model, x, wanted, pinboard.a_weights(model)))
        return self._sources[2]

    def editor(self, model, device, settings, pinboard: Pinboard) -> Editor:
        patched = Editor(self.edits).patched_steps
        return Editor(self.edits, self.sources(model, device, settings, pinboard, patched))

    def forward(
        self, model, device, settings: ForwardSettings, request, pinboard: Pinboard, cancel
    ) -> ForwardResult:
        """The edited forward of ``request`` compared with the clean one. An edit that cannot
        be made leaves the clean forward on screen, with a warning saying why."""
        clean = self.clean(model, device, settings, request, cancel)
        try:
            editor = self.editor(model, device, settings, pinboard)
            plain = replace(settings, coloured=(0, 0))
            edited = run_forward(model, request, device, plain, cancel, edit=editor)
        except EditError as exc:
            return replace(clean, warnings=(*clean.warnings, f"Edit not made: {exc}"))
        lines = [e.describe() for e in editor.made]
        warnings = list(edited.warnings)
        if editor.skipped:
            gone = ", ".join(e.key for e in editor.skipped)
            warnings.append(f"Edits not made (this forward ran other steps there): {gone}")
        missed = [e for e in self.edits if e.enabled and e.step >= edited.total_steps]
        if missed:
            gone = ", ".join(e.key for e in missed)
            warnings.append(f"Edits not made (the forward ran {edited.total_steps} steps): {gone}")
        if not lines:  # nothing was edited: the clean forward, saying why
            return replace(clean, warnings=(*clean.warnings, *warnings[len(edited.warnings) :]))
        return replace(
            edited,
            comparison=compare_forwards(clean, edited),
            edits=tuple(lines),
            warnings=tuple(warnings),
        )
