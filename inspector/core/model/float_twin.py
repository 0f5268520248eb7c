"""A quantized model's float twin, for its autograd graph.

Quantized ops record no gradients, so a quantized model has no graph of its own. Its twin is a
copy with each quantized ``Linear`` and ``Conv1d/2d/3d`` replaced by the float module holding
the dequantized weights (the values the model computes with), the quantize and dequantize steps
by ``Identity`` and ``QFunctional`` by ``FloatFunctional``: the same modules under the same
names, so the graph's parameters are the weights panel's. A model with any other quantized
module (an LSTM, fused Conv+ReLU) has no twin here.
"""

from __future__ import annotations

import copy
import weakref

import torch
from torch import nn

from inspector.core.model.quantized import is_quantized

TWIN_NOTE = (
    "Quantized: the graph is its float twin's, the same modules holding the dequantized weights "
    "(quantized ops record no gradients)."
)
_twins: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # weights never change


def _weights(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None]:
    weight = module.weight().dequantize()
    bias = module.bias()
    return weight, None if bias is None else bias.detach().float()


def _filled(float_module: nn.Module, weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Module:
    with torch.no_grad():
        float_module.weight.copy_(weight)
        if bias is not None:
            float_module.bias.copy_(bias)
    return float_module


def _float_module(module: nn.Module) -> nn.Module | None:
    """The float twin of one quantized module; None for one that is not quantized (or that
    has no twin: ``twin_of`` tells them apart)."""
    from torch.ao.nn import quantized as q

    kind = type(module)
    if kind in (q.Linear, q.dynamic.Linear):
        weight, bias = _weights(module)
        linear = nn.Linear(module.in_features, module.out_features, bias=bias is not None)
        return _filled(linear, weight, bias)
    if kind in (q.Conv1d, q.Conv2d, q.Conv3d):
        weight, bias = _weights(module)
        conv = kind._FLOAT_MODULE(
            module.in_channels, module.out_channels, module.kernel_size, module.stride,
            module.padding, module.dilation, module.groups, bias is not None, module.padding_mode,
        )  # fmt: skip
        return _filled(conv, weight, bias)
    if kind in (q.Quantize, q.DeQuantize):
        return nn.Identity()
    if kind is q.QFunctional:
        return q.FloatFunctional()
    return None


def twin_of(model: nn.Module) -> nn.Module | None:
    """The float twin of a quantized ``model`` (made once, kept while the model lives); None
    when a quantized module in it has no twin here."""
    if model in _twins:
        return _twins[model]
    twin = copy.deepcopy(model)
    for path, module in list(twin.named_modules()):
        replacement = _float_module(module)
        if replacement is None:
            continue
        if not path:
            twin = replacement
            continue
        parent, _, name = path.rpartition(".")
        setattr(twin.get_submodule(parent) if parent else twin, name, replacement)
    found = None if is_quantized(twin) else twin.eval()
    _twins[model] = found
    return found


def graphable(model: nn.Module) -> tuple[nn.Module, str]:
    """The model whose autograd graph stands for ``model``'s, and a note when that is not
    ``model`` itself: a quantized model's float twin (``model`` when it has none)."""
    if not is_quantized(model):
        return model, ""
    twin = twin_of(model)
    return (model, "") if twin is None else (twin, TWIN_NOTE)
