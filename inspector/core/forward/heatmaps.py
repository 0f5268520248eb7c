"""Tensors → 2-D images for heatmaps: channels tiled into one image, vectors as strips.

One image per layer (all channels tiled, NaN gaps between tiles) is far cheaper to display than
one image item per channel. ``TileLayout.locate`` maps an image pixel back to (tile, y, x).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from inspector.core.display.colormap import colorize

GAP = 1  # pixels of NaN between tiles (shown transparent)
MAX_STRIP = 1024  # a longer vector wraps into rows of this many values
MAX_SIDE = 2048  # a larger image is shown with every k-th pixel (painting huge images crashes)


@dataclass(frozen=True)
class TileLayout:
    """``count`` tiles of ``height × width`` in a ``rows × cols`` grid with ``GAP`` between."""

    count: int
    rows: int
    cols: int
    height: int
    width: int

    @property
    def shape(self) -> tuple[int, int]:
        return (
            self.rows * self.height + (self.rows - 1) * GAP,
            self.cols * self.width + (self.cols - 1) * GAP,
        )

    def tile(self, tiles: np.ndarray) -> np.ndarray:
        """``[count, height, width]`` → one float32 image with NaN gaps."""
        image = np.full(self.shape, np.nan, dtype=np.float32)
        # The image seen as [rows, height, cols, width] (gaps skipped by the strides): one
        # strided copy for all full rows of tiles, one for the last row, not one per tile.
        step_y, step_x = image.strides
        grid = np.lib.stride_tricks.as_strided(
            image,
            (self.rows, self.height, self.cols, self.width),
            (step_y * (self.height + GAP), step_y, step_x * (self.width + GAP), step_x),
            writeable=True,
        )
        tiles = np.asarray(tiles)[: self.count]
        full, rest = divmod(len(tiles), self.cols)
        shape = (self.height, self.width)
        grid[:full] = tiles[: full * self.cols].reshape(full, self.cols, *shape).swapaxes(1, 2)
        if rest:
            grid[full, :, :rest] = tiles[full * self.cols :].swapaxes(0, 1)
        return image

    def gap_mask(self) -> np.ndarray | None:
        """True on the pixels between (and after the last of) the tiles; None without gaps."""
        return None if self.rows == self.cols == 1 else _gap_mask(self)

    def locate(self, row: int, col: int) -> tuple[int, int, int] | None:
        """Image pixel → ``(tile index, y, x)`` inside that tile, or None on a gap or outside."""
        r, y = divmod(int(row), self.height + GAP)
        c, x = divmod(int(col), self.width + GAP)
        if row < 0 or col < 0 or y >= self.height or x >= self.width:
            return None
        if r >= self.rows or c >= self.cols:
            return None
        index = r * self.cols + c
        return (index, y, x) if index < self.count else None


@functools.lru_cache(maxsize=256)  # a live view asks for the same few layouts every frame
def _gap_mask(layout: TileLayout) -> np.ndarray:
    mask = np.ones(layout.shape, dtype=bool)
    for i in range(layout.count):
        r, c = divmod(i, layout.cols)
        y, x = r * (layout.height + GAP), c * (layout.width + GAP)
        mask[y : y + layout.height, x : x + layout.width] = False
    mask.flags.writeable = False
    return mask


def grid_for(count: int, height: int, width: int, rows: int | None = None) -> TileLayout:
    """A wide grid (panels are wider than tall): 6 → 1×6, 16 → 2×8, 64 → 4×16."""
    if rows is None:
        rows = max(1, round(math.sqrt(count / 4)))
    rows = min(rows, count) if count else 1
    cols = max(1, math.ceil(count / rows))
    return TileLayout(count, rows, cols, height, width)


@dataclass(frozen=True)
class Heatmap:
    """A tensor as a 2-D image, and how its pixels map back to the tensor."""

    image: np.ndarray  # float32 (H, W), NaN in the gaps
    layout: TileLayout
    kind: str  # "strip" (a vector), "image" (2-d), "channels" (C tiles), "kernels" (out × in)
    stride: int = 1  # the image shows every stride-th pixel of the full picture
    length: int = 0  # for a wrapped vector ("strip" taller than one row): how many values
    group: int = 0  # "kernels": input channels per output channel (0: one row per output)

    def describe(self, row: int, col: int) -> str | None:
        """``ch 3 (12, 7)`` or ``[41]`` for the pixel, or None off the data."""
        where = self.layout.locate(row * self.stride, col * self.stride)
        if where is None:
            return None
        tile, y, x = where
        if self.kind == "strip":
            index = y * self.layout.width + x
            return f"[{index}]" if not self.length or index < self.length else None
        if self.kind == "image":
            return f"({y}, {x})"
        if self.kind == "wrapped":  # a long matrix cut into chunks along its long side
            if self.layout.cols == 1:  # wide: column chunks stacked top to bottom
                y, x = y, tile * self.layout.width + x
            else:  # tall: row chunks side by side
                y, x = tile * self.layout.height + y, x
            return f"({y}, {x})" if (x if self.layout.cols == 1 else y) < self.length else None
        if self.kind == "kernels":
            out_ch, in_ch = divmod(tile, self.group or self.layout.cols)
            return f"out {out_ch}, in {in_ch} ({y}, {x})"
        return f"ch {tile} ({y}, {x})"

    def gaps(self) -> np.ndarray | None:
        """True where the image is padding, not data (shown transparent)."""
        if self.kind == "strip" and self.length:
            mask = np.arange(self.layout.height * self.layout.width) >= self.length
            mask = mask.reshape(self.layout.height, self.layout.width)
        elif self.kind == "wrapped":
            mask = _wrapped_mask(self.layout, self.length)
        else:
            mask = self.layout.gap_mask()
        if mask is None:
            return None
        return np.ascontiguousarray(mask[:: self.stride, :: self.stride])

    def colorize(self, levels: tuple[float, float]) -> np.ndarray:
        """RGBA at ``levels``, with padding transparent and NaN/Inf in their own colours."""
        return colorize(self.image, levels, self.gaps())

    @property
    def is_strip(self) -> bool:
        """A one-row strip (a wrapped long vector is shown as an image)."""
        return self.kind == "strip" and self.image.shape[0] == 1


def is_strip_shape(shape: tuple[int, ...]) -> bool:
    """Whether ``tensor_heatmap`` shows an array of this (unbatched) shape as a one-row strip
    (``Heatmap.is_strip``), known without tiling it."""
    if len(shape) == 2 and shape[0] == 1:  # a [1, N] row reads as a vector
        shape = shape[1:]
    return len(shape) <= 1 and math.prod(shape) <= MAX_STRIP


def first_sample(array: np.ndarray) -> np.ndarray:
    """What ``activation_heatmap`` shows of a batched activation: its first sample; nothing
    (an empty vector) for an empty batch, such as a detector's boxes when it found none."""
    if array.ndim < 2:
        return array
    return array[0] if array.shape[0] else np.zeros(0, array.dtype)


