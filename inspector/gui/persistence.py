"""What survives the app, all derived from the one ``AppState``: session files, the settings
remembered between runs (QSettings), and the drawing autosave.

Saving a session asks the worker for the weights as they are now, then writes one file
atomically. Opening one reads and validates it completely first, then re-opens its model, puts
its weights back and applies the rest to the state, which the panels follow.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, QStandardPaths, Qt, QTimer, Signal, Slot

from ..core.io import atomic_write
from ..core.session_file import SessionError, SessionState, load_session, save_session
from ..core.state import AppState, ModelRef
from ..logs import LOG

AUTOSAVE_MS = 3000


def _absolute_spec(spec: str) -> str:
    """``nets.py:Name`` → ``/home/me/nets.py:Name``, so the next start finds it from anywhere."""
    path, sep, name = spec.rpartition(":")
    if sep and path.endswith(".py") and Path(path).exists():
        return f"{Path(path).resolve()}:{name}"
    return str(Path(spec).resolve()) if Path(spec).exists() else spec


def autosave_path() -> Path:
    """This instance's autosave: one file per running process, so two instances never share."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".net-inspector") / "autosave" / f"drawing-{os.getpid()}.npy"


def session_state(state: AppState, weights: dict[str, np.ndarray]) -> SessionState:
    """The session file's contents: the live state and the weights as they are now."""
    return SessionState(
        model_spec=state.model.spec,
        model_weights=state.model.weights,
        trust=state.model.trust,
        input_shape=state.model.input_shape,
        device=state.device,
        selected_module=state.selected_module,
        loss_kind=state.loss_kind,
        target_class=state.target_class,
        zero_grad=state.zero_grad,
        learning_rate=state.learning_rate,
        backward_step=state.backward_step,
        output_index=state.output_index,
        brush_radius=state.brush_radius,
        drawing=state.drawing.copy(),
        raw_input=None if state.raw_input is None else state.raw_input.copy(),
        weights=weights,
    )


# QSettings key -> (state field, how to read the stored text back)
REMEMBERED = {
    "canvas/brush": ("brush_radius", float),
    "loss/kind": ("loss_kind", str),
    "loss/class": ("target_class", int),
    "loss/zero_grad": ("zero_grad", lambda v: str(v).lower() == "true"),
    "loss/lr": ("learning_rate", float),
}


