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

from inspector.core.edits.board import EditBoard
from inspector.core.edits.ops import EditOps
from inspector.core.feed.settle import check_runs, settle  # noqa: F401 - check_runs: for callers
from inspector.core.files.checkpoints import apply_state_dict, check_fit
from inspector.core.files.loading import OpenedModel, open_model
from inspector.core.files.session import SessionState
from inspector.core.files.session_restore import Restored, prepare_restore
from inspector.core.forward.compare import PinResult
from inspector.core.forward.inference import module_parameters, network_input, run_forward
from inspector.core.forward.pinboard import Pinboard, weights_copy
from inspector.core.forward.results import (
    BackwardResult,
    DeviceResult,
    ForwardRequest,
    ForwardResult,
    ModelLoaded,
    ParametersResult,
    SavedValueResult,
    UpdateResult,
)
from inspector.core.forward.settings import ForwardSettings
from inspector.core.forward.step_cache import StepCache
from inspector.core.forward.summary import summarize
from inspector.core.graph.backward import LiveGraph, record_backward, saved_value, sgd_step
from inspector.core.graph.collapse import lay_out, repeated_blocks
from inspector.core.graph.losses import LossSpec
from inspector.core.model.inputs import TENSOR, to_tensor
from inspector.core.model.quantized import load_over, tensor_state
from inspector.core.runtime.devices import available_devices
from inspector.core.runtime.schedule import KNOBS
from inspector.core.training.setup import TrainConfig, reinitialise
from inspector.core.training.snapshot import TrainingSnapshot
from inspector.core.training.trainer import Trainer, TrainProgress

# A graph with more nodes than this opens with its repeated blocks (layer1.0, ...) collapsed.
COLLAPSE_ABOVE = 300
# How a weights message ends, without or with training forgotten.
_FORGOT = {False: ".", True: "; the training so far (curves, optimiser state) was forgotten."}


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