def activation_heatmap(array: np.ndarray) -> Heatmap:
    """The first sample of a batched activation as a heatmap.

    ``[N, C, H, W]`` → C tiles; ``[N, F]`` → a strip; ``[N, L, D]`` → one L×D image.
    """
    return tensor_heatmap(first_sample(np.asarray(array, dtype=np.float32)))


def tensor_heatmap(data: np.ndarray, rows: int | None = None) -> Heatmap:
    """An unbatched tensor as a heatmap: 0-d/1-d → strip, 2-d → image, 3-d → tiles, 4-d+ → grid."""
    return _bounded(_tensor_heatmap(np.asarray(data, dtype=np.float32), rows))


def _bounded(heatmap: Heatmap) -> Heatmap:
    """Every k-th pixel of an image too large to paint (the values stay readable by hover)."""
    side = max(heatmap.image.shape)
    if side <= MAX_SIDE:
        return heatmap
    stride = math.ceil(side / MAX_SIDE)
    image = np.ascontiguousarray(heatmap.image[::stride, ::stride])
    return Heatmap(image, heatmap.layout, heatmap.kind, stride, heatmap.length, heatmap.group)


def _tensor_heatmap(data: np.ndarray, rows: int | None) -> Heatmap:
    if data.ndim <= 1:
        flat = data.reshape(-1)
        if flat.size <= MAX_STRIP:
            strip = flat.reshape(1, -1)
            return Heatmap(strip, TileLayout(1, 1, 1, 1, strip.shape[1]), "strip")
        height = math.ceil(flat.size / MAX_STRIP)  # wrap: rows of MAX_STRIP values
        wrapped = np.full(height * MAX_STRIP, np.nan, np.float32)
        wrapped[: flat.size] = flat
        layout = TileLayout(1, 1, 1, height, MAX_STRIP)
        return Heatmap(wrapped.reshape(height, MAX_STRIP), layout, "strip", 1, flat.size)
    if data.ndim == 2:
        if data.shape[0] == 1:  # a [1, N] row reads as a vector
            return _tensor_heatmap(data[0], rows)
        if max(data.shape) > MAX_STRIP and max(data.shape) / min(data.shape) > WRAP_ASPECT:
            return _wrapped(data)
        return Heatmap(data.copy(), TileLayout(1, 1, 1, *data.shape), "image")
    if data.ndim == 3:
        layout = grid_for(data.shape[0], data.shape[1], data.shape[2], rows)
        return Heatmap(layout.tile(data), layout, "channels")
    # [out, in, kh, kw(, ...)]: one row per output channel, one column per input channel.
    out_ch, in_ch = data.shape[:2]
    if in_ch == 1:  # one kernel per output channel: a near-square grid fills the panel
        flat = data.reshape(out_ch, data.shape[2], -1)
        square = max(1, round(math.sqrt(out_ch)))
        layout = grid_for(out_ch, flat.shape[1], flat.shape[2], rows or square)
        return Heatmap(layout.tile(flat), layout, "channels")
    tiles = data.reshape(out_ch * in_ch, data.shape[2], -1)
    layout = kernel_grid(out_ch, in_ch, tiles.shape[1], tiles.shape[2])
    return Heatmap(layout.tile(tiles), layout, "kernels", group=in_ch)


