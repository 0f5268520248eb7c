"""Turning an arbitrary grey image into a canvas drawing (ink = 1 on a 0 background)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def to_drawing(grey: np.ndarray, size: int = 32) -> np.ndarray:
    """A 0-255 or 0-1 grey image of any size → a ``size × size`` 0-1 drawing, ink bright.

    Photos and scans usually have dark ink on light paper: when the border is brighter than
    the middle the image is inverted, so the digit becomes bright ink as in MNIST.
    """
    image = np.asarray(grey, dtype=np.float32)
    if image.ndim != 2 or min(image.shape) < 1:
        raise ValueError(f"expected a 2-D grey image, got shape {tuple(image.shape)}")
    if not np.isfinite(image).all():
        raise ValueError("the image contains NaN or Inf values")
    if image.max() > 1.0:
        image = image / 255.0
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    if border.mean() > 0.5:
        image = 1.0 - image
    t = torch.from_numpy(np.ascontiguousarray(image))[None, None]
    # Fit the longer side, keep the aspect ratio, centre on the square canvas.
    h, w = image.shape
    scale = size / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    resized = F.interpolate(t, size=(new_h, new_w), mode="bilinear", antialias=True)[0, 0]
    drawing = np.zeros((size, size), np.float32)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    drawing[top : top + new_h, left : left + new_w] = resized.clamp(0, 1).numpy()
    return drawing
