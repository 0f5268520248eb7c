"""Writing files atomically: the one way Net Inspector writes a file a user keeps.

A file is written to a temporary file in the same folder, flushed to disk (``fsync``) and then
renamed over the destination with ``os.replace``, which is atomic on POSIX and Windows when both
are on one file system (hence the same folder). A failure at any point (an exception in the
writer, a full disk, ``kill -9``) leaves the previous file exactly as it was; an exception also
removes the temporary file. A process killed mid-write can leave a ``.NAME.*.partial`` file,
never a half-written destination.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_save_npy", "atomic_write", "atomic_write_bytes", "atomic_write_text"]


def atomic_write(path: Path | str, write: Callable[[Path], None]) -> Path:
    """Make ``path`` by calling ``write(tmp)`` on a temporary path beside it, then renaming.

    ``write`` must create the file it is given (it exists, empty, when ``write`` is called: open
    it with ``"wb"`` or hand it to a library that writes to a path). Returns ``path``. Raises
    whatever ``write`` or the file system raised; ``path`` is then untouched and the temporary
    file gone. The destination keeps its permission bits if it existed; a new file gets
    ``0o644`` (not ``mkstemp``'s ``0o600``; reading the umask is not thread-safe).
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        _copy_mode(path, tmp)
        write(tmp)
        with open(tmp, "rb+") as handle:  # the writer may have closed it without syncing
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_folder(folder)
    return path


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see ``atomic_write``)."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            handle.write(data)

    return atomic_write(path, write)


def atomic_write_text(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see ``atomic_write``)."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_save_npy(path: Path | str, array) -> Path:
    """``array`` as a ``.npy`` file at ``path``, atomically and without pickles."""
    import numpy as np

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a file object: np.save would add ".npy" to a path
            np.save(handle, np.asarray(array), allow_pickle=False)

    return atomic_write(path, write)


def _copy_mode(path: Path, tmp: Path) -> None:
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        mode = 0o644
    with contextlib.suppress(OSError):
        os.chmod(tmp, mode)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