WRAP_ASPECT = 16  # a matrix longer than this (and than MAX_STRIP) is cut into chunks


def _wrapped(data: np.ndarray) -> Heatmap:
    """A very long matrix (``[16, 50257]`` sequence logits, ``[50257, 768]`` embeddings) cut
    along its long side into chunks tiled near-square, instead of a one-pixel line."""
    short, long = sorted(data.shape)
    chunk = max(1, math.ceil(math.sqrt(long * (short + GAP))))
    count = math.ceil(long / chunk)
    wide = data.shape[1] > data.shape[0]
    matrix = data if wide else data.T
    padded = np.full((short, count * chunk), np.nan, np.float32)
    padded[:, :long] = matrix
    tiles = padded.reshape(short, count, chunk).transpose(1, 0, 2)  # [count, short, chunk]
    if wide:
        layout = TileLayout(count, count, 1, short, chunk)
    else:
        tiles = tiles.transpose(0, 2, 1)  # [count, chunk, short]
        layout = TileLayout(count, 1, count, chunk, short)
    return Heatmap(layout.tile(tiles), layout, "wrapped", length=long)


@functools.lru_cache(maxsize=64)
def _wrapped_mask(layout: TileLayout, length: int) -> np.ndarray:
    mask = _gap_mask(layout).copy()
    last = layout.count - 1
    if layout.cols == 1:  # the tail of the last column chunk
        used = length - last * layout.width
        y = last * (layout.height + GAP)
        mask[y : y + layout.height, used:] = True
    else:
        used = length - last * layout.height
        x = last * (layout.width + GAP)
        mask[used:, x : x + layout.width] = True
    mask.flags.writeable = False
    return mask


