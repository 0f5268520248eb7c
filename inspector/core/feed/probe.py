"""Reading each input of a user's forward from what first consumes it.

A forward with several arguments (``forward(x, mask)``) or a dict (``forward(batch)`` reading
``batch["image"]``) says nothing of its inputs but its code. Each unknown input is fed as a
probe, a one-element tensor that stops the forward where it is first consumed: by a module
whose weights say the shape (a Linear, Conv, Embedding, RNN, attention or norm layer), by an
op with a known tensor (``x * mask.unsqueeze(-1)``: the mask is shaped like ``x``), or by a
string key (a dict). Simple shape ops on the way (``unsqueeze``, ``[:, None]``, ``view``,
``permute``, dtype casts) are undone to get the input's own shape. The forward runs again
with that input known, until it runs through: one run per input, under ``no_grad``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_flatten

from inspector.core.feed.named import ModelInputs, NamedInput, call_arguments, forward_parameters
from inspector.core.forward.capture import module_hooks, set_training
from inspector.core.model.inputs import IMAGE, SEQUENCE_LENGTH, TENSOR, InputSpec, make_input

# Arguments that hold one value per sample (a timestep, a class label, a length).
SCALAR_NAMES = {"t", "timestep", "timesteps", "time", "times", "sigma", "sigmas", "noise_level",
                "step", "steps", "label", "labels", "y", "cls", "class_id", "class_ids",
                "classes", "cond", "condition", "length", "lengths", "lens"}  # fmt: skip
_SAME_SHAPE = {"float", "double", "half", "long", "int", "bool", "to", "type", "contiguous",
               "clone", "detach", "__neg__", "neg", "abs", "relu", "sigmoid", "tanh", "exp",
               "log", "sqrt", "__invert__", "bitwise_not", "logical_not", "type_as"}  # fmt: skip
_BOOLEAN = {"__invert__", "bitwise_not", "logical_not", "logical_and", "logical_or", "__and__",
            "__or__", "masked_fill", "masked_fill_", "where", "masked_select"}  # fmt: skip
_ELEMENTWISE = {"mul", "__mul__", "__rmul__", "add", "__add__", "__radd__", "sub", "__sub__",
                "__rsub__", "div", "__truediv__", "__rtruediv__", "__and__", "__or__",
                "logical_and", "logical_or"}  # fmt: skip
_PASSING = {"_pack_padded_sequence", "pack_padded_sequence", "index_select", "dropout"}
MAX_RUNS = 12


class _Need(Exception):
    """The forward stopped at the first use of input ``name``: it needs ``spec`` (or a dict)."""

    def __init__(self, name: str, spec: InputSpec | None = None, is_dict: bool = False) -> None:
        super().__init__(name)
        self.name, self.spec, self.is_dict = name, spec, is_dict


class _Stuck(Exception):
    """The probe of input ``name`` met an op that does not say what it should be."""

    def __init__(self, name: str, op: str = "") -> None:
        super().__init__(f"{name}: {op}" if op else name)
        self.name = name


def _is_mask(name: str) -> bool:
    return "mask" in name.split(".")[-1].lower()


def _scalar(name: str) -> bool:
    return name.split(".")[-1].lower() in SCALAR_NAMES


def _float_dtype(tensor: torch.Tensor | None) -> str:
    if isinstance(tensor, torch.Tensor) and tensor.dtype.is_floating_point:
        return str(tensor.dtype).removeprefix("torch.")
    return "float32"


class _Probe(torch.Tensor):
    _name: str
    _ops: tuple

    @staticmethod
    def __new__(cls, name: str, ops: tuple = ()):
        probe = torch.Tensor._make_subclass(cls, torch.zeros(1))
        probe._name, probe._ops = name, ops
        return probe

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name == "__get__" or name in ("dim", "size", "__repr__", "__format__"):
            with torch._C.DisableTorchFunctionSubclass():
                return func(*args, **kwargs)
        flat, _ = tree_flatten((args, kwargs))
        probes = [a for a in flat if isinstance(a, _Probe)]
        known = [a for a in flat if isinstance(a, torch.Tensor) and not isinstance(a, _Probe)]
        probe = probes[0]
        if name == "__getitem__" and isinstance(args[1], str):
            raise _Need(probe._name, is_dict=True)
        consumed = _functional_spec(name, args, probe)
        if consumed is not None:
            raise _need(probe, consumed)
        if name in _PASSING and args and args[0] is probe:
            return probe  # a packed sequence goes on to the RNN that reads it
        boolean = name in _BOOLEAN and _is_mask(probe._name)
        if known:
            like = max(known, key=lambda t: t.dim())
            if boolean or (name in ("masked_fill", "masked_fill_", "where") and _is_mask(
                    probe._name)):  # fmt: skip
                spec = InputSpec(tuple(like.shape), TENSOR, dtype="bool", fill=1.0)
            else:
                dtype = _float_dtype(like)
                fill = 1.0 if _is_mask(probe._name) else None
                spec = InputSpec(tuple(like.shape), TENSOR, dtype=dtype, fill=fill)
            raise _need(probe, spec)
        if boolean and not probe._ops:
            raise _Stuck(probe._name)
        if len(probes) > 1 and name in _ELEMENTWISE:
            return probe  # probes only: the first one's shape goes on
        if len(probes) == 1 and _undoable(name, args, kwargs):
            return _Probe(probe._name, (*probe._ops, (name, args[1:], kwargs)))
        raise _Stuck(probe._name, name)


def _undoable(name: str, args: tuple, kwargs: dict) -> bool:
    if name in _SAME_SHAPE or name in ("unsqueeze", "view", "reshape", "permute", "transpose",
                                       "flatten"):  # fmt: skip
        return True
    return name == "__getitem__" and _index_parts(args[1]) is not None


def _index_parts(index) -> list | None:
    parts = index if isinstance(index, tuple) else (index,)
    if all(p is None or p is Ellipsis or p == slice(None) for p in parts):
        return list(parts)
    return None


def _undo(ops: tuple, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape an input had before ``ops`` made it ``shape`` (None when that is unknown)."""
    shape = list(shape)
    for name, args, kwargs in reversed(ops):
        if name in _SAME_SHAPE:
            continue
        if name == "unsqueeze":
            dim = args[0] if args else kwargs.get("dim", 0)
            del shape[dim if dim >= 0 else len(shape) + dim]
        elif name == "__getitem__":
            parts = _index_parts(args[0])
            if Ellipsis in parts:
                return None
            parts = parts + [slice(None)] * (len(shape) - len(parts))
            shape = [d for d, p in zip(shape, parts, strict=False) if p is not None]
        elif name in ("view", "reshape", "flatten"):
            shape = [1, max(1, math.prod(shape) // max(1, shape[0]))]
        elif name == "permute":
            dims = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            back = [0] * len(dims)
            for i, d in enumerate(dims):
                back[d] = shape[i]
            shape = back
        elif name == "transpose":
            a, b = args[:2]
            shape[a], shape[b] = shape[b], shape[a]
        else:
            return None
    return tuple(shape) if shape else (1,)


def _need(probe: _Probe, spec: InputSpec) -> _Need:
    shape = _undo(probe._ops, spec.shape)
    if shape is None:
        return _Stuck(probe._name, probe._ops[-1][0])
    kind = spec.kind if shape == spec.shape else TENSOR
    if kind == TENSOR and len(shape) == 4 and shape[1] in (1, 3, 4) and not spec.is_integer:
        kind = IMAGE
    spec = InputSpec(shape, kind, dtype=spec.dtype, high=spec.high, fill=spec.fill,
                     source="what first consumes it")  # fmt: skip
    return _Need(probe._name, spec)


def _functional_spec(name: str, args: tuple, probe: _Probe) -> InputSpec | None:
    if len(args) < 2 or args[0] is not probe or not isinstance(args[1], torch.Tensor):
        return None
    weight = args[1]
    if name == "linear":
        return InputSpec((1, weight.shape[1]), TENSOR, dtype=_float_dtype(weight))
    if name in ("conv1d", "conv2d", "conv3d"):
        return _conv(int(name[4]), weight.shape[1], weight)
    if name == "embedding":
        return _ids(probe._name, weight.shape[0])
    return None


def _conv(rank: int, channels: int, weight: torch.Tensor) -> InputSpec:
    side = {1: (64,), 2: (32, 32) if channels == 1 else (64, 64), 3: (16, 32, 32)}[rank]
    kind = IMAGE if rank == 2 and channels in (1, 3, 4) else TENSOR
    return InputSpec((1, channels, *side), kind, dtype=_float_dtype(weight))


def _ids(name: str, high: int) -> InputSpec:
    shape = (1,) if _scalar(name) else (1, SEQUENCE_LENGTH)
    return InputSpec(shape, TENSOR, dtype="int64", high=int(high))


def _sequence(width: int, batch_first: bool, weight) -> InputSpec:
    shape = (1, SEQUENCE_LENGTH, width) if batch_first else (SEQUENCE_LENGTH, 1, width)
    return InputSpec(shape, TENSOR, dtype=_float_dtype(weight))


def module_spec(module: nn.Module, name: str = "") -> InputSpec | None:
    """What ``module`` takes as its first argument, read from its weights and settings."""
    kind = type(module).__name__
    weight = getattr(module, "weight", None)
    if kind == "Linear":
        return InputSpec((1, module.in_features), TENSOR, dtype=_float_dtype(weight))
    if kind in ("Conv1d", "Conv2d", "Conv3d"):
        return _conv(int(kind[4]), module.in_channels, weight)
    if kind in ("Embedding", "EmbeddingBag"):
        return _ids(name, module.num_embeddings)
    if kind in ("RNN", "GRU", "LSTM"):
        return _sequence(module.input_size, module.batch_first, next(module.parameters(), None))
    if kind == "MultiheadAttention":
        return _sequence(module.embed_dim, module.batch_first, module.in_proj_weight)
    if kind in ("TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
                "TransformerDecoder", "Transformer"):  # fmt: skip
        attention = next((m for m in module.modules() if isinstance(m, nn.MultiheadAttention)),
                         None)  # fmt: skip
        if attention is not None:
            return module_spec(attention)
    if kind == "LayerNorm":
        return InputSpec((1, *module.normalized_shape), TENSOR, dtype=_float_dtype(weight))
    if kind == "BatchNorm1d":
        return InputSpec((1, module.num_features), TENSOR, dtype=_float_dtype(weight))
    if kind == "BatchNorm2d":
        return _conv(2, module.num_features, weight)
    return None


class _ProbeDict(dict):
    """A dict argument: a key read for the first time is a new probe."""

    def __init__(self, name: str, known: dict[str, InputSpec], tensors: dict) -> None:
        super().__init__()
        self._name, self._known, self._tensors = name, known, tensors

    def __missing__(self, key):
        full = f"{self._name}.{key}"
        value = self._tensors.get(full)
        if value is None:
            value = _Probe(full)
        self[key] = value
        return value

    def get(self, key, default=None):
        return self[key]

    def __contains__(self, key) -> bool:
        return True


def read_inputs(model: nn.Module, known: dict[str, InputSpec] | None = None) -> ModelInputs | None:
    """Every input of ``model``'s forward read from what consumes it (``known``: inputs already
    settled, kept), the first argument the main one; None when a probe gets stuck or the
    forward fails for another reason."""
    params = forward_parameters(model)
    if not params:
        return None
    required = [p for p in params if p.default is p.empty]
    known = dict(known or {})
    dicts: set[str] = set()
    order: list[str] = []
    guessed: set[str] = set()
    for _ in range(MAX_RUNS):
        tensors = {n: torch.from_numpy(make_input(s, _BLANK)) for n, s in known.items()}
        tensors = {n: t.to(_dtype(known[n])) for n, t in tensors.items()}
        call_args: list[Any] = []
        call_kwargs: dict[str, Any] = {}
        for p in required:
            value = (_ProbeDict(p.name, known, tensors) if p.name in dicts
                     else tensors.get(p.name, _Probe(p.name)))  # fmt: skip
            if p.kind == p.KEYWORD_ONLY:
                call_kwargs[p.name] = value
            else:
                call_args.append(value)
        try:
            _run(model, call_args, call_kwargs)
        except _Need as need:
            if need.is_dict:
                dicts.add(need.name)
            else:
                known[need.name] = need.spec
                order.append(need.name)
            continue
        except Exception as exc:
            unread = [p.name for p in required if p.name not in known and p.name not in dicts]
            if isinstance(exc, _Stuck):  # only that one: the others may still be read
                unread = [exc.name]
            unread = [n for n in unread if n not in guessed]
            if not unread:  # every input read, if not every size: settle may find it
                return _as_inputs(required, known, order)
            for name in unread:
                first = name == required[0].name
                spec = _first_layer_guess(model) if first else None
                known[name] = spec or _guess(name, known)
                guessed.add(name)
            continue
        return _as_inputs(required, known, order)
    return None


def _first_layer_guess(model: nn.Module) -> InputSpec | None:
    """The first argument as its first telling layer says (the one-input reading)."""
    from inspector.core.model.input_inference import model_input_spec

    return model_input_spec(model)


_LENGTHS = {"length", "lengths", "lens", "seq_len", "seq_lens", "seq_lengths", "lengths_"}


def _guess(name: str, known: dict[str, InputSpec]) -> InputSpec:
    """An input nothing said anything of: a sequence's lengths are the whole sequence (packed
    RNNs); any other is shaped like the first float input read (a pair: siamese, contrastive),
    else one number."""
    if name.split(".")[-1].lower() in _LENGTHS:
        sequence = next((s for s in known.values() if len(s.shape) >= 2), None)
        length = SEQUENCE_LENGTH
        if sequence is not None:
            length = sequence.shape[1] if sequence.shape[0] == 1 else sequence.shape[0]
        return InputSpec((1,), TENSOR, dtype="int64", high=length + 1, fill=float(length),
                         source="the sequence's whole length")  # fmt: skip
    like = next((s for s in known.values() if not s.is_integer and s.fill is None), None)
    if like is not None:
        return InputSpec(like.shape, like.kind, dtype=like.dtype, source="like the first input")
    return InputSpec((1,), TENSOR, source="one number (nothing says more)")


def _dtype(spec: InputSpec) -> torch.dtype:
    return getattr(torch, spec.dtype)


_BLANK = torch.zeros(32, 32).numpy()


def _run(model: nn.Module, args: list, kwargs: dict) -> None:
    def pre(module: nn.Module, margs: Any) -> None:
        flat, _ = tree_flatten(margs)
        probe = next((a for a in flat if isinstance(a, _Probe)), None)
        if probe is not None and module is not model:
            spec = module_spec(module, probe._name)
            if spec is not None:
                raise _need(probe, spec)

    was_training = model.training
    set_training(model, False)
    try:
        with torch.no_grad(), module_hooks(model, pre, lambda *a: None):
            model(*args, **kwargs)
    finally:
        set_training(model, was_training)


def _as_inputs(required, known: dict[str, InputSpec], order: list[str]) -> ModelInputs | None:
    items = []
    for p in required:
        names = [n for n in known if n == p.name or n.startswith(p.name + ".")]
        if not names:  # never used: the forward ran without it
            names = [p.name]
            known[p.name] = InputSpec((1,), TENSOR, source="unused by the forward")
        positional = p.kind != p.KEYWORD_ONLY
        items += [NamedInput(n, known[n], positional=positional) for n in names]
    if not items:
        return None
    images = [i.name for i in items if i.spec.kind == IMAGE]
    primary = images[0] if images else next(
        (i.name for i in items if not i.spec.fill), items[0].name)  # fmt: skip
    return ModelInputs(tuple(items), primary)


def probe_call(model: nn.Module, inputs: ModelInputs) -> tuple[tuple, dict]:
    """The arguments ``inputs`` give the forward (for tests and checks)."""
    tensors = {
        i.name: torch.from_numpy(make_input(i.spec, _BLANK, seed=i.seed)) for i in inputs.inputs
    }
    return call_arguments(inputs, tensors)
