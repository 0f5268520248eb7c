"""Every input a model states, before anything is guessed: a ``.pt2``'s example inputs, the
Hugging Face conventions, and the inputs given on the command line (``--input NAME=SHAPE``),
around the main input ``input_inference`` settled."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from inspector.core.feed.named import (
    ModelInputs,
    NamedInput,
    forward_parameters,
    given_spec,
    single,
)
from inspector.core.model.inputs import IMAGE, TENSOR, InputSpec, parse_dtype


def example_inputs(model: nn.Module, examples: Sequence[torch.Tensor]) -> ModelInputs | None:
    """A ``torch.export`` program's example inputs (shapes and dtypes), named by its forward;
    None when they are not all tensors."""
    if not examples or not all(isinstance(t, torch.Tensor) for t in examples):
        return None
    params = forward_parameters(model) or []
    names = [p.name for p in params][: len(examples)]
    names += [f"input{i}" for i in range(len(names), len(examples))]
    items = []
    for name, tensor in zip(names, examples, strict=True):
        dtype = parse_dtype(tensor.dtype) or "float32"
        shape = tuple(tensor.shape) or (1,)
        integer = not tensor.dtype.is_floating_point
        high = int(tensor.max()) + 1 if integer and tensor.numel() else None
        image = not integer and len(shape) == 4 and shape[1] in (1, 3, 4)
        spec = InputSpec(shape, IMAGE if image else TENSOR, dtype=dtype,
                         high=max(high, 2) if high else None,
                         source="the archive's example input")  # fmt: skip
        items.append(NamedInput(name, spec, positional=True))
    images = [i.name for i in items if i.spec.kind == IMAGE]
    return ModelInputs(tuple(items), images[0] if images else items[0].name)


def stated_inputs(
    model: nn.Module,
    main: InputSpec,
    given: Sequence[tuple[str, tuple[int, ...], str | None]] = (),
    examples: ModelInputs | None = None,
) -> ModelInputs:
    """The model's inputs: a ``.pt2``'s examples, else the Hugging Face conventions, else
    ``main`` alone as the forward's first argument; then each ``given`` (name, shape, dtype)
    set or added."""
    from inspector.core.feed.hf import hf_inputs

    inputs = examples or hf_inputs(model, main)
    if inputs is None:
        params = forward_parameters(model)
        first = params[0].name if params else "x"
        keyword = bool(params) and params[0].kind == params[0].KEYWORD_ONLY
        inputs = single(main, first)
        if keyword:
            inputs = ModelInputs((NamedInput(first, main),), first)
    for name, shape, dtype in given:
        inputs = with_given(model, inputs, name, shape, dtype)
    return inputs


def with_given(
    model: nn.Module, inputs: ModelInputs, name: str, shape: tuple[int, ...], dtype: str | None
) -> ModelInputs:
    """``inputs`` with input ``name`` set to ``shape``/``dtype`` (added if new: a dict key as
    ``batch.image``). Raises ValueError for a name the forward does not take."""
    old = inputs.get(name)
    spec = given_spec(shape, dtype, old.spec if old is not None else None)
    if old is not None:
        return inputs.with_spec(name, spec)
    params = {p.name: p for p in forward_parameters(model) or []}
    argument = name.split(".", 1)[0]
    if params and argument not in params:
        raise ValueError(
            f"--input {name}: the forward takes no {argument!r} (it takes "
            f"{', '.join(params) or 'nothing'})"
        )
    param = params.get(argument)
    positional = param is not None and param.kind != param.KEYWORD_ONLY
    if param is not None and param.default is not param.empty:
        positional = False  # an optional argument goes by name, after the others
    items = list(inputs.inputs)
    if "." in name and argument in {i.name for i in items}:
        items = [i for i in items if i.name != argument]  # a guess at the whole argument
    items.append(NamedInput(name, spec, positional=positional))
    order = list(params)
    items.sort(key=lambda i: (not i.positional, _index(order, i.argument)))
    names = {i.name for i in items}
    primary = inputs.primary if inputs.primary in names else name
    return ModelInputs(tuple(items), primary)


def _index(order: list[str], name: str) -> int:
    return order.index(name) if name in order else len(order)
