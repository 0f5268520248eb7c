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
    noise = "This plugin does not support"  # Qt's offscreen platform, on stderr by itself
    lines = [line for line in done.stderr.strip().splitlines() if not line.startswith(noise)]
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


def test_a_session_whose_class_is_out_of_range_is_refused_not_pictured(tmp_path):
    path = hostile.session(
        tmp_path / "ce.netinspector", loss_kind="ce", target_class=2**31 - 1, backward_step=3
    )
    out = tmp_path / "shot.png"
    done = run_inspector(
        "snapshot", "--session", str(path), "--out", str(out), tmp_path=tmp_path, timeout=60
    )
    line = refused(done, "2147483647")
    assert "outside the output's 10 classes" in line and not out.exists()


def test_graph_out_on_a_path_that_cannot_be_written_is_one_sentence(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = blocker / "graph.json"  # its folder is a file: no one can write there, root neither
    done = run_inspector("graph", "--out", str(out), tmp_path=tmp_path)
    line = refused(done, "graph.json")
    assert "could not write" in line


@pytest.mark.parametrize("suffix", ["json", "svg", "dot"])
def test_graph_out_on_a_full_disk_is_one_sentence(tmp_path, monkeypatch, capsys, suffix):
    import errno

    from inspector.cli.graph import main
    from inspector.core.files import io

    def full(*_args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(io.os, "fsync", full)
    out = tmp_path / f"graph.{suffix}"
    assert main(["--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"net-inspector: could not write {out}: No space left on device"
    assert not out.exists() and not list(tmp_path.glob(".*.partial"))
