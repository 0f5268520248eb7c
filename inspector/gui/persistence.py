"""What survives the app: session files, window settings (QSettings) and the drawing autosave.

Saving a session asks the worker for the weights as they are now, then writes one file
atomically. Opening one reads it completely first, then re-opens its model, puts its weights
back, and restores the drawing, selection, loss settings and the backward step.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, QStandardPaths, Qt, QTimer, Signal, Slot

from ..core.session_file import SessionError, SessionState, load_session, save_session
from ..logs import LOG
from .open_dialog import OpenRequest

AUTOSAVE_MS = 3000


def _absolute_spec(spec: str) -> str:
    """``nets.py:Name`` → ``/home/me/nets.py:Name``, so the next start finds it from anywhere."""
    path, sep, name = spec.rpartition(":")
    if sep and path.endswith(".py") and Path(path).exists():
        return f"{Path(path).resolve()}:{name}"
    return str(Path(spec).resolve()) if Path(spec).exists() else spec


def autosave_path() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".net-inspector") / "autosave" / "drawing.npy"


class Persistence(QObject):
    sessionSaved = Signal(str)
    sessionRestored = Signal(str)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self._saving_to: Path | None = None
        self._restoring: SessionState | None = None
        self._restore_path = ""
        self._dirty = False
        window.session.stateReady.connect(self._write_session)
        # Queued: the window must have taken in the new model / graph before we build on it.
        queued = Qt.ConnectionType.QueuedConnection
        window.session.modelLoaded.connect(self._continue_restore, queued)
        window.session.backwardReady.connect(self._finish_restore, queued)
        window.canvas_panel.canvas.drawingChanged.connect(self._mark_dirty)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.autosave_timer.start()

    # -- session files --------------------------------------------------------------------
    def save_session(self, path: Path) -> None:
        """Ask the worker for the weights; the file is written when they arrive."""
        self._saving_to = Path(path)
        self.window.session.request_state()

    def state(self, weights: dict[str, np.ndarray]) -> SessionState:
        w = self.window
        current = w.current_open
        graph = w.graph
        return SessionState(
            model_spec=current.spec,
            model_weights=current.weights,
            trust=current.trust,
            input_shape=current.input_shape,
            device=w.session.device,
            selected_module=w.session.selected_module,
            loss_kind=w.loss.spec().kind,
            target_class=w.loss.spec().target_class,
            zero_grad=w.loss.zero_grad.isChecked(),
            learning_rate=w.loss.lr_spin.value(),
            backward_step=graph.stepper.k if graph.stepper is not None else None,
            output_index=max(0, w.prediction.output_combo.currentIndex()),
            brush_radius=w.canvas_panel.canvas.brush_radius,
            drawing=w.canvas_panel.canvas.drawing.copy(),
            raw_input=None if w.canvas_panel.raw_input is None else w.canvas_panel.raw_input.copy(),
            weights=weights,
        )

    @Slot(object)
    def _write_session(self, weights: dict) -> None:
        path, self._saving_to = self._saving_to, None
        if path is None:
            return
        try:
            save_session(path, self.state(weights))
        except OSError as exc:
            self.window.show_message(f"Could not save {path.name}: {exc}", warning=True)
            return
        LOG.info("saved session %s", path)
        self.window.show_message(f"Saved the session to {path}.")
        self.sessionSaved.emit(str(path))

    def open_session(self, path: Path) -> bool:
        """Read ``path``; if it is sound, re-open its model and restore everything in it."""
        try:
            state = load_session(Path(path))
        except SessionError as exc:
            self.window.last_error = str(exc)
            self.window.show_message(f"{exc}. Nothing was changed.", warning=True)
            return False
        self._restoring, self._restore_path = state, str(path)
        request = OpenRequest(state.model_spec, state.model_weights, state.input_shape, state.trust)
        self.window.open_model(request)
        return True

    @Slot(object)
    def _continue_restore(self, _loaded) -> None:
        state = self._restoring
        if state is None:
            return
        w = self.window
        w.session.set_state(state.weights)
        w.session.update_settings(output_index=state.output_index)
        w.prediction.output_combo.setCurrentIndex(state.output_index)
        w.canvas_panel.restore(state.drawing, state.raw_input, state.brush_radius)
        kind_index = w.loss.loss_combo.findData(state.loss_kind)
        w.loss.loss_combo.setCurrentIndex(max(0, kind_index))
        w.loss.class_spin.setValue(state.target_class)
        w.loss.zero_grad.setChecked(state.zero_grad)
        w.loss.lr_spin.setValue(state.learning_rate)
        if state.selected_module is not None:
            w.tree.select_path(state.selected_module)
        if state.device != w.session.device and w.device_combo.findText(state.device) >= 0:
            w.device_combo.setCurrentText(state.device)
        if state.backward_step is None:
            self._done()
        else:
            w.run_backward()

    @Slot(object)
    def _finish_restore(self, _result) -> None:
        state = self._restoring
        if state is None or state.backward_step is None:
            return
        graph = self.window.graph
        while graph.stepper.k < state.backward_step and graph.step():
            pass
        self._done()

    def _done(self) -> None:
        path, self._restoring = self._restore_path, None
        self.window.show_message(f"Opened the session {Path(path).name}.")
        self.sessionRestored.emit(path)

    # -- autosave of the drawing ------------------------------------------------------------
    @Slot()
    def _mark_dirty(self) -> None:
        self._dirty = True

    @Slot()
    def autosave_now(self) -> None:
        if not self._dirty:
            return
        path = autosave_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(".drawing.partial.npy")
            np.save(tmp, self.window.canvas_panel.canvas.drawing, allow_pickle=False)
            tmp.replace(path)
            self._dirty = False
        except OSError as exc:
            LOG.warning("autosave failed: %s", exc)

    @staticmethod
    def leftover_autosave() -> Path | None:
        """The drawing autosaved by a run that did not close cleanly, if there is one."""
        path = autosave_path()
        return path if path.exists() else None

    def restore_autosave(self, path: Path) -> bool:
        try:
            drawing = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            self.window.show_message(f"Could not restore the autosaved drawing: {exc}", True)
            return False
        if drawing.shape != (32, 32):
            return False
        self.window.canvas_panel.canvas.set_drawing(drawing)
        self.window.show_message("Restored the drawing from the last session.")
        return True

    def closing(self) -> None:
        """A clean exit: the autosave is no longer needed, the window's layout is."""
        self.autosave_timer.stop()
        autosave_path().unlink(missing_ok=True)
        self.save_settings()

    # -- QSettings: how the window looked -----------------------------------------------
    def save_settings(self) -> None:
        w = self.window
        s = QSettings()
        s.setValue("window/geometry", w.saveGeometry())
        s.setValue("window/state", w.saveState())
        s.setValue("canvas/brush", w.canvas_panel.canvas.brush_radius)
        s.setValue("loss/kind", w.loss.spec().kind)
        s.setValue("loss/class", w.loss.spec().target_class)
        s.setValue("loss/zero_grad", w.loss.zero_grad.isChecked())
        s.setValue("loss/lr", w.loss.lr_spin.value())
        s.setValue("device", w.session.device)
        current = w.current_open
        s.setValue("model/spec", _absolute_spec(current.spec))
        s.setValue("model/weights", _absolute_spec(current.weights) if current.weights else "")
        s.setValue("model/trust", current.trust)
        s.setValue("model/input_shape", ",".join(map(str, current.input_shape or ())))

    def restore_settings(self) -> None:
        w = self.window
        s = QSettings()
        if s.contains("window/geometry"):
            w.restoreState(s.value("window/state"))  # docks first: they may resize the window
            w.restoreGeometry(s.value("window/geometry"))
        w.canvas_panel.brush_spin.setValue(
            float(s.value("canvas/brush", w.canvas_panel.brush_spin.value()))
        )
        kind = s.value("loss/kind", "mse")
        w.loss.loss_combo.setCurrentIndex(max(0, w.loss.loss_combo.findData(kind)))
        w.loss.class_spin.setValue(int(s.value("loss/class", 0)))
        w.loss.zero_grad.setChecked(str(s.value("loss/zero_grad", "true")).lower() == "true")
        w.loss.lr_spin.setValue(float(s.value("loss/lr", 0.01)))

    @staticmethod
    def last_model() -> OpenRequest | None:
        s = QSettings()
        spec = s.value("model/spec", "")
        if not spec:
            return None
        shape = s.value("model/input_shape", "")
        return OpenRequest(
            spec,
            s.value("model/weights", "") or None,
            tuple(int(v) for v in shape.split(",")) if shape else None,
            str(s.value("model/trust", "false")).lower() == "true",
        )

    @staticmethod
    def last_device() -> str:
        return str(QSettings().value("device", "cpu"))

    @staticmethod
    def reset_settings() -> None:
        QSettings().clear()
