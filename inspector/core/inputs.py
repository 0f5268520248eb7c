"""What a model takes as input, and how the canvas (or a random tensor) becomes that input."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .preprocess import preprocess_drawing

MNIST, IMAGE, TENSOR = "mnist", "image", "tensor"


@dataclass(frozen=True)
class InputSpec:
    """``shape`` with batch; ``kind``: MNIST (the LeNet's preprocessing), IMAGE (the drawing
    resampled to H×W and copied to every channel), TENSOR (a random tensor of the shape)."""

    shape: tuple[int, ...]
    kind: str
    normalise: bool = True  # IMAGE: map 0-1 ink to -1..1, as (x - 0.5) / 0.5

    def describe(self) -> str:
        dims = "×".join(map(str, self.shape))
        if self.kind == MNIST:
            return (
                f"The network gets the drawing, MNIST-style: cropped, fitted to 20×20, centred by "
                f"mass, padded to 32×32, normalised ({dims})."
            )
        if self.kind == IMAGE:
            norm = ", normalised to -1..1" if self.normalise else ""
            return (
                f"The network gets the drawing resampled to {dims}, copied to every channel{norm}."
            )
        return (
            f"This model takes a {dims} tensor, not an image: it gets a random tensor of that "
            "shape (Random draws a new one). The canvas is not used."
        )


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """``"1,3,64,64"`` → ``(1, 3, 64, 64)``; raises ValueError naming the bad part."""
    if text is None or not str(text).strip():
        return None
    parts = [p.strip() for p in str(text).replace("x", ",").split(",") if p.strip()]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"input shape {text!r}: use whole numbers like 1,3,64,64") from None
    if not shape or any(d <= 0 for d in shape):
        raise ValueError(f"input shape {text!r}: every dimension must be positive")
    return shape


_TELLING = ("Conv1d", "Conv2d", "Linear", "TransformerEncoderLayer", "MultiheadAttention")


def _kind(module: nn.Module) -> str:
    """The class name, also for TorchScript submodules (which keep it as ``original_name``)."""
    return getattr(module, "original_name", None) or type(module).__name__


def _first_telling_layer(model: nn.Module) -> nn.Module | None:
    for module in model.modules():
        if _kind(module) in _TELLING:
            return module
    return None


def infer_input_spec(
    model: nn.Module, shape: tuple[int, ...] | None = None, mnist: bool = False
) -> InputSpec:
    """The shape given, or what the model's first layer says; image-like shapes use the canvas."""
    if shape is None:
        first = _first_telling_layer(model)
        kind = _kind(first) if first is not None else ""
        if kind == "Conv2d":
            side = 32 if first.in_channels == 1 else 64
            shape = (1, first.in_channels, side, side)
        elif kind == "Conv1d":
            shape = (1, first.in_channels, 64)
        elif kind == "Linear":
            shape = (1, first.in_features)
        elif kind == "TransformerEncoderLayer":
            shape = (1, 16, first.self_attn.embed_dim)
        elif kind == "MultiheadAttention":
            shape = (1, 16, first.embed_dim)
        else:
            raise ValueError("cannot tell what input this model takes: give --input-shape")
    if mnist and shape == (1, 1, 32, 32):
        return InputSpec(shape, MNIST)
    if len(shape) == 4 and shape[1] in (1, 3, 4):
        return InputSpec(shape, IMAGE)
    return InputSpec(shape, TENSOR)


def random_input(spec: InputSpec, seed: int) -> np.ndarray:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*spec.shape, generator=generator).numpy()


def make_input(
    spec: InputSpec, drawing: np.ndarray, raw: np.ndarray | None = None, seed: int = 0
) -> np.ndarray:
    """The array the model gets: ``raw`` if given (and the right size), else from the drawing
    (images) or a seeded random tensor (everything else)."""
    if raw is not None and tuple(np.shape(raw)) == spec.shape:
        return np.asarray(raw, np.float32)
    if spec.kind == MNIST:
        return preprocess_drawing(drawing)
    if spec.kind == IMAGE:
        _, channels, height, width = spec.shape
        ink = torch.from_numpy(np.clip(np.nan_to_num(np.asarray(drawing, np.float32)), 0, 1))
        image = F.interpolate(
            ink[None, None],
            size=(height, width),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
        if spec.normalise:
            image = (image - 0.5) / 0.5
        return image.expand(spec.shape[0], channels, height, width).contiguous().numpy()
    return random_input(spec, seed)


def resample_square(values: np.ndarray, size: int) -> np.ndarray:
    """A map over an H×W input shown on a size×size canvas (the inverse of the resize)."""
    t = torch.from_numpy(np.ascontiguousarray(values, np.float32))[None, None]
    return F.interpolate(t, size=(size, size), mode="bilinear", antialias=True)[0, 0].numpy()
