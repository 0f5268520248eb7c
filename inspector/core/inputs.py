"""What a model takes as input, and how the canvas (or a random tensor) becomes that input.

The input is read from the model itself before anything is guessed: a Hugging Face model says
``main_input_name`` and carries ``config.image_size``, ``num_channels``, ``vocab_size`` and
``max_position_embeddings``; a timm model carries ``pretrained_cfg["input_size"]``; a torchvision
ViT its ``image_size``. Only then does the first telling layer decide (a first ``nn.Embedding``
means integer ids). Shapes come from weight tensors, so traced TorchScript works as scripted does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .preprocess import preprocess_drawing

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


_TELLING = (
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "Linear",
    "Embedding",
    "EmbeddingBag",
    "TransformerEncoderLayer",
    "MultiheadAttention",
)


def _kind(module: nn.Module) -> str:
    """The class name, also for TorchScript submodules (which keep it as ``original_name``)."""
    return getattr(module, "original_name", None) or type(module).__name__


def _first_telling_layer(model: nn.Module) -> nn.Module | None:
    for module in model.modules():
        if _kind(module) in _TELLING:
            return module
    return None


def _weight_dim(module: nn.Module, name: str, dim: int) -> int | None:
    """``module.<name>.shape[dim]``: traced TorchScript keeps weights but not ``in_channels``."""
    tensor = getattr(module, name, None)
    if isinstance(tensor, torch.Tensor) and tensor.ndim > dim:
        return int(tensor.shape[dim])
    return None


def _conv_in_channels(module: nn.Module) -> int | None:
    channels = getattr(module, "in_channels", None)
    if isinstance(channels, int):
        return channels
    per_group = _weight_dim(module, "weight", 1)
    groups = getattr(module, "groups", 1)
    return None if per_group is None else per_group * (groups if isinstance(groups, int) else 1)


def _pair(value) -> tuple[int, int] | None:
    """``96`` → ``(96, 96)``; ``[224, 320]`` → ``(224, 320)``; anything else → None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) >= 2:
        h, w = value[-2], value[-1]
        if isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0:
            return (h, w)
    return None


def _positive_int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _first_embedding(model: nn.Module) -> nn.Module | None:
    for module in model.modules():
        if _kind(module) in ("Embedding", "EmbeddingBag"):
            return module
    return None


def _embedding_size(module: nn.Module | None) -> int | None:
    if module is None:
        return None
    return _positive_int(getattr(module, "num_embeddings", None)) or _weight_dim(
        module, "weight", 0
    )


def _token_spec(vocab: int | None, limit: int | None, source: str) -> InputSpec:
    length = min(SEQUENCE_LENGTH, limit) if limit else SEQUENCE_LENGTH
    return InputSpec((1, length), TENSOR, dtype="int64", high=vocab, source=source)


def _from_hugging_face(model: nn.Module) -> InputSpec | None:
    config = getattr(model, "config", None)
    main = getattr(model, "main_input_name", None)
    if config is None or not isinstance(main, str):
        return None
    get = lambda *names: next(  # noqa: E731 - the first attribute the config has
        (getattr(config, n) for n in names if getattr(config, n, None) is not None), None
    )
    if main == "pixel_values":
        channels = _positive_int(get("num_channels")) or 3
        size = _pair(get("image_size"))
        source = "config.image_size" if size else "the usual 224×224 (the config names no size)"
        height, width = size or (224, 224)
        return InputSpec((1, channels, height, width), IMAGE, source=source)
    if main == "input_ids":
        vocab = _positive_int(get("vocab_size")) or _embedding_size(_first_embedding(model))
        limit = _positive_int(get("max_position_embeddings", "n_positions", "n_ctx"))
        return _token_spec(vocab, limit, "config.vocab_size")
    if main == "input_values":  # raw audio (wav2vec2, HuBERT): one second at 16 kHz
        return InputSpec((1, 16000), TENSOR, source="the usual one second at 16 kHz")
    if main == "input_features":  # log-mel features (Whisper): the length it was built for
        bins = _positive_int(get("num_mel_bins", "feature_size")) or 80
        positions = _positive_int(get("max_source_positions"))
        frames = 2 * positions if positions else 3000
        return InputSpec((1, bins, frames), TENSOR, source="config.num_mel_bins")
    return None


