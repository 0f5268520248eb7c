"""Sessions on the command line: ``net-inspector --session FILE`` / ``net-inspector FILE`` and
``net-inspector snapshot --session FILE``. A session that would run code is refused in one
sentence with exit 1 (nothing runs: a marker file proves it) unless ``--trust-session``; a
damaged or oversized one too; one that opens comes with its own weights, bit for bit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch

from tests import hostile
from tests.conftest import run_inspector


def _one_sentence(err: str, name: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("net-inspector: ") and name in line, line
    assert ". " not in line.removeprefix("net-inspector: ")[:-1], line  # one sentence
    return line


def _cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """``python -m inspector ARGS`` in a fresh process with its own settings and data folders."""
    return run_inspector(*args, tmp_path=tmp_path, cwd=tmp_path)


@pytest.fixture
def code_session(tmp_path) -> tuple[Path, Path]:
    """A session whose model is a .py file that writes a marker when imported."""
    marker = tmp_path / "marker"
    nets = hostile.model_file(tmp_path, marker)
    path = hostile.session(
        tmp_path / "code.netinspector",
        model_spec=f"{nets}:Mixed",
        weights=hostile.mixed_weights(),
    )
    return path, marker


def test_a_session_naming_code_is_refused_in_one_sentence(tmp_path, code_session):
    """Both ways of naming it, window and snapshot, in real processes: exit 1, nothing ran."""
    path, marker = code_session
    for args in (
        ["--session", str(path)],
        [str(path)],
        ["snapshot", "--session", str(path), "--out", str(tmp_path / "shot.png")],
    ):
        done = _cli(args, tmp_path)
        assert done.returncode == 1, (args, done.stderr)
        line = _one_sentence(done.stderr, path.name)
        assert "mixed.py" in line and "--trust-session" in line
        assert not marker.exists()
        assert not (tmp_path / "shot.png").exists()


def test_trust_session_renders_it_headless_with_its_weights(tmp_path, code_session, qapp):
    from PySide6.QtGui import QImage

    from inspector.cli.snapshot import main

    path, marker = code_session
    out = tmp_path / "shot.png"
    assert main(["--session", str(path), "--out", str(out), "--size", "1400x900"]) == 1
    assert not marker.exists() and not out.exists()
    assert (
        main(["--session", str(path), "--trust-session", "--out", str(out), "--size", "1400x900"])
        == 0
    )
    assert marker.exists()  # consented: the model's code ran
    assert QImage(str(out)).width() == 1400
    assert not list(tmp_path.glob(".*partial"))  # written atomically


def test_the_window_command_opens_a_session_with_its_weights(tmp_path, monkeypatch):
    """``net-inspector --trust-session FILE``: checked and opened before the window, the
    session's weights in the model bit for bit (not the constructor's), then handed to the app;
    the consent is remembered."""
    import inspector.app
    from inspector.cli import main
    from inspector.core.files.consent import file_digest
    from inspector.core.files.session import load_session
    from inspector.gui.session import trust

    nets = hostile.model_file(tmp_path)
    weights = hostile.mixed_weights()
    path = hostile.session(tmp_path / "s.netinspector", model_spec=f"{nets}:Mixed", weights=weights)
    started = {}
    monkeypatch.setattr(inspector.app, "run", lambda **kw: started.update(kw) or 0)
    monkeypatch.setattr(inspector.app, "set_identity", lambda: None)  # keep the test's names
    assert main([str(path)]) == 1  # not consented yet
    assert not started
    assert main(["--trust-session", str(path)]) == 0
    model = started["opened"].model
    hostile.assert_same_bits(model.state_dict(), weights)
    session_path, saved = started["session"]
    assert session_path == path and saved.model_spec == load_session(path).model_spec
    assert (str(nets.resolve()), file_digest(nets)) in trust.consented()
    started.clear()
    assert main(["--session", str(path)]) == 0  # remembered: asked once only
    assert started["session"][0] == path


def test_trusted_pickles_in_a_session_are_refused_or_never_read(tmp_path):
    """``"trust": true`` with a hostile checkpoint: as the model it is refused; as the weights
    file of a session that holds its weights it is never opened at all."""
    from inspector.cli.args import open_session_from_arguments

    marker = tmp_path / "marker"
    evil = hostile.hostile_checkpoint(tmp_path / "evil.pt", marker)
    as_model = hostile.session(tmp_path / "a.netinspector", model_spec=str(evil), trust=True)
    with pytest.raises(Exception, match="unpickles") as refused:
        open_session_from_arguments(as_model, trust_session=False)
    assert "a.netinspector" in str(refused.value)
    no_weights = hostile.session(
        tmp_path / "b.netinspector", model_weights=str(evil), trust=True, weights={}
    )
    with pytest.raises(Exception, match="needs full unpickling"):  # built-ins never trust
        open_session_from_arguments(no_weights, trust_session=False)
    from inspector.core.files.loading import bundled_lenet

    lenet = {k: v.clone() for k, v in bundled_lenet().model.state_dict().items()}
    holds_weights = hostile.session(
        tmp_path / "c.netinspector", model_weights=str(evil), trust=True, weights=lenet
    )
    saved, opened, risks = open_session_from_arguments(holds_weights, trust_session=False)
    assert risks == [] and saved.trust
    hostile.assert_same_bits(opened.model.state_dict(), lenet)
    assert not marker.exists()


def test_a_pt2_with_a_pickled_weight(tmp_path, zoo_files):
    from inspector.cli.args import open_session_from_arguments

    marker = tmp_path / "marker"
    evil = hostile.hostile_pt2(zoo_files["export"], tmp_path / "evil.pt2", marker)
    trusted = hostile.session(tmp_path / "t.netinspector", model_spec=str(evil), trust=True)
    with pytest.raises(Exception, match="pickled parts"):
        open_session_from_arguments(trusted, trust_session=False)
    untrusted = hostile.session(tmp_path / "u.netinspector", model_spec=str(evil))
    with pytest.raises(Exception, match=r"torch\.export program"):  # a program: asked first
        open_session_from_arguments(untrusted, trust_session=False)
    with pytest.raises(Exception, match="trust-checkpoint"):  # its pickles: refused anyway
        open_session_from_arguments(untrusted, trust_session=True)
    assert not marker.exists()


@pytest.mark.parametrize("build", [hostile.bomb_session, hostile.padded_json_session])
def test_oversized_sessions_are_refused_before_decompressing(tmp_path, capsys, build):
    from inspector.cli.snapshot import main

    path = build(tmp_path / "big.netinspector")
    assert main(["--session", str(path), "--out", str(tmp_path / "x.png")]) == 1
    line = _one_sentence(capsys.readouterr().err, path.name)
    assert "refused" in line


def test_a_session_from_another_folder_needs_neither_the_old_paths_nor_the_weights_file(
    tmp_path, monkeypatch
):
    """Model file and session moved together to another folder, the original weights file
    gone, opened from a third folder: the model is found beside the session and the weights
    come from the session."""
    from inspector.cli.args import open_session_from_arguments

    first = tmp_path / "first"
    first.mkdir()
    nets = hostile.model_file(first)
    weights_file = first / "w.pt"
    weights = hostile.mixed_weights()
    torch.save(weights, weights_file)
    hostile.session(
        first / "s.netinspector",
        model_spec=f"{nets}:Mixed",
        model_weights=str(weights_file),
        weights=weights,
    )
    weights_file.unlink()
    moved = tmp_path / "moved"
    first.rename(moved)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    saved, opened, risks = open_session_from_arguments(moved / "s.netinspector", trust_session=True)
    assert saved.model_spec == f"{moved / 'mixed.py'}:Mixed"
    assert [r.path for r in risks] == [(moved / "mixed.py").resolve()]
    hostile.assert_same_bits(opened.model.state_dict(), weights)


def test_damaged_sessions_and_bad_arguments(tmp_path, capsys):
    from inspector.cli.snapshot import main

    damaged = tmp_path / "d.netinspector"
    damaged.write_bytes(b"PK\x03\x04 nope")
    assert main(["--session", str(damaged), "--out", str(tmp_path / "x.png")]) == 1
    _one_sentence(capsys.readouterr().err, "d.netinspector")
    assert main(["--session", str(tmp_path / "gone.netinspector"), "--out", "x.png"]) == 1
    _one_sentence(capsys.readouterr().err, "gone.netinspector")
