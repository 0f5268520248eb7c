"""The engine: the one object that owns the model, its device and the forward settings.

Every operation the app offers is one typed method here, returning a numpy-only result. The
engine knows nothing of threads or Qt: the GUI's runner calls it from its one worker thread,
the command line and the tests call it directly. A cancel flag (anything with ``is_set()``)
makes a long forward or backward stop at its next op or node with ``capture.Cancelled``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from .backward import LiveGraph, record_backward, saved_value, sgd_step
from .capture import named_outputs
from .checkpoints import apply_state_dict
from .collapse import lay_out, repeated_blocks
from .devices import available_devices
from .inference import ForwardSettings, module_parameters, network_input, run_forward
from .inputs import TENSOR, explain_forward_failure, make_input, to_tensor
from .loading import ModelLoadError, OpenedModel, open_model
from .losses import LossSpec
from .results import (
    BackwardResult,
    DeviceResult,
    ForwardRequest,
    ForwardResult,
    ModelLoaded,
    ParametersResult,
    SavedValueResult,
    UpdateResult,
)
from .summary import summarize
from .training import (
    TrainConfig,
    Trainer,
    TrainingSnapshot,
    TrainProgress,
    reinitialise,
)

# A graph with more nodes than this opens with its repeated blocks (layer1.0, ...) collapsed.
COLLAPSE_ABOVE = 300


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


class Engine:
    """Owns one model on one device. Not thread-safe: exactly one thread calls it."""

    def __init__(self, opened: OpenedModel, device: str = "cpu") -> None:
        self.device = torch.device(device)
        self._adopt(opened)
        self.model.to(self.device)

    def _adopt(self, opened: OpenedModel) -> None:
        self.opened = opened
        self.model: nn.Module = opened.model
        self.settings = ForwardSettings(input=opened.input)
        # What "Reset weights" goes back to: the weights the model came with.
        self._initial = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self._live: LiveGraph | None = None  # the last backward's graph, for saved values

    # -- forward ----------------------------------------------------------------------------
    def configure(self, **changes: Any) -> ForwardSettings:
        """Input, output index, focused module or channel page for the following forwards."""
        self.settings = replace(self.settings, **changes)
        return self.settings

    def forward(self, request: ForwardRequest, cancel: CancelFlag | None = None) -> ForwardResult:
        return run_forward(self.model, request, self.device, self.settings, cancel)

    # -- backward and the weights -------------------------------------------------------------
    def backward(
        self,
        request: ForwardRequest,
        loss: LossSpec,
        zero_grad: bool = True,
        cancel: CancelFlag | None = None,
    ) -> BackwardResult:
        """Forward with grad, ``loss.backward()`` with every node hooked, and the graph laid
        out (big graphs with their repeated blocks collapsed) — all here, off the GUI thread."""
        started = time.perf_counter()
        x = to_tensor(network_input(request, self.settings.input), self.settings.input, self.device)
        self._live = None  # free the previous graph before building the next
        record, live = record_backward(
            self.model,
            x,
            loss,
            zero_grad=zero_grad,
            with_saliency=self.settings.input.kind != TENSOR,
            output_index=self.settings.output_index,
            cancel=cancel,
        )
        recorded = time.perf_counter()
        graph = record.graph
        view = lay_out(graph, repeated_blocks(graph) if len(graph.nodes) > COLLAPSE_ABOVE else ())
        done = time.perf_counter()
        self._live = live
        timings = {
            "backward_ms": (recorded - started) * 1000,
            "layout_ms": (done - recorded) * 1000,
        }
        return BackwardResult(request.request_id, record, view, timings)

    def update(self, lr: float) -> UpdateResult:
        """The tutorial's SGD step, ``p -= lr * p.grad``."""
        updated = sgd_step(self.model, lr)
        message = (
            f"Updated {len(updated)} parameters: p -= {lr:g} * p.grad."
            if updated
            else "No gradients yet: press Backward first."
        )
        return UpdateResult("update", tuple(updated), message)

    def reset(self) -> UpdateResult:
        """Back to the weights the model was opened with; gradients cleared."""
        self.model.load_state_dict(self._initial)
        self.model.zero_grad(set_to_none=True)
        names = tuple(n for n, _ in self.model.named_parameters())
        message = "Weights reset to the ones the model was opened with; gradients cleared."
        return UpdateResult("reset", names, message)

    def parameters(self, path: str, request_id: int = 0) -> ParametersResult:
        return module_parameters(self.model, path, request_id)

    def saved_value(self, node: int, name: str) -> SavedValueResult:
        values = saved_value(self._live, node, name) if self._live is not None else None
        return SavedValueResult(node, name, values)

    def weights(self) -> dict[str, torch.Tensor]:
        """Every tensor of the state dict as it is now, as CPU copies in its own dtype and
        shape (bf16 and 0-d included: numpy has no bf16), for a session file."""
        return {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}

    def load_weights(self, state: dict[str, torch.Tensor | np.ndarray]) -> UpdateResult:
        """Replace every weight (a saved session's) bit for bit; refused with ``ModelLoadError``
        (naming the keys) and nothing changed unless names, shapes and dtypes all fit."""
        tensors = {
            k: v if isinstance(v, torch.Tensor) else torch.from_numpy(np.array(v, copy=True))
            for k, v in state.items()
        }
        apply_state_dict(self.model, tensors, "the session")
        names = tuple(n for n, _ in self.model.named_parameters())
        return UpdateResult("restore", names, "Weights restored.")

    # -- the model and the device ---------------------------------------------------------------
    def open(
        self,
        spec: str,
        weights: str | None = None,
        trust: bool = False,
        input_shape: tuple[int, ...] | None = None,
        token: int = 0,
        opened: OpenedModel | None = None,
        input_dtype: str | None = None,
    ) -> ModelLoaded:
        """Open a model (or take ``opened``, already built elsewhere); only if it runs on its
        input does it replace the current one. Raises ``ModelLoadError`` (one sentence)."""
        started = time.perf_counter()
        if opened is None:
            opened = open_model(spec, weights, trust, input_shape, input_dtype)
        model = opened.model.to(self.device)
        names = self.check_runs(opened, model)
        self._adopt(opened)
        return ModelLoaded(
            token=token,
            name=opened.name,
            summary=summarize(model),
            input=opened.input,
            output_names=names,
            warning=opened.warning,
            load_ms=(time.perf_counter() - started) * 1000,
            spec=spec,
            note=opened.note,
        )

    def check_runs(self, opened: OpenedModel, model: nn.Module) -> tuple[str, ...]:
        """The names of the tensors ``model`` returns for its input; ``ModelLoadError`` (one
        sentence: what was fed, the complaint, how to choose) if the forward fails."""
        return check_runs(opened, model, self.device)

    def set_device(self, name: str) -> DeviceResult:
        """Move the model; on failure it stays where it was and the result says why."""
        devices = tuple(available_devices())
        try:
            target = torch.device(name)
            self.model.to(target)
        except Exception as exc:
            self.model.to(self.device)  # stay where we were
            message = f"Could not move the model to {name}: {exc}"
            return DeviceResult(str(self.device), False, message, devices)
        self.device = target
        self._live = None  # the recorded graph lives on the old device
        return DeviceResult(str(target), True, "", devices)

    # -- training (core.training) -------------------------------------------------------------
    def trainer(self) -> Trainer:
        """The trainer of the current model (a new one, with nothing logged, for a new model)."""
        trainer = getattr(self, "_trainer", None)
        if trainer is None or trainer.model is not self.model:
            trainer = Trainer(self.model, self.settings.input, self.device,
                              self.settings.output_index, self.opened.name)  # fmt: skip
            self._trainer = trainer
        return trainer

    def train_chunk(
        self,
        config: TrainConfig,
        folder: str | None,
        max_batches: int = 64,
        max_ms: float = 150.0,
        cancel: CancelFlag | None = None,
    ) -> TrainProgress:
        """A few batches of training (at most ``max_batches`` or about ``max_ms``); raises
        ``TrainingRefused`` (one sentence) for a model or folder that cannot be trained on."""
        trainer = self.trainer()
        trainer.configure(config, folder, self.device)
        self._live = None  # a recorded graph's saved tensors are stale once the weights move
        return trainer.run_chunk(max_batches, max_ms, cancel)

    def reinitialise(self, seed: int = 0) -> UpdateResult:
        """Each module's ``reset_parameters()``: learning can be watched from scratch. The
        training so far (curves, optimiser state) is forgotten with the weights."""
        modules, kept = reinitialise(self.model, seed)
        self.model.zero_grad(set_to_none=True)
        self.trainer().reset_progress()
        names = tuple(n for n, _ in self.model.named_parameters())
        note = f"; {kept:,} parameters have no reset_parameters and were kept" if kept else ""
        return UpdateResult("reinit", names, f"Re-initialised {modules} modules{note}.")

    def training_state(self) -> TrainingSnapshot | None:
        """The training so far (curves, optimiser state, order), for a session; None if the
        current model has not been trained here."""
        trainer = getattr(self, "_trainer", None)
        if trainer is None or trainer.model is not self.model or trainer.step == 0:
            return None
        return trainer.snapshot()

    def restore_training(self, snapshot: TrainingSnapshot) -> TrainProgress:
        return self.trainer().restore(snapshot, self.device)


def check_runs(
    opened: OpenedModel, model: nn.Module | None = None, device: torch.device | str = "cpu"
) -> tuple[str, ...]:
    """Run ``model`` (``opened.model`` by default) once on its input and return the names of
    the tensors it returns. Raises ``ModelLoadError`` in one sentence when the forward raises
    (any exception type: user code can raise anything) or returns no tensor, so that a model
    that cannot run is refused before anything shows it."""
    model = opened.model if model is None else model
    spec = opened.input
    try:
        x = to_tensor(make_input(spec, np.zeros((32, 32), np.float32)), spec, device)
        with torch.inference_mode():
            output = model(x)
    except Exception as exc:
        raise ModelLoadError(explain_forward_failure(spec, exc, opened.name)) from exc
    names = tuple(name for name, _ in named_outputs(output))
    if not names:
        raise ModelLoadError(f"{opened.name} returned no tensor")
    return names
