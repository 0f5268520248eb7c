import numpy as np
import pytest

from inspector.core.display.colormap import (
    LUT,
    NAN_RGBA,
    NEG_INF_RGBA,
    POS_INF_RGBA,
    colorize,
    nice_bound,
)
from inspector.core.forward.heatmaps import (
    activation_heatmap,
    finite_range,
    grid_for,
    tensor_heatmap,
)


def test_channels_are_tiled_with_nan_gaps_and_located_back():
    act = np.arange(6 * 4 * 5, dtype=np.float32).reshape(1, 6, 4, 5)
    heatmap = activation_heatmap(act)
    assert heatmap.kind == "channels"
    layout = heatmap.layout
    assert (layout.rows, layout.cols) == (1, 6)
    assert heatmap.image.shape == (4, 6 * 5 + 5)
    assert np.isnan(heatmap.image[:, 5]).all()  # the gap after channel 0
    y, x = 2, 3
    col = 3 * (5 + 1) + x  # channel 3
    assert heatmap.layout.locate(y, col) == (3, y, x)
    assert heatmap.image[y, col] == act[0, 3, y, x]
    assert heatmap.describe(y, col) == "ch 3 (2, 3)"
    assert heatmap.describe(0, 5) is None


def test_every_tile_lands_in_its_cell_also_in_a_partial_last_row():
    tiles = np.random.default_rng(1).normal(size=(13, 3, 4)).astype(np.float32)
    heatmap = tensor_heatmap(tiles, rows=3)  # 3 × 5 cells, the last row holds 3 tiles
    layout = heatmap.layout
    assert (layout.rows, layout.cols) == (3, 5)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, layout.cols)
        y, x = r * (3 + 1), c * (4 + 1)
        assert np.array_equal(heatmap.image[y : y + 3, x : x + 4], tile)
    data = ~np.isnan(heatmap.image)
    assert data.sum() == tiles.size  # gaps and the two empty cells are NaN
    assert np.isnan(heatmap.image[8:, 15:]).all()


def test_grid_is_wide():
    assert (grid_for(16, 10, 10).rows, grid_for(16, 10, 10).cols) == (2, 8)
    assert (grid_for(64, 3, 3).rows, grid_for(64, 3, 3).cols) == (4, 16)


def test_vectors_are_strips():
    heatmap = activation_heatmap(np.arange(10, dtype=np.float32).reshape(1, 10))
    assert heatmap.is_strip and heatmap.image.shape == (1, 10)
    assert heatmap.describe(0, 7) == "[7]"


def test_conv_weights_are_out_by_in_tiles():
    weights = np.random.default_rng(0).normal(size=(16, 6, 5, 5)).astype(np.float32)
    heatmap = tensor_heatmap(weights)
    assert heatmap.kind == "kernels"
    assert (heatmap.layout.rows, heatmap.layout.cols) == (16, 6)
    row, col = 3 * 6 + 2, 4 * 6 + 1  # out 3, in 4, (2, 1)
    assert heatmap.image[row, col] == weights[3, 4, 2, 1]
    assert heatmap.describe(row, col) == "out 3, in 4 (2, 1)"


def test_finite_range_ignores_nan_inf_and_handles_constants():
    assert finite_range([np.array([np.nan, np.inf, -2.0, 1.0])]) == (-2.0, 2.0)
    assert finite_range([np.full(4, np.nan)]) == (-1.0, 1.0)
    lo, hi = finite_range([np.full(4, 3.0)], symmetric=False)
    assert lo < 3.0 < hi


def test_colorize_saturates_and_marks_nan_and_inf():
    image = np.array([[np.nan, -np.inf, np.inf, -5.0, 0.0, 5.0]], np.float32)
    rgba = colorize(image, (-1.0, 1.0))
    assert rgba.shape == (1, 6, 4) and rgba.dtype == np.uint8
    assert tuple(rgba[0, 0]) == NAN_RGBA  # NaN: its own colour, never a value's
    assert tuple(rgba[0, 1]) == NEG_INF_RGBA and tuple(rgba[0, 2]) == POS_INF_RGBA
    assert (rgba[0, 3] == LUT[0]).all() and (rgba[0, 5] == LUT[-1]).all()  # saturate
    huge = colorize(np.array([[3e38, -3e38]], np.float32), (-1.0, 1.0))  # ×127.5 overflows
    assert (huge[0, 0] == LUT[-1]).all() and (huge[0, 1] == LUT[0]).all()
    flat = colorize(np.ones((2, 2), np.float32), (1.0, 1.0))  # zero-width levels: no 0/0
    assert (flat == flat[0, 0]).all() and flat[0, 0, 3] == 255  # shown flat


def test_tile_gaps_are_clear_but_nan_values_are_magenta():
    act = np.ones((1, 3, 2, 2), np.float32)
    act[0, 1, 0, 0] = np.nan
    heatmap = activation_heatmap(act)
    rgba = heatmap.colorize((-1.0, 1.0))
    assert rgba[0, 2, 3] == 0  # the gap after channel 0
    assert tuple(rgba[0, 3]) == NAN_RGBA  # channel 1's NaN at (0, 0)
    wrapped = tensor_heatmap(np.arange(1500, dtype=np.float32))
    assert wrapped.image.shape == (2, 1024) and wrapped.describe(1, 475) == "[1499]"
    assert wrapped.describe(1, 476) is None
    assert wrapped.colorize((0.0, 1500.0))[1, 600, 3] == 0  # padding after the last value


@pytest.mark.parametrize(("value", "expected"), [(0.7, 1.0), (1.3, 2.0), (2.2, 2.5), (31, 50)])
def test_nice_bound(value, expected):
    assert nice_bound(value) == pytest.approx(expected)