class Engine(EditOps):
    """Owns one model on one device. Not thread-safe: exactly one thread calls it."""

    def __init__(self, opened: OpenedModel, device: str = "cpu") -> None:
        self.device = torch.device(device)
        self._trainer: Trainer | None = None  # the current model's, made on the first use
        self._adopt(opened)
        self.model.to(self.device)

    def _adopt(self, opened: OpenedModel) -> None:
        self.opened = opened
        self.model: nn.Module = opened.model
        self.settings = ForwardSettings(input=opened.input)
        # What "Reset weights" goes back to. The parameters are copied just before they first
        # change (_keep_initial): a copy at opening took a ResNet-50's open 60 ms, and doubled
        # a big model's memory for as long as nobody trained it. The buffers (running stats,
        # counters, small) are copied now: a model's own forward may change them.
        state = tensor_state(self.model, keep_vars=True)  # a quantized model's packing: kept
        params = {id(p) for p in self.model.parameters()}
        self._initial_buffers = {
            k: v.detach().clone() for k, v in state.items() if id(v) not in params
        }
        self._initial: dict[str, torch.Tensor] | None = None
        self._live: LiveGraph | None = None  # the last backward's graph, for saved values
        self._steps = StepCache()  # a big model's known steps (core.step_cache)
        self.pinboard = Pinboard()  # Compare's A (core.compare): a new model drops the pin
        self.edits = EditBoard()  # interventions (core.edits): a new model has none

    # -- forward ----------------------------------------------------------------------------
    def configure(self, **changes: Any) -> ForwardSettings:
        """Input, output index, focused module or channel page for the following forwards."""
        self.settings = replace(self.settings, **changes)
        return self.settings

    def forward(self, request: ForwardRequest, cancel: CancelFlag | None = None) -> ForwardResult:
        if self.edits.active:  # clean | edited | edited − clean
            board, model, device, settings = self.edits, self.model, self.device, self.settings
            return board.forward(model, device, settings, request, self.pinboard, cancel)
        result = run_forward(self.model, request, self.device, self.settings, cancel, self._steps)
        return self._compared(result, cancel)

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
            edit=self._editor(),
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
        result = BackwardResult(request.request_id, record, view, timings)
        return self._compared_backward(result, loss, cancel)

    def update(self, lr: float) -> UpdateResult:
        """The tutorial's SGD step, ``p -= lr * p.grad``."""
        self._keep_initial()
        updated = sgd_step(self.model, lr)
        message = (
            f"Updated {len(updated)} parameters: p -= {lr:g} * p.grad."
            if updated
            else "No gradients yet: press Backward first."
        )
        return UpdateResult("update", tuple(updated), message)

    def _keep_initial(self) -> None:
        """Call before anything that changes the weights: the first time, they are the ones
        the model came with."""
        if self._initial is None:
            state = tensor_state(self.model, keep_vars=True)
            self._initial = {
                k: v.detach().clone() for k, v in state.items() if k not in self._initial_buffers
            }

    def reset(self) -> UpdateResult:
        """Back to the weights the model was opened with; gradients and the training so far
        (curves, steps, optimiser state) cleared."""
        # No parameters kept: nothing has changed them since opening.
        load_over(self.model, self._initial_buffers, self._initial or {})
        self.model.zero_grad(set_to_none=True)
        names = tuple(n for n, _ in self.model.named_parameters())
        forgot = self._forget_training()
        message = "Weights reset to the ones the model was opened with; gradients cleared"
        return UpdateResult("reset", names, message + _FORGOT[forgot], forgot)

    def parameters(self, path: str, request_id: int = 0) -> ParametersResult:
        return self._compared_parameters(module_parameters(self.model, path, request_id))

    def saved_value(self, node: int, name: str) -> SavedValueResult:
        values = saved_value(self._live, node, name) if self._live is not None else None
        return SavedValueResult(node, name, values)

    def weights(self) -> dict[str, torch.Tensor]:
        """Every tensor of the state dict as it is now, as CPU copies in its own dtype and
        shape (bf16 and 0-d included: numpy has no bf16), for a session file."""
        return {k: v.detach().cpu().clone() for k, v in tensor_state(self.model).items()}

    def load_weights(self, state: dict[str, torch.Tensor | np.ndarray]) -> UpdateResult:
        """Replace every weight (a saved session's) bit for bit; refused with ``ModelLoadError``
        (naming the keys) and nothing changed unless names, shapes and dtypes all fit."""
        tensors = {
            k: v if isinstance(v, torch.Tensor) else torch.from_numpy(np.array(v, copy=True))
            for k, v in state.items()
        }
        self._keep_initial()
        apply_state_dict(self.model, tensors, "the session's weights")
        names = tuple(n for n, _ in self.model.named_parameters())
        forgot = self._forget_training()
        return UpdateResult("restore", names, "Weights restored" + _FORGOT[forgot], forgot)

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
        names: tuple[str, ...] | None = None,
        started: float | None = None,
    ) -> ModelLoaded:
        """Open a model (or take ``opened``, already built elsewhere); only if it runs on its
        input does it replace the current one. Raises ``ModelLoadError`` (one sentence).
        ``names``: the outputs of an ``opened`` already checked to run (no second forward);
        ``started``: when building it began (``time.perf_counter``), for ``load_ms``."""
        started = time.perf_counter() if started is None else started
        if opened is None:
            opened = open_model(spec, weights, trust, input_shape, input_dtype)
        model = opened.model.to(self.device)
        if names is None:
            opened, names = settle(opened, model, self.device)
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
            inputs=opened.inputs,
        )

    def restore(self, saved: SessionState, source: str = "the session", cancel=None) -> Restored:
        """A session restored in one operation (``core.files.session_restore``): all of it, or
        nothing changed and ``ModelLoadError`` raised."""
        return self.take_over(*prepare_restore(self, saved, source, cancel))

    def take_over(self, fresh: Engine, restored: Restored) -> Restored:
        """Become ``fresh`` (a restore built aside) at once: model, device, pin, training."""
        vars(self).update(vars(fresh))
        return restored

    def check_runs(self, opened: OpenedModel, model: nn.Module) -> tuple[OpenedModel, tuple]:
        """``(opened, names)``: ``model`` run once on its inputs (``core.feed.settle``)."""
        return settle(opened, model, self.device)

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

    # -- compare: A (pinned) against B (now), see core.compare --------------------------------
    def pin(
        self, request: ForwardRequest, weights: dict[str, torch.Tensor] | None = None
    ) -> PinResult:
        """Keep ``request`` and a copy of the weights as they are now as A (or ``weights``, a
        saved session's A, refused with ``ModelLoadError`` unless they fit the model)."""
        if weights is None:
            pinned = weights_copy(self.model)
        else:
            live = tensor_state(self.model)
            tensors = {k: torch.as_tensor(v) for k, v in weights.items()}
            check_fit(live, tensors, "the pinned weights A")
            pinned = {k: tensors[k].to(live[k].device).clone() for k in live}
        self.pinboard.set_pin(request, pinned)
        return PinResult(True, "Pinned A: the input and the weights as they are now.", request)

    def unpin(self) -> PinResult:
        self.pinboard.clear()
        return PinResult(False, "Unpinned: back to the live view.")

    def set_comparing(self, on: bool) -> bool:
        """Forwards, backwards and parameters come with their comparison against A while on."""
        self.pinboard.comparing = bool(on)
        return self.pinboard.comparing

    def pinned_weights(self) -> dict[str, torch.Tensor] | None:
        """A's weights as CPU copies (for a session file); None when nothing is pinned."""
        pin = self.pinboard.pin
        return None if pin is None else {k: v.cpu().clone() for k, v in pin.weights.items()}

    def _compared(self, result: ForwardResult, cancel: CancelFlag | None) -> ForwardResult:
        from inspector.core.forward.pinboard import with_comparison

        def run_a(request: ForwardRequest) -> ForwardResult:
            return run_forward(self.model, request, self.device, self.settings, cancel)

        board = self.pinboard
        return with_comparison(board, self.model, self.device, self.settings, result, run_a)

    def _compared_backward(
        self, result: BackwardResult, loss: LossSpec, cancel: CancelFlag | None
    ) -> BackwardResult:
        """With A pinned and comparing: A's backward too (on a copy of the model holding A's
        weights, so B's ``.grad`` is untouched) and how much every node's gradient changed."""
        from inspector.core.forward.compare import gradient_change
        from inspector.core.forward.pinboard import twin_with

        board = self.pinboard
        if board.pin is None or not board.comparing or not result.record.loss_is_finite:
            return result
        pin = board.pin

        def run_a():
            x = to_tensor(network_input(pin.request, self.settings.input), self.settings.input,
                          self.device)  # fmt: skip
            twin = twin_with(self.model, pin.weights)
            record, _live = record_backward(
                twin, x, loss, with_saliency=False,
                output_index=self.settings.output_index, cancel=cancel,
            )  # fmt: skip
            return record

        key = (loss, self.settings.output_index, self.settings.input, str(self.device))
        record_a = board.a_backward(key, run_a)
        return replace(result, gradient_change=gradient_change(record_a, result.record))

    def _compared_parameters(self, result: ParametersResult) -> ParametersResult:
        from inspector.core.forward.compare import compare_parameters

        pin = self.pinboard.pin
        if pin is None or not self.pinboard.comparing:
            return result
        compared = compare_parameters(result, pin.weights)
        if not any(c.relative > 0 for c in compared):
            return result  # the weights are A's: nothing to compare, the usual view
        return replace(result, comparison=compared)

    # -- training (core.training) -------------------------------------------------------------
    def trainer(self) -> Trainer:
        """The trainer of the current model (a new one, with nothing logged, for a new model)."""
        trainer = self._own_trainer()
        if trainer is None:
            trainer = Trainer(self.model, self.settings.input, self.device,
                              self.settings.output_index, self.opened.name)  # fmt: skip
            self._trainer = trainer
        return trainer

    def _own_trainer(self) -> Trainer | None:
        """The trainer made for the current model, if any (one of a model since replaced is
        not)."""
        trainer = self._trainer
        return trainer if trainer is not None and trainer.model is self.model else None

    def train_chunk(
        self,
        config: TrainConfig,
        folder: str | None,
        max_batches: int = KNOBS.chunk_batches,
        max_ms: float = KNOBS.chunk_ms,
        cancel: CancelFlag | None = None,
    ) -> TrainProgress:
        """A few batches of training (at most ``max_batches`` or about ``max_ms``); raises
        ``TrainingRefused`` (one sentence) for a model or folder that cannot be trained on."""
        trainer = self.trainer()
        trainer.configure(config, folder, self.device)
        self._keep_initial()
        self._live = None  # a recorded graph's saved tensors are stale once the weights move
        return trainer.run_chunk(max_batches, max_ms, cancel)

    def reinitialise(self, seed: int = 0) -> UpdateResult:
        """Each module's ``reset_parameters()``: learning can be watched from scratch. The
        training so far (curves, optimiser state) is forgotten with the weights."""
        self._keep_initial()
        modules, kept = reinitialise(self.model, seed)
        self.model.zero_grad(set_to_none=True)
        self._forget_training()
        names = tuple(n for n, _ in self.model.named_parameters())
        note = f"; {kept:,} parameters have no reset_parameters and were kept" if kept else ""
        return UpdateResult("reinit", names, f"Re-initialised {modules} modules{note}.", True)

    def _forget_training(self) -> bool:
        """Forget the current model's training (curves, steps, the optimiser's moments): they
        belong to weights that were just replaced, and Adam's moments would steer the new
        ones. True if there was any to forget."""
        trainer = self._own_trainer()
        if trainer is None:
            return False
        trained = trainer.step > 0 or trainer.optimizer is not None
        trainer.reset_progress()
        return trained

    def training_state(self) -> TrainingSnapshot | None:
        """The training so far (curves, optimiser state, order), for a session; None if the
        current model has not been trained here."""
        trainer = self._own_trainer()
        if trainer is None or trainer.step == 0:
            return None
        return trainer.snapshot()

    def restore_training(self, snapshot: TrainingSnapshot) -> TrainProgress:
        return self.trainer().restore(snapshot, self.device)
