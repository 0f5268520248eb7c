"""Hostile files on the command line, each built here, in real processes: exit 1 with one
sentence naming the file, no signal death, no marker written, the victim file unchanged."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import hostile
from tests.conftest import run_inspector

VICTIM_BYTES = b"safe" * 4


def refused(done: subprocess.CompletedProcess, name: str) -> str:
    assert done.returncode == 1, (done.returncode, done.stderr)  # not a signal (negative)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert line.startswith("net-inspector: ") and name in line, line
    assert ". " not in line.removeprefix("net-inspector: ").rstrip("."), line
    return line


@pytest.fixture
def victim(tmp_path) -> Path:
    path = tmp_path / "victim.rc"
    path.write_bytes(VICTIM_BYTES)
    return path


def test_a_trusted_session_naming_a_quantized_pickle_is_refused(tmp_path):
    marker = tmp_path / "marker"
    ckpt = hostile.quantized_hostile_checkpoint(tmp_path / "q.pt", marker)
    path = hostile.session(tmp_path / "q.netinspector", model_spec=str(ckpt), trust=True)
    out = tmp_path / "shot.png"
    done = run_inspector("snapshot", "--session", str(path), "--out", str(out), tmp_path=tmp_path)
    line = refused(done, path.name)
    assert "unpickles" in line and "--trust-session" in line
    assert not marker.exists() and not out.exists()


def test_programs_that_write_are_refused_even_when_opened_with_trust(tmp_path, victim):
    marker = tmp_path / "marker"
    for path in (
        hostile.arg_name_pt2(tmp_path / "names.pt2", marker),
        hostile.from_file_pt2(tmp_path / "ff.pt2", victim),
        hostile.from_file_torchscript(tmp_path / "ts.pt", victim),
    ):
        out = tmp_path / "g.json"
        args = ("graph", "--model", str(path), "--trust-checkpoint", "--out", str(out))
        line = refused(run_inspector(*args, tmp_path=tmp_path), path.name)
        assert "does what no model does" in line
        assert not marker.exists() and not out.exists()
        assert victim.read_bytes() == VICTIM_BYTES


def test_a_session_naming_torchscript_asks_first(tmp_path, victim):
    program = hostile.from_file_torchscript(tmp_path / "ts.pt", victim)
    path = hostile.session(tmp_path / "ts.netinspector", model_spec=str(program))
    out = tmp_path / "shot.png"
    done = run_inspector("snapshot", "--session", str(path), "--out", str(out), tmp_path=tmp_path)
    line = refused(done, path.name)
    assert "TorchScript program" in line and "--trust-session" in line
    assert victim.read_bytes() == VICTIM_BYTES and not out.exists()
