"""Attention maps as pictures (numpy only): the heads of a layer tiled, A | B | B − A per head,
a ViT's patch map and attention rollout through its layers.

Probabilities live in [0, 1] and matter by how they compare, so they get a sequential colour
map (dark: nothing, bright: all) scaled to the layer's largest weight; a difference B − A gets
the diverging map of every other heatmap, centred on 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from inspector.core.display.colormap import colorize, nice_bound
from inspector.core.forward.attention import AttentionMap
from inspector.core.forward.heatmaps import TileLayout, grid_for

# Dark → purple → orange → pale yellow (after matplotlib's "inferno").
_ANCHORS = np.array(
    [
        [0.0, 0, 0, 4],
        [0.25, 87, 16, 110],
        [0.5, 188, 55, 84],
        [0.75, 249, 142, 9],
        [1.0, 252, 255, 164],
    ]
)


def _sequential_lut(size: int = 256) -> np.ndarray:
    x = np.linspace(0.0, 1.0, size)
    rgb = [np.interp(x, _ANCHORS[:, 0], _ANCHORS[:, c]) for c in (1, 2, 3)]
    return np.round(np.stack([*rgb, np.full(size, 255.0)], axis=1)).astype(np.uint8)


SEQUENTIAL = _sequential_lut()
PANES = ("A (pinned)", "B (now)", "B − A")


def maps_in(maps: tuple[AttentionMap, ...], module: str | None) -> list[int]:
    """The indices of the maps computed inside ``module`` (itself or below it); all of them
    when it holds none (a selection outside every attention layer)."""
    if module:
        inside = [
            i for i, m in enumerate(maps) if m.module == module or m.module.startswith(module + ".")
        ]
        if inside:
            return inside
    return list(range(len(maps)))


def probability_levels(*arrays: np.ndarray) -> tuple[float, float]:
    """0 to the largest weight (rounded up to 1, 2, 2.5 or 5 × 10^k, so it moves in steps)."""
    top = max((float(np.nanmax(a)) for a in arrays if a.size), default=1.0)
    return (0.0, min(1.0, nice_bound(top)))


@dataclass(frozen=True)
class HeadGrid:
    """A layer's heads tiled: ``rgba`` and where each head (and pane) lies in it."""

    rgba: np.ndarray  # uint8 [H, W, 4]
    layout: TileLayout
    panes: int  # 1, or 3 for A | B | B − A (a row per head)
    values: np.ndarray  # the tiled values (NaN gaps), for the read-out
    levels: tuple[float, float]
    diff_levels: tuple[float, float] | None = None

    def locate(self, row: int, col: int) -> tuple[int, int, int, int] | None:
        """Image pixel → ``(head, pane, query, key)``, or None on a gap."""
        where = self.layout.locate(row, col)
        if where is None:
            return None
        tile, query, key = where
        head, pane = divmod(tile, self.panes)
        return head, pane, query, key

    def value(self, row: int, col: int) -> float:
        return float(self.values[row, col])


def rows_to_fit(heads: int, queries: int, keys: int, width: float, height: float) -> int:
    """How many rows of tiles show ``heads`` tiles of ``queries × keys`` largest in a
    ``width × height`` room."""

    def scale(rows: int) -> float:
        cols = math.ceil(heads / rows)
        return min(width / (cols * (keys + 1)), height / (rows * (queries + 1)))

    return max(range(1, max(1, heads) + 1), key=scale)


def own_scale(heads: np.ndarray) -> np.ndarray:
    """Each head divided by its largest weight: a head that spreads its attention thinly
    shows its pattern beside one that puts 0.9 on a single key."""
    top = heads.max(axis=(-2, -1), keepdims=True)
    return np.divide(heads, top, out=np.zeros_like(heads), where=top > 0)


