"""``core.consent``: each file that would run code is named in words; nothing runs to find out."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import torch
from torch import nn

from inspector.core.files.consent import (
    CAN_DO,
    code_risks,
    consent_for,
    file_digest,
    not_consented,
)
from tests.hostile import qint8, quantized_hostile_checkpoint

ZOO_NETS = Path(__file__).resolve().parents[1] / "zoo" / "nets.py"


def marker_module(folder: Path, marker: Path) -> Path:
    """A model file that writes ``marker`` when imported."""
    path = folder / "nets.py"
    path.write_text(
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('imported')\n"
        "import torch\n"
        "class Net(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        return x\n"
    )
    return path


class Hostile:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"__import__('pathlib').Path({str(self.marker)!r}).write_text('ran')",))


def test_a_python_model_runs_its_code_and_checking_does_not_import_it(tmp_path):
    marker = tmp_path / "marker"
    nets = marker_module(tmp_path, marker)
    modules_before = set(sys.modules)
    for trust in (False, True):
        risks = code_risks(f"{nets}:Net", None, trust)
        assert [r.text for r in risks] == [f"runs the Python code in {nets.resolve()} ({CAN_DO})"]
        assert risks[0].path == nets.resolve() and risks[0].kind == "python"
        assert risks[0].digest == hashlib.sha256(nets.read_bytes()).hexdigest()
    assert not marker.exists()
    assert not [m for m in set(sys.modules) - modules_before if "_user_" in m or m == "nets"]


def test_a_relative_python_path_is_named_absolute(tmp_path, monkeypatch):
    marker_module(tmp_path, tmp_path / "marker")
    monkeypatch.chdir(tmp_path)
    (risk,) = code_risks("nets.py:Net")
    assert risk.text == f"runs the Python code in {(tmp_path / 'nets.py').resolve()} ({CAN_DO})"


def test_pickled_checkpoints_are_a_risk_only_when_they_would_be_unpickled(tmp_path):
    marker = tmp_path / "marker"
    ckpt = tmp_path / "ckpt.pt"
    torch.save({"w": torch.ones(2), "evil": Hostile(marker)}, ckpt)
    model_pickle = tmp_path / "whole.pt"
    torch.save(nn.Linear(2, 2), model_pickle)
    assert code_risks(str(model_pickle), None, trust=False) == []  # refused, runs nothing
    (risk,) = code_risks(str(model_pickle), None, trust=True)
    assert risk.text == f"unpickles {model_pickle.resolve()} ({CAN_DO})"
    (risk,) = code_risks(f"{ZOO_NETS}:make_mlp", ckpt, trust=True)[1:]
    assert risk.text == f"unpickles {ckpt.resolve()} ({CAN_DO})"
    assert code_risks("lenet", ckpt, trust=True) == []  # built-ins never unpickle weights
    assert not marker.exists()


def test_safe_things_are_no_risk(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).eval()
    state = tmp_path / "state.pt"
    torch.save(model.state_dict(), state)
    st = tmp_path / "state.safetensors"
    from safetensors.torch import save_file

    save_file(model.state_dict(), str(st))
    scripted = tmp_path / "scripted.pt"
    torch.jit.script(model).save(str(scripted))
    exported = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(model, (torch.randn(2, 3),)), str(exported))
    for trust in (False, True):
        assert code_risks("lenet", None, trust) == []
        assert code_risks("resnet50", st, trust) == []
        assert code_risks("lenet", state, trust) == []
        assert code_risks(str(tmp_path / "missing.pt"), tmp_path / "missing.pt", trust) == []


def test_torchscript_and_pt2_are_programs_whatever_the_trust(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2)).eval()
    scripted = tmp_path / "scripted.pt"
    torch.jit.script(model).save(str(scripted))
    exported = tmp_path / "m.pt2"
    torch.export.save(torch.export.export(model, (torch.randn(2, 3),)), str(exported))
    for trust in (False, True):
        (risk,) = code_risks(str(scripted), None, trust)
        assert risk.kind == "torchscript"
        assert risk.text == f"runs the TorchScript program in {scripted.resolve()} ({CAN_DO})"
        (risk,) = code_risks(str(exported), None, trust)
        assert risk.kind == "pt2"
        assert risk.text == f"runs the torch.export program in {exported.resolve()} ({CAN_DO})"


def test_a_quantized_checkpoint_with_a_pickle_is_judged_by_the_cpu_load(tmp_path):
    """The meta device cannot hold a qint8 tensor: judged there, the pickle beside it passed
    for weights; the CPU load, the one a trusted open starts with, refuses it."""
    marker = tmp_path / "marker"
    ckpt = quantized_hostile_checkpoint(tmp_path / "q.pt", marker)
    (risk,) = code_risks(f"{ZOO_NETS}:make_mlp", ckpt, trust=True)[1:]
    assert risk.text == f"unpickles {ckpt.resolve()} ({CAN_DO})"
    clean = tmp_path / "clean.pt"
    torch.save({"q": qint8()}, clean)  # loads weights_only on the CPU: nothing to ask
    assert code_risks("resnet50", clean, trust=True) == []
    assert not marker.exists()


def test_a_pt2_with_pickled_parts_is_a_risk_when_trusted(tmp_path):
    import io
    import json
    import zipfile

    marker = tmp_path / "marker"
    clean = tmp_path / "clean.pt2"
    model = nn.Sequential(nn.Linear(3, 2)).eval()
    torch.export.save(torch.export.export(model, (torch.randn(1, 3),)), str(clean))
    hostile = tmp_path / "m.pt2"
    buffer = io.BytesIO()
    torch.save(Hostile(marker), buffer)
    with zipfile.ZipFile(clean) as src, zipfile.ZipFile(hostile, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("model_weights_config.json"):
                config = json.loads(data)
                config["config"]["0.weight"]["use_pickle"] = True
                data = json.dumps(config).encode()
            elif info.filename.endswith("data/weights/weight_0"):
                data = buffer.getvalue()
            dst.writestr(info.filename, data)
    (risk,) = code_risks(str(hostile), None, trust=False)  # its pickles are refused unopened
    assert risk.text == f"runs the torch.export program in {hostile.resolve()} ({CAN_DO})"
    (risk,) = code_risks(str(hostile), None, trust=True)
    assert risk.text == (
        f"runs the torch.export program with pickled parts in {hostile.resolve()} ({CAN_DO})"
    )
    assert not marker.exists()


def test_consent_is_per_file_and_content(tmp_path):
    nets = marker_module(tmp_path, tmp_path / "marker")
    risks = code_risks(f"{nets}:Net")
    consented: set[tuple[str, str]] = set()
    assert not_consented(risks, consented) == risks
    consented |= consent_for(risks)
    assert not_consented(code_risks(f"{nets}:Net"), consented) == []
    nets.write_text(nets.read_text() + "# changed\n")
    assert not_consented(code_risks(f"{nets}:Net"), consented) != []  # asked again


def test_file_digest_is_sha256(tmp_path):
    path = tmp_path / "f"
    data = bytes(range(256)) * 10_000
    path.write_bytes(data)
    assert file_digest(path) == hashlib.sha256(data).hexdigest()
