"""The GUI-thread side of the worker: request ids, latest-wins submission, stale-result dropping."""

from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from torch import nn

from ..core.results import DeviceResult, ForwardRequest, ForwardResult, ParametersResult
from .worker import InferenceWorker


class Session(QObject):
    """Owns the worker thread. Panels connect to its signals and never see the model."""

    forwardReady = Signal(object)  # ForwardResult, never older than one already delivered
    parametersReady = Signal(object)  # ParametersResult for the latest selection only
    deviceChanged = Signal(object)  # DeviceResult
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
        self.worker.failed.connect(self.failed)
        self.worker.start()

    def submit(self, drawing: np.ndarray, raw_input: np.ndarray | None = None) -> int:
        """Snapshot the input and hand it to the worker; returns the request id."""
        request_id = next(self._ids)
        raw = None if raw_input is None else np.array(raw_input, np.float32, copy=True)
        self.worker.submit(ForwardRequest(request_id, np.array(drawing, np.float32), raw))
        self.latest_request_id = request_id
        return request_id

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
    def _on_device(self, result: DeviceResult) -> None:
        self.device = result.device
        self.deviceChanged.emit(result)
