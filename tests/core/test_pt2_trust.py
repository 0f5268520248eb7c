"""``.pt2`` archives: a clean export opens; one that would unpickle or run code is refused
without trust, and the code in it never runs (a marker file proves it)."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from inspector.core.files.checkpoints import ModelLoadError
from inspector.core.files.loading import open_model
from inspector.core.files.pt2_scan import _safe_sympy_text, exported_program_code, pt2_code_parts

Parts = list[tuple[str, bytes]]


class WritesMarker:
    """Unpickling this writes ``path``: stands for any code a hostile file runs."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (exec, (f"__import__('pathlib').Path({str(self.path)!r}).write_text('ran')",))


def hostile_pickle(marker: Path) -> bytes:
    buffer = io.BytesIO()
    torch.save(WritesMarker(marker), buffer)
    return buffer.getvalue()


def rewrite(src: Path, dst: Path, change: Callable[[Parts], Parts]) -> Path:
    with zipfile.ZipFile(src) as archive:
        parts = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as archive:
        for name, data in change(parts):
            archive.writestr(name, data)
    return dst


def edit_json(parts: Parts, suffix: str, edit: Callable[[dict], None]) -> Parts:
    out = []
    for name, data in parts:
        if name.endswith(suffix):
            value = json.loads(data)
            edit(value)
            data = json.dumps(value).encode()
        out.append((name, data))
    return out


@pytest.fixture(scope="module")
def clean_pt2(tmp_path_factory) -> Path:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten()).eval()
    path = tmp_path_factory.mktemp("pt2") / "clean.pt2"
    torch.export.save(torch.export.export(model, (torch.randn(1, 1, 8, 8),)), str(path))
    return path


def pickled_weight(marker: Path):
    def change(parts: Parts) -> Parts:
        def flag(config: dict) -> None:
            config["config"]["0.weight"]["use_pickle"] = True

        parts = edit_json(parts, "data/weights/model_weights_config.json", flag)
        evil = hostile_pickle(marker)
        return [(n, evil if n.endswith("data/weights/weight_0") else d) for n, d in parts]

    return change


def pickled_constant_flag_only(marker: Path):
    """A weight marked use_pickle whose bytes are not even a pickle: still refused unread."""

    def change(parts: Parts) -> Parts:
        def flag(config: dict) -> None:
            config["config"]["1.running_mean"]["use_pickle"] = True

        return edit_json(parts, "data/weights/model_weights_config.json", flag)

    return change


def pickled_sample_inputs(marker: Path):
    def change(parts: Parts) -> Parts:
        evil = hostile_pickle(marker)
        return [(n, evil if n.endswith("data/sample_inputs/model.pt") else d) for n, d in parts]

    return change


def guards_code(marker: Path):
    def change(parts: Parts) -> Parts:
        def add(program: dict) -> None:
            write = f"__import__('pathlib').Path({str(marker)!r}).write_text('ran')"
            program["guards_code"] = [f"{write} > 0"]

        return edit_json(parts, "models/model.json", add)

    return change


def opaque_constant(marker: Path):
    def change(parts: Parts) -> Parts:
        def add(config: dict) -> None:
            config["config"]["evil"] = {"path_name": "opaque_obj_0", "is_param": False}

        parts = edit_json(parts, "data/constants/model_constants_config.json", add)
        root = parts[0][0].split("/", 1)[0]
        return [*parts, (f"{root}/data/constants/opaque_obj_0", hostile_pickle(marker))]

    return change


def aoti_library(marker: Path):
    def change(parts: Parts) -> Parts:
        root = parts[0][0].split("/", 1)[0]
        return [*parts, (f"{root}/data/aotinductor/model/model.so", b"\x7fELF not really")]

    return change


HOSTILE = {
    "pickled weight": pickled_weight,
    "use_pickle flag": pickled_constant_flag_only,
    "pickled sample inputs": pickled_sample_inputs,
    "guards code": guards_code,
    "opaque constant": opaque_constant,
    "compiled library": aoti_library,
}


