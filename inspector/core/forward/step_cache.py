"""A big model's forwards record only the focused module's steps, once its full list is known.

A big model shows the steps of the module selected in the tree (``ForwardSettings.focus``). A
full capture hooks every module and watches every functional op: on a ResNet-50 that cost
15-20% of its forward, to say again what it said last time (the ~175 steps, their shapes, the
modules' output shapes) about the one step in sight. So after a full capture, while the focus,
the input and the device stay the same, a forward records only the focused module
(``capture_forward(scope=...)``) and takes the rest from that capture. A scoped capture whose
steps differ from the known ones (a model whose insides change with its input) is not used: a
full one runs, and that focus is captured in full from then on. The steps outside the focus
are not looked at: a model whose steps there change with its input shows the known ones (their
count, numbering, the tree's shapes) until the next full capture, which runs every
``REFRESH_EVERY`` forwards (about a second of a ResNet-50's stroke). A focus holding a
TorchScript module, which takes no hooks, is always captured in full.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from inspector.core.forward.capture import Capture, Step, capture_forward
from inspector.core.forward.settings import ForwardSettings, in_focus, step_keeper

REFRESH_EVERY = 32


def _takes_hooks(model: nn.Module, focus: str) -> bool:
    """Whether every module of the focus takes forward hooks (a TorchScript one refuses them;
    the full capture records such a module from outside, as one step)."""
    if isinstance(model, torch.jit.ScriptModule):
        return False
    try:
        root = model.get_submodule(focus)
    except AttributeError:
        return False
    return not any(isinstance(m, torch.jit.ScriptModule) for m in root.modules())


def _signature(step: Step) -> tuple:
    return (step.op, step.module, step.is_module, step.shape, step.part)


@dataclass
class _Known:
    key: tuple
    steps: list[Step]  # every step of the last full capture
    kept: list[int]  # the focused module's steps whose tensors it kept, in order
    inside: int  # how many steps the focused module has
    module_shapes: dict[str, tuple[int, ...]]
    scoped: int = 0  # forwards since that full capture
    scopable: bool = True  # False once a scoped capture disagreed with it


class StepCache:
    """The engine's: one per model (``Engine._adopt`` makes a new one)."""

    def __init__(self) -> None:
        self._known: _Known | None = None
        self.scoped = 0  # forwards recorded in scope, for tests and benchmarks

    def capture(
        self,
        model: nn.Module,
        x: torch.Tensor,
        settings: ForwardSettings,
        cancel: threading.Event | None = None,
    ) -> Capture:
        """``capture_forward`` with ``step_keeper(settings)``, scoped where that says the same."""
        focus = settings.focus
        key = (focus, settings.input, tuple(x.shape), x.dtype, str(x.device))
        known = self._known
        if (
            focus
            and known is not None
            and known.key == key
            and known.scopable
            and known.scoped < REFRESH_EVERY
        ):
            found = self._scoped(model, x, known, cancel)
            if found is not None:
                return found
            known.scopable = False
        full = capture_forward(model, x, keep=step_keeper(settings), cancel=cancel)
        self._learn(model, full, key, focus, known)
        return full

    def _scoped(
        self, model: nn.Module, x: torch.Tensor, known: _Known, cancel: Any
    ) -> Capture | None:
        # Every step recorded is the focus's own: keep the first MAX_KEPT_STEPS, as a full
        # capture does of them.
        keep = step_keeper(ForwardSettings())
        scoped = capture_forward(model, x, keep=keep, cancel=cancel, scope=known.key[0])
        tensors = [t for t in scoped.tensors if t is not None]
        same = len(scoped.steps) == known.inside and [
            _signature(step) for step in scoped.steps[: len(known.kept)]
        ] == [_signature(known.steps[i]) for i in known.kept]
        if not same or len(tensors) != len(known.kept):
            return None
        known.scoped += 1
        self.scoped += 1
        placed: list[torch.Tensor | None] = [None] * len(known.steps)
        for i, tensor in zip(known.kept, tensors, strict=True):
            placed[i] = tensor
        return Capture(scoped.output, known.steps, placed, dict(known.module_shapes))

    def _learn(
        self, model: nn.Module, full: Capture, key: tuple, focus: str, before: _Known | None
    ) -> None:
        if not focus:
            self._known = None
            return
        inside = sum(1 for step in full.steps if in_focus(step, focus))
        kept = [i for i, t in enumerate(full.tensors) if t is not None]
        scopable = before.scopable if before is not None and before.key == key else True
        scopable = scopable and _takes_hooks(model, focus)
        self._known = _Known(key, full.steps, kept, inside, full.module_shapes, 0, scopable)
