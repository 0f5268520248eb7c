"""The GUI-thread side of the worker: request ids, latest-wins submission, stale-result dropping."""

from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from torch import nn

from ..core.losses import LossSpec
from ..core.results import (
    BackwardResult,
    DeviceResult,
    ForwardRequest,
    ForwardResult,
    ModelLoaded,
    ParametersResult,
)
from .worker import InferenceWorker


class Session(QObject):
    """Owns the worker thread. Panels connect to its signals and never see the model."""

    forwardReady = Signal(object)  # ForwardResult, never older than one already delivered
    parametersReady = Signal(object)  # ParametersResult for the latest selection only
    deviceChanged = Signal(object)  # DeviceResult
    backwardReady = Signal(object)  # BackwardResult of the latest Backward press only
    weightsUpdated = Signal(object)  # UpdateResult
    savedValueReady = Signal(object)  # SavedValueResult
    modelLoaded = Signal(object)  # ModelLoaded, for the latest Open only
    workCancelled = Signal(str)
    stateReady = Signal(object)  # the current weights as numpy
    loadFailed = Signal(str, str)  # one sentence, details; the previous model stays
    failed = Signal(str, str)

    def __init__(self, model: nn.Module, device: str = "cpu", parent: QObject | None = None):
        super().__init__(parent)
        self._ids = itertools.count(1)
        self.latest_request_id = 0
        self.shown_request_id = 0
        self._parameters_request_id = 0
        self.selected_module: str | None = None
        self.device = device
        self.worker = InferenceWorker(model, device)
        self.worker.forwardReady.connect(self._on_forward)
        self.worker.parametersReady.connect(self._on_parameters)
        self.worker.deviceChanged.connect(self._on_device)
        self.worker.backwardReady.connect(self._on_backward)
        self.worker.weightsUpdated.connect(self.weightsUpdated)
        self.worker.savedValueReady.connect(self.savedValueReady)
        self.worker.modelLoaded.connect(self._on_model_loaded)
        self.worker.workCancelled.connect(self.workCancelled)
        self.worker.stateReady.connect(self.stateReady)
        self.worker.loadFailed.connect(self._on_load_failed)
        self.worker.failed.connect(self.failed)
        self._backward_request_id = 0
        self._load_token = 0
        self.seed = 0  # of the random input, for models that take a tensor
        self.worker.start()

    def _snapshot(self, drawing: np.ndarray, raw_input: np.ndarray | None) -> ForwardRequest:
        raw = None if raw_input is None else np.array(raw_input, np.float32, copy=True)
        return ForwardRequest(next(self._ids), np.array(drawing, np.float32), raw, self.seed)

    # -- models -----------------------------------------------------------------------------
    def open_model(
        self, spec: str, weights: str | None = None, trust: bool = False, input_shape=None
    ) -> int:
        """Ask the worker to open a model; returns a token for ``cancel_load``."""
        self._load_token = next(self._ids)
        self.worker.open_model(self._load_token, spec, weights, trust, input_shape)
        return self._load_token

    def cancel_load(self) -> None:
        self.worker.cancel_load(self._load_token)
        self._load_token = -1

    def update_settings(self, **changes) -> None:
        self.worker.update_settings(**changes)

    def request_state(self) -> None:
        self.worker.request_state()

    def set_state(self, state: dict) -> None:
        self.worker.set_state(state)

    def submit(self, drawing: np.ndarray, raw_input: np.ndarray | None = None) -> int:
        """Snapshot the input and hand it to the worker; returns the request id."""
        request = self._snapshot(drawing, raw_input)
        self.worker.submit(request)
        self.latest_request_id = request.request_id
        return request.request_id

    def run_backward(
        self, drawing: np.ndarray, raw_input: np.ndarray | None, loss: LossSpec, zero_grad: bool
    ) -> int:
        """Forward the current input with grad, then backward with every node hooked."""
        request = self._snapshot(drawing, raw_input)
        self._backward_request_id = request.request_id
        self.worker.run_backward(request, loss, zero_grad)
        return request.request_id

    def cancel_work(self) -> None:
        self.worker.cancel_work()

    def update_weights(self, lr: float) -> None:
        self.worker.update_weights(lr)

    def reset_weights(self) -> None:
        self.worker.reset_weights()

    def request_saved_value(self, node: int, name: str) -> None:
        self.worker.request_saved_value(node, name)

    def select_module(self, path: str) -> None:
        self.selected_module = path
        self._parameters_request_id = next(self._ids)
        self.worker.request_parameters(path, self._parameters_request_id)

    def set_device(self, device: str) -> None:
        self.worker.set_device(device)

    def frame_shown(self) -> None:
        """Every visible panel shows the latest result: let the worker compute the next."""
        self.worker.frame_shown()

    def shutdown(self) -> None:
        if self.worker.isRunning():
            self.worker.stop()

    @Slot(object)
    def _on_forward(self, result: ForwardResult) -> None:
        if result.request_id < self.shown_request_id:
            return  # an older result arriving late must not replace a newer one
        self.shown_request_id = result.request_id
        self.forwardReady.emit(result)

    @Slot(object)
    def _on_parameters(self, result: ParametersResult) -> None:
        if result.request_id == self._parameters_request_id:
            self.parametersReady.emit(result)

    @Slot(object)
    def _on_backward(self, result: BackwardResult) -> None:
        if result.request_id == self._backward_request_id:
            self.backwardReady.emit(result)

    @Slot(object)
    def _on_model_loaded(self, loaded: ModelLoaded) -> None:
        if loaded.token == self._load_token:
            self.selected_module = None
            self.modelLoaded.emit(loaded)

    @Slot(int, str, str)
    def _on_load_failed(self, token: int, message: str, details: str) -> None:
        if token == self._load_token:
            self.loadFailed.emit(message, details)

    @Slot(object)
    def _on_device(self, result: DeviceResult) -> None:
        self.device = result.device
        self.deviceChanged.emit(result)
