"""The Attention tab in the real window: it asks for attention maps only while shown, follows
the drawing as the activations do, and lays a ViT's patch map over the canvas."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector.core.state import ModelRef
from inspector.testing import SEVEN, stroke
from tests.conftest import settle

pytest.importorskip("transformers")

ZOO = Path(__file__).parents[1] / "core" / "real_models.py"


def test_attention_tab_follows_the_drawing_on_a_vit(qtbot, window):
    panel = window.findChild(type(window.attention.panel), "attentionView")
    assert panel is window.attention.panel
    assert window.tabs.indexOf(panel) >= 0
    assert not window.last_result.attention, "no maps while the tab is hidden"

    window.actions["attentionTabAction"].trigger()  # Ctrl+3; LeNet has none: the view says so
    assert window.tabs.currentWidget() is panel
    settle(qtbot, window)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=10_000)
    assert panel.grid is None and "No attention layer ran" in panel.heads.note

    with qtbot.waitSignal(window.compute.modelLoaded, timeout=60_000):
        window.open_model(ModelRef(f"{ZOO}:vit"))
    has_maps = lambda: bool(window.last_result and window.last_result.attention)  # noqa: E731
    qtbot.waitUntil(has_maps, timeout=30_000)
    stroke(window.canvas_panel.canvas, SEVEN)
    settle(qtbot, window, 30_000)
    result = window.last_result
    assert [m.module for m in result.attention] == [
        "vit.layers.0.attention",
        "vit.layers.1.attention",
    ]
    qtbot.waitUntil(lambda: panel.heads.painted_request_id == result.request_id, timeout=10_000)
    assert panel.grid is not None and panel.patches is not None
    assert window.canvas_panel.canvas.saliency is not None, "the patch map over the drawing"

    window.tabs.setCurrentWidget(window.activations)
    qtbot.waitUntil(lambda: window.canvas_panel.canvas.saliency is None, timeout=5_000)
    window.submit_input()
    settle(qtbot, window, 30_000)
    assert window.last_result.attention == (), "hidden again: the forwards stop paying for it"


def test_zeroing_a_head_shows_clean_edited_and_their_difference(qtbot, window):
    panel = window.attention.panel
    assert panel.allow_head_edits, "the head view offers zeroing through the interventions"
    with qtbot.waitSignal(window.compute.modelLoaded, timeout=60_000):
        window.open_model(ModelRef(f"{ZOO}:vit"))
    window.tabs.setCurrentWidget(panel)
    has_maps = lambda: bool(window.last_result and window.last_result.attention)  # noqa: E731
    qtbot.waitUntil(has_maps, timeout=30_000)

    window.attention.zero_head("vit.layers.0.attention", 1)  # selects the layer if need be
    qtbot.waitUntil(lambda: bool(window.state.interventions), timeout=30_000)
    (edit,) = window.state.interventions
    assert (edit.label, edit.action, edit.channel) == (
        "vit.layers.0.attention › scaled_dot_product_attention",
        "zero",
        1,
    )
    edited = lambda: bool(getattr(window.last_result, "edits", ()))  # noqa: E731
    qtbot.waitUntil(lambda: edited() and bool(window.last_result.attention), timeout=30_000)
    settle(qtbot, window, 30_000)
    result = window.last_result
    clean = result.comparison.attention_a
    assert (clean[0].probs == result.attention[0].probs).all(), "its own pattern stays"
    assert not (clean[1].probs == result.attention[1].probs).all(), "the next layer answers"
    qtbot.waitUntil(lambda: panel.result is result, timeout=10_000)
    assert panel.grid.panes == 3 and "clean | edited | edited − clean" in panel.panes_label.text()

    window.attention.zero_head("vit.layers.0.attention", 7)
    message = window.statusBar().currentMessage
    qtbot.waitUntil(lambda: "has 2 heads: there is no head 7" in message(), timeout=30_000)
    assert len(window.state.interventions) == 1, "a head the layer lacks is refused"