class Persistence(QObject):
    sessionSaved = Signal(str)
    sessionRestored = Signal(str)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.state: AppState = window.state
        self._saving_to: Path | None = None
        self._restoring: SessionState | None = None
        self._restore_path = ""
        self._dirty = False
        window.compute.stateReady.connect(self._write_session)
        # Queued: the window must have taken in the new model / graph before we build on it.
        queued = Qt.ConnectionType.QueuedConnection
        window.compute.modelLoaded.connect(self._continue_restore, queued)
        window.compute.loadFailed.connect(self._abandon_restore)
        window.compute.backwardReady.connect(self._finish_restore, queued)
        self.state.on("drawing", self._mark_dirty)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.autosave_timer.start()

    # -- session files --------------------------------------------------------------------
    def save_session(self, path: Path) -> None:
        """Ask the worker for the weights; the file is written when they arrive."""
        self._saving_to = Path(path)
        self.window.compute.request_weights()

    @Slot(object)
    def _write_session(self, weights: dict) -> None:
        path, self._saving_to = self._saving_to, None
        if path is None:
            return
        try:
            save_session(path, session_state(self.state, weights))
        except OSError as exc:
            self.window.show_message(f"Could not save {path.name}: {exc}", warning=True)
            return
        LOG.info("saved session %s", path)
        self.window.show_message(f"Saved the session to {path}.")
        self.sessionSaved.emit(str(path))

    def open_session(self, path: Path) -> bool:
        """Read ``path``; if it is sound, re-open its model and restore everything in it."""
        try:
            saved = load_session(Path(path))
        except SessionError as exc:
            self.window.last_error = str(exc)
            self.window.show_message(f"{exc}. Nothing was changed.", warning=True)
            return False
        self._restoring, self._restore_path = saved, str(path)
        ref = ModelRef(saved.model_spec, saved.model_weights, saved.input_shape, saved.trust)
        self.window.open_model(ref)
        return True

    @Slot(str, str)
    def _abandon_restore(self, *_: str) -> None:
        """The session's model did not open: nothing of it is applied, now or later."""
        self._restoring = None

    @Slot(object)
    def _continue_restore(self, _loaded) -> None:
        saved = self._restoring
        if saved is None:
            return
        w = self.window
        w.compute.set_weights(saved.weights)
        self.state.update(
            output_index=saved.output_index,
            brush_radius=saved.brush_radius,
            loss_kind=saved.loss_kind,
            target_class=saved.target_class,
            zero_grad=saved.zero_grad,
            learning_rate=saved.learning_rate,
        )
        w.canvas_panel.restore(saved.drawing, saved.raw_input)
        if saved.selected_module is not None:
            self.state.selected_module = saved.selected_module
        if saved.device != w.compute.device and w.device_combo.findText(saved.device) >= 0:
            w.device_combo.setCurrentText(saved.device)
        if saved.backward_step is None:
            self._done()
        else:
            w.run_backward()

    @Slot(object)
    def _finish_restore(self, _result) -> None:
        saved = self._restoring
        if saved is None or saved.backward_step is None:
            return
        graph = self.window.graph
        while graph.stepper.k < saved.backward_step and graph.step():
            pass
        self._done()

    def _done(self) -> None:
        path, self._restoring = self._restore_path, None
        self.window.show_message(f"Opened the session {Path(path).name}.")
        self.sessionRestored.emit(path)

    # -- autosave of the drawing ------------------------------------------------------------
    def _mark_dirty(self, _drawing) -> None:
        self._dirty = True

    @Slot()
    def autosave_now(self) -> None:
        if not self._dirty:
            return
        path = autosave_path()
        drawing = self.state.drawing

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.save(handle, drawing, allow_pickle=False)

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, write)
            self._dirty = False
        except OSError as exc:
            LOG.warning("autosave failed: %s", exc)

    @staticmethod
    def leftover_autosave() -> Path | None:
        """A drawing autosaved by a run that did not close cleanly (whose process is gone)."""
        folder = autosave_path().parent
        for path in sorted(folder.glob("drawing*.npy")):
            pid = path.stem.partition("-")[2]
            if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
                continue  # another instance is running and still owns it
            if path != autosave_path():
                return path
        return None

    def restore_autosave(self, path: Path) -> bool:
        try:
            drawing = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            self.window.show_message(f"Could not restore the autosaved drawing: {exc}", True)
            return False
        if drawing.shape != (32, 32) or not np.issubdtype(drawing.dtype, np.floating):
            return False
        self.window.canvas_panel.canvas.set_drawing(drawing)
        path.unlink(missing_ok=True)  # taken over: this instance autosaves it from now on
        self.window.show_message("Restored the drawing from the last session.")
        return True

    def closing(self) -> None:
        """A clean exit: the autosave is no longer needed, the window's layout is."""
        self.autosave_timer.stop()
        autosave_path().unlink(missing_ok=True)
        self.save_settings()

    # -- QSettings: how the window looked and what was open -------------------------------
    def save_settings(self) -> None:
        w, state = self.window, self.state
        s = QSettings()
        s.setValue("window/geometry", w.saveGeometry())
        s.setValue("window/state", w.saveState())
        for key, (name, _) in REMEMBERED.items():
            s.setValue(key, getattr(state, name))
        s.setValue("device", state.device)
        model = state.model
        s.setValue("model/spec", _absolute_spec(model.spec))
        s.setValue("model/weights", _absolute_spec(model.weights) if model.weights else "")
        s.setValue("model/trust", model.trust)
        s.setValue("model/input_shape", ",".join(map(str, model.input_shape or ())))
        s.setValue("model/input_dtype", model.input_dtype or "")

    def restore_settings(self) -> None:
        w = self.window
        s = QSettings()
        if s.contains("window/geometry"):
            w.restoreState(s.value("window/state"))  # docks first: they may resize the window
            w.restoreGeometry(s.value("window/geometry"))
        changes = {}
        for key, (name, read) in REMEMBERED.items():
            if s.contains(key):
                try:
                    changes[name] = read(s.value(key))
                except (TypeError, ValueError):
                    LOG.warning("ignoring the unreadable setting %s", key)
        self.state.update(**changes)

    @staticmethod
    def last_model() -> ModelRef | None:
        s = QSettings()
        spec = s.value("model/spec", "")
        if not spec:
            return None
        shape = s.value("model/input_shape", "")
        return ModelRef(
            spec,
            s.value("model/weights", "") or None,
            tuple(int(v) for v in shape.split(",")) if shape else None,
            str(s.value("model/trust", "false")).lower() == "true",
            str(s.value("model/input_dtype", "")) or None,
        )

    @staticmethod
    def last_device() -> str:
        return str(QSettings().value("device", "cpu"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
