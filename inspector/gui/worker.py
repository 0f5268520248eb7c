"""The one thread that owns the model: latest input wins, results leave as numpy only.

The GUI thread puts a frozen request into a single slot per kind and wakes the worker; a newer
request of the same kind replaces an older one that has not started, so a fast stroke never
builds a backlog. Device switches and parameter fetches go through the same thread, so nothing
else ever touches the model.
"""

from __future__ import annotations

import os
import threading
import traceback
from typing import Any

import torch
from PySide6.QtCore import QThread, Signal
from torch import nn

from ..core.devices import available_devices
from ..core.inference import module_parameters, run_forward
from ..core.results import DeviceResult, ForwardRequest

# Work kinds in the order the worker serves them when several are pending.
_ORDER = ("device", "parameters", "forward")
# How long the worker waits for the GUI to put the previous result on screen before it computes
# the next one anyway (a hidden or minimised window never paints).
FRAME_TIMEOUT_S = 0.05


class InferenceWorker(QThread):
    forwardReady = Signal(object)  # ForwardResult
    parametersReady = Signal(object)  # ParametersResult
    deviceChanged = Signal(object)  # DeviceResult
    failed = Signal(str, str)  # one-sentence message, details

    def __init__(self, model: nn.Module, device: str = "cpu", parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("inferenceWorker")
        self._model = model
        self._device = torch.device(device)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: dict[str, Any] = {}
        self._stopping = False
        # Frame pacing: set when the last result is on screen. Computing the next forward while
        # the GUI thread paints the last one only makes both fight over the GIL and the cores;
        # waiting and then taking the newest input gives fresher frames sooner.
        self._frame_shown = threading.Event()
        self._frame_shown.set()
        self.submitted = 0  # forward requests handed in
        self.computed = 0  # forward requests actually run

    # -- called from the GUI thread -------------------------------------------------------
    def submit(self, request: ForwardRequest) -> None:
        with self._lock:
            self.submitted += 1
            self._pending["forward"] = request
        self._wake.set()

    def request_parameters(self, module_path: str, request_id: int) -> None:
        self._put("parameters", (module_path, request_id))

    def set_device(self, device: str) -> None:
        self._put("device", device)

    def frame_shown(self) -> None:
        """The GUI has painted the last result: the next forward may start."""
        self._frame_shown.set()

    def stop(self) -> None:
        """Ask the loop to end and wait for it (the current computation finishes first)."""
        with self._lock:
            self._stopping = True
        self._wake.set()
        self._frame_shown.set()
        self.wait()

    def _put(self, kind: str, value: Any) -> None:
        with self._lock:
            self._pending[kind] = value
        self._wake.set()

    # -- the worker thread ----------------------------------------------------------------
    def run(self) -> None:
        # Leave a core to the GUI thread: torch's intra-op threads spinning on every core make
        # the painting of each result (and so the next input) wait.
        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
        self._model.to(self._device)
        while True:
            self._wake.wait()
            self._frame_shown.wait(FRAME_TIMEOUT_S)
            with self._lock:
                if self._stopping:
                    return
                self._wake.clear()
                work = [(k, self._pending.pop(k)) for k in _ORDER if k in self._pending]
            for kind, value in work:
                try:
                    self._serve(kind, value)
                except Exception as exc:  # the worker must survive anything a model does
                    self.failed.emit(_one_sentence(kind, exc), traceback.format_exc())

    def _serve(self, kind: str, value: Any) -> None:
        if kind == "forward":
            result = run_forward(self._model, value, self._device)
            with self._lock:
                self.computed += 1
            self._frame_shown.clear()
            self.forwardReady.emit(result)
        elif kind == "parameters":
            path, request_id = value
            self.parametersReady.emit(module_parameters(self._model, path, request_id))
        elif kind == "device":
            self._switch_device(value)

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
        self.deviceChanged.emit(DeviceResult(str(target), True, "", devices))


def _one_sentence(kind: str, exc: BaseException) -> str:
    what = {"forward": "The forward pass", "parameters": "Reading parameters"}.get(kind, kind)
    return f"{what} failed: {type(exc).__name__}: {exc}"
