"""The diverging colour map of every heatmap, applied in numpy so that the worker can do it.

Colouring on the worker thread leaves the GUI thread nothing to do but show an RGBA image,
which pyqtgraph does without a per-frame lookup-table conversion.
"""

from __future__ import annotations

import math

import numpy as np

# Blue (negative) → near-white (zero) → red (positive), after colorcet's CET-D1.
ANCHORS = np.array(
    [
        [0.0, 33, 81, 212],
        [0.25, 120, 140, 226],
        [0.5, 236, 236, 236],
        [0.75, 226, 128, 108],
        [1.0, 189, 24, 30],
    ],
    dtype=np.float64,
)
LUT_SIZE = 256


def lookup_table(size: int = LUT_SIZE) -> np.ndarray:
    """``size × 4`` uint8 RGBA table interpolated between the anchors."""
    x = np.linspace(0.0, 1.0, size)
    rgb = [np.interp(x, ANCHORS[:, 0], ANCHORS[:, c]) for c in (1, 2, 3)]
    table = np.stack([*rgb, np.full(size, 255.0)], axis=1)
    return np.round(table).astype(np.uint8)


LUT = lookup_table()
_PACKED = np.ascontiguousarray(LUT).view(np.uint32).ravel()  # one RGBA pixel per element


NAN_RGBA = (255, 0, 255, 255)  # magenta: a value that is NaN
POS_INF_RGBA = (255, 235, 59, 255)  # yellow: +Inf
NEG_INF_RGBA = (0, 229, 255, 255)  # cyan: -Inf


def _pack(rgba: tuple[int, int, int, int]) -> np.uint32:
    return np.array([rgba], np.uint8).view(np.uint32)[0, 0]


def colorize(
    image: np.ndarray,
    levels: tuple[float, float],
    gaps: np.ndarray | None = None,
    lut: np.ndarray = LUT,
) -> np.ndarray:
    """Float image → ``H × W × 4`` uint8 RGBA; values outside ``levels`` saturate.

    NaN, +Inf and -Inf get colours of their own (magenta, yellow, cyan) so that they are never
    mistaken for a value; ``gaps`` (True between tiles) are transparent. A zero-width
    ``levels`` (a constant tensor) is widened, so the tensor shows flat, never as 0/0.
    """
    lo, hi = float(levels[0]), float(levels[1])
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    values = np.asarray(image, np.float32)
    top = len(lut) - 1
    with np.errstate(over="ignore", invalid="ignore"):  # overflow saturates, NaN is handled
        index = values - np.float32(lo)
        index *= np.float32(top / (hi - lo))
    # fmax/fmin return the operand that is not NaN: they clip and send NaN to 0 in two passes,
    # with no mask (these images have NaN between every tile).
    np.fmax(index, 0, out=index)
    np.fmin(index, top, out=index)
    packed = _PACKED if lut is LUT else np.ascontiguousarray(lut).view(np.uint32).ravel()
    # one gather of 32-bit pixels, not four of bytes; uint8 indices are an eighth of intp's
    pixels = packed.take(index.astype(np.uint8 if top <= 255 else np.intp))
    plain = np.isfinite(values)
    if gaps is not None:
        plain |= gaps
    if not plain.all():
        special = ~plain
        pixels[special & np.isnan(values)] = _pack(NAN_RGBA)
        pixels[special & np.isposinf(values)] = _pack(POS_INF_RGBA)
        pixels[special & np.isneginf(values)] = _pack(NEG_INF_RGBA)
    if gaps is not None:
        pixels[gaps] = 0  # transparent
    return pixels.view(np.uint8).reshape(*pixels.shape, 4)


def nice_bound(value: float) -> float:
    """Round a positive level up to 1, 2, 2.5 or 5 × 10^k, so auto levels move in steps."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        bound = step * 10.0**exponent
        if bound >= value * (1 - 1e-9):
            return bound
    return 10.0 ** (exponent + 1)
