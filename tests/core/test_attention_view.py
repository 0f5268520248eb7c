"""Attention pictures (numpy only): head grids, A | B | B − A, patch grids, patch maps and
rollout, checked against direct computations."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.core.forward import attention_view as view
from inspector.core.forward.attention import AttentionMap


def _probs(shape, seed=0) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(size=shape).astype(np.float32) * 3
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return (e / e.sum(-1, keepdims=True)).astype(np.float32)


def test_head_grid_places_every_head_and_reads_back_its_weights():
    probs = _probs((1, 6, 5, 7))
    grid = view.head_grid(probs, rows=2)
    assert (grid.layout.rows, grid.layout.cols) == (2, 3)
    assert grid.rgba.shape[:2] == grid.layout.shape and grid.rgba.dtype == np.uint8
    for head in range(6):
        r, c = divmod(head, 3)
        row, col = r * (5 + 1) + 4, c * (7 + 1) + 2  # query 4, key 2 of that head
        assert grid.locate(row, col) == (head, 0, 4, 2)
        assert grid.value(row, col) == probs[0, head, 4, 2]
    assert grid.locate(5, 0) is None, "the gap between rows"
    assert grid.levels[0] == 0 and grid.levels[1] >= probs.max()


def test_brighter_colour_for_more_attention():
    probs = np.zeros((1, 1, 1, 2), np.float32)
    probs[0, 0, 0] = (0.1, 0.9)
    rgba = view.head_grid(probs).rgba.astype(int)
    assert rgba[0, 1, :3].sum() > rgba[0, 0, :3].sum()


def test_compare_grid_is_a_b_and_their_difference_per_head():
    a, b = _probs((1, 3, 4, 4), 1), _probs((1, 3, 4, 4), 2)
    grid = view.compare_grid(a, b)
    assert grid.panes == 3 and (grid.layout.rows, grid.layout.cols) == (3, 3)
    for head in range(3):
        y = head * 5 + 1
        for pane, expected in enumerate((a, b, b - a)):
            x = pane * 5 + 3
            assert grid.locate(y, x) == (head, pane, 1, 3)
            assert grid.value(y, x) == pytest.approx(expected[0, head, 1, 3])
    low, high = grid.diff_levels
    assert low == -high and high >= np.abs(b - a).max()
    diverging = view.compare_grid(a, a).rgba  # B − A = 0 everywhere: the map's pale middle
    assert (diverging[0, 10, :3] > 200).all()


def test_rows_to_fit_follow_the_room():
    assert view.rows_to_fit(6, 50, 50, 600, 100) == 1
    assert view.rows_to_fit(6, 50, 50, 100, 600) == 6
    assert view.rows_to_fit(4, 50, 50, 400, 400) == 2


@pytest.mark.parametrize(
    ("tokens", "image", "expected"),
    [
        (37, (1, 3, 96, 96), (6, 6, 1)),  # ViT: the class token and 6×6 patches
        (198, (1, 3, 224, 224), (14, 14, 2)),  # DeiT: class and distillation tokens
        (16, (1, 1, 48, 80), (3, 5, 1)),  # a rectangular image
        (64, (1, 1, 64, 64), (8, 8, 0)),  # no class token
    ],
)
def test_patch_grid(tokens, image, expected):
    grid = view.patch_grid(tokens, image)
    assert (grid.rows, grid.cols, grid.first) == expected


def test_no_patch_grid_where_none_fits():
    assert view.patch_grid(23, (1, 3, 96, 96)) is None
    assert view.patch_grid(10, (7,)) is None


def test_patch_map_is_the_querys_row_over_the_patches():
    probs = _probs((1, 2, 5, 5))
    grid = view.PatchGrid(2, 2, 1)
    one = view.patch_map(probs, 0, grid, head=1)
    np.testing.assert_array_equal(one.ravel(), probs[0, 1, 0, 1:])
    mean = view.patch_map(probs, 3, grid)
    np.testing.assert_allclose(mean.ravel(), probs[0, :, 3, 1:].mean(0), rtol=1e-6)


def test_rollout_multiplies_the_layers_with_the_residual_path():
    layers = [_probs((1, 3, 4, 4), s) for s in range(3)]
    expected = np.eye(4)
    for m in layers:
        step = 0.5 * m[0].astype(np.float64).mean(0) + 0.5 * np.eye(4)
        step /= step.sum(-1, keepdims=True)
        expected = step @ expected
    found = view.rollout(layers)
    np.testing.assert_allclose(found, expected, rtol=1e-5)
    np.testing.assert_allclose(found.sum(-1), 1.0, rtol=1e-5)
    # Uniform attention everywhere keeps half of each token and spreads the rest evenly.
    uniform = np.full((1, 1, 4, 4), 0.25, np.float32)
    np.testing.assert_allclose(view.rollout([uniform])[0], [0.625, 0.125, 0.125, 0.125])
    for query in range(4):
        np.testing.assert_allclose(view.rollout_row(layers, query), found[query], rtol=1e-4)
    assert view.rollout([_probs((1, 1, 3, 4))]) is None, "not square"
    assert view.rollout_row([_probs((1, 1, 3, 4))], 0) is None
    assert view.rollout([_probs((1, 1, 3, 3)), _probs((1, 1, 4, 4))]) is None


def test_overlay_lays_each_patch_over_its_block():
    image = np.zeros((1, 1, 8, 8), np.float32)
    weights = np.array([[0.0, 1.0], [0.0, 0.0]], np.float32)
    rgba = view.overlay(image, weights)
    assert rgba.shape == (8, 8, 4)
    assert rgba[1, 6, :3].sum() > rgba[1, 1, :3].sum() + 100, "the top-right block is bright"
    assert (rgba[0:4, 4:8] == rgba[0, 4]).all() and (rgba[4:, :4] == rgba[7, 0]).all()


def test_maps_in_the_selected_module():
    maps = tuple(
        AttentionMap(name, "sdpa", np.zeros((1, 1, 1, 1), np.float32))
        for name in ("enc.0.attn", "enc.1.attn", "dec.0.attn")
    )
    assert view.maps_in(maps, "enc.1") == [1]
    assert view.maps_in(maps, "enc") == [0, 1]
    assert view.maps_in(maps, "head") == [0, 1, 2], "outside every layer: all of them"
    assert view.maps_in(maps, None) == [0, 1, 2]


def test_token_labels():
    assert view.token_labels(np.array([[5, 9]]), 2, None) == ["0:5", "1:9"]
    grid = view.PatchGrid(1, 2, 1)
    assert view.token_labels(np.zeros((1, 1, 8, 16)), 3, grid) == ["cls", "r0 c0", "r0 c1"]
    assert view.token_labels(np.zeros((1, 3, 4)), 3, None) == ["0", "1", "2"]


def test_each_head_its_own_scale_brightens_a_thin_head_but_reads_true_values():
    probs = np.full((1, 2, 2, 4), 0.25, np.float32)
    probs[0, 0, :, 0], probs[0, 0, :, 1:] = 0.91, 0.03  # a sharp head beside a flat one
    probs[0, 1, :, 0], probs[0, 1, :, 1:] = 0.28, 0.24
    shared = view.head_grid(probs, rows=1)
    own = view.head_grid(probs, rows=1, each_own=True)
    flat_key = (0, 5)  # head 1's query 0, key 0: its largest weight
    assert own.rgba[flat_key][:3].sum() > shared.rgba[flat_key][:3].sum() + 100
    np.testing.assert_array_equal(own.values, shared.values)
    assert own.value(*flat_key) == pytest.approx(0.28)
