"""Run ``loss.backward()`` with a hook on every autograd Node and record what the engine did.

The order recorded is the order the engine ran the nodes (each node's pre-hook fires just
before it runs), not one computed here. For each node it keeps the gradients that came in
(``grad_outputs``) and the ones it sent on (``grad_inputs``) as numpy, and afterwards what
landed in every parameter's ``.grad``.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from inspector.core.forward.capture import (
    Cancelled,
    capture_forward,
    check,
    module_hooks,
    named_outputs,
    set_training,
)
from inspector.core.forward.outputs import shown_values
from inspector.core.graph.autograd import AutogradGraph, extract_graph
from inspector.core.graph.gradless import gradless_note, modules_run_without_grad
from inspector.core.graph.losses import LossSpec, compute_loss, evaluate_loss, loss_note
from inspector.core.model.float_twin import graphable
from inspector.core.model.quantized import NO_QUANTIZED_GRAPH, is_quantized

MAX_KEPT_ELEMENTS = 1_000_000  # larger gradients keep their statistics, not their values


@dataclass(frozen=True)
class GradInfo:
    shape: tuple[int, ...]
    norm: float
    min: float
    max: float
    values: np.ndarray | None  # float32, None when too large to keep

    @classmethod
    def of(cls, t: torch.Tensor) -> GradInfo:
        d = shown_values(t.detach())[0].float()  # a complex gradient: its magnitude
        if d.numel() == 0:
            lo = hi = float("nan")
        else:
            lo_t, hi_t = torch.aminmax(d)  # one pass; NaN or Inf anywhere shows up here
            lo, hi = float(lo_t), float(hi_t)
            if not (math.isfinite(lo) and math.isfinite(hi)):  # rare: look at finite values only
                finite = d[torch.isfinite(d)]
                lo, hi = (float(finite.min()), float(finite.max())) if finite.numel() else (lo, hi)
        keep = d.numel() <= MAX_KEPT_ELEMENTS
        values = d.cpu().numpy().copy() if keep else None
        return cls(tuple(d.shape), float(torch.linalg.vector_norm(d)), lo, hi, values)


@dataclass
class NodeGrads:
    incoming: list[GradInfo | None] = field(default_factory=list)  # grad_outputs
    outgoing: list[GradInfo | None] = field(default_factory=list)  # grad_inputs, by slot


@dataclass
class BackwardRecord:
    """Everything the panels need about one backward pass, numpy only."""

    graph: AutogradGraph
    order: list[int]  # node ids in the order the engine ran them
    grads: dict[int, NodeGrads]
    param_grads: dict[str, GradInfo]  # .grad after the pass (accumulated if not zeroed)
    loss_value: float
    loss: LossSpec
    input_grad: np.ndarray | None = None  # d loss / d input: the saliency map
    output: np.ndarray | None = None
    loss_label: str = ""  # the loss and its real target: "MSELoss vs zeros [1, 1000]"
    loss_note: str = ""  # why the loss is NaN, infinite or exactly 0 ("" when it is fine)

    @property
    def loss_is_finite(self) -> bool:
        """False for a NaN or infinite loss: report ``loss_note``, do not draw its gradients."""
        return math.isfinite(self.loss_value)

    def carried(self) -> set[tuple[int, int]]:
        """Edges (from, to) along which a gradient actually flowed."""
        out = set()
        for a, b, slot in self.graph.edges:
            sent = self.grads.get(a)
            if sent is not None and slot < len(sent.outgoing) and sent.outgoing[slot] is not None:
                out.add((a, b))
        return out


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    return []


def forward_with_ownership(
    model: nn.Module, *inputs: Any, cancel: threading.Event | None = None, edit=None
) -> tuple[Any, dict[Any, str]]:
    """Run the model with grad and say which module created each autograd Node.

    Modules finish innermost first; each claims the unclaimed nodes between its outputs and
    its inputs. Ops in a ``forward`` outside any child (``F.relu`` in ``Net.forward``) go to
    the module whose ``forward`` ran them; the model itself is ``""``. With ``edit`` (the
    capture's, ``core.edits``) the graph runs through the edited values.
    """
    names = {m: n for n, m in model.named_modules()}
    stack: list[set] = []
    calls: list[tuple[str, set, list]] = []

    def pre(module, args):
        check(cancel)
        stack.append({t.grad_fn for t in _tensors(args) if t.grad_fn is not None})

    def post(module, args, output):
        inputs_fns = stack.pop() if stack else set()
        outs = [t.grad_fn for t in _tensors(output) if t.grad_fn is not None]
        calls.append((names.get(module, ""), inputs_fns, outs))

    with module_hooks(model, pre, post):
        if edit is None:
            output = model(*inputs)
        else:
            never = lambda step: False  # noqa: E731
            output = capture_forward(model, *inputs, keep=never, cancel=cancel, edit=edit).output

    owners: dict[Any, str] = {}
    for path, boundary, outs in calls:
        seen: set = set()
        todo = list(outs)
        while todo:
            fn = todo.pop()
            if fn in seen or fn in boundary:
                continue
            seen.add(fn)
            owners.setdefault(fn, path)
            todo.extend(nxt for nxt, _ in fn.next_functions if nxt is not None)
    return output, owners


class GradInfos:
    """``GradInfo.of`` once per gradient tensor: the tensor a node sends on is usually the
    very one the next node takes in (and an ``AccumulateGrad``'s is the parameter's ``.grad``),
    so half of a backward's statistics and copies were made twice (a ResNet-50's 693 of its
    node gradients are 339 distinct tensors). A tensor counts as the same while it is alive
    (a weak reference still reaches it) and unchanged (its version counter, which every
    in-place write bumps, as when the engine adds a second gradient into it)."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple[weakref.ref, int, GradInfo]] = {}

    def of(self, grad: torch.Tensor) -> GradInfo:
        seen = self._seen.get(id(grad))
        if seen is not None and seen[0]() is grad and seen[1] == grad._version:
            return seen[2]
        info = GradInfo.of(grad)
        self._seen[id(grad)] = (weakref.ref(grad), grad._version, info)
        return info

    def all(self, grads: tuple) -> list[GradInfo | None]:
        return [self.of(g) if isinstance(g, torch.Tensor) else None for g in grads]


