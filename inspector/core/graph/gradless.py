"""Parameters a forward used with gradients off, so that the graph cannot show them: a block run
through ``torch.utils.checkpoint(..., use_reentrant=True)`` (it runs the block under
``no_grad``, and again in backward, where its parameters get their gradients only if the
block's input needs grad) or inside ``torch.no_grad()``. The graph's note names
them, rather than leaving them silently out."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from inspector.core.forward.capture import module_hooks
from inspector.core.graph.autograd import PARAM, AutogradGraph


@contextlib.contextmanager
def modules_run_without_grad(model: nn.Module) -> Iterator[set[str]]:
    """While the block runs, collect the paths of the modules of ``model`` called with
    gradients off (into the set it yields)."""
    names = {m: n for n, m in model.named_modules()}
    found: set[str] = set()

    def pre(module: nn.Module, _args) -> None:
        if not torch.is_grad_enabled():
            found.add(names.get(module, ""))

    with module_hooks(model, pre, lambda *_: None):
        yield found


def gradless_note(model: nn.Module, modules: set[str], graph: AutogradGraph) -> str:
    """One sentence naming the trainable parameters of ``modules`` that the graph lacks
    ("" when there are none)."""
    if not modules:
        return ""
    shown = {n.label.split(" [")[0] for n in graph.nodes if n.kind == PARAM}
    missing = [
        f"{path}.{name}" if path else name
        for path in sorted(modules)
        for name, p in model.get_submodule(path).named_parameters(recurse=False)
        if p.requires_grad and (f"{path}.{name}" if path else name) not in shown
    ]
    if not missing:
        return ""
    listed = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
    return (
        f"Not in this graph: {listed}, run with gradients off (torch.utils.checkpoint with "
        "use_reentrant=True, or torch.no_grad)."
    )
