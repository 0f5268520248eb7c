"""Files from someone else, built by the tests themselves: model code that writes a marker when
imported, hostile pickles, a ``.pt2`` with a pickled weight, oversized sessions, and a model
with every dtype and shape a session must carry (fp32, fp16, bf16, int64, 0-d, BatchNorm)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import torch

from inspector.core.files.session import SessionState, save_session

MIXED_SOURCE = '''
import torch
import torch.nn.functional as F
from torch import nn


class Mixed(nn.Module):
    """fp32 conv and linear, BatchNorm (0-d int64 num_batches_tracked), bf16, fp16, int64."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.bn = nn.BatchNorm2d(2)
        self.fc = nn.Linear(32, 10)
        self.bf = nn.Parameter(torch.randn(10, dtype=torch.bfloat16))
        self.register_buffer("fp16", torch.randn(10, dtype=torch.float16))
        self.register_buffer("ids", torch.randint(0, 10**12, (4,)))
        with torch.no_grad():  # every construction differs, so a restore shows
            self.bn.running_mean.normal_()
            self.bn.num_batches_tracked.fill_(int(torch.randint(1, 10**9, ())))

    def forward(self, x):
        y = F.adaptive_avg_pool2d(self.bn(self.conv(x)), 4).flatten(1)
        return self.fc(y) + self.bf.float() + self.fp16.float()