@dataclass
class LiveGraph:
    """What the worker keeps between calls: the graph's Node objects, for saved values."""

    fns: list[Any]
    loss: torch.Tensor


def record_backward(
    model: nn.Module,
    x: torch.Tensor,
    spec: LossSpec,
    zero_grad: bool = True,
    with_saliency: bool = True,
    output_index: int = 0,
    cancel: threading.Event | None = None,
    run_backward: bool = True,
    edit=None,
) -> tuple[BackwardRecord, LiveGraph]:
    """Forward ``x`` with grad, build the loss's graph, run backward with hooks, record it all.

    The graph is retained (``retain_graph=True``) so that saved tensors can be read afterwards.
    Hooks are removed in ``finally``; the model's train/eval mode is restored. With
    ``run_backward=False`` only the graph is built (order and gradients stay empty): all a
    picture of the graph needs, for a fraction of the time.
    """
    model, twin_note = graphable(model)  # a quantized model's float twin
    was_training = model.training
    handles = []
    # Kept aside for the saliency's own pass: the model may write into its input.
    untouched = x.detach().clone() if with_saliency and x.is_floating_point() else None
    try:
        set_training(model, False)
        with torch.enable_grad():
            if zero_grad:
                model.zero_grad(set_to_none=True)
            with modules_run_without_grad(model) as gradless:  # reentrant checkpoints
                output, owners = forward_with_ownership(model, x, cancel=cancel, edit=edit)
            out = chosen_output(output, output_index)
            loss, label = evaluate_loss(out, spec, x)
            names = {id(p): n for n, p in model.named_parameters()}
            if loss.grad_fn is None and is_quantized(model):
                raise ValueError(NO_QUANTIZED_GRAPH)
            graph, fns = extract_graph(loss, names, owners)
            order: list[int] = []
            grads: dict[int, NodeGrads] = {}
            infos = GradInfos()
            for i, fn in enumerate(fns if run_backward else ()):

                def pre(grad_outputs, i=i):
                    check(cancel)  # raising here stops the engine: quitting never waits long
                    order.append(i)
                    grads.setdefault(i, NodeGrads()).incoming = infos.all(grad_outputs)

                def post(grad_inputs, grad_outputs, i=i):
                    grads.setdefault(i, NodeGrads()).outgoing = infos.all(grad_inputs)

                handles.append(fn.register_prehook(pre))
                handles.append(fn.register_hook(post))
            refused = ""
            if run_backward:
                try:
                    loss.backward(retain_graph=True)
                except Cancelled:
                    raise
                except Exception as exc:  # a model may refuse one (Reformer, in eval mode)
                    refused = refused_note(exc)
                    order, grads = [], {}
                    model.zero_grad(set_to_none=True)  # what a half-run backward left
        for h in handles:
            h.remove()
        handles = []
        param_grads = {
            n: infos.of(p.grad) for n, p in model.named_parameters() if p.grad is not None
        }
        saliency = (
            None
            if untouched is None or refused
            else input_gradient(model, untouched, spec, output_index)
        )
        value = float(loss.detach().float().cpu())
        zero = zero_parameters(model) if value == 0.0 else []
        note = " ".join(
            filter(None, (twin_note, loss_note(value, out, spec, label, zero), refused))
        )
        record = BackwardRecord(
            graph=graph,
            order=order,
            grads=grads,
            param_grads=param_grads,
            loss_value=value,
            loss=spec,
            input_grad=saliency,
            output=shown_values(out.detach())[0].float().cpu().numpy(),
            loss_label=label,
            loss_note=" ".join(filter(None, (note, gradless_note(model, gradless, graph)))),
        )
        return record, LiveGraph(fns, loss)
    finally:
        for h in handles:
            h.remove()
        set_training(model, was_training)