def head_grid(
    probs: np.ndarray, sample: int = 0, rows: int | None = None, each_own: bool = False
) -> HeadGrid:
    """Every head of one sample of a ``[B, H, Q, K]`` map, tiled (``rows`` rows, or a wide
    grid), coloured from 0 to the layer's largest weight (``each_own``: each to its own)."""
    heads = probs[min(sample, probs.shape[0] - 1)]
    layout = grid_for(len(heads), heads.shape[1], heads.shape[2], rows)
    values = layout.tile(heads)
    levels = probability_levels(heads)
    shown = layout.tile(own_scale(heads)) if each_own else values
    rgba = colorize(shown, (0.0, 1.0) if each_own else levels, layout.gap_mask(), SEQUENTIAL)
    return HeadGrid(rgba, layout, 1, values, levels)


def compare_grid(a: np.ndarray, b: np.ndarray, sample: int = 0) -> HeadGrid:
    """A | B | B − A for every head (one row each) of two ``[B, H, Q, K]`` maps of one shape."""
    a, b = a[min(sample, a.shape[0] - 1)], b[min(sample, b.shape[0] - 1)]
    heads, queries, keys = b.shape
    tiles = np.stack([a, b, b - a], axis=1).reshape(3 * heads, queries, keys)
    layout = grid_for(3 * heads, queries, keys, rows=heads)
    values = layout.tile(tiles)
    levels = probability_levels(a, b)
    bound = nice_bound(float(np.abs(b - a).max()) if b.size else 0.0)
    diff_levels = (-bound, bound)
    gaps = layout.gap_mask()
    rgba = colorize(values, levels, gaps, SEQUENTIAL)
    diff = colorize(values, diff_levels, gaps)
    third = np.zeros(layout.shape[1], bool)
    third[2 * (keys + 1) :] = True  # the B − A column
    rgba[:, third] = diff[:, third]
    return HeadGrid(rgba, layout, 3, values, levels, diff_levels)


def single_head(probs: np.ndarray, head: int, sample: int = 0, each_own: bool = False) -> HeadGrid:
    """One head large, at the levels of its own layer (``each_own``: of its own)."""
    layer = probs[min(sample, probs.shape[0] - 1)]
    values = np.ascontiguousarray(layer[head], np.float32)
    layout = grid_for(1, *values.shape)
    levels = probability_levels(values if each_own else layer)
    return HeadGrid(colorize(values, levels, None, SEQUENTIAL), layout, 1, values, levels)


# -- vision transformers: tokens that are image patches ------------------------------------


@dataclass(frozen=True)
class PatchGrid:
    rows: int
    cols: int
    first: int  # tokens before the patches (a class token, DeiT's distillation token)

    @property
    def patches(self) -> int:
        return self.rows * self.cols


def patch_grid(tokens: int, image_shape: tuple[int, ...]) -> PatchGrid | None:
    """How ``tokens`` tokens cover an image ``[..., H, W]``: a grid of the image's aspect plus
    up to 4 leading tokens (the class token first); None when no such grid fits."""
    if len(image_shape) < 2:
        return None
    height, width = image_shape[-2:]
    for first in (1, 0, 2, 3, 4):
        patches = tokens - first
        if patches <= 0:
            continue
        rows = round(math.sqrt(patches * height / width))
        if rows and patches % rows == 0:
            cols = patches // rows
            if rows * cols == patches and height % rows == 0 and width % cols == 0:
                return PatchGrid(rows, cols, first)
    return None


def patch_map(probs: np.ndarray, query: int, grid: PatchGrid, head: int | None = None,
              sample: int = 0) -> np.ndarray:  # fmt: skip
    """What token ``query`` takes from each patch, ``[rows, cols]``: one head, or the mean of
    the heads (``head`` None)."""
    layer = probs[min(sample, probs.shape[0] - 1)]
    row = layer[:, query] if head is None else layer[head, query][None]
    weights = row.mean(axis=0)[grid.first : grid.first + grid.patches]
    return weights.reshape(grid.rows, grid.cols).astype(np.float32)


