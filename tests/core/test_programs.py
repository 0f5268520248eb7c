"""TorchScript and ``.pt2`` files are programs: whatever no model does (touch files, paste a
name into code torch executes) is refused in one sentence before torch builds anything, even
when the user opens the file with trust. Each file is built here and shown to be hostile."""

from __future__ import annotations

import contextlib

import pytest
import torch

from inspector.core.files.checkpoints import ModelLoadError
from inspector.core.files.loading import open_model
from inspector.core.files.program_checks import (
    pt2_refusals,
    target_allowed,
    torchscript_refusals,
)
from tests import hostile

VICTIM_BYTES = b"safe" * 4


def one_sentence(message: str) -> None:
    assert "\n" not in message and ". " not in message.rstrip("."), message


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.rc"
    path.write_bytes(VICTIM_BYTES)
    return path


def builders(tmp_path, victim, marker):
    return {
        "pt2 from_file": lambda: hostile.from_file_pt2(tmp_path / "ff.pt2", victim),
        "pt2 argument name": lambda: hostile.arg_name_pt2(tmp_path / "names.pt2", marker),
        "torchscript from_file": lambda: hostile.from_file_torchscript(tmp_path / "ts.pt", victim),
        "torchscript read": lambda: hostile.from_file_torchscript(
            tmp_path / "read.pt", victim, shared=False
        ),
    }


@pytest.mark.parametrize(
    "kind", ["pt2 from_file", "pt2 argument name", "torchscript from_file", "torchscript read"]
)
@pytest.mark.parametrize("trust", [False, True])
def test_a_program_that_touches_files_is_refused_even_when_trusted(kind, trust, tmp_path, victim):
    marker = tmp_path / "marker"
    path = builders(tmp_path, victim, marker)[kind]()
    with pytest.raises(ModelLoadError) as caught:
        open_model(str(path), trust=trust)
    message = str(caught.value)
    one_sentence(message)
    assert message.startswith(f"{path.name} is refused: it does what no model does")
    assert not marker.exists()
    assert victim.read_bytes() == VICTIM_BYTES


@pytest.mark.parametrize("kind", ["pt2 from_file", "pt2 argument name", "torchscript from_file"])
def test_the_programs_are_really_hostile(kind, tmp_path, victim):
    """Run by torch as it is, they write: the refusal above is what keeps them from it."""
    marker = tmp_path / "marker"
    path = builders(tmp_path, victim, marker)[kind]()
    with contextlib.suppress(Exception):
        if path.suffix == ".pt2":
            torch.export.load(str(path)).module()(torch.ones(2))
        else:
            torch.jit.load(str(path))(torch.ones(2))
    assert marker.exists() or victim.read_bytes().startswith(b"AAAA")


def test_clean_programs_pass_and_open(tmp_path):
    clean = hostile.ones_pt2(tmp_path / "ones.pt2")
    assert pt2_refusals(clean) == []
    scripted = tmp_path / "scripted.pt"
    torch.jit.script(torch.nn.Sequential(torch.nn.Linear(3, 2))).save(str(scripted))
    assert torchscript_refusals(scripted) == []
    assert open_model(str(clean), input_shape="2").input.shape == (2,)
    assert open_model(str(scripted), input_shape="1,3").input.shape == (1, 3)


@pytest.mark.parametrize(
    ("target", "allowed"),
    [
        ("torch.ops.aten.add.Tensor", True),
        ("torch.ops.aten.from_file.default", False),
        ("torch.ops.aten.save.default", False),
        ("torch.ops.profiler._record_function_enter.default", False),
        ("torch.ops.higher_order.cond", True),
        ("_operator.getitem", True),
        ("_operator.call", False),
        ("_operator.methodcaller", False),
        ("math.sqrt", True),
        ("torch.sym_max", True),
        ("torch.os.system", False),
        ("builtins.exec", False),
        ("#custom:op", False),
    ],
)
def test_the_operator_allowlist(target, allowed):
    assert target_allowed(target) is allowed
