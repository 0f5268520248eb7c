"""The attention view on its own, fed results a real engine made (a small ViT and BERT from
transformers configs, random weights): no window, no thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inspector.core.engine import Engine
from inspector.core.files.loading import open_model
from inspector.core.forward.results import ForwardRequest

pytest.importorskip("transformers")

ZOO = Path(__file__).parents[1] / "core" / "real_models.py"


def _engine(name: str) -> Engine:
    torch.manual_seed(0)
    engine = Engine(open_model(f"{ZOO}:{name}"))
    engine.configure(attention=True)
    return engine


def _digit() -> np.ndarray:
    drawing = np.zeros((32, 32), np.float32)
    drawing[6:9, 8:24] = 1  # a seven's bar
    drawing[8:27, 17:20] = 1  # and its stem
    return drawing


@pytest.fixture(scope="module")
def vit() -> Engine:
    return _engine("vit")


@pytest.fixture
def panel(qtbot):
    from inspector.gui.attention.panel import AttentionPanel

    panel = AttentionPanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 600)
    panel.show()
    return panel


def _pixel_of(grid, head: int, pane: int, query: int, key: int) -> tuple[int, int]:
    layout = grid.layout
    r, c = divmod(head * grid.panes + pane, layout.cols)
    return r * (layout.height + 1) + query, c * (layout.width + 1) + key


def test_every_head_of_the_selected_layer_with_hover_and_click(panel, vit):
    result = vit.forward(ForwardRequest(1, _digit()))
    panel.show_result(result)
    assert panel.objectName() == "attentionView"
    assert panel.shown_request_id == 1
    assert panel.layer_combo.count() == 2 and panel.layer_module == "vit.layers.0.attention"
    probs = result.attention[0].probs
    assert panel.grid.layout.count == probs.shape[1] == 2
    row, col = _pixel_of(panel.grid, 1, 0, 3, 5)
    panel._on_grid_hover(row, col)
    text = panel.readout.text()
    assert text.startswith("head 1 · r0 c2 → r0 c4") and f"{probs[0, 1, 3, 5]:.4f}" in text
    panel._on_grid_click(row, col)  # head 1 large, query 3 marked
    assert panel.head == 1 and panel.query == 3
    np.testing.assert_array_equal(panel.detail.values, probs[0, 1])
    assert panel.head_view.rows[0] == "cls" and len(panel.head_view.cols) == 37
    assert "head 1" in panel.head_title.text()

    own = panel.grid  # by default each head from 0 to its own largest weight
    panel.own_scale.setChecked(False)  # all from 0 to the layer's largest
    assert not np.array_equal(panel.grid.rgba, own.rgba)
    np.testing.assert_array_equal(panel.grid.values, own.values)

    panel.select_module("vit.layers.1")
    assert panel.layer_module == "vit.layers.1.attention" and panel.layer_combo.count() == 1
    np.testing.assert_array_equal(panel.detail.values, result.attention[1].probs[0, 1])


def test_a_vit_shows_where_a_token_looks_and_the_rollout(panel, vit, qtbot):
    result = vit.forward(ForwardRequest(2, _digit()))
    maps: list = []
    panel.patchMapChanged.connect(maps.append)
    panel.select_module("vit.layers.1")
    panel.show_result(result)
    assert not panel.vision.isHidden() and panel.patches.rows == panel.patches.cols == 6
    assert panel.mean_check.isEnabled() and panel.over_drawing.isEnabled()
    assert "cls" in panel.patch_title.text() and "layers 1–2" in panel.rollout_title.text()
    shown = maps[-1]
    assert shown.shape == (96, 96) and shown.min() == 0 and shown.max() == 1
    # the brightest block is the patch the class token takes most from (heads' mean)
    weights = result.attention[1].probs[0, :, 0, 1:].mean(0).reshape(6, 6)
    r, c = np.unravel_index(weights.argmax(), weights.shape)
    assert shown[r * 16 + 8, c * 16 + 8] == 1
    # a click on the patch map asks what that patch looks at
    panel._on_patch_click(2 * 16 + 3, 4 * 16 + 3)
    assert panel.query == 1 + 2 * 6 + 4 and "r2 c4" in panel.patch_title.text()
    panel.select_module("vit.layers.0")  # one layer: its rollout is itself
    assert panel.rollout_title.text() == "Rollout through layer 1"


def test_compare_shows_a_b_and_b_minus_a_per_head(panel):
    engine = _engine("vit")
    request_a = ForwardRequest(1, _digit())
    engine.pin(request_a)
    engine.set_comparing(True)
    result = engine.forward(ForwardRequest(2, np.flipud(_digit()).copy()))
    maps_a = result.comparison.attention_a
    assert len(maps_a) == len(result.attention) == 2
    panel.show_result(result)
    assert panel.grid.panes == 3 and panel.grid.layout.rows == 2
    row, col = _pixel_of(panel.grid, 1, 2, 0, 7)
    panel._on_grid_hover(row, col)
    a, b = maps_a[0].probs[0, 1, 0, 7], result.attention[0].probs[0, 1, 0, 7]
    assert a != b
    assert f"A {a:.4f} · B {b:.4f} · B − A {b - a:+.4f}" in panel.readout.text()
    assert panel.grid.value(row, col) == pytest.approx(b - a)


def test_token_models_label_ids_and_have_no_patch_map(panel):
    engine = _engine("bert")
    result = engine.forward(ForwardRequest(1, np.zeros((32, 32), np.float32), seed=2))
    panel.show_result(result)
    ids = result.input[0]
    assert panel.head_view.cols[:2] == [f"0:{ids[0]}", f"1:{ids[1]}"]
    assert panel.vision.isHidden() and panel.patches is None
    assert not panel.mean_check.isEnabled() and not panel.over_drawing.isEnabled()


def test_a_model_without_attention_says_so(panel):
    from inspector.core.files.loading import bundled_lenet

    engine = Engine(bundled_lenet())
    engine.configure(attention=True)
    panel.show_result(engine.forward(ForwardRequest(1, _digit())))
    assert panel.grid is None and "No attention layer ran" in panel.heads.note
    assert panel.layer_combo.count() == 0