def rollout(layers: list[np.ndarray], sample: int = 0) -> np.ndarray | None:
    """Attention rollout (Abnar & Zuidema, 2020) through ``layers`` (``[B, H, N, N]`` maps in
    the order they ran): each layer's mean over heads with the residual path added (½A + ½I,
    rows normalised), multiplied from the first layer up. ``[N, N]``: row ``q`` says how much
    of token ``q``'s output at the last layer comes from each input token. None when the
    layers are not square maps of one size."""
    if not layers or any(m.shape[-1] != m.shape[-2] for m in layers):
        return None
    n = layers[0].shape[-1]
    if any(m.shape[-1] != n for m in layers):
        return None
    result = np.eye(n, dtype=np.float64)
    for m in layers:
        mean = m[min(sample, m.shape[0] - 1)].astype(np.float64).mean(axis=0)
        step = 0.5 * mean + 0.5 * np.eye(n)
        step /= step.sum(axis=-1, keepdims=True)
        result = step @ result
    return result.astype(np.float32)


def stretched(weights: np.ndarray) -> np.ndarray:
    """Least weight → 0, largest → 1 (all 0 when flat): where a token looks *most*, as
    attention maps are usually drawn; the head grid keeps the true scale."""
    lo, hi = float(weights.min()), float(weights.max())
    return (weights - lo) / (hi - lo) if hi > lo else np.zeros_like(weights)


def rollout_row(layers: list[np.ndarray], query: int, sample: int = 0) -> np.ndarray | None:
    """Row ``query`` of ``rollout(layers)``, from the last layer down as vector × matrix
    products: a frame of a 12-layer ViT costs a thousandth of the whole product."""
    if not layers or any(m.shape[-1] != m.shape[-2] for m in layers):
        return None
    n = layers[0].shape[-1]
    if any(m.shape[-1] != n for m in layers) or not 0 <= query < n:
        return None
    row = np.zeros(n, np.float32)
    row[query] = 1.0
    for m in reversed(layers):
        heads = m[min(sample, m.shape[0] - 1)]
        # row @ (½·mean_h A_h + ½·I), each row of that divided by its sum (1 but where every
        # key was masked): one matrix-vector product per head, no N × N mean formed.
        sums = 0.5 * heads.sum(axis=-1).mean(axis=0) + 0.5
        scaled = row / sums
        row = 0.5 * np.matmul(scaled, heads).mean(axis=0) + 0.5 * scaled
    return row.astype(np.float32)


def overlay(image: np.ndarray, weights: np.ndarray, alpha: float = 0.65) -> np.ndarray:
    """``weights`` (``[rows, cols]``, stretched to 0-1) in the sequential colours over the
    network's input image (``[1, C, H, W]`` or ``[H, W]``) in grey: RGBA ``[H, W, 4]``, each
    patch a block."""
    picture = np.asarray(image, np.float32)
    while picture.ndim > 2:
        picture = picture.mean(axis=0) if picture.ndim == 3 else picture[0]
    height, width = picture.shape
    lo, hi = float(np.nanmin(picture)), float(np.nanmax(picture))
    grey = (picture - lo) / (hi - lo) if hi > lo else np.zeros_like(picture)
    rows, cols = weights.shape
    blocks = weights[np.arange(height) * rows // height][:, np.arange(width) * cols // width]
    colours = colorize(stretched(blocks), (0.0, 1.0), None, SEQUENTIAL)[..., :3]
    mixed = alpha * colours + (1 - alpha) * 255.0 * grey[..., None]
    rgba = np.empty((height, width, 4), np.uint8)
    rgba[..., :3] = np.clip(mixed, 0, 255)
    rgba[..., 3] = 255
    return rgba


def token_labels(network_input: np.ndarray, tokens: int, grid: PatchGrid | None) -> list[str]:
    """What each token is called on the axes: ``cls``, ``r2 c5`` for an image's patches; the
    position and id (``3:42``) for token ids; else its position."""
    x = np.asarray(network_input)
    if grid is not None:
        names = ["cls", "dist", "tok2", "tok3"][: grid.first]
        return names + [f"r{r} c{c}" for r in range(grid.rows) for c in range(grid.cols)]
    if x.ndim == 2 and np.issubdtype(x.dtype, np.integer) and x.shape[-1] == tokens:
        return [f"{i}:{int(t)}" for i, t in enumerate(x[0])]
    return [str(i) for i in range(tokens)]