def test_a_clean_export_has_nothing_that_runs_code_and_opens(clean_pt2):
    assert pt2_code_parts(clean_pt2) == []
    assert exported_program_code(torch.export.load(str(clean_pt2))) == []
    opened = open_model(str(clean_pt2))
    assert opened.input.shape == (1, 1, 8, 8)


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_pt2_is_refused_without_trust_and_its_code_never_runs(kind, clean_pt2, tmp_path):
    marker = tmp_path / "marker"
    path = rewrite(clean_pt2, tmp_path / "model.pt2", HOSTILE[kind](marker))
    with pytest.raises(ModelLoadError) as caught:
        open_model(str(path))
    message = str(caught.value)
    assert message.startswith("model.pt2 has parts that would run code")
    assert "--trust-checkpoint" in message
    assert message.count(". ") == 0 and "\n" not in message  # one sentence
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["pickled weight", "pickled sample inputs", "guards code"])
def test_the_hostile_files_are_really_hostile(kind, clean_pt2, tmp_path, caplog):
    """Opened and run with trust (torch.export.load as it is), the code in them does run: the
    refusal above is what keeps it from running."""
    marker = tmp_path / "marker"
    path = rewrite(clean_pt2, tmp_path / "model.pt2", HOSTILE[kind](marker))
    with contextlib.suppress(Exception):  # it is not a tensor: noticed after it ran
        torch.export.load(str(path)).module()(torch.randn(1, 1, 8, 8))
    assert marker.read_text() == "ran"


def test_a_call_to_something_other_than_an_operator_is_found(clean_pt2):
    program = torch.export.load(str(clean_pt2))
    graph = program.graph_module.graph
    output = next(n for n in graph.nodes if n.op == "output")
    with graph.inserting_before(output):
        graph.call_function(Path.cwd)
    assert any("cwd" in part for part in exported_program_code(program))


def test_symbolic_shapes_are_checked_before_sympy_evaluates_them(tmp_path):
    class Double(nn.Module):
        def forward(self, x):
            return x * 2

    batch = torch.export.Dim("batch")
    program = torch.export.export(
        Double(), (torch.randn(4, 3),), dynamic_shapes=({0: batch},), strict=False
    )
    clean = tmp_path / "dynamic.pt2"
    torch.export.save(program, str(clean))
    assert pt2_code_parts(clean) == []
    marker = tmp_path / "marker"

    evil = f"__import__('pathlib').Path({str(marker)!r}).write_text('ran')"

    def poison(value) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "expr_str":
                    value[key] = f"{evil} + {item}"
                else:
                    poison(item)
        elif isinstance(value, list):
            for item in value:
                poison(item)

    def inject(parts: Parts) -> Parts:
        return edit_json(parts, "models/model.json", poison)

    hostile = rewrite(clean, tmp_path / "sym.pt2", inject)
    parts = pt2_code_parts(hostile)
    assert parts and "symbolic shape" in parts[0]
    with pytest.raises(ModelLoadError):
        open_model(str(hostile))
    assert not marker.exists()


@pytest.mark.parametrize(
    "text, safe",
    [
        ("Symbol('s77', positive=True, integer=True)", True),
        ("Max(2, s0) + FloorDiv(s1, 2)", True),
        ("2*s0 + 1 <= 100", True),
        ("__import__('os').system('id')", False),
        ("eval('1')", False),
        ("S('x')", False),
        ("Symbol('x').__class__", False),
        ("Symbol('a b')", False),
        ("Max(s0, 'import os')", False),
        ("(lambda: 1)()", False),
    ],
)
def test_sympy_text_checker(text, safe):
    assert _safe_sympy_text(text) is safe


def test_not_a_zip_is_one_sentence(tmp_path):
    path = tmp_path / "junk.pt2"
    path.write_bytes(b"junk")
    with pytest.raises(ModelLoadError, match=r"junk\.pt2: not a loadable torch.export archive"):
        open_model(str(path))
