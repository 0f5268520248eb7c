"""``core.io``: a write either completes or leaves the previous file, and no temporary file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inspector.core.files.io import atomic_write, atomic_write_bytes, atomic_write_text


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def test_writes_and_replaces(tmp_path):
    path = tmp_path / "out.bin"
    atomic_write_bytes(path, b"first")
    assert path.read_bytes() == b"first"
    atomic_write_text(path, "second é")
    assert path.read_text("utf-8") == "second é"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_a_new_file_follows_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        path = atomic_write_bytes(tmp_path / "new.bin", b"x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_partials_of_killed_writers_go_at_the_next_write_and_live_ones_stay(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    stale = tmp_path / f".out.bin.{dead}.abc123.partial"
    stale.write_bytes(b"\0" * 1000)
    live = tmp_path / f".out.bin.{os.getpid()}.def456.partial"
    live.write_bytes(b"mine")
    other = tmp_path / f".other.bin.{dead}.x.partial"
    other.write_bytes(b"")
    atomic_write_bytes(tmp_path / "out.bin", b"new")
    assert leftovers(tmp_path) == sorted([live.name, other.name])


def test_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "private.bin"
    path.write_bytes(b"old")
    path.chmod(0o600)
    atomic_write_bytes(path, b"new")
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_failing_writer_leaves_the_previous_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.bin"
    atomic_write_bytes(path, b"precious")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_bytes(b"half a fi")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, half_then_fail)
    assert path.read_bytes() == b"precious"
    assert leftovers(tmp_path) == []


def test_a_failing_writer_creates_nothing_where_there_was_nothing(tmp_path):
    def fail(tmp: Path) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "new.bin", fail)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_an_oserror_and_nothing_is_written(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write_bytes(tmp_path / "no" / "such" / "folder.bin", b"x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_kill_9_mid_write_leaves_the_previous_file(tmp_path):
    """A writer killed while writing: the destination is the old file, whole."""
    path = tmp_path / "big.bin"
    atomic_write_bytes(path, b"old" * 1000)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from inspector.core.files.io import atomic_write\n"
            "def slow(tmp):\n"
            "    with open(tmp, 'wb') as f:\n"
            "        for _ in range(10000):\n"
            "            f.write(b'n' * 4096); f.flush(); time.sleep(0.001)\n"
            f"atomic_write({str(path)!r}, slow)\n",
        ],
        cwd=Path(__file__).resolve().parents[2],
    )
    deadline = time.monotonic() + 20
    while not leftovers(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert path.read_bytes() == b"old" * 1000
