"""What a model takes as input, and how the canvas (or a random tensor) becomes that input:
the input spec, its dtypes, random and typed ids, and the array the model gets. Reading the
spec from the model itself is ``core.input_inference``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from inspector.core.model.preprocess import preprocess_drawing

MNIST, IMAGE, TENSOR = "mnist", "image", "tensor"

SEQUENCE_LENGTH = 16  # token ids fed to a sequence model when nothing says how many
DEFAULT_ID_BOUND = 10  # ids in [0, 10) for an integer input nothing bounds

# Canonical dtype names (``torch.<name>``) and what a person may type for them.
_DTYPES = {
    "float32": ("float32", "float", "single", "f32", "fp32"),
    "float64": ("float64", "double", "f64", "fp64"),
    "float16": ("float16", "half", "f16", "fp16"),
    "bfloat16": ("bfloat16", "bf16"),
    "int64": ("int64", "long", "i64"),
    "int32": ("int32", "int", "i32"),
    "int16": ("int16", "short", "i16"),
    "int8": ("int8", "i8"),
    "uint8": ("uint8", "byte", "u8"),
    "bool": ("bool", "boolean"),
}
_ALIASES = {alias: name for name, aliases in _DTYPES.items() for alias in aliases}


def parse_dtype(text: str | torch.dtype | None) -> str | None:
    """``"long"`` → ``"int64"``, ``"float"`` → ``"float32"``, ``torch.half`` → ``"float16"``;
    None or blank → None. Raises ValueError (one sentence listing the choices) otherwise."""
    if text is None:
        return None
    if isinstance(text, torch.dtype):
        text = str(text)
    key = str(text).strip().lower().removeprefix("torch.")
    if not key:
        return None
    if key not in _ALIASES:
        raise ValueError(
            f"input dtype {text!r}: use one of {', '.join(_DTYPES)} (or long, int, float, double, "
            "half)"
        )
    return _ALIASES[key]


def torch_dtype(name: str) -> torch.dtype:
    """``"int64"`` → ``torch.int64`` (for a canonical name from ``parse_dtype``)."""
    return getattr(torch, parse_dtype(name) or "float32")


def is_integer_dtype(name: str) -> bool:
    dtype = torch_dtype(name)
    return not dtype.is_floating_point and not dtype.is_complex


@dataclass(frozen=True)
class InputSpec:
    """``shape`` with batch; ``kind``: MNIST (the LeNet's preprocessing), IMAGE (the drawing
    resampled to H×W and copied to every channel), TENSOR (a random tensor of the shape: normal
    floats, or for an integer ``dtype`` ids in ``[0, high)``)."""

    shape: tuple[int, ...]
    kind: str
    normalise: bool = True  # IMAGE: map 0-1 ink to -1..1, as (x - 0.5) / 0.5
    dtype: str = "float32"  # a canonical name from ``parse_dtype``: "float32", "int64", ...
    high: int | None = None  # integer inputs: the exclusive upper bound of the ids (vocab size)
    source: str = ""  # where the shape came from: "config.image_size", "the first Conv2d", ...
    fill: float | None = None  # every value this (an attention mask's ones), not random
    first: int | None = None  # integer ids: the first one (a decoder's start token)
    last: int | None = None  # integer ids: the last one (the end-of-sequence id mBART counts)

    @property
    def is_integer(self) -> bool:
        return is_integer_dtype(self.dtype)

    @property
    def id_bound(self) -> int:
        """The exclusive upper bound random or typed ids must stay below."""
        if self.dtype == "bool":
            return 2
        return self.high if self.high is not None else DEFAULT_ID_BOUND

    def fed(self) -> str:
        """What the network gets, in a few words: ``16 random token ids in [0, 1000)``,
        ``a 1×3×96×96 float32 image``."""
        dims = "×".join(map(str, self.shape))
        if self.is_integer:
            count = int(np.prod(self.shape))
            what = "token ids" if self.high is not None else "integers"
            return f"{count} random {what} in [0, {self.id_bound}) (shape {dims}, {self.dtype})"
        if self.kind in (MNIST, IMAGE):
            return f"a {dims} {self.dtype} image made from the drawing"
        return f"a random {dims} {self.dtype} tensor"

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
        if self.is_integer:
            return (
                f"This model takes integer ids, not an image: it gets {self.fed()}; Random draws "
                "new ones. The canvas is not used."
            )
        return (
            f"This model takes a {dims} tensor, not an image: it gets a random tensor of that "
            "shape (Random draws a new one). The canvas is not used."
        )


LENET_INPUT = InputSpec((1, 1, 32, 32), MNIST)  # the tutorial's LeNet: the drawing, MNIST-style


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


def with_overrides(
    spec: InputSpec, shape: tuple[int, ...] | None = None, dtype: str | None = None
) -> InputSpec:
    """``spec`` with a new shape and/or dtype (as an Input dialog edits it)."""
    dtype = parse_dtype(dtype) or spec.dtype
    shape = tuple(shape) if shape is not None else spec.shape
    kind = spec.kind
    if is_integer_dtype(dtype) or (
        kind == IMAGE and not (len(shape) == 4 and shape[1] in (1, 3, 4))
    ):
        kind = TENSOR
    elif kind == MNIST and shape != (1, 1, 32, 32):
        kind = IMAGE if len(shape) == 4 and shape[1] in (1, 3, 4) else TENSOR
    return replace(spec, shape=shape, dtype=dtype, kind=kind, source="given")


def random_ids(spec: InputSpec, seed: int) -> np.ndarray:
    """Seeded random integers in ``[0, spec.id_bound)`` of the spec's shape and dtype."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, spec.id_bound, spec.shape, generator=generator, dtype=torch.int64)
    if ids.ndim and ids.shape[-1]:
        if spec.last is not None:
            ids[..., -1] = spec.last
        if spec.first is not None:
            ids[..., 0] = spec.first
    return ids.to(torch_dtype(spec.dtype)).numpy()