def _from_attributes(model: nn.Module) -> InputSpec | None:
    """timm's ``pretrained_cfg["input_size"]`` (C, H, W); torchvision ViT's ``image_size``."""
    for name in ("pretrained_cfg", "default_cfg"):
        cfg = getattr(model, name, None)
        size = cfg.get("input_size") if isinstance(cfg, dict) else None
        if (
            isinstance(size, (tuple, list))
            and len(size) == 3
            and all(_positive_int(s) for s in size)
        ):
            return InputSpec((1, *map(int, size)), IMAGE, source=f'{name}["input_size"]')
    size = _pair(getattr(model, "image_size", None))
    if size is not None:
        conv = next((m for m in model.modules() if _kind(m) == "Conv2d"), None)
        channels = (_conv_in_channels(conv) if conv is not None else None) or 3
        return InputSpec((1, channels, *size), IMAGE, source="the model's image_size")
    return None


def _from_first_layer(model: nn.Module) -> InputSpec | None:
    first = _first_telling_layer(model)
    kind = _kind(first) if first is not None else ""
    source = f"the first {kind}"
    if kind in ("Conv1d", "Conv2d", "Conv3d"):
        channels = _conv_in_channels(first)
        if channels is None:
            return None
        if kind == "Conv1d":
            return InputSpec((1, channels, 64), TENSOR, source=source)
        if kind == "Conv3d":
            return InputSpec((1, channels, 16, 32, 32), TENSOR, source=source)
        side = 32 if channels == 1 else 64
        shape = (1, channels, side, side)
        return InputSpec(shape, IMAGE if channels in (1, 3, 4) else TENSOR, source=source)
    if kind == "Linear":
        features = _positive_int(getattr(first, "in_features", None)) or _weight_dim(
            first, "weight", 1
        )
        return None if features is None else InputSpec((1, features), TENSOR, source=source)
    if kind in ("Embedding", "EmbeddingBag"):
        return _token_spec(_embedding_size(first), None, source)
    if kind == "TransformerEncoderLayer":
        width = _weight_dim(getattr(first, "self_attn", None), "in_proj_weight", 1) or getattr(
            getattr(first, "self_attn", None), "embed_dim", None
        )
        return None if width is None else InputSpec((1, 16, width), TENSOR, source=source)
    if kind == "MultiheadAttention":
        width = _positive_int(getattr(first, "embed_dim", None)) or _weight_dim(
            first, "in_proj_weight", 1
        )
        return None if width is None else InputSpec((1, 16, width), TENSOR, source=source)
    return None


def model_input_spec(model: nn.Module) -> InputSpec | None:
    """What the model itself says it takes (Hugging Face config, timm/torchvision attributes,
    then its first telling layer), or None when nothing says."""
    model = getattr(model, "_orig_mod", model)  # a torch.compile'd module: read the original
    return _from_hugging_face(model) or _from_attributes(model) or _from_first_layer(model)


