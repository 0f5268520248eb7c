"""Which picture fits an output that is not class scores.

- An output holding as many values as an image input (an autoencoder's or a VAE's
  reconstruction, even flattened to ``[1, 784]``; a UNet's image-to-image output) is drawn as
  the input is, beside it: not as a 784-class top-10 list.
- A single value (an energy, a score, a loss) is that number.

Numpy in, numpy out: the panels only paint what this returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IMAGE = "image"
SCALAR = "scalar"
MIN_SIDE = 4  # an input smaller than this on a side is a tensor, not a picture
GAP = 2  # pixels between the input and the output


@dataclass(frozen=True)
class OutputPicture:
    kind: str  # IMAGE or SCALAR
    text: str  # what the prediction's label says
    rgba: np.ndarray | None = None  # IMAGE: the input | the output, RGBA uint8 [H, 2W + GAP, 4]
    value: float | None = None  # SCALAR: the number


def _as_image(values: np.ndarray) -> np.ndarray:
    """``[C, H, W]`` → ``[H, W, 3]`` in 0..1, stretched to its own finite range: RGB for three
    channels, grey from the first otherwise."""
    shown = values[:3] if values.shape[0] == 3 else values[:1].repeat(3, axis=0)
    shown = np.moveaxis(np.asarray(shown, np.float32), 0, -1)
    finite = shown[np.isfinite(shown)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    scaled = (shown - lo) / (hi - lo) if hi > lo else np.zeros_like(shown)
    return np.nan_to_num(np.clip(scaled, 0.0, 1.0))


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Two ``[C, H, W]`` arrays as one RGBA picture, a transparent gap between them."""
    h, w = left.shape[1:]
    rgba = np.zeros((h, 2 * w + GAP, 4), np.uint8)
    for x0, values in ((0, left), (w + GAP, right)):
        rgba[:, x0 : x0 + w, :3] = np.round(_as_image(values) * 255).astype(np.uint8)
        rgba[:, x0 : x0 + w, 3] = 255
    return rgba


def is_image_input(x: np.ndarray) -> bool:
    """A single ``[1, C, H, W]`` floating-point input with picture-sized sides."""
    x = np.asarray(x)
    return x.ndim == 4 and x.shape[0] == 1 and x.dtype.kind == "f" and min(x.shape[2:]) >= MIN_SIDE


def output_picture(x: np.ndarray, output: np.ndarray, name: str = "output") -> OutputPicture | None:
    """The picture that fits ``output`` for input ``x``, or None when the usual views (bars,
    top-k, positions, a class map, a heatmap) fit it."""
    output = np.asarray(output)
    if output.size == 1:
        value = float(output.reshape(()))
        return OutputPicture(SCALAR, f"{name} = {value:.6g}", value=value)
    if not is_image_input(x) or output.size != np.asarray(x).size:
        return None
    x = np.asarray(x)
    if output.ndim == 4 and output.shape != x.shape:
        return None  # as many values in another layout: a class map, not the input's picture
    shape = "×".join(map(str, output.shape))
    rgba = side_by_side(x[0], output.reshape(x.shape)[0])
    return OutputPicture(IMAGE, f"{name} {shape}: beside the input", rgba=rgba)
