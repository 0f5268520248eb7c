"""The models people really bring, from the command line, opened with no input flags: ``graph``
writes a real graph with a finite loss, ``snapshot`` a window with every panel filled; a model
whose forward fails is one sentence on stderr and exit 1, quickly, never an abort."""

from __future__ import annotations

import json
import math
import subprocess
import time
from pathlib import Path

import pytest

from inspector.cli import main
from tests.conftest import run_inspector

pytest.importorskip("transformers")

ZOO = Path(__file__).parents[1] / "core" / "real_models.py"
NAMES = [
    "vit",
    "vit_rectangular",
    "bert",
    "gpt2",
    "resnet",
    "convnext",
    "segformer",
    "BagOfWords",
    "ZeroHead",
    "PretrainedCfgNet",
    "ImageSizeNet",
]


@pytest.fixture(scope="module")
def lenet_variants(tmp_path_factory) -> dict[str, str]:
    """A traced and a scripted TorchScript LeNet and a torch.compile'd one."""
    import torch

    from inspector.core.files.loading import bundled_lenet

    folder = tmp_path_factory.mktemp("lenets")
    lenet = bundled_lenet().model.eval()
    traced, scripted = folder / "traced.pt", folder / "scripted.pt"
    torch.jit.trace(lenet, torch.zeros(1, 1, 32, 32)).save(str(traced))
    torch.jit.script(lenet).save(str(scripted))
    source = folder / "compiled.py"
    source.write_text(
        "import torch\nfrom inspector.core.model.nets import Net\n\n\n"
        "def compiled():\n    return torch.compile(Net())\n"
    )
    return {"traced": str(traced), "scripted": str(scripted), "compiled": f"{source}:compiled"}


def specs(lenet_variants) -> dict[str, str]:
    return {**{name: f"{ZOO}:{name}" for name in NAMES}, **lenet_variants}


def graph_json(spec: str, out: Path, capfd) -> tuple[int, dict | None, str]:
    code = main(["graph", "--model", spec, "--format", "json", "--out", str(out)])
    err = capfd.readouterr().err
    return code, (json.loads(out.read_text()) if code == 0 else None), err


@pytest.mark.parametrize("name", [*NAMES, "traced", "scripted", "compiled"])
def test_graph_writes_a_real_graph_with_a_finite_loss(name, lenet_variants, tmp_path, capfd):
    code, graph, err = graph_json(specs(lenet_variants)[name], tmp_path / "g.json", capfd)
    assert code == 0, err
    assert "Traceback" not in err
    assert len(graph["nodes"]) > 5 and graph["backward_order"]
    assert any(node["kind"] == "param" for node in graph["nodes"])
    assert math.isfinite(graph["loss"]["value"])
    if name == "ZeroHead":  # finite, but exactly 0: the reason goes to stderr
        assert graph["loss"]["value"] == 0 and "exactly 0" in err


@pytest.mark.parametrize("name", [*NAMES, "traced", "compiled"])
def test_snapshot_draws_every_zoo_model(name, lenet_variants, tmp_path, capfd, qapp):
    from PySide6.QtGui import QImage

    out = tmp_path / "shot.png"
    code = main(["snapshot", "--model", specs(lenet_variants)[name], "--out", str(out)])
    err = capfd.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err and "Error" not in err
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1500, 940)
    assert out.stat().st_size > 50_000  # panels drawn, not an empty window


def test_snapshot_with_backward_steps_on_a_resnet(tmp_path, capfd, qapp):
    out = tmp_path / "resnet.png"
    args = ["snapshot", "--model", f"{ZOO}:resnet", "--backward-step", "5", "--out", str(out)]
    assert main(args) == 0, capfd.readouterr().err
    assert out.stat().st_size > 50_000


FAILING = [
    ("{nets}:RaisesInForward", "RuntimeError: the forward of this model always fails"),
]


