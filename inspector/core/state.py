"""The live app state: one evented object holding everything the user sets up.

Panels write to it and listen to it; the window submits work when it changes. It is plain
Python (no Qt): a psygnal evented dataclass (as napari's models are), one signal per field in
``state.events``, emitted with the new value in the thread that made the change (for the app,
the GUI thread) and only when the value really changes; ``update`` sets several fields and
emits after all are set, so a listener always sees a consistent state.

Each field says whether it survives the app (``core.state_fields``): session files and the
remembered settings are generated from that, so a new field is saved or explicitly not.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from psygnal import evented

from inspector.core import state_fields as check
from inspector.core.edits.spec import Intervention, session_check
from inspector.core.model.brush import DEFAULT_RADIUS
from inspector.core.model.preprocess import CANVAS_SIZE
from inspector.core.state_fields import MEMBER, SETTING, declared, kept, transient
from inspector.core.training.mnist import default_folder

Listener = Callable[[Any], None]
LOSS_KINDS = ("mse", "ce", "sum")
MAX_CLASS = 2**31 - 1


@declared
@dataclass(frozen=True)
class ModelRef:
    """How the current model was opened: enough to open it again."""

    spec: str = kept("lenet", session=SETTING, key="model_spec", check=check.text())
    weights: str | None = kept(
        None, session=SETTING, key="model_weights", check=check.text(optional=True)
    )
    input_shape: tuple[int, ...] | None = kept(None, session=SETTING, check=check.shape())
    trust: bool = kept(False, session=SETTING, check=check.flag())
    # A canonical name ("int64"); None: what the model says.
    input_dtype: str | None = kept(None, session=SETTING, check=check.dtype_name())
    # Every input of a model with several, as --input texts ("mask=1,16:bool").
    inputs: tuple[str, ...] = kept(
        (), session=SETTING, key="model_inputs", check=check.input_flags()
    )


@dataclass(frozen=True, eq=False)
class Pinned:
    """Compare's A: the input pinned (its weights are kept on the worker). Compared by
    identity, as arrays are."""

    drawing: np.ndarray
    raw_input: np.ndarray | None = None
    seed: int = 0


def _zeros() -> np.ndarray:
    return np.zeros((CANVAS_SIZE,) * 2, np.float32)


# Arrays are replaced, never changed in place: identity says whether they changed.
# A request is a new object each time, so asking for the same thing again is heard.
_BY_IDENTITY = {
    name: operator.is_ for name in ("drawing", "drawing_undo", "raw_input", "pin", "model_request")
}


@evented(equality_operators=_BY_IDENTITY)
@declared
@dataclass(eq=False)
class AppState:
    """What the user has set up. Arrays are replaced, never changed in place."""

    drawing: np.ndarray = kept(factory=_zeros, session=MEMBER)
    # The drawings before each edit, oldest first (``core.model.drawing`` edits both).
    drawing_undo: tuple[np.ndarray, ...] = transient(factory=tuple)
    stroking: bool = transient(False)  # a stroke is being drawn (a button is down on the canvas)
    raw_input: np.ndarray | None = kept(None, session=MEMBER)  # a tensor fed as it is instead
    seed: int = transient(0)  # of the random input of models that do not take the drawing
    # The seeds of the other inputs of a model with several, (name, seed) pairs (absent: 0).
    input_seeds: tuple[tuple[str, int], ...] = kept((), session=SETTING, check=check.seeds())
    brush_radius: float = kept(
        DEFAULT_RADIUS, session=SETTING, settings="canvas/brush", check=check.positive(64.0)
    )
    # Requests, and the engine's acknowledgements: only its results write those. A request is
    # a new object each time (compared by identity), so the same model can be asked for again.
    model_request: ModelRef | None = transient(None)
    model: ModelRef = kept(factory=ModelRef, session=SETTING)  # its own fields say how
    device: str = transient("cpu")  # the device picked
    active_device: str = kept("cpu", session=SETTING, key="device", check=check.device())
    pin_wanted: bool = transient(False)  # Pin pressed (True) or Unpin (False)
    selected_module: str | None = kept(None, session=SETTING, check=check.text(optional=True))
    output_index: int = kept(0, session=SETTING, check=check.integer(0, 10**6))
    loss_kind: str = kept(
        "mse", session=SETTING, settings="loss/kind", check=check.one_of(*LOSS_KINDS)
    )
    target_class: int = kept(
        0, session=SETTING, settings="loss/class", check=check.integer(0, MAX_CLASS)
    )
    zero_grad: bool = kept(True, session=SETTING, settings="loss/zero_grad", check=check.flag())
    learning_rate: float = kept(
        0.01, session=SETTING, settings="loss/lr", check=check.positive(1e6)
    )
    # The step shown; None before any backward pass, -1 shown before its first node.
    backward_step: int | None = kept(
        None, session=SETTING, check=check.integer(-1, 10**9, optional=True)
    )
    pin: Pinned | None = kept(None, session=MEMBER)  # Compare's A
    comparing: bool = kept(False, session=SETTING, check=check.flag())  # A | B | B − A
    # Edits of steps' values made during the forward (core.edits), in the order listed.
    interventions: tuple[Intervention, ...] = kept((), session=SETTING, check=session_check())
    # Training (the Training dock, core.training): "" data is the bundled 1,000-image sample.
    # A session keeps them in its training snapshot, when it has one.
    train_optimizer: str = kept("adam", settings="train/optimizer", check=check.text())
    train_lr: float = kept(0.002, settings="train/lr", check=check.positive(1e6))
    train_batch: int = kept(32, settings="train/batch", check=check.integer(1, 1 << 20))
    train_epochs: int = kept(1, settings="train/epochs", check=check.integer(1, 1 << 20))
    train_augment: bool = kept(True, settings="train/augment", check=check.flag())
    train_data: str = kept(factory=default_folder, settings="train/data", check=check.any_text())

    # The training process the window is connected to (``HOST:PORT``, core.attach); "" for a
    # model opened here. Not kept: a connection is made again by the user.
    connection: str = transient("")

    def on(self, name: str, listener: Listener) -> None:
        """Call ``listener(value)`` whenever ``name`` changes."""
        self._signal(name).connect(listener)

    def disconnect(self, name: str, listener: Listener) -> None:
        self._signal(name).disconnect(listener)

    def update(self, **changes: Any) -> None:
        """Set several fields, then emit for each that changed (in the order given)."""
        signals = [self._signal(name) for name in changes]
        for signal in signals:
            signal.pause()
        try:
            for name, value in changes.items():
                setattr(self, name, value)
        finally:
            for signal in signals:
                signal.resume(reducer=lambda _old, new: new)  # the last value only

    def _signal(self, name: str):
        if name not in self.events:
            raise AttributeError(f"no such state field: {name}")
        return getattr(self.events, name)
