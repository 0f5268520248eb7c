"""What the worker keeps of a forward: the settings of the current model, which steps are kept,
which page of channels is shown. Both a full capture and the step cache read these."""

from __future__ import annotations

from dataclasses import dataclass

from inspector.core.forward.capture import Step
from inspector.core.model.inputs import LENET_INPUT, InputSpec

MAX_KEPT_STEPS = 48  # heatmaps shown at once; a big model shows the focused module's steps
CHANNEL_PAGE = 64  # channels shown at once for a wide layer


@dataclass(frozen=True)
class ForwardSettings:
    """How the worker turns a request into a result for the current model."""

    input: InputSpec = LENET_INPUT
    output_index: int = 0
    focus: str = ""  # capture the steps inside this module (all, for "")
    channel_page: int = 0
    # The rows [first, last) of kept steps in sight: only they are coloured here, the panel
    # colours the others if they come into sight (a ResNet-50 frame colours 48 steps, ~5 ms,
    # of which a few are on screen). None: all.
    coloured: tuple[int, int] | None = None
    attention: bool = False  # also every attention layer's probabilities (core.attention)


DEFAULT_SETTINGS = ForwardSettings()  # frozen: safe to share as a default


def in_focus(step: Step, focus: str) -> bool:
    """Whether ``step`` belongs to module ``focus`` (to any, for ``""``)."""
    return not focus or step.module == focus or step.module.startswith(focus + ".")


def step_keeper(settings: ForwardSettings):
    """The capture's ``keep``: the steps inside the focused module, at most MAX_KEPT_STEPS."""
    kept = 0

    def keep(step: Step) -> bool:
        nonlocal kept
        if in_focus(step, settings.focus) and kept < MAX_KEPT_STEPS:
            kept += 1
            return True
        return False

    return keep


def channel_page(array, page: int):
    """One page of channels of a [1, C, H, W] activation (numpy or torch: paging before the
    copy to numpy moves only the channels shown), and a note saying which."""
    if array.ndim != 4 or array.shape[1] <= CHANNEL_PAGE:
        return array, ""
    pages = (array.shape[1] + CHANNEL_PAGE - 1) // CHANNEL_PAGE
    page = min(page, pages - 1)
    start = page * CHANNEL_PAGE
    stop = min(array.shape[1], start + CHANNEL_PAGE)
    return array[:, start:stop], f"channels {start}–{stop - 1} of {array.shape[1]}"


class Focus:
    """Whether the model is big (more steps than ``MAX_KEPT_STEPS``), decided here only, and
    so which module's steps a forward keeps: all of a small model's, the selected module's of a
    big one. Opening tells from the leaf count (more leaves than steps kept: big for sure);
    every result tells from its total steps."""

    def __init__(self) -> None:
        self.big = False

    def opened(self, leaves: int) -> None:
        self.big = leaves > MAX_KEPT_STEPS

    def focus_for(self, selected: str | None) -> str:
        """The focus forwards keep for ``selected``."""
        return selected if self.big and selected else ""

    def after_result(self, total_steps: int, focus: str, selected: str | None) -> str | None:
        """The focus to ask for now that a result (kept with ``focus``) counted its steps;
        None when ``focus`` is right. A big model selected before its first result said so
        gets the selection; a model found small keeps all its steps."""
        self.big = total_steps > MAX_KEPT_STEPS
        if self.big and not selected:
            return None
        wanted = self.focus_for(selected)
        return wanted if wanted != focus else None
