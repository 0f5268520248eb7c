"""A session restored as one operation: its model opened with its weights, on its device, its
Compare pin, its training and its backward pass, all on an engine of their own; the current
engine takes that one over only when everything fitted (``Engine.restore``).

``prepare_restore`` touches nothing but the new engine, so it may run in a side thread that
Cancel leaves behind (building a model runs user code); a failure raises with one sentence and
the current engine, model and pin are as they were. What a session may lack here is a note,
not a failure: a device this machine does not have (it opens on the current one), a training
data folder that is gone (the bundled sample), a backward pass that raises.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from inspector.core.files.checkpoints import ModelLoadError
from inspector.core.files.loading import OpenedModel, open_model
from inspector.core.files.session import SessionState, restore_weights
from inspector.core.files.session_fields import session_model
from inspector.core.forward.capture import Cancelled
from inspector.core.forward.compare import PinResult
from inspector.core.forward.results import BackwardResult, ForwardRequest, ModelLoaded
from inspector.core.graph.losses import ClassOutOfRange, LossSpec
from inspector.core.runtime.devices import available_devices
from inspector.core.state import ModelRef
from inspector.core.training.setup import TrainingRefused

# The engine's class, as a type variable: the engine imports this module, not the reverse.
Engine = TypeVar("Engine")


@dataclass(frozen=True)
class Restored:
    """What the engine holds after a restore, for the window to show in one step."""

    model: ModelRef  # as the state records it (no weights file: the session held them)
    loaded: ModelLoaded
    device: str  # where the model runs now
    raw_input: np.ndarray | None  # the session's raw input, if it fits the model
    pin: PinResult | None  # Compare's A, pinned again
    comparing: bool
    training: Any  # core.training.TrainProgress of the training taken back, or None
    backward: BackwardResult | None  # the session's backward pass, run again
    notes: tuple[str, ...] = ()  # what could not be restored as it was, one sentence each


def prepare_restore(
    current: Engine,
    saved: SessionState,
    source: str = "the session",
    cancel: Any = None,
    opened: OpenedModel | None = None,
) -> tuple[Engine, Restored]:
    """A new engine holding all of ``saved`` and what it gives back; ``current`` is only read
    (its device, when the session's is not here). Raises ``ModelLoadError`` (one sentence)
    when the model does not open, its weights or A's do not fit, or it does not run.
    ``opened``: the session's model, already opened with its weights (then the new engine
    shares it, and this must run where the engine's work runs)."""
    started = time.perf_counter()
    ref = session_model(saved)
    if opened is None:
        opened = open_model(  # from someone else: tried in a child process first
            ref.spec, ref.weights, ref.trust, ref.input_shape, ref.input_dtype, True, ref.inputs
        )
        if saved.weights:
            restore_weights(opened.model, saved, source)
    notes: list[str] = []
    here = str(current.device)
    device = saved.device
    if device not in available_devices():
        notes.append(f"{source} ran on {device}, which this machine does not have: on {here}.")
        device = here
    try:
        fresh = type(current)(opened, device)
    except Exception as exc:  # the device is there but the model does not fit on it
        notes.append(f"Could not move the model to {device} ({exc}): on {here}.")
        fresh = type(current)(opened, here)
    loaded = fresh.open(ref.spec, opened=opened, started=started)
    fresh.configure(output_index=min(saved.output_index, len(loaded.output_names) - 1))

    raw = saved.raw_input
    if raw is not None and tuple(raw.shape) != tuple(loaded.input.shape):
        raw = None  # a random input of another shape: the model gets a new one
    pin = None
    if saved.pins and saved.pin_drawing is not None:
        request = ForwardRequest(0, saved.pin_drawing, saved.pin_raw_input, saved.pin_seed)
        pin = fresh.pin(request, saved.pin_weights)  # raises if A's weights do not fit
        fresh.set_comparing(saved.comparing)
    training = None
    if saved.training is not None:
        try:
            training = fresh.restore_training(saved.training)
        except TrainingRefused as exc:
            notes.append(f"The session's training could not be taken back: {exc}")
    backward = None
    if saved.backward_step is not None:
        request = ForwardRequest(0, np.asarray(saved.drawing, np.float32), raw, 0)
        try:
            loss = LossSpec(saved.loss_kind, saved.target_class)
            backward = fresh.backward(request, loss, saved.zero_grad, cancel)
        except Cancelled:
            raise
        except ClassOutOfRange as exc:  # a field that does not fit: nothing is applied
            raise ModelLoadError(f"{source} is damaged: its target {exc}") from None
        except Exception as exc:  # the graph is a view of the state: the rest still holds
            notes.append(f"The session's backward pass failed: {type(exc).__name__}: {exc}")
    if cancel is not None and cancel.is_set():
        raise Cancelled("stopped on request")
    comparing = pin is not None and saved.comparing
    restored = Restored(
        ref, loaded, str(fresh.device), raw, pin, comparing, training, backward, tuple(notes)
    )
    return fresh, restored
