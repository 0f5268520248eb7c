"""File > Connect…: the window on a model that trains in another process (``inspector.attach``).

Connecting puts a ``RemoteEngine`` behind the window's ``Compute`` (``switch_engine``): the
module tree, forwards of the drawing, weights, Backward and its stepping then come from the
probe in the training process, through the same jobs as for a local model. The Training dock
plots the training's own ``probe.step`` scalars and gradient health and does not train it.
Disconnecting puts the local model back; the training goes on. When the training ends or dies
the status bar says so in one sentence.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QWidget

from inspector.core.attach.client import TrainingGone
from inspector.core.attach.remote import RemoteEngine
from inspector.core.attach.wire import TOKEN_ENV, parse_address
from inspector.core.model.inputs import TENSOR
from inspector.core.state import AppState
from inspector.gui.work.runner import Job

POLL_MS = 500  # the Training dock's curves and gradient health, and the training's liveness
FOLLOW_S = 1.0  # the activations and weights follow the training this often


class Connection(QObject):
    """Takes the state, the compute, the ``opener`` whose progress dialog and Cancel a connect
    uses, the Training dock's ``training_panel``, the ``disconnect_action`` it enables, the
    window title's getter and setter and the widget its dialog belongs to."""

    message = Signal(str, bool)  # a sentence, whether it is a warning
    weightsMoved = Signal()  # the training moved them: forward and parameters again
    localChanged = Signal(bool)  # False while connected: what the script owns is greyed

    def __init__(
        self,
        state: AppState,
        compute,
        opener,
        training_panel,
        disconnect_action: QAction,
        title: Callable[[], str],
        set_title: Callable[[str], None],
        dialog_parent: QWidget | None = None,
    ) -> None:
        super().__init__(dialog_parent)
        self.state, self.compute, self.opener = state, compute, opener
        self.training_panel, self.disconnect_action = training_panel, disconnect_action
        self._title, self._set_title = title, set_title
        self.remote: RemoteEngine | None = None
        self.ended: str | None = None
        self._asked = False  # a progress request is on its way
        self._followed_step, self._followed_at = -1, 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        self.compute.modelLoaded.connect(self._on_model_loaded)
        self.compute.forwardReady.connect(self._keep_refusal)
        self.compute.runner.finished.connect(self._close)  # the window closed: let go
        self._follow()

    # -- connecting -------------------------------------------------------------------------------
    def choose(self) -> None:
        """Ask for HOST:PORT and the token (File > Connect…), then connect."""
        dialog = QDialog(self.parent())
        dialog.setObjectName("connectDialog")
        dialog.setWindowTitle("Connect to a training")
        address = QLineEdit(self.state.connection or "127.0.0.1:5870")
        address.setObjectName("connectAddressEdit")
        token = QLineEdit(os.environ.get(TOKEN_ENV, ""))
        token.setObjectName("connectTokenEdit")
        token.setEchoMode(QLineEdit.EchoMode.Password)
        token.setPlaceholderText("the token the training printed")
        form = QFormLayout(dialog)
        form.addRow("Address (HOST:PORT)", address)
        form.addRow("Token", token)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        form.addRow(buttons)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.connect_to(address.text(), token.text() or None))
        dialog.open()

    def connect_to(self, address: str, token: str | None = None) -> int | None:
        """Connect to the probe at ``address``; a failure is one sentence (``loadFailed``)."""
        try:
            parse_address(address)
        except ValueError as exc:
            self.message.emit(str(exc), True)
            return None
        self.opener.busy.open(f"Connecting to {address}…", self.opener.cancel)
        self.message.emit(f"Connecting to {address}…", False)

        def build(engine, cancel) -> RemoteEngine:
            return RemoteEngine.connect(address, token)

        def adopt(engine, remote: RemoteEngine):
            if isinstance(engine, RemoteEngine):
                engine.close()  # from one training to another
            return remote, remote.loaded()

        return self.compute.switch_engine(f"Connecting to {address}", build, adopt)

    def disconnect(self) -> None:
        """Back to the model opened here; the training goes on as if nobody had looked."""
        if self.remote is None:
            self.message.emit("Not connected to a training.", False)
            return
        local = self.compute.local_engine

        def build(engine, cancel) -> None:
            return None

        def adopt(engine, _built):
            if isinstance(engine, RemoteEngine):
                engine.close()
            opened = local.opened
            return local, local.open(opened.spec, opened=opened)

        self.compute.switch_engine("Disconnecting", build, adopt)

    # -- following what the window shows -----------------------------------------------------------
    @Slot(object)
    def _on_model_loaded(self, loaded) -> None:
        """Every switch of model comes here: to a probe (``attach:`` spec) or away from one."""
        engine = self.compute.runner.engine
        remote = engine if isinstance(engine, RemoteEngine) and loaded.spec == engine.spec else None
        self.remote, self.ended = remote, None
        self.state.connection = remote.client.address if remote is not None else ""
        if remote is None:
            self.timer.stop()
            self._follow()
            return
        example = remote.info.get("example")
        if loaded.input.kind == TENSOR and example is not None:
            self.state.raw_input = example  # the script's own example input
        self.training_panel.show_progress(None)
        self._follow()
        self._asked = False
        self.timer.start()
        self._poll()

    def _follow(self) -> None:
        remote = self.remote
        self.disconnect_action.setEnabled(remote is not None)
        self.training_panel.reinit_button.setEnabled(remote is None)
        self.localChanged.emit(remote is None)
        self._keep_refusal()
        title = self._title().split(" — connected")[0]
        if remote is not None:
            title += f" — connected to {remote.where}"
        self._set_title(title)

    @Slot()
    def _keep_refusal(self, _result=None) -> None:
        if self.remote is not None:
            self.training_panel.set_refusal(
                f"This model trains in its own script ({self.remote.where}): the curves are "
                "its probe.step scalars, and the window does not train it."
            )

    @Slot()
    def _poll(self) -> None:
        if self.remote is None or self._asked or self.ended:
            return
        self._asked = True
        remote = self.remote

        def run(engine, cancel):
            if engine is not remote:
                return None
            try:
                return engine.progress()
            except Exception as exc:  # said here, not as a failed job: polling goes on
                return exc

        def done(result) -> None:
            self._asked = False
            if self.remote is not remote or result is None:
                return
            if isinstance(result, TrainingGone):
                self._on_ended(str(result))
            elif isinstance(result, Exception):
                self.message.emit(f"Reading the training's progress failed: {result}", True)
            else:
                self.training_panel.show_progress(result)
                self._follow_training(result.step)

        what = "Reading the training's progress"
        self.compute.runner.call(Job("attach-progress", what, run, done, latest_only=True))

    def _follow_training(self, step: int) -> None:
        """The weights moved: the drawing's forward and the weights panel again, at most once
        a FOLLOW_S (each is a request the training answers between two of its steps)."""
        now = time.monotonic()
        if step == self._followed_step or now - self._followed_at < FOLLOW_S:
            return
        self._followed_step, self._followed_at = step, now
        self.weightsMoved.emit()

    @Slot()
    def _close(self) -> None:
        """The runner stopped (the window closes): nothing uses the connection any more."""
        self.timer.stop()
        engine = self.compute.runner.engine
        if isinstance(engine, RemoteEngine):
            engine.close()

    def _on_ended(self, message: str) -> None:
        self.ended = message
        self.timer.stop()
        self.message.emit(message, True)
        self.training_panel.set_status(message)
