"""What survives the app, all derived from the one ``AppState``: session files, the settings
remembered between runs (QSettings), and the drawing autosave.

Saving a session asks the worker for the weights as they are now, then writes one file
atomically. Opening one reads and validates it completely first, asks before running any code
it names (``gui.trust``), then re-opens its model with the session's weights put in before it
replaces the current one, and applies the rest to the state, which the panels follow. The
"last model" remembered in QSettings is only ever one whose code the user agreed to run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, QTimer, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QWidget

from inspector.core.files.io import remove_stale_partials
from inspector.core.files.loading import python_spec
from inspector.core.files.session import (
    SessionError,
    SessionState,
    load_session,
    save_session,
)
from inspector.core.files.session_fields import session_from, session_model, state_values
from inspector.core.model import drawing as edits
from inspector.core.state import AppState, ModelRef
from inspector.core.state_fields import Invalid, remembered
from inspector.gui.session import reading, trust
from inspector.gui.session.autosave import Autosave
from inspector.gui.session.reading import SessionReader, expanded_size
from inspector.logs import LOG


def _absolute_spec(spec: str) -> str:
    """``nets.py:Name`` → ``/home/me/nets.py:Name``, so the next start finds it from anywhere."""
    python = python_spec(spec)
    if python is not None and Path(python[0]).exists():
        return f"{Path(python[0]).resolve()}:{python[1]}"
    return str(Path(spec).resolve()) if Path(spec).exists() else spec


SAVE_FOLDER_KEY = "session/folder"  # where the last session was saved
# QSettings key -> (state field, its check): generated from the state's declarations.
REMEMBERED = remembered(AppState)
# What the engine's restore answers for (``core.files.session_restore.Restored``), and the
# selection, set once the window has taken in the new model.
_APPLIED_APART = ("model", "active_device", "selected_module", "backward_step", "comparing")


class Persistence(QObject):
    """Sessions and remembered settings of ``state``; restores go through the ``opener`` (as
    opens do) and the training and graph panels are put back as they were. Its Qt parent is
    the window its file dialogs and questions belong to."""

    sessionSaved = Signal(str)
    sessionRestored = Signal(str)
    message = Signal(str, bool)  # a sentence, whether it is a warning
    refused = Signal(str)  # why a session was not opened, in one sentence

    def __init__(self, state: AppState, compute, opener, training, graph, parent: QWidget) -> None:
        super().__init__(parent)
        self.state, self.compute = state, compute
        self.opener, self.training, self.graph = opener, training, graph
        self._saving_to: Path | None = None
        self._training = None  # the training snapshot of the session being saved
        self._restoring: SessionState | None = None  # asked of the engine, not answered yet
        self._restore_token: int | None = None  # the engine's restore job
        self._restore_path = ""
        self.consent_box = None  # the last consent question asked
        compute.stateReady.connect(self._write_session)
        self._pin_weights: dict | None = None  # A's, asked for just before the weights
        compute.pinWeightsReady.connect(self._take_pin_weights)
        compute.restored.connect(self._apply)
        compute.loadFailed.connect(self._abandon_restore)
        compute.workCancelled.connect(self._on_cancelled)
        self.autosave = Autosave(state, self)
        self.autosave.message.connect(self.message)
        self.reader = SessionReader(self)

    # -- session files --------------------------------------------------------------------
    @Slot()
    def choose_session_to_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(  # asks before overwriting
            self.parent(), "Save session", "session.netinspector",
            "Net Inspector session (*.netinspector)",
        )  # fmt: skip
        if path:
            self.save_session(Path(path))

    @Slot()
    def choose_session_to_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.parent(), "Open session", "",
            "Net Inspector session (*.netinspector);;All files (*)",
        )  # fmt: skip
        if path:
            self.open_session(Path(path))

    def save_session(self, path: Path) -> None:
        """Ask the worker for the weights; the file is written when they arrive."""
        self._saving_to = Path(path)
        self._pin_weights = None
        if self.state.pin is not None:  # answered before the weights: one queue, in order
            self.compute.request_pin_weights()
        self._training = None  # the training so far: asked first, so it arrives first
        self.training.request_snapshot(self._keep_training)
        self.compute.request_weights()

    def _keep_training(self, snapshot) -> None:
        self._training = snapshot

    @Slot(object)
    def _take_pin_weights(self, weights: dict | None) -> None:
        self._pin_weights = weights

    @Slot(object)
    def _write_session(self, weights: dict) -> None:
        path, self._saving_to = self._saving_to, None
        if path is None:
            return
        try:
            save_session(path, session_from(self.state, weights, self._pin_weights, self._training))
        except (OSError, ValueError) as exc:  # ValueError: a state that would not read back
            self.message.emit(f"Could not save {path.name}: {exc}", True)
            return
        LOG.info("saved session %s", path)
        QSettings().setValue(SAVE_FOLDER_KEY, str(path.resolve().parent))
        self.message.emit(f"Saved the session to {path}.", False)
        self.sessionSaved.emit(str(path))

    def open_session(self, path: Path, trusted: bool = False) -> bool:
        """Read and check ``path`` completely (a big one off the GUI thread, ``reading``); if
        it is sound, and the user agrees to run the code it names (asked without blocking,
        default No; ``trusted``: agreed already), re-open its model with the session's
        weights, then restore everything else in it. False if it is refused at once; nothing
        is changed then, nor when the user says No or the model does not open."""
        path = Path(path)
        self._drop_restore()
        self.reader.cancel()
        if expanded_size(path) <= reading.SYNC_BYTES:
            try:
                saved = load_session(path)
            except SessionError as exc:
                return self._refuse(f"{exc}.")
            return self._read(path, saved, trusted)
        self.message.emit(f"Reading {path.name}…", False)
        self.reader.read(path, lambda outcome: self._read(path, outcome, trusted))
        return True

    def _read(self, path: Path, saved, trusted: bool) -> bool:
        if isinstance(saved, SessionError):
            return self._refuse(f"{saved}.")
        if isinstance(saved, BaseException):
            return self._refuse(f"Could not read {path.name}: {saved}.")
        try:
            ref = session_model(saved)
            pending = [] if trusted else trust.to_ask(ref)
        except OSError as exc:
            return self._refuse(f"Could not read a file {path.name} names: {exc}.")
        if not pending:
            self._start_restore(path, saved)
            return True
        self.consent_box = trust.ask(
            self.parent(),
            pending,
            f"Opening the session {path.name}",
            lambda: self._start_restore(path, saved),
            lambda: self._refuse(f"Did not open the session {path.name}."),
        )
        return True

    def apply_session(self, path: Path, saved: SessionState) -> None:
        """Restore ``saved`` whose model is the current one, already opened with its weights
        (as the command line does before the window exists)."""
        self._start_restore(Path(path), saved, reuse_model=True)

    def _refuse(self, sentence: str) -> bool:
        self.refused.emit(sentence)
        self.message.emit(f"{sentence} Nothing was changed.", True)
        return False

    def _start_restore(self, path: Path, saved: SessionState, reuse_model: bool = False) -> None:
        """One engine operation (``Engine.restore``), answered in one GUI step (``_apply``)."""
        self._restoring, self._restore_path = saved, str(path)
        self._restore_token = self.opener.restore(saved, path.name, reuse_model)

    def _drop_restore(self) -> None:
        self._restoring = None
        self._restore_token = None

    @Slot(str, str)
    def _abandon_restore(self, *_: str) -> None:
        """The session did not open: nothing of it is applied, now or later."""
        self._drop_restore()

    @Slot(str)
    def _on_cancelled(self, kind: str) -> None:
        if kind == "open":
            self._drop_restore()

    @Slot(object)
    def _apply(self, restored) -> None:
        """The engine holds the session now (model, weights, device, pin, training, backward)
        and the window has taken in the model: the rest of the state follows, in one step."""
        saved, token = self._restoring, self._restore_token
        if saved is None or restored.loaded.token != token:
            return  # not the restore asked for last
        values = state_values(saved)
        self.state.update(**{k: v for k, v in values.items() if k not in _APPLIED_APART})
        self.state.model = restored.model  # as it was opened: the request answered
        edits.set_drawing(self.state, saved.drawing)  # undoable, as any drawing put back
        if restored.raw_input is not None:  # it fits the model (the restore checked)
            self.state.raw_input = np.array(restored.raw_input, copy=True)
        notes = list(restored.notes)
        self.training.show_restored(saved.training, restored.training, "")
        if self.training.restore_note:
            notes.append(self.training.restore_note)
        if saved.selected_module is not None:
            self.state.selected_module = saved.selected_module
        self.state.comparing = restored.comparing
        if restored.backward is not None and saved.backward_step is not None:
            graph = self.graph
            while graph.stepper.k < saved.backward_step and graph.step():
                pass
        path = self._restore_path
        self._drop_restore()
        text = " ".join([f"Opened the session {Path(path).name}.", *notes])
        self.message.emit(text, bool(notes))
        self.sessionRestored.emit(path)

    def closing(self) -> None:
        """A clean exit: the autosave is no longer needed, the settings are."""
        self.autosave.closing()
        self.reader.shutdown()
        self.save_settings()

    # -- QSettings: what was set up and open ---------------------------------------------------
    def save_settings(self) -> None:
        state = self.state
        s = QSettings()
        for key, (name, _) in REMEMBERED.items():
            s.setValue(key, getattr(state, name))
        s.setValue("device", state.active_device)
        model = state.model
        try:
            agreed = not trust.to_ask(model)
        except OSError:
            agreed = False
        if not agreed:  # never remember a model whose code the user has not agreed to run
            for key in ("model/spec", "model/weights", "model/trust", "model/input_shape"):
                s.remove(key)
            return
        s.setValue("model/spec", _absolute_spec(model.spec))
        s.setValue("model/weights", _absolute_spec(model.weights) if model.weights else "")
        s.setValue("model/trust", model.trust)
        s.setValue("model/input_shape", ",".join(map(str, model.input_shape or ())))
        s.setValue("model/input_dtype", model.input_dtype or "")

    def restore_settings(self) -> None:
        s = QSettings()
        folder = s.value(SAVE_FOLDER_KEY, "")
        if isinstance(folder, str) and folder and Path(folder).is_dir():
            remove_stale_partials(folder, every_name=True)  # what a killed save left there
        changes = {}
        forgotten: list[str] = []
        for key, (name, check) in REMEMBERED.items():
            if s.contains(key):
                try:
                    changes[name] = check.read_setting(s.value(key))
                except Invalid as exc:  # edited by hand: forgotten, and said once
                    LOG.warning("ignoring the unreadable setting %s", key)
                    s.remove(key)
                    forgotten.append(f"Forgot the saved setting {key}: it was not {exc}.")
        self.state.update(**changes)
        if forgotten:  # after the start-up's own messages, which would hide it
            QTimer.singleShot(0, lambda: self.message.emit(" ".join(forgotten), True))

    @staticmethod
    def last_model(notes: list[str] | None = None) -> ModelRef | None:
        """The remembered model; a hand-edited value is forgotten, with a sentence in
        ``notes`` (``remembered.last_model``)."""
        from inspector.gui.session.remembered import last_model

        return last_model([] if notes is None else notes)

    @staticmethod
    def last_device() -> str:
        return str(QSettings().value("device", "cpu"))