def one_sentence(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("net-inspector: ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(("spec", "complaint"), FAILING)
@pytest.mark.parametrize("command", ["graph", "snapshot"])
def test_a_failing_model_is_one_sentence_and_exit_1(
    command, spec, complaint, zoo_files, tmp_path, capfd, qapp
):
    spec = spec.format(nets=zoo_files["nets"])
    out = tmp_path / ("out.json" if command == "graph" else "out.png")
    started = time.perf_counter()
    assert main([command, "--model", spec, "--out", str(out)]) == 1
    assert time.perf_counter() - started < 20
    line = one_sentence(capfd.readouterr().err)
    assert complaint in line and "rejected its input" in line and "--input-shape" in line
    assert not out.exists(), "no picture of empty panels"


def test_a_guess_the_model_refuses_gives_way_to_the_size_it_asks_for(tmp_path, capfd):
    out = tmp_path / "g.json"
    assert main(["graph", "--model", f"{ZOO}:WantsBigImages", "--out", str(out)]) == 0
    assert "1×3×128×128" in capfd.readouterr().err  # the note says which input ran
    given = ["graph", "--model", f"{ZOO}:WantsBigImages", "--input-shape", "1,3,64,64"]
    assert main([*given, "--out", str(out)]) == 1
    line = one_sentence(capfd.readouterr().err)
    assert "as given" in line and "it runs with --input-shape 1,3,128,128" in line


def test_graph_output_out_of_range_names_the_outputs(zoo_files, tmp_path, capfd):
    out = tmp_path / "g.json"
    args = ["graph", "--model", f"{zoo_files['nets']}:TwoHeads", "--output", "5", "--out", str(out)]
    assert main(args) == 1
    line = one_sentence(capfd.readouterr().err)
    assert "--output 5 is out of range" in line and "2 outputs" in line
    assert "0: output[0]" in line and "1: output[1]" in line
    assert not out.exists()
    assert main([*args[:-4], "--output", "1", "--out", str(out)]) == 0


def test_input_dtype_on_the_command_line(tmp_path, capfd):
    out = tmp_path / "g.json"
    spec = f"{ZOO}:BagOfWords"
    args = ["graph", "--model", spec, "--input-shape", "1,5", "--input-dtype", "int32"]
    assert main([*args, "--out", str(out)]) == 0, capfd.readouterr().err
    assert main([*args[:-1], "complex", "--out", str(out)]) == 1
    assert "input dtype 'complex'" in one_sentence(capfd.readouterr().err)


def test_snapshot_select_shows_that_module_in_activations_and_weights(tmp_path, qapp, monkeypatch):
    """The race: the activations must show the selected module's steps, not the first 48."""
    from inspector.cli import snapshot

    seen = {}
    original = snapshot.shoot

    def spy(app, window, args, saved=None):
        code = original(app, window, args, saved)
        seen["result"], seen["weights"] = window.last_result, window.weights.result
        return code

    monkeypatch.setattr(snapshot, "shoot", spy)
    select = "layer4.1.conv2"
    out = tmp_path / "s.png"
    assert main(["snapshot", "--model", "resnet50", "--select", select, "--out", str(out)]) == 0
    result = seen["result"]
    assert result.total_steps > 48 and result.focus == select
    assert all(s.step.module.startswith(select) for s in result.steps)
    assert seen["weights"].module == select


def run_cli(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return run_inspector(*args, tmp_path=tmp_path, timeout=60)


@pytest.mark.parametrize("command", [[], ["bench", "--events", "5"]])
def test_window_and_bench_refuse_a_failing_model_without_an_abort(command, tmp_path):
    """In a child process: exit 1 (not 134, not a 120 s wait), one sentence, no window left."""
    started = time.perf_counter()
    nets = Path(__file__).parents[1] / "zoo" / "nets.py"
    done = run_cli(*command, "--model", f"{nets}:RaisesInForward", tmp_path=tmp_path)
    assert done.returncode == 1, done.stderr
    assert time.perf_counter() - started < 30
    assert "QThread" not in done.stderr
    assert "the forward of this model always fails" in one_sentence(done.stderr)
