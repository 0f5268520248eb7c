"""The live app state: one evented object holding everything the user sets up.

Panels write to it and listen to it; the window submits work when it changes; session files and
the remembered settings are derived from it (``core.session_file``, ``gui.persistence``). It is
plain Python (no Qt): a listener is any callable, called with the new value, in the thread that
made the change (for the app, the GUI thread).

The pattern is napari's evented dataclasses (psygnal), reduced to what we use: one event per
field, emitted only when the value really changes; several fields changed at once with
``update`` emit after all are set, so a listener always sees a consistent state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from inspector.core.model.brush import DEFAULT_RADIUS
from inspector.core.model.preprocess import CANVAS_SIZE
from inspector.core.training.mnist import default_folder

Listener = Callable[[Any], None]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return a is b  # arrays are replaced, never changed in place: identity says it all
    return a == b


@dataclass(frozen=True)
class ModelRef:
    """How the current model was opened: enough to open it again."""

    spec: str = "lenet"
    weights: str | None = None
    input_shape: tuple[int, ...] | None = None
    trust: bool = False
    input_dtype: str | None = None  # a canonical name ("int64"); None: what the model says


class Evented:
    """Fields set through attributes emit ``on(name)`` listeners when their value changes."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_listeners", {f.name: [] for f in fields(self)})
        object.__setattr__(self, "_holding", None)

    def on(self, name: str, listener: Listener) -> None:
        """Call ``listener(value)`` whenever ``name`` changes."""
        self._listeners[name].append(listener)

    def disconnect(self, name: str, listener: Listener) -> None:
        self._listeners[name].remove(listener)

    def __setattr__(self, name: str, value: Any) -> None:
        listeners = self.__dict__.get("_listeners")
        if listeners is None or name not in listeners:
            object.__setattr__(self, name, value)
            return
        if _same(getattr(self, name), value):
            return
        object.__setattr__(self, name, value)
        if self._holding is not None:
            self._holding.append(name)
        else:
            self._emit(name)

    def update(self, **changes: Any) -> None:
        """Set several fields, then emit for each that changed (in the order given)."""
        unknown = set(changes) - set(self._listeners)
        if unknown:
            raise AttributeError(f"no such state field: {', '.join(sorted(unknown))}")
        object.__setattr__(self, "_holding", [])
        try:
            for name, value in changes.items():
                setattr(self, name, value)
        finally:
            changed, self._holding = self._holding, None
        for name in changed:
            self._emit(name)

    def _emit(self, name: str) -> None:
        value = getattr(self, name)
        for listener in list(self._listeners[name]):
            listener(value)


@dataclass(frozen=True, eq=False)
class Pinned:
    """Compare's A: the input pinned (its weights are kept on the worker). Compared by
    identity, as arrays are."""

    drawing: np.ndarray
    raw_input: np.ndarray | None = None
    seed: int = 0


@dataclass(eq=False)
class AppState(Evented):
    """What the user has set up. Arrays are replaced, never changed in place."""

    drawing: np.ndarray = field(default_factory=lambda: np.zeros((CANVAS_SIZE,) * 2, np.float32))
    raw_input: np.ndarray | None = None  # a tensor fed as it is (random input) instead
    seed: int = 0  # of the random input of models that do not take the drawing
    brush_radius: float = DEFAULT_RADIUS
    model: ModelRef = field(default_factory=ModelRef)
    device: str = "cpu"
    selected_module: str | None = None
    output_index: int = 0
    loss_kind: str = "mse"
    target_class: int = 0
    zero_grad: bool = True
    learning_rate: float = 0.01
    backward_step: int | None = None  # the step shown; None before any backward pass
    pin: Pinned | None = None  # Compare's A (issue 13)
    comparing: bool = False  # showing A | B | B − A
    # Training (the Training dock, core.training): "" data is the bundled 1,000-image sample.
    train_optimizer: str = "adam"
    train_lr: float = 0.002
    train_batch: int = 32
    train_epochs: int = 1
    train_augment: bool = True
    train_data: str = field(default_factory=default_folder)
