"""Reading a big session off the GUI thread: decompressing a member of hundreds of MB froze
the window for seconds (30 s for 4.5 GB). A small session (its members expand to at most
``SYNC_BYTES`` by the zip directory) is read at once, as before."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from inspector.core.files.io import is_special
from inspector.core.files.session import load_session

SYNC_BYTES = 16 << 20  # a LeNet session is 0.3 MB; a ResNet-50's weights are 100 MB


def expanded_size(path: Path) -> int:
    """What the members of the zip at ``path`` expand to, by its directory (0 if it cannot be
    read as a zip: ``load_session`` then says why, at once)."""
    if is_special(path):
        return 0
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return 0


class SessionReader(QObject):
    """``read(path, then)``: ``load_session(path)`` in a side thread; ``then(result)`` on the
    GUI thread with the ``SessionState`` or the exception it raised. A newer read supersedes
    an older one (its answer is dropped)."""

    _finished = Signal(int, object)

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="session-reader")
        self._token = 0
        self._then: Callable[[object], None] | None = None
        self._finished.connect(self._deliver)  # queued: emitted from the reading thread

    def read(self, path: Path, then: Callable[[object], None]) -> None:
        self._token += 1
        token, self._then = self._token, then
        future = self._pool.submit(load_session, path)
        future.add_done_callback(lambda done: self._finished.emit(token, _outcome(done)))

    def cancel(self) -> None:
        self._token += 1
        self._then = None

    @Slot(int, object)
    def _deliver(self, token: int, outcome: object) -> None:
        if token == self._token and self._then is not None:
            then, self._then = self._then, None
            then(outcome)

    def shutdown(self) -> None:
        self.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _outcome(future: Future) -> object:
    error = future.exception()
    return error if error is not None else future.result()
