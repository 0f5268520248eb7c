"""The drawing, autosaved every few seconds while it changes, one file per running instance;
after a crash or a kill the next start offers it back."""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal, Slot

from inspector.core.files.io import atomic_save_npy, remove_stale_partials
from inspector.core.files.session_checks import Invalid, check_drawing
from inspector.core.files.session_zip import MAX_DRAWING_BYTES
from inspector.core.model import drawing as edits
from inspector.core.state import AppState
from inspector.logs import LOG

AUTOSAVE_MS = 3000


def autosave_path(pid: int | None = None) -> Path:
    """This instance's autosave: one file per process, so two instances never share one."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    folder = Path(base or Path.home() / ".net-inspector") / "autosave"
    return folder / f"drawing-{os.getpid() if pid is None else pid}.npy"


class Autosave(QObject):
    """Follows ``state.drawing``; an autosave taken back goes into the state as an edit."""

    message = Signal(str, bool)  # a sentence, whether it is a warning

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._dirty = False
        # The write (two fsyncs) runs off the GUI thread: a slow disk must never stall a
        # stroke, which this timer fires in the middle of every three seconds.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        state.on("drawing", self._mark_dirty)
        self.timer = QTimer(self)
        self.timer.setInterval(AUTOSAVE_MS)
        self.timer.timeout.connect(self.now)
        self.timer.start()

    def _mark_dirty(self, _drawing) -> None:
        self._dirty = True

    @Slot()
    def now(self) -> Future | None:
        """Write the drawing if it changed, in the background; the write's future."""
        if not self._dirty or self._writer is None:
            return None
        self._dirty = False
        drawing = self.state.drawing.copy()
        future = self._writer.submit(_write, autosave_path(), drawing)
        future.add_done_callback(self._written)
        return future

    def _written(self, future: Future) -> None:
        if not future.result():  # failed (logged): try again at the next tick
            self._dirty = True

    @staticmethod
    def leftover() -> Path | None:
        """A drawing autosaved by a run that did not close cleanly (whose process is gone)."""
        mine = autosave_path()
        remove_stale_partials(mine.parent, every_name=True)  # writes that a kill cut short
        for path in sorted(mine.parent.glob("drawing*.npy")):
            if path.is_symlink() or not path.is_file():  # a FIFO would block the GUI thread
                LOG.warning("ignoring %s: not a regular file", path)
                continue
            pid = path.stem.partition("-")[2]
            if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
                continue  # another instance is running and still owns it
            if path != mine:
                return path
        return None

    def restore(self, path: Path) -> bool:
        """Put the autosaved drawing at ``path`` on the canvas, checked as a session's is (a
        regular file of at most 64 KiB holding 32×32 finite numbers); a bad one is said in
        the status bar and forgotten."""
        try:
            if path.is_symlink() or not path.is_file():
                raise ValueError("not a regular file")
            if path.stat().st_size > MAX_DRAWING_BYTES:
                raise ValueError(f"{path.stat().st_size} bytes, too big for a drawing")
            drawing = check_drawing(np.load(path, allow_pickle=False), "drawing")
        except (OSError, ValueError, Invalid) as exc:
            self.message.emit(f"Could not restore the autosaved drawing: {exc}.", True)
            with contextlib.suppress(OSError):
                path.unlink()  # asked about once, not at every start
            return False
        edits.set_drawing(self.state, drawing)
        path.unlink(missing_ok=True)  # taken over: this instance autosaves it from now on
        self.message.emit("Restored the drawing from the last session.", False)
        return True

    def closing(self) -> None:
        """A clean exit: the autosave is no longer needed (a write under way finishes first,
        or it would leave the file behind, to be offered as a crash's at the next start)."""
        self.timer.stop()
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        autosave_path().unlink(missing_ok=True)


def _write(path: Path, drawing: np.ndarray) -> bool:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_save_npy(path, drawing)
        return True
    except Exception as exc:  # on the writer thread: say it in the log, try again next tick
        LOG.warning("autosave failed: %s", exc, exc_info=not isinstance(exc, OSError))
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
