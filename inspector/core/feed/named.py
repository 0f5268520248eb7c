"""Models with several inputs: every input by name, and the hook that lets the rest of the
app keep calling ``model(x)`` with the main input alone.

A ``ModelInputs`` lists the inputs (``x``, ``mask``, ``input_ids``, ``batch.image`` for a dict's
key) and names the main one: the input the drawing, typed token ids or a raw array feed. The
others get seeded random values (or a fill: an attention mask's ones, a decoder's start token).
``bind`` puts a forward pre-hook on the model that turns ``model(x)`` into the full call, so
capture, backward, the saliency and training need no change: the hook adds the other inputs
(repeated along the batch for a batch of several) on the main input's device.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from inspector.core.model.inputs import (
    IMAGE,
    TENSOR,
    InputSpec,
    is_integer_dtype,
    make_input,
    parse_dtype,
    parse_shape,
    to_tensor,
)

_BLANK = np.zeros((32, 32), np.float32)


@dataclass(frozen=True)
class NamedInput:
    name: str  # the forward's argument ("mask"), or "argument.key" for a key of a dict argument
    spec: InputSpec
    seed: int = 0  # which random values; Re-roll draws another
    positional: bool = False  # passed by position (in order), else as a keyword

    @property
    def argument(self) -> str:
        return self.name.split(".", 1)[0]

    def describe(self, main: bool = True) -> str:
        """``mask: 1×16 float32, all ones``."""
        dims = "×".join(map(str, self.spec.shape))
        spec = self.spec
        if spec.fill is not None:
            what = (
                f"all {spec.fill:g}"
                if spec.fill not in (0, 1)
                else ("all zeros", "all ones")[int(spec.fill)]
            )
        elif spec.is_integer:
            what = f"random ids in [0, {spec.id_bound})"
            if spec.first is not None:
                what += f", starting with {spec.first}"
        elif spec.kind == IMAGE and main:
            what = "the drawing"
        else:
            what = "random values"
        return f"{self.name}: {dims} {spec.dtype}, {what}"


@dataclass(frozen=True)
class ModelInputs:
    """Every input of a model, the main one named by ``primary``."""

    inputs: tuple[NamedInput, ...]
    primary: str
    # kept out of equality: arrays a person set for the other inputs (name → values)
    values: dict[str, np.ndarray] = field(default_factory=dict, compare=False, hash=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs)

    @property
    def main(self) -> NamedInput:
        return next(i for i in self.inputs if i.name == self.primary)

    @property
    def others(self) -> tuple[NamedInput, ...]:
        return tuple(i for i in self.inputs if i.name != self.primary)

    @property
    def plain(self) -> bool:
        """One input passed by position: ``model(x)`` needs no hook."""
        return len(self.inputs) == 1 and self.main.positional and "." not in self.primary

    def get(self, name: str) -> NamedInput | None:
        return next((i for i in self.inputs if i.name == name), None)

    def with_spec(self, name: str, spec: InputSpec) -> ModelInputs:
        inputs = tuple(replace(i, spec=spec) if i.name == name else i for i in self.inputs)
        values = {k: v for k, v in self.values.items() if k != name}
        return replace(self, inputs=inputs, values=values)

    def rerolled(self, name: str, seed: int) -> ModelInputs:
        inputs = tuple(replace(i, seed=seed) if i.name == name else i for i in self.inputs)
        values = {k: v for k, v in self.values.items() if k != name}
        return replace(self, inputs=inputs, values=values)

    def array(self, name: str) -> np.ndarray:
        """The values input ``name`` gets (the main input's come from the request instead)."""
        given = self.values.get(name)
        item = self.get(name)
        spec = item.spec if name == self.primary else replace(item.spec, kind=TENSOR)
        return make_input(spec, _BLANK, given, item.seed)  # the drawing feeds the main one

    def describe(self) -> str:
        return "; ".join(i.describe(i.name == self.primary) for i in self.inputs)


def single(spec: InputSpec, name: str = "x") -> ModelInputs:
    return ModelInputs((NamedInput(name, spec, positional=True),), name)


# -- the call -------------------------------------------------------------------------------
def call_arguments(inputs: ModelInputs, tensors: dict[str, Any]) -> tuple[tuple, dict]:
    """``(args, kwargs)`` for the forward: positional inputs in order, the others by keyword,
    a dict argument's keys gathered into one dict."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    holders: dict[str, dict] = {}
    for item in inputs.inputs:
        value = tensors[item.name]
        argument, _, key = item.name.partition(".")
        if key:
            holder = holders.get(argument)
            if holder is None:
                holder = holders[argument] = {}
                if item.positional:
                    args.append(holder)
                else:
                    kwargs[argument] = holder
            holder[key] = value
        elif item.positional:
            args.append(value)
        else:
            kwargs[item.name] = value
    return tuple(args), kwargs


class Feeder:
    """The hook ``bind`` installs: ``model(x)`` → the model's full call."""

    def __init__(self, inputs: ModelInputs) -> None:
        self.inputs = inputs
        self._cache: dict[tuple, torch.Tensor] = {}

    def set(self, inputs: ModelInputs) -> None:
        self.inputs = inputs
        self._cache.clear()

    def other(self, item: NamedInput, device: torch.device, batch: int) -> torch.Tensor:
        key = (item.name, str(device))
        tensor = self._cache.get(key)
        if tensor is None:
            with torch.inference_mode(False):  # made in one forward, kept for backward too
                tensor = to_tensor(self.inputs.array(item.name), item.spec, device)
            self._cache[key] = tensor
        if batch != tensor.shape[0] and tensor.ndim and tensor.shape[0] == 1:
            return tensor.expand(batch, *tensor.shape[1:])
        return tensor

    def __call__(self, module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict] | None:
        if len(args) != 1 or kwargs or not isinstance(args[0], torch.Tensor):
            return None  # a call the model makes itself, or already complete
        x = args[0]
        batch = int(x.shape[0]) if x.ndim else 1
        main_batch = self.inputs.main.spec.shape[0] if self.inputs.main.spec.shape else 1
        tensors = {self.inputs.primary: x}
        for item in self.inputs.others:
            tensors[item.name] = self.other(item, x.device, batch if batch != main_batch else 1)
        return call_arguments(self.inputs, tensors)


_ATTRIBUTE = "_net_inspector_feeder"


def bind(model: nn.Module, inputs: ModelInputs) -> None:
    """Make ``model(x)`` (x: the main input) call the model with every input; undone for a
    plain one-input model."""
    feeder: Feeder | None = model.__dict__.get(_ATTRIBUTE)
    if inputs.plain:
        if feeder is not None:
            feeder.handle.remove()
            del model.__dict__[_ATTRIBUTE]
        return
    if feeder is not None:
        feeder.set(inputs)
        return
    if isinstance(model, torch.jit.ScriptModule):
        raise ValueError("a TorchScript model with several inputs cannot be inspected yet")
    feeder = Feeder(inputs)
    feeder.handle = model.register_forward_pre_hook(feeder, with_kwargs=True, prepend=True)
    model.__dict__[_ATTRIBUTE] = feeder


def bound(model: nn.Module) -> ModelInputs | None:
    feeder = model.__dict__.get(_ATTRIBUTE)
    return None if feeder is None else feeder.inputs


def reseed(model: nn.Module | None, seeds: dict[str, int]) -> ModelInputs | None:
    """The model's other inputs drawn again from ``seeds`` (name → seed; a name not given goes
    back to seed 0), for the following forwards; None for a model with one input (or none
    here: a remote engine's)."""
    inputs = None if model is None else bound(model)
    if inputs is None:
        return None
    for item in inputs.others:
        inputs = inputs.rerolled(item.name, int(seeds.get(item.name, 0)))
    bind(model, inputs)
    return inputs


def input_flags(inputs: ModelInputs | None) -> tuple[str, ...]:
    """``--input`` texts that open the model with these inputs again (every input, for a
    model with several; none for one plain input)."""
    if inputs is None or inputs.plain:
        return ()
    return tuple(
        f"{i.name}={','.join(map(str, i.spec.shape))}:{i.spec.dtype}" for i in inputs.inputs
    )


def call_model(model: nn.Module, inputs: ModelInputs, main: torch.Tensor) -> Any:
    """The model's output for ``main`` and the other inputs, with or without a hook."""
    if bound(model) is not None or inputs.plain:
        return model(main)
    args, kwargs = Feeder(inputs)(model, (main,), {})
    return model(*args, **kwargs)


# -- the signature --------------------------------------------------------------------------
def forward_parameters(model: nn.Module) -> list[inspect.Parameter] | None:
    """The forward's parameters a caller may fill (not ``*args``/``**kwargs``); None when the
    signature cannot be read (TorchScript, builtins)."""
    forward = getattr(model, "forward", None)
    if isinstance(model, torch.jit.ScriptModule) or forward is None:
        return None
    try:
        signature = inspect.signature(forward)
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
             inspect.Parameter.KEYWORD_ONLY)  # fmt: skip
    return [p for p in signature.parameters.values() if p.kind in kinds]


