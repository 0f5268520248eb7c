"""The device picker and the device in the status bar, following the state.

The device is a request (``state.device``: the combo writes it) and an acknowledgement
(``state.active_device``), written here from the engine's answers only: a refused move puts
the request back, and the combo and label show where the model runs.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSignalBlocker, Signal, Slot
from PySide6.QtWidgets import QComboBox, QLabel

from inspector.core.forward.results import DeviceResult
from inspector.core.runtime.devices import available_devices
from inspector.core.state import AppState


class DeviceControl(QObject):
    message = Signal(str, bool)  # a sentence, whether it is a warning
    moved = Signal(str)  # the model runs on this device now: what shows it may refresh

    def __init__(self, state: AppState, compute, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.compute = state, compute
        self.combo = QComboBox()
        self.combo.setObjectName("deviceCombo")
        self.combo.setToolTip("The device the model runs on")
        self.combo.addItems(available_devices())
        self.combo.setCurrentText(state.active_device)
        self.label = QLabel(state.active_device)
        self.label.setObjectName("deviceStatus")
        self.combo.currentTextChanged.connect(self._picked)
        state.on("device", self._requested)
        state.on("active_device", self._show)
        compute.deviceChanged.connect(self._answered)

    @Slot(str)
    def _picked(self, device: str) -> None:
        if device:
            self.state.device = device

    def _requested(self, device: str) -> None:
        if device != self.state.active_device:
            self.message.emit(f"Moving the model to {device}…", False)
            self.compute.set_device(device)

    @Slot(object)
    def _answered(self, result: DeviceResult) -> None:
        self.state.update(active_device=result.device, device=result.device)
        self._show(result.device)  # a refused move: the combo goes back
        if result.ok:
            self.message.emit(f"Running on {result.device}.", False)
            self.moved.emit(result.device)
        else:
            self.message.emit(result.message, True)

    def _show(self, device: str) -> None:
        self.label.setText(device)
        if self.combo.currentText() != device:
            with QSignalBlocker(self.combo):
                self.combo.setCurrentText(device)