def random_input(spec: InputSpec, seed: int) -> np.ndarray:
    """A seeded random input: ids for integer specs, standard normal floats otherwise (a fill
    where the spec has one)."""
    if spec.fill is not None:
        return np.full(spec.shape, spec.fill).astype(_numpy_dtype(spec.dtype))
    if spec.is_integer:
        return random_ids(spec, seed)
    generator = torch.Generator().manual_seed(seed)
    values = torch.randn(*spec.shape, generator=generator)
    return values.numpy().astype(_numpy_dtype(spec.dtype), copy=False)


def _numpy_dtype(name: str) -> np.dtype:
    """numpy has no bfloat16: such inputs travel as float32 and are cast by ``to_tensor``."""
    return np.dtype(np.float32) if name == "bfloat16" else np.dtype(name)


def parse_ids(text: str, spec: InputSpec) -> np.ndarray:
    """Ids typed by a person (``"5 17 3"``, ``"5,17,3"``, ``"[5, 17, 3]"``) as an array of
    the spec's shape; raises ValueError (one sentence) for anything that would not fit."""
    parts = [p for p in re.split(r"[\s,;\[\]()]+", text or "") if p]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        bad = next(p for p in parts if not re.fullmatch(r"[+-]?\d+", p))
        raise ValueError(f"token ids: {bad!r} is not a whole number") from None
    ids = np.asarray(values, dtype=np.int64)
    if ids.size and ids.size == int(np.prod(spec.shape[1:])) and spec.shape[0] == 1:
        ids = ids.reshape(spec.shape)
    return validate_raw_input(ids, spec)


def validate_raw_input(raw: np.ndarray, spec: InputSpec) -> np.ndarray:
    """A raw input checked against ``spec`` and cast to its dtype; raises ValueError in one
    sentence when its shape differs, or (integer inputs) a value is fractional or out of range."""
    array = np.asarray(raw)
    dims = "×".join(map(str, spec.shape))
    if tuple(array.shape) != spec.shape:
        got = "×".join(map(str, array.shape)) or "a single number"
        raise ValueError(f"the input must be {dims} ({int(np.prod(spec.shape))} values), got {got}")
    if not spec.is_integer:
        return array.astype(_numpy_dtype(spec.dtype))
    if array.dtype.kind == "f" and not np.all(np.isfinite(array) & (array == np.round(array))):
        raise ValueError("token ids must be whole numbers")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"token ids must be numbers, got {array.dtype}")
    if array.size:
        lo, hi = int(array.min()), int(array.max())
        if lo < 0 or hi >= spec.id_bound:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"token id {bad} is outside [0, {spec.id_bound}): the model's vocabulary has "
                f"{spec.id_bound} entries"
            )
    return array.astype(_numpy_dtype(spec.dtype))


def make_input(
    spec: InputSpec, drawing: np.ndarray, raw: np.ndarray | None = None, seed: int = 0
) -> np.ndarray:
    """The array the model gets: ``raw`` if given (and the right size), else from the drawing
    (images) or seeded random values (everything else: ids in range for integer inputs).

    A ``raw`` of the right shape is validated (``validate_raw_input``): out-of-range ids raise
    ValueError rather than an index error deep in an embedding."""
    if raw is not None and tuple(np.shape(raw)) == spec.shape:
        return validate_raw_input(raw, spec)
    if spec.fill is not None:
        return np.full(spec.shape, spec.fill).astype(_numpy_dtype(spec.dtype))
    if spec.is_integer:
        return random_ids(spec, seed)
    if spec.kind == MNIST:
        image = preprocess_drawing(drawing)
    elif spec.kind == IMAGE:
        _, channels, height, width = spec.shape
        ink = torch.from_numpy(np.clip(np.nan_to_num(np.asarray(drawing, np.float32)), 0, 1))
        resampled = F.interpolate(
            ink[None, None],
            size=(height, width),
            mode="bilinear",
            antialias=True,
            align_corners=False,
        )
        if spec.normalise:
            resampled = (resampled - 0.5) / 0.5
        image = resampled.expand(spec.shape[0], channels, height, width).contiguous().numpy()
    else:
        return random_input(spec, seed)
    return image.astype(_numpy_dtype(spec.dtype), copy=False)


def to_tensor(
    array: np.ndarray, spec: InputSpec, device: torch.device | str = "cpu"
) -> torch.Tensor:
    """The network input as a tensor of the spec's dtype on ``device`` (bfloat16 included),
    never sharing memory with ``array``: a model that normalises its input in place
    (``x.sub_(0.5)``) must not change the array shown as the network's input, or a stored
    input it was made from."""
    tensor = torch.from_numpy(np.array(array, order="C", copy=True))
    return tensor.to(device=device, dtype=torch_dtype(spec.dtype))


def resample_square(values: np.ndarray, size: int) -> np.ndarray:
    """A map over an H×W input shown on a size×size canvas (the inverse of the resize)."""
    t = torch.from_numpy(np.ascontiguousarray(values, np.float32))[None, None]
    return F.interpolate(t, size=(size, size), mode="bilinear", antialias=True)[0, 0].numpy()