def infer_input_spec(
    model: nn.Module,
    shape: tuple[int, ...] | None = None,
    mnist: bool = False,
    dtype: str | None = None,
) -> InputSpec:
    """The input ``model`` takes: ``shape`` and ``dtype`` where given, the rest from what the
    model says (``model_input_spec``). Image-like float shapes use the canvas; integer inputs
    get random ids below the model's vocabulary (first embedding) size.

    Raises ValueError (one sentence) when neither the caller nor the model says the shape.
    """
    dtype = parse_dtype(dtype)
    found = model_input_spec(model)
    if shape is None:
        if found is None:
            raise ValueError(
                "cannot tell what input this model takes: give --input-shape (and --input-dtype "
                "long for token ids)"
            )
        shape, source = found.shape, found.source
    else:
        shape, source = tuple(int(d) for d in shape), "given"
    dtype = dtype or (found.dtype if found is not None else "float32")
    if is_integer_dtype(dtype):
        high = found.high if found is not None and found.is_integer else None
        high = high or _embedding_size(_first_embedding(getattr(model, "_orig_mod", model)))
        return InputSpec(shape, TENSOR, dtype=dtype, high=high, source=source)
    if mnist and shape == (1, 1, 32, 32):
        return InputSpec(shape, MNIST, dtype=dtype, source=source)
    if len(shape) == 4 and shape[1] in (1, 3, 4):
        return InputSpec(shape, IMAGE, dtype=dtype, source=source)
    return InputSpec(shape, TENSOR, dtype=dtype, source=source)


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
    return ids.to(torch_dtype(spec.dtype)).numpy()


def random_input(spec: InputSpec, seed: int) -> np.ndarray:
    """A seeded random input: ids for integer specs, standard normal floats otherwise."""
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
    """The network input as a tensor of the spec's dtype on ``device`` (bfloat16 included)."""
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    return tensor.to(device=device, dtype=torch_dtype(spec.dtype))


_SIZE_HINTS = (
    # transformers ViT: "Input image size (64*64) doesn't match model (96*96)."
    (re.compile(r"doesn't match model \((\d+)\s*\*\s*(\d+)\)"), "image"),
    # torchvision ViT: "Wrong image height! Expected 224 but got 64!"
    (re.compile(r"Wrong image (?:height|width)! Expected (\d+)"), "square"),
)


def _suggested_shape(spec: InputSpec, message: str) -> tuple[int, ...] | None:
    if len(spec.shape) != 4:
        return None
    for pattern, form in _SIZE_HINTS:
        match = pattern.search(message)
        if match:
            h = int(match.group(1))
            w = int(match.group(2)) if form == "image" else h
            return (*spec.shape[:2], h, w)
    return None


def _how_chosen(source: str) -> str:
    """``given`` → ``as given``; what the model says → ``read from …``; a layer → ``guessed…``."""
    if source == "given":
        return "as given"
    if source.startswith("the first "):
        return f"guessed from {source}"
    if source.startswith("the usual "):
        return f"guessed as {source}"
    return f"read from {source}"


def explain_forward_failure(spec: InputSpec, exc: BaseException, name: str = "the model") -> str:
    """One sentence for a forward that rejected ``spec``'s input: what was fed (shape, dtype,
    where that came from), the model's complaint, and how to choose another input."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    complaint = lines[0] if lines else "(no message)"
    if len(complaint) > 200:
        complaint = complaint[:197] + "…"
    complaint = complaint.rstrip(".!")
    source = f", {_how_chosen(spec.source)}" if spec.source else ""
    fed = "×".join(map(str, spec.shape))
    message = str(exc)
    hints = []
    suggested = _suggested_shape(spec, message)
    if suggested is not None:
        hints.append(f"--input-shape {','.join(map(str, suggested))}")
    elif not spec.is_integer and re.search(r"indices|Long, Int|Embedding|index_select", message):
        hints.append(f"--input-shape {','.join(map(str, spec.shape[:2]))} --input-dtype long")
    how = (
        f"try {hints[0]}, or set the input in the Input dialog"
        if hints
        else "choose the input with --input-shape and --input-dtype, or in the Input dialog"
    )
    return (
        f"{name} rejected its input, a {fed} {spec.dtype} tensor{source}, with "
        f"{type(exc).__name__}: {complaint}; {how}."
    )


def resample_square(values: np.ndarray, size: int) -> np.ndarray:
    """A map over an H×W input shown on a size×size canvas (the inverse of the resize)."""
    t = torch.from_numpy(np.ascontiguousarray(values, np.float32))[None, None]
    return F.interpolate(t, size=(size, size), mode="bilinear", antialias=True)[0, 0].numpy()
