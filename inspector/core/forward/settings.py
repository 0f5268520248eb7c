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