KERNEL_ASPECT = 3.0  # one row per output channel while the picture is at most this far from square


def _aspect(layout: TileLayout) -> float:
    """How far the picture is from square: 1 for a square, 4 for 4:1 either way."""
    height, width = layout.shape
    return max(height / width, width / height)


def kernel_grid(out_ch: int, in_ch: int, height: int, width: int) -> TileLayout:
    """The grid for ``out_ch × in_ch`` kernels of ``height × width``, tiled in order (output
    channel major), so that every output channel's kernels stay together and in order.

    One row per output channel (a column per input channel) where that picture is within
    ``KERNEL_ASPECT`` of square: it reads best. Otherwise the columns are a multiple of
    ``in_ch`` (several output channels per row: ``[64, 3, 7, 7]`` → 8 per row) or a divisor of
    it (each output channel over several rows: ``[8, 512, 3, 3]``), whichever is nearest square.
    """
    count = out_ch * in_ch

    def layout(cols: int) -> TileLayout:
        return TileLayout(count, max(1, math.ceil(count / cols)), cols, height, width)

    simple = layout(in_ch)
    if _aspect(simple) <= KERNEL_ASPECT:
        return simple
    candidates = {in_ch * m for m in range(1, out_ch + 1)}
    candidates |= {d for d in range(1, in_ch + 1) if in_ch % d == 0}
    return min((layout(c) for c in candidates), key=lambda g: (_aspect(g), g.cols))


# Values that levels are estimated from, over all the arrays together. Measured on the shared
# scale of six random inputs (Intel Xeon, 1 torch thread): 16,384 values gave the same rounded
# bound as 65,536 on LeNet and ResNet-50 (6 of 6 each), in 0.27 ms against 0.69 (median) for
# ResNet-50's 48 steps.
SAMPLE = 16_384


def _spaced(array: np.ndarray, budget: int) -> np.ndarray:
    """Up to ``budget`` evenly spaced values: levels need a percentile, not every value."""
    flat = np.asarray(array, np.float32).ravel()
    return flat[:: -(-flat.size // budget)] if flat.size > budget else flat


def finite_range(
    arrays: list[np.ndarray],
    symmetric: bool = True,
    percentile: float = 100.0,
    sample: int = SAMPLE,
) -> tuple[float, float]:
    """Levels over the finite values (NaN/Inf ignored); never an empty range.

    ``percentile`` < 100 (symmetric only) ignores the largest magnitudes, so that ten big logits
    do not wash out thousands of small convolution outputs on a shared scale.
    """
    budget = max(256, sample // max(1, len(arrays)))  # 48 steps share it, not 48 × it
    values = np.concatenate([_spaced(a, budget) for a in arrays] or [np.zeros(0, np.float32)])
    values = values[np.isfinite(values)]  # once for all the arrays: 48 masks cost ~0.3 ms
    if values.size == 0:  # nothing finite at all
        return (-1.0, 1.0)
    if symmetric:
        magnitude = np.abs(values)
        bound = float(np.percentile(magnitude, percentile) if percentile < 100 else magnitude.max())
        return (-bound, bound) if bound > 0 else (-1.0, 1.0)
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-12:
        return (lo - 0.5, hi + 0.5)
    return (lo, hi)


def any_heatmap(array: np.ndarray) -> Heatmap:
    """A gradient or tensor of any shape: a leading batch of one is dropped (activations),
    otherwise the tensor is shown as it is (weights, biases, matrices)."""
    data = np.asarray(array, dtype=np.float32)
    if data.ndim >= 2 and data.shape[0] == 1:
        return activation_heatmap(data)
    return tensor_heatmap(data)


def picture(values: np.ndarray) -> tuple[Heatmap, np.ndarray]:
    """Any tensor as a heatmap and its RGBA at its own finite range (gradients, saved tensors)."""
    heatmap = any_heatmap(values)
    return heatmap, heatmap.colorize(finite_range([heatmap.image]))
