"""Reading what input a model takes from the model itself, and saying in one sentence why a
forward rejected the input it was given.

The input is read from the model itself before anything is guessed: a Hugging Face model says
``main_input_name`` and carries ``config.image_size``, ``num_channels``, ``vocab_size`` and
``max_position_embeddings``; a timm model carries ``pretrained_cfg["input_size"]``; a torchvision
ViT its ``image_size``. Only then does the first telling layer decide (a first ``nn.Embedding``
means integer ids). Shapes come from weight tensors, so traced TorchScript works as scripted does.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from inspector.core.model.inputs import (
    IMAGE,
    MNIST,
    SEQUENCE_LENGTH,
    TENSOR,
    InputSpec,
    is_integer_dtype,
    parse_dtype,
)

_TELLING = (
    "RNN",
    "GRU",
    "LSTM",
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
    from inspector.core.feed.hf import input_spec, main_input

    main = main_input(model)
    if getattr(model, "config", None) is None or main is None:
        return None
    return input_spec(model, main)


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
    if kind in ("RNN", "GRU", "LSTM"):  # [batch, time, features] or [time, batch, features]
        size = _positive_int(getattr(first, "input_size", None))
        if size is None:
            return None
        first_batch = getattr(first, "batch_first", False) is True
        shape = (1, SEQUENCE_LENGTH, size) if first_batch else (SEQUENCE_LENGTH, 1, size)
        return InputSpec(shape, TENSOR, source=f"{source}'s input_size")
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


def parameter_dtype(model: nn.Module) -> str | None:
    """The floating dtype of the first layer's parameters (``float64`` after ``.double()``).
    The model's own parameters come first in ``parameters()`` but are often an extra added to
    the output (a bf16 bias, say): they count only when it has no layer with any."""
    own = None
    for module in model.modules():
        for tensor in module.parameters(recurse=False):
            if not tensor.dtype.is_floating_point:
                continue
            if module is not model:
                return parse_dtype(tensor.dtype)
            own = own or parse_dtype(tensor.dtype)
    return own


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
    stated = parameter_dtype(getattr(model, "_orig_mod", model))
    if dtype is None and found is not None and not found.is_integer and stated is not None:
        dtype = stated  # a .double() model takes float64
    dtype = dtype or (found.dtype if found is not None else None) or "float32"
    if is_integer_dtype(dtype):
        high = found.high if found is not None and found.is_integer else None
        high = high or _embedding_size(_first_embedding(getattr(model, "_orig_mod", model)))
        ends = {}
        if found is not None and found.is_integer:  # a start or end token the model says
            ends = {"first": found.first, "last": found.last}
        return InputSpec(shape, TENSOR, dtype=dtype, high=high, source=source, **ends)
    if mnist and shape == (1, 1, 32, 32):
        return InputSpec(shape, MNIST, dtype=dtype, source=source)
    if len(shape) == 4 and shape[1] in (1, 3, 4):
        return InputSpec(shape, IMAGE, dtype=dtype, source=source)
    return InputSpec(shape, TENSOR, dtype=dtype, source=source)


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


def candidate_specs(
    spec: InputSpec, message: str, model: nn.Module | None = None
) -> list[InputSpec]:
    """Other inputs a forward's complaint asks for, to be tried: the image size a ViT names,
    token ids where an embedding got floats."""
    from dataclasses import replace

    found = []
    suggested = _suggested_shape(spec, message)
    if suggested is not None:
        found.append(replace(spec, shape=suggested, source="the size the model asked for"))
    if not spec.is_integer and re.search(r"indices|Long, Int|Embedding|index_select", message):
        table = _first_embedding(model) if model is not None else None
        found.append(InputSpec(spec.shape[:2], TENSOR, dtype="int64", high=_embedding_size(table),
                               source="the dtype the model asked for"))  # fmt: skip
    return found


def missing_input_sentence(model: nn.Module, inputs, exc: BaseException) -> str:
    """One sentence naming an input the forward needs that is not fed, and the flag that gives
    it; "" when none is missing."""
    from inspector.core.feed.named import required_parameters

    required = required_parameters(model) or []
    fed = {name.split(".", 1)[0] for name in inputs.names}
    named = re.findall(r"required (?:positional|keyword-only) arguments?: (.+)$", str(exc))
    missing = [n for n in required if n not in fed]
    if named:
        missing += [n for n in re.findall(r"'(\w+)'", named[0]) if n not in missing]
    if not missing:
        return ""
    name = missing[0]
    return (
        f"Its input {name!r} could not be read from the model: give it with "
        f"--input {name}=SHAPE[:DTYPE] (e.g. --input {name}=1,16:float32)."
    )


def explain_forward_failure(
    spec: InputSpec, exc: BaseException, name: str = "the model", hint: str | None = None
) -> str:
    """One sentence for a forward that rejected ``spec``'s input: what was fed (shape, dtype,
    where that came from), the model's complaint, and how to choose another input (``hint``:
    flags a forward has been seen to run with)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    complaint = lines[0] if lines else "(no message)"
    if len(complaint) > 200:
        complaint = complaint[:197] + "…"
    complaint = complaint.rstrip(".!")
    source = f", {_how_chosen(spec.source)}" if spec.source else ""
    fed = "×".join(map(str, spec.shape))
    how = (
        f"it runs with {hint}: try that, or set the input in the Input dialog"
        if hint
        else "choose the input with --input-shape and --input-dtype (--input NAME=SHAPE[:DTYPE] "
        "for each of several inputs), or in the Input dialog"
    )
    return (
        f"{name} rejected its input, a {fed} {spec.dtype} tensor{source}, with "
        f"{type(exc).__name__}: {complaint}; {how}."
    )
