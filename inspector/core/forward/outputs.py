"""The tensors in what a model, a module or an op returned: tuples, lists and dicts (a
transformers ``ModelOutput``) walked, each tensor named by where it sits; and their values as
the real numbers a heatmap can show: complex values as their magnitude, quantized ones
dequantized, each with a note saying so (the ``activations`` file keeps complex values as they
are, and dequantizes where numpy has no such dtype)."""

from __future__ import annotations

from typing import Any

import torch

PREFERRED_KEYS = ("logits",)  # a transformers ModelOutput's scores come first, wherever they are


def _dict_items(value: dict) -> list[tuple[Any, Any]]:
    """A dict's items with ``logits`` first (transformers' ``ModelOutput`` puts ``loss`` or
    ``last_hidden_state`` before it), the rest in their order."""
    items = list(value.items())
    first = [kv for key in PREFERRED_KEYS for kv in items if kv[0] == key]
    return first + [kv for kv in items if kv[0] not in PREFERRED_KEYS]


def first_tensor(value: Any) -> torch.Tensor | None:
    """The first tensor in a (possibly nested) output: tuples, lists and dicts are searched
    (a dict's ``logits`` first)."""
    if isinstance(value, torch.Tensor):
        return value
    items = [v for _, v in _dict_items(value)] if isinstance(value, dict) else value
    if isinstance(items, (tuple, list)) or isinstance(value, dict):
        for item in items:
            found = first_tensor(item)
            if found is not None:
                return found
    return None


def tensor_parts(value: Any) -> list[tuple[str, torch.Tensor]]:
    """Every tensor in what an op or module returned, with where it sits: ``""`` for a tensor,
    ``[0]``, ``[1][0]`` in tuples and lists (``torch.max(x, 1)``, an LSTM's ``(out, (h, c))``)."""
    if isinstance(value, torch.Tensor):
        return [("", value)]
    if not isinstance(value, (tuple, list, dict)):
        return []
    return [(name[len("output") :], t) for name, t in named_outputs(value)]


def named_outputs(output: Any) -> list[tuple[str, torch.Tensor]]:
    """Every tensor in an output, named: ``output``, ``output[1]``, ``output['aux']``.

    A dict-like output (a transformers ``ModelOutput``) lists ``logits`` first, so that the
    default output index 0 is the model's scores rather than a loss or hidden state."""
    if isinstance(output, torch.Tensor):
        return [("output", output)]
    found: list[tuple[str, torch.Tensor]] = []

    def walk(value: Any, name: str) -> None:
        if isinstance(value, torch.Tensor):
            found.append((name, value))
        elif isinstance(value, dict):
            for key, item in _dict_items(value):
                walk(item, f"{name}[{key!r}]")
        elif isinstance(value, (tuple, list)):
            for i, item in enumerate(value):
                walk(item, f"{name}[{i}]")

    walk(output, "output")
    return found


def swap_tensors(value: Any, swaps: dict[int, torch.Tensor]) -> Any:
    """``value`` (a module's or op's output: a tensor, or tuples, lists and dicts of them) with
    each tensor whose ``id`` is in ``swaps`` replaced, the rest as it was."""
    if isinstance(value, torch.Tensor):
        return swaps.get(id(value), value)
    if isinstance(value, dict):
        for key in list(value):
            value[key] = swap_tensors(value[key], swaps)  # a ModelOutput keeps its own class
        return value
    if isinstance(value, (tuple, list)):
        parts = [swap_tensors(item, swaps) for item in value]
        if hasattr(value, "_fields"):  # a named tuple (torch.max's values, indices)
            return type(value)(*parts)
        return type(value)(parts)
    return value


def _dtype(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).replace("torch.", "")


def shown_values(tensor: torch.Tensor) -> tuple[torch.Tensor, str]:
    """``tensor`` as real values to draw, and a note on what they are ("" when they are its
    own): ``|z|`` for a complex tensor (its real part alone hides the phase's effect on size),
    ``dequantize()`` for a quantized one (its integers mean nothing without scale and zero)."""
    if tensor.is_quantized:
        return tensor.dequantize(), "dequantized"
    if tensor.is_complex():
        return tensor.abs(), f"|z| of {_dtype(tensor)}"
    return tensor, ""


def stored_values(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` as the ``activations`` file stores it: floating point as float32 (numpy has no
    bf16), complex and integers as they are, quantized dequantized (numpy has no qint8)."""
    t = tensor.detach()
    if t.is_quantized:
        return t.dequantize()
    return t.float() if t.is_floating_point() else t
