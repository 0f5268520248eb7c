"""The one thread that owns the model: latest input wins, results leave as numpy only.

Forward requests go into a single slot: a newer input replaces one that has not started, so a
fast stroke never builds a backlog. Everything else a user asks for (a device switch, a
backward pass, a weight update, a module's parameters) is a command, run in the order asked,
before the next forward. Nothing else ever touches the model.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections import deque
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QThread, Signal
from torch import nn

from ..core.backward import LiveGraph, record_backward, saved_value, sgd_step
from ..core.capture import Cancelled, named_outputs
from ..core.devices import available_devices
from ..core.inference import ForwardSettings, module_parameters, network_input, run_forward
from ..core.inputs import TENSOR, make_input
from ..core.layout import layered_layout
from ..core.loading import ModelLoadError, open_model
from ..core.losses import LossSpec
from ..core.results import (
    BackwardResult,
    DeviceResult,
    ForwardRequest,
    ModelLoaded,
    SavedValueResult,
    UpdateResult,
)
from ..core.summary import summarize

# How long the worker waits for the GUI to put the previous result on screen before it computes
# the next one anyway (a hidden or minimised window never paints).
FRAME_TIMEOUT_S = 0.05
# Pacing pays for small models, whose forward is shorter than a repaint. A forward longer than
# this mostly runs in torch's kernels (the GIL released), so overlapping it with the GUI's
# painting gives more frames per second instead.
PACE_BELOW_MS = 15.0


class InferenceWorker(QThread):
    forwardReady = Signal(object)  # ForwardResult
    parametersReady = Signal(object)  # ParametersResult
    deviceChanged = Signal(object)  # DeviceResult
    backwardReady = Signal(object)  # BackwardResult
    workCancelled = Signal(str)  # the kind of work the user stopped
    weightsUpdated = Signal(object)  # UpdateResult
    savedValueReady = Signal(object)  # SavedValueResult
    modelLoaded = Signal(object)  # ModelLoaded
    stateReady = Signal(object)  # dict name -> numpy array: the weights as they are now
    loadFailed = Signal(int, str, str)  # token, one-sentence message, details
    failed = Signal(str, str)  # one-sentence message, details

    def __init__(self, model: nn.Module, device: str = "cpu", parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("inferenceWorker")
        self._model = model
        self._device = torch.device(device)
        # What "Reset weights" goes back to: the weights the model came with.
        self._initial_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._live: LiveGraph | None = None  # the last backward's graph, for saved values
        self._settings = ForwardSettings()
        self._cancelled_loads: set[int] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._forward: ForwardRequest | None = None
        self._commands: deque[tuple[str, Any]] = deque()
        self._stopping = False
        self._cancel = threading.Event()  # set on stop: a running forward/backward gives up
        self._user_cancel = threading.Event()  # set by Cancel: the running backward gives up
        # Frame pacing: set when the last result is on screen. Computing the next forward while
        # the GUI thread paints the last one only makes both fight over the GIL and the cores;
        # waiting and then taking the newest input gives fresher frames sooner.
        self._frame_shown = threading.Event()
        self._frame_shown.set()
        self._last_forward_ms = 0.0
        self.submitted = 0  # forward requests handed in
        self.computed = 0  # forward requests actually run

    # -- called from the GUI thread -------------------------------------------------------
    def submit(self, request: ForwardRequest) -> None:
        with self._lock:
            self.submitted += 1
            self._forward = request
        self._wake.set()

    def request_parameters(self, module_path: str, request_id: int) -> None:
        self._command("parameters", (module_path, request_id), replace=True)

    def set_device(self, device: str) -> None:
        self._command("device", device)

    def run_backward(self, request: ForwardRequest, loss: LossSpec, zero_grad: bool) -> None:
        self._command("backward", (request, loss, zero_grad))

    def update_weights(self, lr: float) -> None:
        self._command("update", lr)

    def reset_weights(self) -> None:
        self._command("reset", None)

    def request_saved_value(self, node: int, name: str) -> None:
        self._command("saved", (node, name), replace=True)

    def open_model(self, token: int, spec: str, weights, trust: bool, input_shape) -> None:
        self._command("load", (token, spec, weights, trust, input_shape))

    def cancel_load(self, token: int) -> None:
        """The user gave up waiting: a model still loading is dropped when it is ready."""
        with self._lock:
            self._cancelled_loads.add(token)

    def request_state(self) -> None:
        self._command("get_state", None)

    def set_state(self, state: dict) -> None:
        """Replace every weight (a saved session's); refused unless it fits exactly."""
        self._command("set_state", state)

    def update_settings(self, **changes) -> None:
        """Input, output index, focused module, channel page for the following forwards."""
        self._command("settings", changes)

    def cancel_work(self) -> None:
        """Stop the backward pass in progress (at its next node); the model is left as it was."""
        self._user_cancel.set()

    def frame_shown(self) -> None:
        """The GUI has painted the last result: the next forward may start."""
        self._frame_shown.set()

    def stop(self, timeout_ms: int = 3000) -> bool:
        """End the loop: a forward or backward in progress stops at its next op or node.
        Returns False if the thread was still busy after ``timeout_ms`` (a single huge kernel);
        it is then terminated, since the app is quitting."""
        with self._lock:
            self._stopping = True
        self._cancel.set()
        self._wake.set()
        self._frame_shown.set()
        if self.wait(timeout_ms):
            return True
        self.terminate()
        self.wait()
        return False

    def _command(self, kind: str, value: Any, replace: bool = False) -> None:
        with self._lock:
            if replace:  # only the newest of these matters (e.g. the latest selection)
                self._commands = deque(c for c in self._commands if c[0] != kind)
            self._commands.append((kind, value))
        self._wake.set()

    # -- the worker thread ----------------------------------------------------------------
    def run(self) -> None:
        # Leave a core to the GUI thread: torch's intra-op threads spinning on every core make
        # the painting of each result (and so the next input) wait.
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
        self._model.to(self._device)
        while True:
            self._wake.wait()
            with self._lock:
                if self._stopping:
                    return
                commands, self._commands = list(self._commands), deque()
            for kind, value in commands:
                self._safely(kind, value)
            if self._last_forward_ms < PACE_BELOW_MS:
                self._frame_shown.wait(FRAME_TIMEOUT_S)
            with self._lock:
                if self._stopping:
                    return
                request, self._forward = self._forward, None
                if not self._commands:
                    self._wake.clear()
            if request is not None:
                self._safely("forward", request)

    def _safely(self, kind: str, value: Any) -> None:
        self._user_cancel.clear()  # a Cancel pressed after the last work finished means nothing
        try:
            self._serve(kind, value)
        except Cancelled:
            if not self._cancel.is_set():  # the user's Cancel, not the app quitting
                self.workCancelled.emit(kind)
        except Exception as exc:  # the worker must survive anything a model does
            self.failed.emit(_one_sentence(kind, exc), traceback.format_exc())

    def _serve(self, kind: str, value: Any) -> None:
        if kind == "forward":
            result = run_forward(self._model, value, self._device, self._settings, self._cancel)
            self._last_forward_ms = result.forward_ms
            with self._lock:
                self.computed += 1
            self._frame_shown.clear()
            self.forwardReady.emit(result)
        elif kind == "parameters":
            path, request_id = value
            self.parametersReady.emit(module_parameters(self._model, path, request_id))
        elif kind == "device":
            self._switch_device(value)
        elif kind == "backward":
            self._backward(*value)
        elif kind == "update":
            updated = sgd_step(self._model, value)
            message = (
                f"Updated {len(updated)} parameters: p -= {value:g} * p.grad."
                if updated
                else "No gradients yet: press Backward first."
            )
            self.weightsUpdated.emit(UpdateResult("update", tuple(updated), message))
        elif kind == "reset":
            self._model.load_state_dict(self._initial_state)
            self._model.zero_grad(set_to_none=True)
            names = tuple(n for n, _ in self._model.named_parameters())
            message = "Weights reset to the ones the model was opened with; gradients cleared."
            self.weightsUpdated.emit(UpdateResult("reset", names, message))
        elif kind == "settings":
            self._settings = replace(self._settings, **value)
        elif kind == "load":
            self._load(*value)
        elif kind == "get_state":
            state = {
                k: v.detach().cpu().numpy().copy() for k, v in self._model.state_dict().items()
            }
            self.stateReady.emit(state)
        elif kind == "set_state":
            own = self._model.state_dict()
            if set(value) != set(own) or any(
                tuple(value[k].shape) != tuple(own[k].shape) for k in own
            ):
                raise ValueError("the saved weights do not fit the model")
            tensors = {k: torch.from_numpy(np.asarray(v)) for k, v in value.items()}
            self._model.load_state_dict(tensors)
            names = tuple(n for n, _ in self._model.named_parameters())
            self.weightsUpdated.emit(UpdateResult("restore", names, "Weights restored."))
        elif kind == "saved":
            node, name = value
            values = saved_value(self._live, node, name) if self._live is not None else None
            self.savedValueReady.emit(SavedValueResult(node, name, values))

    def _backward(self, request: ForwardRequest, loss: LossSpec, zero_grad: bool) -> None:
        started = time.perf_counter()
        x = torch.from_numpy(network_input(request, self._settings.input)).to(self._device)
        self._live = None  # free the previous graph before building the next
        record, live = record_backward(
            self._model,
            x,
            loss,
            zero_grad=zero_grad,
            with_saliency=self._settings.input.kind != TENSOR,
            output_index=self._settings.output_index,
            cancel=_Either(self._cancel, self._user_cancel),
        )
        recorded = time.perf_counter()
        edges = [(a, b) for a, b, _ in record.graph.edges]
        layout = layered_layout(len(record.graph.nodes), edges)
        done = time.perf_counter()
        self._live = live
        timings = {
            "backward_ms": (recorded - started) * 1000,
            "layout_ms": (done - recorded) * 1000,
        }
        self.backwardReady.emit(BackwardResult(request.request_id, record, layout, timings))

    def _load(self, token: int, spec: str, weights, trust: bool, input_shape) -> None:
        """Open a model; only if it opens *and* runs on its input does it replace the current."""
        started = time.perf_counter()
        try:
            opened = open_model(spec, weights, trust, input_shape)
            model = opened.model.to(self._device)
            x = make_input(opened.input, np.zeros((32, 32), np.float32))
            with torch.inference_mode():
                output = model(torch.from_numpy(x).to(self._device))
            names = tuple(name for name, _ in named_outputs(output))
            if not names:
                raise ModelLoadError(f"{opened.name} returned no tensor")
        except ModelLoadError as exc:
            self.loadFailed.emit(token, str(exc), exc.details)
            return
        except (ValueError, RuntimeError, TypeError, IndexError) as exc:
            message = f"{spec} rejected an input of its shape: {type(exc).__name__}: {exc}"
            self.loadFailed.emit(token, message, traceback.format_exc())
            return
        with self._lock:
            if token in self._cancelled_loads:
                return
        self._model = model
        self._settings = ForwardSettings(input=opened.input)
        self._last_forward_ms = 0.0
        self._initial_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._live = None
        loaded = ModelLoaded(
            token=token,
            name=opened.name,
            summary=summarize(model),
            input=opened.input,
            output_names=names,
            warning=opened.warning,
            load_ms=(time.perf_counter() - started) * 1000,
            spec=spec,
        )
        self.modelLoaded.emit(loaded)

    def _switch_device(self, name: str) -> None:
        devices = tuple(available_devices())
        try:
            target = torch.device(name)
            self._model.to(target)
        except Exception as exc:
            self._model.to(self._device)  # stay where we were
            message = f"Could not move the model to {name}: {exc}"
            self.deviceChanged.emit(DeviceResult(str(self._device), False, message, devices))
            return
        self._device = target
        self._live = None  # the recorded graph lives on the old device
        self.deviceChanged.emit(DeviceResult(str(target), True, "", devices))


class _Either:
    """Looks set when either event is (what core's ``check`` asks of a cancel flag)."""

    def __init__(self, *events: threading.Event) -> None:
        self._events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self._events)


def _one_sentence(kind: str, exc: BaseException) -> str:
    what = {
        "forward": "The forward pass",
        "parameters": "Reading parameters",
        "backward": "The backward pass",
        "update": "Updating the weights",
        "reset": "Resetting the weights",
        "saved": "Reading a saved tensor",
        "settings": "Changing the forward settings",
        "load": "Opening the model",
        "get_state": "Reading the weights",
        "set_state": "Restoring the weights",
    }.get(kind, kind)
    return f"{what} failed: {type(exc).__name__}: {exc}"