'''


def marker_line(marker: Path | None) -> str:
    if marker is None:
        return ""
    return f"import pathlib\npathlib.Path({str(marker)!r}).write_text('imported')\n"


def model_file(folder: Path, marker: Path | None = None, name: str = "mixed.py") -> Path:
    """A model file (class ``Mixed``) that writes ``marker`` when imported, if given."""
    path = folder / name
    path.write_text(marker_line(marker) + MIXED_SOURCE)
    return path


def mixed_weights() -> dict[str, torch.Tensor]:
    """A state dict that fits ``Mixed``, made without importing any file."""
    namespace: dict = {}
    exec(MIXED_SOURCE, namespace)
    return {k: v.clone() for k, v in namespace["Mixed"]().state_dict().items()}


class WritesMarker:
    """Unpickling this writes ``path``: stands for any code a hostile file runs."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (exec, (f"__import__('pathlib').Path({str(self.path)!r}).write_text('ran')",))


def hostile_checkpoint(path: Path, marker: Path) -> Path:
    """A checkpoint that only full unpickling reads, and that writes ``marker`` then."""
    torch.save({"conv1.weight": torch.zeros(1), "evil": WritesMarker(marker)}, path)
    return path


def qint8() -> torch.Tensor:
    """A quantized tensor: the meta device cannot hold one (deprecation warning silenced)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.quantize_per_tensor(torch.ones(4), 0.1, 0, torch.qint8)


def quantized_hostile_checkpoint(path: Path, marker: Path) -> Path:
    """A qint8 tensor beside a pickle that writes ``marker``: a ``weights_only`` load on the
    meta device fails on the tensor first (and so once passed for "needs no unpickling")."""
    torch.save({"q": qint8(), "evil": WritesMarker(marker)}, path)
    return path


def hostile_pt2(clean: Path, path: Path, marker: Path) -> Path:
    """``clean`` (a torch.export archive) with its first weight pickled: loading it runs code."""
    with zipfile.ZipFile(clean) as archive:
        parts = [(info.filename, archive.read(info)) for info in archive.infolist()]
    buffer = io.BytesIO()
    torch.save(WritesMarker(marker), buffer)
    out = []
    for name, data in parts:
        if name.endswith("data/weights/model_weights_config.json"):
            config = json.loads(data)
            first = next(iter(config["config"]))
            config["config"][first]["use_pickle"] = True
            data = json.dumps(config).encode()
        elif name.endswith("data/weights/weight_0"):
            data = buffer.getvalue()
        out.append((name, data))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in out:
            archive.writestr(name, data)
    return path


def session(path: Path, **fields) -> Path:
    """A session file with ``fields`` (a drawing with a stroke unless given)."""
    drawing = np.zeros((32, 32), np.float32)
    drawing[8:24, 15:17] = 1.0
    fields.setdefault("drawing", drawing)
    save_session(path, SessionState(**fields))
    return path


def bomb_session(path: Path) -> Path:
    """A valid-looking session whose weights member expands 1000-fold (a zip bomb)."""
    session(path)
    with zipfile.ZipFile(path) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            if name == "weights.safetensors":
                data = b"\0" * (32 << 20)
            archive.writestr(name, data)
    return path


def padded_json_session(path: Path) -> Path:
    """A session whose session.json is padded past the 1 MiB a session's settings may take."""
    session(path)
    with zipfile.ZipFile(path) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    meta = json.loads(parts["session.json"])
    meta["padding"] = " " * (3 << 20)
    parts["session.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def bits(tensor: torch.Tensor) -> torch.Tensor:
    """The bytes of ``tensor``: equal bits, whatever the dtype (bf16, NaN, -0.0 included)."""
    return tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8)


def assert_same_bits(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for name, value in want.items():
        value = value if isinstance(value, torch.Tensor) else torch.from_numpy(np.asarray(value))
        mine = got[name]
        mine = mine if isinstance(mine, torch.Tensor) else torch.from_numpy(np.asarray(mine))
        assert mine.dtype == value.dtype, name
        assert tuple(mine.shape) == tuple(value.shape), name
        assert bits(mine).equal(bits(value)), name


# -- programs: .pt2 and TorchScript that touch files or paste code -----------------------------
class _Ones(torch.nn.Module):
    def forward(self, x):
        t = torch.ones(4, dtype=torch.uint8)
        t.fill_(65)
        return x + t.float().sum()


def _rewrite_json(src: Path, dst: Path, edit) -> Path:
    with zipfile.ZipFile(src) as archive:
        parts = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(dst, "w") as archive:
        for name, data in parts:
            if name.endswith("models/model.json"):
                program = json.loads(data)
                edit(program)
                data = json.dumps(program).encode()
            archive.writestr(name, data)
    return dst


def ones_pt2(path: Path) -> Path:
    """A clean export whose first node makes a uint8 tensor and whose second fills it."""
    torch.export.save(torch.export.export(_Ones(), (torch.ones(2),)), str(path))
    return path


def from_file_pt2(path: Path, victim: Path) -> Path:
    """Only ``torch.ops.aten`` operators, no pickle: ``from_file(victim, shared=True)`` then
    ``fill_(65)``, which overwrites the victim's first 4 bytes with ``AAAA`` when run."""
    clean = ones_pt2(path.with_name(path.stem + "_clean.pt2"))

    def edit(program: dict) -> None:
        node = program["graph_module"]["graph"]["nodes"][0]
        node["target"] = "torch.ops.aten.from_file.default"
        node["inputs"] = [
            {"name": "filename", "arg": {"as_string": str(victim)}, "kind": 1},
            {"name": "shared", "arg": {"as_bool": True}, "kind": 1},
            {"name": "size", "arg": {"as_int": 4}, "kind": 1},
            {"name": "dtype", "arg": {"as_scalar_type": 1}, "kind": 2},
        ]

    return _rewrite_json(clean, path, edit)


def arg_name_pt2(path: Path, marker: Path) -> Path:
    """No pickle: ``forward_arg_names`` ``["x", "y=<expr>"]``; torch writes
    ``def forward(self, x, y=<expr>)`` and ``.module()`` executes it, writing ``marker``."""
    clean = ones_pt2(path.with_name(path.stem + "_clean.pt2"))
    write = f"__import__('pathlib').Path({str(marker)!r}).write_text('ran')"

    def edit(program: dict) -> None:
        signature = program["graph_module"]["module_call_graph"][0]["signature"]
        signature["forward_arg_names"] = ["x", f"y={write}"]

    return _rewrite_json(clean, path, edit)


def from_file_torchscript(path: Path, victim: Path, shared: bool = True) -> Path:
    """A TorchScript archive whose forward maps ``victim`` (``shared``: writably) and fills
    it: the first 4 bytes become ``AAAA``; unshared, it reads the file into the output."""
    torch.jit.script(_Ones()).save(str(path))
    with zipfile.ZipFile(path) as archive:
        parts = [(info.filename, archive.read(info)) for info in archive.infolist()]
    call = f"torch.from_file({str(victim)!r}, {shared}, 4, dtype=0)"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts:
            if name.endswith(".py"):
                data = data.replace(b"torch.ones([4], dtype=0)", call.encode())
            archive.writestr(name, data)
    return path


class _Table(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("table", torch.zeros(70_000))

    def forward(self, x):
        return x + self.table.sum()


def lying_torchscript(path: Path) -> Path:
    """A TorchScript archive whose ``data.pkl`` describes a 50M-float buffer over a 16-byte
    record: it loads, and its first forward reads far past the record (SIGSEGV)."""
    import struct

    torch.jit.script(_Table()).save(str(path))
    said, lie = (b"J" + struct.pack("<i", n) for n in (70_000, 50_000_000))
    with zipfile.ZipFile(path) as archive:
        parts = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts:
            if name.endswith("/data.pkl"):
                data = data.replace(said, lie)
            elif "/data/" in name:
                data = data[:16]
            archive.writestr(name, data)
    return path


CRASHING_SOURCE = """
import os
import torch


class Aborts(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        os.abort()


class Hungry(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x) + torch.ones(1 << 44, dtype=torch.uint8).sum()
"""


def crashing_models(folder: Path) -> Path:
    """``crashing.py``: ``Aborts`` (its forward calls ``abort``), ``Hungry`` (16 TiB)."""
    path = folder / "crashing.py"
    path.write_text(CRASHING_SOURCE)
    return path
