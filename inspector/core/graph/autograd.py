"""The autograd graph of a loss, walked from ``loss.grad_fn`` into plain data.

The walk is iterative (a 48-layer transformer's graph is thousands of nodes deep in places),
visits each autograd Node once (shared parameters and skip connections give one node reached
twice), and keeps the Node objects aside so that hooks and saved values can be reached later.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import torch

ROOT, OP, PARAM, LEAF = "root", "op", "param", "leaf"


@dataclass(frozen=True)
class SavedTensor:
    name: str  # without the ``_saved_`` prefix: "mat1", "self", "weight"
    shape: tuple[int, ...] | None  # None for a saved non-tensor (an int, a tuple of ints...)
    value: str = ""  # short text for non-tensors


@dataclass
class GraphNode:
    id: int
    name: str  # the class name torch gives the Node: "AddmmBackward0", "AccumulateGrad"
    label: str  # the name, or "conv1.weight [6, 1, 5, 5]" for a parameter leaf
    kind: str  # ROOT (the loss's grad_fn), OP, PARAM (AccumulateGrad of a parameter), LEAF
    module: str = ""  # qualified module path where known ("" = the model itself or unknown)
    saved: list[SavedTensor] = field(default_factory=list)
    shape: tuple[int, ...] | None = None  # a parameter's or leaf's shape
    summary: str = ""  # for a collapsed module's box: what is inside

    def describe(self) -> str:
        lines = [self.label if self.label == self.name else f"{self.label}  ({self.name})"]
        if self.module:
            lines.append(f"module: {self.module}")
        if self.summary:
            lines.append(f"inside: {self.summary} (double-click to expand)")
        for s in self.saved:
            what = format_shape(s.shape) if s.shape is not None else s.value
            lines.append(f"saved {s.name}: {what}")
        return "\n".join(lines)


@dataclass
class AutogradGraph:
    nodes: list[GraphNode]
    edges: list[tuple[int, int, int]]  # (from, to, input slot): the direction gradients flow
    root: int = 0
    loss_value: float | None = None

    def counts(self) -> Counter:
        return Counter(n.name for n in self.nodes)


def format_shape(shape: tuple[int, ...] | None, unknown: str = "?") -> str:
    """``(1, 6, 28, 28)`` → ``[1, 6, 28, 28]``; ``unknown`` for a shape nobody knows."""
    return "[" + ", ".join(map(str, shape)) + "]" if shape is not None else unknown


_saved_names: dict[type, list[str]] = {}


def saved_attribute_names(fn: Any) -> list[str]:
    """``_saved_*`` attributes of a Node class (cached per class: ``dir`` is slow)."""
    kind = type(fn)
    names = _saved_names.get(kind)
    if names is None:
        names = [
            a
            for a in dir(fn)
            if a.startswith("_saved_") and not a.endswith(("_sym_sizes", "_sym_strides"))
        ]
        _saved_names[kind] = names
    return names


def _saved(fn: Any) -> list[SavedTensor]:
    out = []
    for attr in saved_attribute_names(fn):
        try:
            value = getattr(fn, attr)
        except RuntimeError:  # freed after a backward without retain_graph
            continue
        name = attr[len("_saved_") :]
        if isinstance(value, torch.Tensor):
            out.append(SavedTensor(name, tuple(value.shape)))
        elif value is not None:
            text = repr(value)
            out.append(SavedTensor(name, None, text if len(text) < 40 else text[:37] + "..."))
    return out


def extract_graph(
    loss: torch.Tensor,
    parameter_names: dict[int, str] | None = None,
    owners: dict[Any, str] | None = None,
    with_saved: bool = True,
) -> tuple[AutogradGraph, list[Any]]:
    """Walk ``loss.grad_fn`` breadth-first. Returns the graph and the Node objects by id.

    ``parameter_names`` maps ``id(param)`` to its qualified name (for AccumulateGrad labels and
    modules); ``owners`` maps a Node to the module path it was created in (see
    ``backward.forward_with_ownership``).
    """
    root = loss.grad_fn
    if root is None:
        raise ValueError("the loss does not require grad: nothing to differentiate")
    parameter_names = parameter_names or {}
    owners = owners or {}
    index: dict[Any, int] = {root: 0}
    fns: list[Any] = [root]
    edges: list[tuple[int, int, int]] = []
    head = 0
    while head < len(fns):  # breadth-first over a growing list: no recursion, no deque needed
        fn = fns[head]
        for slot, (nxt, _) in enumerate(fn.next_functions):
            if nxt is None:
                continue
            j = index.get(nxt)
            if j is None:
                j = index[nxt] = len(fns)
                fns.append(nxt)
            edges.append((head, j, slot))
        head += 1

    nodes = []
    for i, fn in enumerate(fns):
        name = type(fn).__name__  # fn.name() says "torch::autograd::AccumulateGrad"
        kind, label, module, shape = (ROOT if i == 0 else OP), name, owners.get(fn, ""), None
        variable = getattr(fn, "variable", None) if name == "AccumulateGrad" else None
        if variable is not None:
            shape = tuple(variable.shape)
            qualified = parameter_names.get(id(variable))
            if qualified is not None:
                kind, label = PARAM, f"{qualified} {format_shape(shape)}"
                module = qualified.rpartition(".")[0]
            else:
                kind, label = LEAF, f"leaf {format_shape(shape)}"
        saved = _saved(fn) if with_saved and kind in (ROOT, OP) else []
        nodes.append(GraphNode(i, name, label, kind, module, saved, shape))
    value = float(loss.detach().float().cpu()) if loss.numel() == 1 else None
    return AutogradGraph(nodes, edges, 0, value), fns
