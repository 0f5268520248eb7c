"""Quantized models (``torch.ao.quantization``, dynamic and static).

Their weights live in packed parameters read through ``module.weight()`` / ``module.bias()``,
not in ``named_parameters``; their state dict holds non-tensor entries (a dtype, a packed
``(weight, bias)`` tuple) and quantized tensors. Nothing in the app changes those (a quantized
model has no gradients), so they are left alone: copies, resets, sessions and pins deal in the
plain tensors, and loading puts the rest back as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

NO_QUANTIZED_GRAPH = (
    "the model is quantized: its quantized ops record no gradients, so there is no autograd "
    "graph to draw (its steps and dequantized weights show as usual)"
)


FLOAT_OPS = "FloatFunctional"  # torch.ao.nn.quantized's float ops (add, cat) before convert


def is_quantized(model: nn.Module) -> bool:
    """Whether any module of ``model`` is a quantized one (``torch.ao.nn.quantized``)."""
    return any(
        type(m).__module__.startswith("torch.ao.nn.quantized") and type(m).__name__ != FLOAT_OPS
        for m in model.modules()
    )


def is_plain(value: Any) -> bool:
    """A tensor the app may copy, compare and store: not quantized, not a dtype or tuple."""
    return isinstance(value, torch.Tensor) and not value.is_quantized


def is_packing(module: nn.Module) -> bool:
    """A quantized module's packed weights (``LinearPackedParams``): held, never called."""
    return type(module).__name__ in ("LinearPackedParams", "EmbeddingPackedParams")


def tensor_state(model: nn.Module, keep_vars: bool = False) -> dict[str, torch.Tensor]:
    """The model's state dict less what is left alone (see the module's doc)."""
    return {k: v for k, v in model.state_dict(keep_vars=keep_vars).items() if is_plain(v)}


def loadable(model: nn.Module, state: Mapping[str, Any]) -> Mapping[str, Any]:
    """``state`` ready for ``model.load_state_dict``: a quantized model's own non-plain entries
    added, in its state dict (whose ``_metadata`` its modules' loaders read for the version)."""
    full = model.state_dict()
    if all(is_plain(v) for v in full.values()):
        return state
    full.update(state)
    return full


def load_over(model: nn.Module, *states: Mapping[str, Any]) -> None:
    """``model.load_state_dict`` of ``states`` merged, the keys they lack kept as they are."""
    merged = {k: v for state in states for k, v in state.items()}
    model.load_state_dict(loadable(model, merged), strict=False)


def dequantized(tensor: torch.Tensor) -> torch.Tensor:
    """A quantized tensor's real values (``tensor.dequantize()``); any other as it is."""
    return tensor.dequantize() if tensor.is_quantized else tensor


def _packed(module: nn.Module, name: str) -> torch.Tensor | None:
    getter = getattr(type(module), name, None)
    if not callable(getter) or isinstance(getattr(module, name, None), torch.Tensor):
        return None
    try:
        value = getattr(module, name)()
    except Exception:  # a module whose weight() needs arguments or fails: not a packed one
        return None
    return value if isinstance(value, torch.Tensor) else None


def packed_count(module: nn.Module) -> int:
    """How many values a quantized module's own packed weight and bias hold (0 for others)."""
    weight = _packed(module, "weight")
    if weight is None or not weight.is_quantized:
        return 0
    bias = _packed(module, "bias")
    return weight.numel() + (0 if bias is None else bias.numel())


def quantized_parameters(module: nn.Module, prefix: str = "") -> list[tuple[str, torch.Tensor]]:
    """The weights and biases of the quantized modules in ``module`` (itself included), named
    as parameters are (``fc.weight``), the weights dequantized."""
    found: list[tuple[str, torch.Tensor]] = []
    for path, sub in module.named_modules(prefix=prefix):
        weight = _packed(sub, "weight")
        if weight is None or not weight.is_quantized:
            continue
        found.append((f"{path}.weight" if path else "weight", weight.dequantize()))
        bias = _packed(sub, "bias")
        if bias is not None:
            found.append((f"{path}.bias" if path else "bias", dequantized(bias)))
    return found


def quantized_note(module: nn.Module, prefix: str = "") -> str:
    """What the weights panel says of quantized weights ("" when there are none)."""
    dtypes = set()
    for _path, sub in module.named_modules(prefix=prefix):
        weight = _packed(sub, "weight")
        if weight is not None and weight.is_quantized:
            dtypes.add(str(weight.dtype).replace("torch.", ""))
    if not dtypes:
        return ""
    return (
        f"Quantized ({', '.join(sorted(dtypes))}): the weights are shown dequantized "
        "(weight().dequantize()), the values the model computes with."
    )
