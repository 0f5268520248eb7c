"""Writing files atomically: the one way Net Inspector writes a file a user keeps.

A file is written to a temporary file in the same folder, flushed to disk (``fsync``) and then
renamed over the destination with ``os.replace``, which is atomic on POSIX and Windows when both
are on one file system (hence the same folder). A failure at any point (an exception in the
writer, a full disk, ``kill -9``) leaves the previous file exactly as it was; an exception also
removes the temporary file. A process killed mid-write can leave a ``.NAME.PID.*.partial``
file, never a half-written destination; the next write of NAME (``remove_stale_partials``)
removes those whose process is gone. A new file's permissions follow the umask, as a plain
``open`` would give it.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "atomic_save_npy",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "file_digest",
]


def atomic_write(path: Path | str, write: Callable[[Path], None]) -> Path:
    """Make ``path`` by calling ``write(tmp)`` on a temporary path beside it, then renaming.

    ``write`` must create the file it is given (it exists, empty, when ``write`` is called: open
    it with ``"wb"`` or hand it to a library that writes to a path). Returns ``path``. Raises
    whatever ``write`` or the file system raised; ``path`` is then untouched and the temporary
    file gone. The destination keeps its permission bits if it existed; a new file gets
    ``0o666`` less the umask, as ``open`` gives it (not ``mkstemp``'s ``0o600``).
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    remove_stale_partials(path)
    prefix = f".{path.name}.{os.getpid()}."
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".partial", dir=folder)
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


def is_special(path: Path | str) -> bool:
    """Whether ``path`` exists but is neither a regular file nor a folder: a device
    (``/dev/zero`` never ends), a FIFO (reading it blocks), a socket. Links are followed."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def remove_stale_partials(path: Path | str, every_name: bool = False) -> int:
    """Remove the ``.NAME.PID.*.partial`` files beside ``path`` (``every_name``: in the folder
    ``path``, whatever their NAME) left by a writer that was killed (its process is gone);
    returns how many. Never raises."""
    path = Path(path)
    folder = path if every_name else (path.parent if str(path.parent) else Path("."))
    pattern = ".*.partial" if every_name else f".{glob.escape(path.name)}.*.partial"
    removed = 0
    try:
        leftovers = list(folder.glob(pattern))
    except OSError:
        return 0
    for leftover in leftovers:
        parts = leftover.name.rsplit(".", 3)  # ".NAME", PID, mkstemp's letters, "partial"
        if len(parts) == 4 and parts[1].isdigit() and not _alive(int(parts[1])):
            with contextlib.suppress(OSError):
                leftover.unlink()
                removed += 1
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process: leave its file alone
    return True


def _umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux 4.7+):
    ``os.umask`` sets it to read it, which races with other threads creating files."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set it to read it, and put it back at once
    os.umask(mask)
    return mask


def _copy_mode(path: Path, tmp: Path) -> None:
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_umask()
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


def file_digest(path: Path | str) -> str:
    """The sha256 of the file at ``path``, in hex (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
