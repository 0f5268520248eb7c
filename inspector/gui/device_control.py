"""The device picker on the toolbar and the device in the status bar."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSignalBlocker, Slot
from PySide6.QtWidgets import QComboBox, QLabel

from inspector.core.forward.results import DeviceResult
from inspector.core.runtime.devices import available_devices


class DeviceControl(QObject):
    """Picking a device asks the worker to move the model; the combo and label follow what
    the worker reports (a refused move puts the combo back)."""

    def __init__(self, window, toolbar, device: str) -> None:
        super().__init__(window)
        self.window = window
        self.combo = QComboBox()
        self.combo.setObjectName("deviceCombo")
        self.combo.setToolTip("The device the model runs on")
        self.combo.addItems(available_devices())
        self.combo.setCurrentText(device)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Device: "))
        toolbar.addWidget(self.combo)
        self.label = QLabel(device)
        self.label.setObjectName("deviceStatus")
        window.statusBar().addPermanentWidget(self.label)
        self.combo.currentTextChanged.connect(self._picked)
        window.compute.deviceChanged.connect(self._changed)

    @Slot(str)
    def _picked(self, device: str) -> None:
        if device and device != self.window.compute.device:
            self.window.show_message(f"Moving the model to {device}…")
            self.window.compute.set_device(device)

    @Slot(object)
    def _changed(self, result: DeviceResult) -> None:
        w = self.window
        self.label.setText(result.device)
        w.state.device = result.device
        if self.combo.currentText() != result.device:
            with QSignalBlocker(self.combo):
                self.combo.setCurrentText(result.device)
        if result.ok:
            w.show_message(f"Running on {result.device}.")
            w.submit_input()
            w.refresh_parameters()
        else:
            w.show_message(result.message, warning=True)
