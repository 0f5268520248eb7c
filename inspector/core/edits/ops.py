"""The engine's intervention operations: set the edits, and the activation-patching sweep."""

from __future__ import annotations

from typing import Any

from inspector.core.edits.apply import Editor
from inspector.core.edits.board import EditsResult
from inspector.core.edits.spec import EditError, Intervention
from inspector.core.edits.sweep import SweepPlan, SweepRow, plan_sweep, sweep_row
from inspector.core.forward.inference import network_input
from inspector.core.forward.results import ForwardRequest
from inspector.core.model.inputs import to_tensor


class EditOps:
    """Mixed into ``Engine``: uses its ``model``, ``device``, ``settings``, ``pinboard`` and
    ``edits`` (a ``core.edits.board.EditBoard``)."""

    def set_edits(self, edits: tuple[Intervention, ...]) -> EditsResult:
        """The interventions the following forwards and backwards make."""
        return self.edits.set(edits)

    def _editor(self) -> Editor | None:
        if not self.edits.active:
            return None
        return self.edits.editor(self.model, self.device, self.settings, self.pinboard)

    def plan_sweep(
        self,
        request: ForwardRequest,
        step: int,
        pick: tuple[int, ...] | None = None,
        token: int | None = None,
    ) -> SweepPlan:
        """Prepare patching every position of every step of ``step``'s kind from A (the pin)
        into ``request``'s run; the rows then come one ``sweep_row`` at a time. The logit
        watched: ``pick`` (an index into the output's first sample), or ``token``'s at the
        last position, or B's likeliest there."""
        pin = self.pinboard.pin
        if pin is None:
            raise EditError("the sweep patches from A into B: pin A first")
        spec = self.settings.input

        def tensor(req: ForwardRequest):
            return to_tensor(network_input(req, spec), spec, self.device)

        weights = self.pinboard.a_weights(self.model)
        x_a, x_b, index = tensor(pin.request), tensor(request), self.settings.output_index
        plan = plan_sweep(self.model, x_a, x_b, step, pick, weights, index, token)
        self.edits.sweep = plan
        return plan

    def sweep_row(self, row: int, cancel: Any = None) -> SweepRow:
        plan = self.edits.sweep
        if plan is None:
            raise EditError("no sweep is planned (a model was opened since)")
        return sweep_row(self.model, plan, row, cancel)
