"""A model file that crashes the interpreter is tried in a child process first: the crash there
is one sentence here, and this process (the window, the drawing, unsaved training) lives on."""

from __future__ import annotations

import subprocess

import pytest
import torch

from inspector.core.files import probe as probe_module
from inspector.core.files.checkpoints import ModelLoadError
from inspector.core.files.loading import open_model
from tests import hostile


def one_sentence(message: str) -> None:
    assert "\n" not in message and ". " not in message.rstrip("."), message


def test_a_torchscript_file_whose_forward_segfaults_is_refused(tmp_path):
    path = hostile.lying_torchscript(tmp_path / "lying.pt")
    with pytest.raises(ModelLoadError) as caught:
        open_model(str(path), input_shape="2")  # the user opened it: still tried first
    message = str(caught.value)
    one_sentence(message)
    assert message == (
        "lying.pt is refused: it crashed the process that tried it (SIGSEGV), "
        "so it was not opened here"
    )


def test_a_session_model_that_aborts_is_refused_and_one_opened_by_hand_is_not_tried(
    tmp_path, monkeypatch
):
    models = hostile.crashing_models(tmp_path)
    with pytest.raises(ModelLoadError, match=r"crashed the process that tried it \(SIGABRT\)"):
        open_model(f"{models}:Aborts", probe=True)  # from a session or remembered
    tried = []
    monkeypatch.setattr(probe_module, "probe", lambda *a, **k: tried.append(a))
    opened = open_model(f"{models}:Hungry")  # a .py the user opens: no child, no cost
    assert tried == [] and opened.name == "Hungry"


def test_a_model_that_needs_more_memory_than_there_is_is_refused(tmp_path):
    models = hostile.crashing_models(tmp_path)
    with pytest.raises(ModelLoadError) as caught:
        open_model(f"{models}:Hungry", probe=True)
    message = str(caught.value)
    one_sentence(message)
    assert message.startswith("crashing.py is refused: opening and running it once needed more")


def test_a_clean_program_is_tried_and_opens(tmp_path):
    path = hostile.ones_pt2(tmp_path / "ones.pt2")
    assert open_model(str(path), input_shape="2").input.shape == (2,)


def test_a_file_that_ran_fine_is_not_tried_again_until_its_bytes_change(tmp_path, monkeypatch):
    path = hostile.ones_pt2(tmp_path / "ones.pt2")
    children = []

    def child(command, **_options):  # a child that ran it fine (the real one: tests above)
        children.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(probe_module.subprocess, "run", child)
    open_model(str(path), input_shape="2")
    open_model(str(path), input_shape="2")  # the same bytes, the same request: no child
    assert len(children) == 1
    open_model(str(path), input_shape="3")  # another request
    assert len(children) == 2
    torch.export.save(torch.export.export(torch.nn.ReLU(), (torch.ones(2),)), str(path))
    open_model(str(path), input_shape="2")  # other bytes under the same name
    assert len(children) == 3
