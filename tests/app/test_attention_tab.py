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

    window.tabs.setCurrentWidget(panel)  # LeNet has none: the view says so
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
