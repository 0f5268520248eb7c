"""Which steps a forward keeps: one decision of whether the model is big, as a table."""

import pytest

from inspector.core.forward.settings import MAX_KEPT_STEPS, Focus

BIG, SMALL = MAX_KEPT_STEPS + 1, MAX_KEPT_STEPS


@pytest.mark.parametrize(
    "leaves, selected, focus",
    [(BIG, "layer1", "layer1"), (SMALL, "layer1", ""), (BIG, None, ""), (BIG, "", "")],
)
def test_the_focus_when_a_model_opens(leaves, selected, focus):
    rule = Focus()
    rule.opened(leaves)
    assert rule.focus_for(selected) == focus


@pytest.mark.parametrize(
    "total_steps, kept_focus, selected, ask",
    [
        (BIG, "", "layer1", "layer1"),  # selected before the first result said it is big
        (BIG, "layer1", "layer1", None),  # right already
        (BIG, "layer1", "layer2", "layer2"),  # the selection moved on meanwhile
        (BIG, "", None, None),  # nothing selected: nothing to focus on
        (BIG, "layer1", None, None),
        (SMALL, "layer1", "layer1", ""),  # its leaves were never called: all steps fit
        (SMALL, "", "layer1", None),
    ],
)
def test_the_focus_after_a_result(total_steps, kept_focus, selected, ask):
    rule = Focus()
    assert rule.after_result(total_steps, kept_focus, selected) == ask
    assert rule.big == (total_steps > MAX_KEPT_STEPS)
