"""Opening models and restoring sessions on the worker, with the progress dialog that cancels
them and the dialog that says why one failed.

The model is a request in the state (``state.model_request``, a new object each time) that this
answers by asking the worker; ``state.model`` is the acknowledgement, written by the window
from the engine's ``ModelLoaded`` only. Asks nothing about trust: callers make sure the user
agreed to run a model's code (``gui.session.trust``) before requesting it.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from inspector.core.state import AppState, ModelRef
from inspector.gui.dialogs import open_message
from inspector.gui.progress import BusyDialog
from inspector.gui.session import trust
from inspector.gui.session.open_dialog import OpenModelDialog


class ModelOpener(QObject):
    message = Signal(str, bool)  # a sentence, whether it is a warning
    failed = Signal(str)  # why the last open failed, in one sentence

    def __init__(self, state: AppState, compute, dialog_parent: QWidget) -> None:
        super().__init__(dialog_parent)
        self.state, self.compute = state, compute
        self._dialog_parent = dialog_parent
        self.busy = BusyDialog(dialog_parent, "openProgress", "Opening model", 300)
        self.token = 0  # the worker's job for the latest request
        self._from_elsewhere = False
        state.on("model_request", self._requested)
        compute.modelLoaded.connect(lambda _loaded: self.busy.close())
        compute.loadFailed.connect(self._on_failed)

    @Slot()
    def choose(self) -> None:
        """File > Open: the dialog suggests the model asked for last."""
        dialog = OpenModelDialog(self._dialog_parent, self.state.model_request)
        if dialog.exec() == OpenModelDialog.DialogCode.Accepted and dialog.request is not None:
            trust.consent_to(dialog.request)  # the user picked it: consent for its files
            self.request(dialog.request)

    def request(self, ref: ModelRef, from_elsewhere: bool = False) -> int:
        """Ask for ``ref``; the current model stays until the new one works. Returns the
        worker's token. ``from_elsewhere``: a session's or the remembered model, tried in a
        child process first (``Compute.open_model``); a request made in the state is the
        user's own."""
        self._from_elsewhere = from_elsewhere
        try:
            self.state.model_request = replace(ref)  # a new object: asking again is heard
        finally:
            self._from_elsewhere = False
        return self.token

    def _requested(self, ref: ModelRef | None) -> None:
        if ref is None:
            return
        self.token = self.compute.open_model(
            ref.spec, ref.weights, ref.trust, ref.input_shape, ref.input_dtype,
            from_elsewhere=self._from_elsewhere, inputs=ref.inputs,
        )  # fmt: skip
        self._busy(ref.spec)

    def restore(self, saved, source: str, reuse_model: bool = False) -> int:
        """Restore a session in one job (``Compute.restore``), shown as an open."""
        self.token = self.compute.restore(saved, source, reuse_model)
        self._busy(source)
        return self.token

    def _busy(self, what: str) -> None:
        self.busy.open(f"Opening {what}…", self.cancel)
        self.message.emit(f"Opening {what}…", False)

    def asked_for(self, loaded) -> ModelRef:
        """The request ``loaded`` answers (a restore's model is set from its own answer)."""
        asked = self.state.model_request
        return asked if asked is not None and asked.spec == loaded.spec else ModelRef(loaded.spec)

    def cancel(self) -> None:
        self.compute.cancel_load()
        self.message.emit("Opening cancelled; the previous model is still loaded.", False)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.busy.close()
        self.failed.emit(message)
        self.message.emit(f"{message} The previous model is still loaded.", True)
        open_message(self._dialog_parent,
            QMessageBox.Icon.Warning, "Could not open the model", message,
            "The previous model is still loaded.", details, "loadErrorDialog",
        )  # fmt: skip


def first_message(loaded) -> tuple[str, bool] | None:
    """What the status bar says about the model the window starts with (and whether it is a
    warning): its warning, how it is inspected, or the bundled LeNet's accuracy."""
    from inspector.core.model.nets import lenet_card

    if loaded.warning:
        return loaded.warning, True
    if loaded.note:  # e.g. a torch.compile'd model is inspected through its original
        return loaded.note, False
    accuracy = lenet_card().get("test_accuracy") if loaded.spec == "lenet" else None
    if accuracy:
        return f"{loaded.name}: {accuracy:.2%} on the MNIST test set. Draw!", False
    return None
