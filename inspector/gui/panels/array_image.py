"""Small helpers to show a 2-D numpy array as a crisp, nearest-neighbour QImage."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def grey_image(values01: np.ndarray) -> QImage:
    """A 0-1 array → an 8-bit grey QImage (a deep copy, so the array may change afterwards).
    NaN shows black, ±inf as the ends."""
    data = (_clip01(values01) * 255).astype(np.uint8, order="C")  # QImage reads rows in C order
    h, w = data.shape
    return QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def minmax01(values: np.ndarray) -> np.ndarray:
    """Stretch finite values to 0-1 (a constant array shows as mid-grey, never a 0/0)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros_like(values)
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo < 1e-12:
        return np.full_like(values, 0.5)
    return (values - lo) / (hi - lo)


def heat_image(values01: np.ndarray, rgb: tuple[int, int, int] = (255, 70, 50)) -> QImage:
    """A 0-1 map → a translucent colour overlay (alpha follows the value)."""
    alpha = _clip01(values01) * 210
    h, w = alpha.shape
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., :3] = rgb
    rgba[..., 3] = alpha.astype(np.uint8)
    data = np.ascontiguousarray(rgba)
    return QImage(data.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


def _clip01(values: np.ndarray) -> np.ndarray:
    """Clipped to 0-1, NaN to 0 (``fmax`` passes NaN over), ±inf to the ends; a new array."""
    return np.fmin(np.fmax(np.asarray(values), 0.0), 1.0)