def required_parameters(model: nn.Module) -> list[str] | None:
    params = forward_parameters(model)
    if params is None:
        return None
    return [p.name for p in params if p.default is inspect.Parameter.empty]


# -- --input NAME=SHAPE[:DTYPE] ----------------------------------------------------------
def parse_input_flag(text: str) -> tuple[str, tuple[int, ...], str | None]:
    """``"mask=1,16:bool"`` → ``("mask", (1, 16), "bool")``; ValueError in one sentence."""
    name, sep, rest = str(text).partition("=")
    name = name.strip()
    if not sep or not name or not rest.strip():
        raise ValueError(f"--input {text!r}: write NAME=SHAPE[:DTYPE], e.g. mask=1,16:bool")
    shape_text, _, dtype_text = rest.partition(":")
    shape = parse_shape(shape_text)
    dtype = parse_dtype(dtype_text) if dtype_text.strip() else None
    return name, shape, dtype


def given_spec(shape: tuple[int, ...], dtype: str | None, like: InputSpec | None) -> InputSpec:
    """The spec of an input given on the command line, keeping what the model said of it
    (the id range, a fill) where the dtype stays the same kind."""
    dtype = dtype or (like.dtype if like is not None else "float32")
    integer = is_integer_dtype(dtype)
    if like is not None and like.is_integer == integer:
        kind = like.kind
        if kind == IMAGE and not (len(shape) == 4 and shape[1] in (1, 3, 4)):
            kind = TENSOR
        return replace(like, shape=tuple(shape), dtype=dtype, kind=kind, source="given")
    kind = IMAGE if not integer and len(shape) == 4 and shape[1] in (1, 3, 4) else TENSOR
    return InputSpec(tuple(shape), kind, dtype=dtype, source="given")