def refused_note(exc: BaseException) -> str:
    """The graph's note when the model's own backward raised: the graph is kept, without
    gradients."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return (
        f"The model refused the backward pass ({type(exc).__name__}: {first}): the graph is "
        "shown without gradients."
    )


def chosen_output(output: Any, index: int = 0) -> torch.Tensor:
    """The ``index``-th tensor of a model's output (tuples and dicts are searched in order)."""
    outputs = named_outputs(output)
    if not outputs:
        raise ValueError("the model's output holds no tensor")
    return outputs[min(index, len(outputs) - 1)][1]


def input_gradient(
    model: nn.Module, x: torch.Tensor, spec: LossSpec, output_index: int = 0
) -> np.ndarray | None:
    """d loss / d input, in a pass of its own: a forward whose input requires grad saves more
    (a first Linear keeps its weight, for the input's gradient), and the graph shown is the one
    a plain ``loss.backward()`` builds. No parameter's ``.grad`` is touched. The model gets a
    copy of the leaf, so that it may write into its input (writing into a leaf that requires
    grad raises)."""
    with torch.enable_grad():
        leaf = x.detach().clone().requires_grad_(True)
        out = chosen_output(model(leaf.clone()), output_index)
        (grad,) = torch.autograd.grad(compute_loss(out, spec, leaf), leaf, allow_unused=True)
    return None if grad is None else grad.detach().float().cpu().numpy()


def zero_parameters(model: nn.Module) -> list[str]:
    """Weight matrices and kernels (2-d or more) that are all zero, last first: the usual
    reason for an all-zero output is a zero-initialised head."""
    with torch.no_grad():
        found = [n for n, p in model.named_parameters() if p.ndim >= 2 and not bool(p.any())]
    return found[::-1]


def saved_value(live: LiveGraph, node_id: int, name: str) -> np.ndarray | None:
    """The value of a node's saved tensor ``name``, on demand (None if it is not a tensor)."""
    value = getattr(live.fns[node_id], f"_saved_{name}")
    if isinstance(value, torch.Tensor):
        return shown_values(value.detach())[0].float().cpu().numpy()
    return None


@torch.no_grad()
def sgd_step(model: nn.Module, lr: float) -> list[str]:
    """Exactly ``p -= lr * p.grad`` for every parameter with a gradient; returns their names."""
    updated = []
    for name, p in model.named_parameters():
        if p.grad is not None:
            p -= lr * p.grad
            updated.append(name)
    return updated
