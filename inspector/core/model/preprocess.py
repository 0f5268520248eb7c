"""From a drawing on the 32×32 canvas to the LeNet's input, the way MNIST digits were made.

MNIST: each digit was size-normalised to fit a 20×20 box (keeping its aspect ratio), then placed
in a 28×28 image so that its centre of mass sits at the centre. The tutorial's LeNet takes 32×32,
so the 28×28 image is padded by 2 pixels, then normalised with MNIST's mean and std.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from inspector.core.model.nets import MNIST_MEAN, MNIST_STD

CANVAS_SIZE = 32
INK_THRESHOLD = 0.05  # below this a cell counts as background when finding the bounding box
BOX = 20
FIELD = 28


def normalise(image: np.ndarray) -> np.ndarray:
    """0-1 image → the network's scale (MNIST mean/std)."""
    return ((image - MNIST_MEAN) / MNIST_STD).astype(np.float32)


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
    out = F.interpolate(
        t, size=(height, width), mode="bilinear", antialias=True, align_corners=False
    )
    return out[0, 0].clamp_(0.0, 1.0).numpy()


@dataclass(frozen=True)
class Placement:
    """Where the drawing's ink went: canvas crop origin, scale, and its corner in the field."""

    crop_top: int
    crop_left: int
    scale: float
    top: int
    left: int

    def canvas_to_input(self, y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Canvas cell centres → coordinates in the 32×32 network input (pixel units)."""
        pad = (CANVAS_SIZE - FIELD) // 2
        iy = pad + self.top + (y - self.crop_top + 0.5) * self.scale - 0.5
        ix = pad + self.left + (x - self.crop_left + 0.5) * self.scale - 0.5
        return iy, ix


def fit_to_mnist(drawing: np.ndarray) -> np.ndarray:
    """A 0-1 drawing of any size → a 28×28 0-1 digit, MNIST-style. Empty → all zeros."""
    return _fit(drawing)[0]


def placement(drawing: np.ndarray) -> Placement | None:
    """How ``fit_to_mnist`` moved the drawing (None for an empty canvas)."""
    return _fit(drawing)[1]


def _fit(drawing: np.ndarray) -> tuple[np.ndarray, Placement | None]:
    image = np.nan_to_num(np.asarray(drawing, dtype=np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    image = np.clip(image, 0.0, 1.0)
    field = np.zeros((FIELD, FIELD), np.float32)
    rows = np.flatnonzero(image.max(axis=1) > INK_THRESHOLD)
    cols = np.flatnonzero(image.max(axis=0) > INK_THRESHOLD)
    if rows.size == 0:
        return field, None
    crop = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    digit = _resize(crop, new_h, new_w)
    mass = digit.sum()
    if mass <= 0:
        return field, None
    ys, xs = np.indices(digit.shape)
    cy, cx = (ys * digit).sum() / mass, (xs * digit).sum() / mass
    # Top-left corner that puts the centre of mass at the field's centre, kept inside the field.
    top = int(np.clip(round(FIELD / 2 - 0.5 - cy), 0, FIELD - new_h))
    left = int(np.clip(round(FIELD / 2 - 0.5 - cx), 0, FIELD - new_w))
    field[top : top + new_h, left : left + new_w] = digit
    # The resize maps new_h cells onto h: its effective scale per axis may differ by rounding.
    return field, Placement(
        int(rows[0]), int(cols[0]), new_h / h if h >= w else new_w / w, top, left
    )


def input_map_on_canvas(values: np.ndarray, drawing: np.ndarray) -> np.ndarray:
    """A map over the 32×32 network input (e.g. the input gradient) drawn back onto the canvas,
    undoing the crop, scale and shift of ``preprocess_drawing`` (bilinear sampling)."""
    plane = np.asarray(values, np.float32).reshape(-1, *np.shape(values)[-2:])[0]
    where = placement(drawing)
    if where is None:
        return np.zeros((CANVAS_SIZE, CANVAS_SIZE), np.float32)
    y, x = np.indices((CANVAS_SIZE, CANVAS_SIZE), dtype=np.float32)
    iy, ix = where.canvas_to_input(y, x)
    h, w = plane.shape
    # grid_sample wants [-1, 1] coordinates (align_corners=True: -1 and 1 are pixel centres).
    grid = np.stack([ix / (w - 1) * 2 - 1, iy / (h - 1) * 2 - 1], axis=-1)[None]
    sampled = F.grid_sample(
        torch.from_numpy(plane)[None, None],
        torch.from_numpy(grid.astype(np.float32)),
        mode="bilinear",
        padding_mode="zeros",
        align_corners=True,
    )
    return sampled[0, 0].numpy()


def preprocess_drawing(drawing: np.ndarray) -> np.ndarray:
    """The canvas drawing (0-1, ink = 1) → the LeNet input ``[1, 1, 32, 32]`` float32.

    An empty canvas gives an all-background input (every value ``-mean/std``), never NaN.
    """
    pad = (CANVAS_SIZE - FIELD) // 2
    image = np.pad(fit_to_mnist(drawing), pad)
    return normalise(image)[None, None]
