"""Models and checkpoints as people bring them, through ``activations``, ``graph`` and
``snapshot``: tuple ops as steps, complex steps kept complex, tied and wrapped checkpoints,
quantized models, a reentrant-checkpointed block named in the graph's note."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from inspector.cli import main
from tests.conftest import ZOO

PATTERNS = ZOO / "people_patterns.py"


def quantized_warnings(test):
    """torch.ao's own warnings (observers, quantizers, its deprecation) are not ours."""
    test = pytest.mark.filterwarnings("ignore::UserWarning")(test)
    deprecated = "ignore:.*torch.ao.quantization is deprecated:DeprecationWarning"
    return pytest.mark.filterwarnings(deprecated)(test)


def _model(name: str, seed: int = 0) -> torch.nn.Module:
    import importlib.util

    spec = importlib.util.spec_from_file_location("people_patterns_ref", PATTERNS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(seed)
    return getattr(module, name)().eval()


def _activations(tmp_path, *argv: str) -> dict[str, np.ndarray]:
    out = tmp_path / "acts.npz"
    assert main(["activations", "--out", str(out), *argv]) == 0
    with np.load(out, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def test_each_tensor_of_chunk_and_max_is_a_step(tmp_path):
    arrays = _activations(tmp_path, "--model", f"{PATTERNS}:Chunky", "--input-shape", "1,8")
    names = list(arrays["steps"])
    assert names[:6] == ["1. fc", "2. chunk[0]", "3. chunk[1]", "4. mul", "5. max[0]", "6. max[1]"]
    x = torch.from_numpy(arrays["input"])
    fc = torch.from_numpy(arrays["1. fc"])
    np.testing.assert_array_equal(arrays["3. chunk[1]"], fc.chunk(2, dim=1)[1].numpy())
    a, b = fc.chunk(2, dim=1)
    np.testing.assert_array_equal(arrays["6. max[1]"], torch.max(a * b, dim=1).indices.numpy())
    assert x.shape == (1, 8)


def test_complex_steps_keep_their_dtype_in_the_file(tmp_path):
    argv = ["--model", f"{PATTERNS}:Spectral", "--input-shape", "1,32"]
    arrays = _activations(tmp_path, *argv)
    spectrum = arrays["2. fft_rfft"]
    assert spectrum.dtype == np.complex64
    expected = torch.fft.rfft(torch.from_numpy(arrays["1. fc"]), dim=-1).numpy()
    np.testing.assert_allclose(spectrum, expected, rtol=1e-5, atol=1e-6)
    assert arrays["4. fft_irfft"].dtype == np.float32


def test_a_save_pretrained_folder_of_a_tied_gpt2(tmp_path, capfd):
    original = _model("tiny_gpt2")
    original.save_pretrained(tmp_path / "gpt2")
    argv = ["--model", f"{PATTERNS}:tiny_gpt2", "--weights", str(tmp_path / "gpt2")]
    arrays = _activations(tmp_path, *argv)
    assert "lm_head.weight ← transformer.wte.weight" in capfd.readouterr().err
    with torch.inference_mode():
        logits = original(torch.from_numpy(arrays["input"])).logits.numpy()
    last = list(arrays["steps"])[-1]
    assert last.endswith("lm_head")
    np.testing.assert_allclose(arrays[last], logits, rtol=1e-5, atol=1e-5)


def test_a_dataparallel_checkpoint_through_graph(tmp_path, capfd):
    original = _model("TiedLM")
    torch.save(torch.nn.DataParallel(original).state_dict(), tmp_path / "dp.pt")
    out = tmp_path / "graph.json"
    argv = ["graph", "--model", f"{PATTERNS}:TiedLM", "--weights", str(tmp_path / "dp.pt")]
    assert main([*argv, "--out", str(out)]) == 0
    err = capfd.readouterr().err
    assert "Took dp.pt without the 'module.' prefix DataParallel" in err
    assert len(err.strip().splitlines()) == 1  # one line
    labels = {n["label"] for n in json.loads(out.read_text())["nodes"]}
    assert "lm_head.weight [50, 16]" in labels or "embed.weight [50, 16]" in labels


@pytest.mark.filterwarnings("ignore:None of the inputs have requires_grad:UserWarning")
def test_a_reentrant_checkpointed_blocks_parameters_are_named(tmp_path, capfd):
    out = tmp_path / "graph.json"
    assert main(["graph", "--model", f"{PATTERNS}:Checkpointed", "--out", str(out)]) == 0
    err = capfd.readouterr().err
    assert "Not in this graph: block.0.weight, block.0.bias" in err
    labels = {n["label"] for n in json.loads(out.read_text())["nodes"]}
    assert "head.weight [4, 16]" in labels and not any("block" in x for x in labels)


@quantized_warnings
def test_quantized_activations_and_graph(tmp_path, capfd):
    argv = ["--model", f"{PATTERNS}:dynamic_quantized", "--input-shape", "1,1,28,28"]
    arrays = _activations(tmp_path, *argv)
    assert list(arrays["steps"]) == ["1. flatten", "2. fc1", "3. relu", "4. fc2"]
    out = tmp_path / "graph.json"
    assert main(["graph", *argv, "--out", str(out)]) == 0
    err = capfd.readouterr().err
    assert "Quantized: the graph is its float twin's" in err
    labels = {n["label"] for n in json.loads(out.read_text())["nodes"]}
    assert {"fc1.weight [32, 784]", "fc2.weight [10, 32]", "fc2.bias [10]"} <= labels


@quantized_warnings
def test_a_quantized_model_without_a_float_twin_says_why_it_has_no_graph(tmp_path, capfd):
    argv = ["--model", f"{PATTERNS}:dynamic_quantized_lstm", "--input-shape", "1,5,8"]
    assert _activations(tmp_path, *argv)["steps"].size
    assert main(["graph", *argv, "--out", str(tmp_path / "graph.json")]) == 1
    err = capfd.readouterr().err
    assert "quantized: its quantized ops record no gradients" in err
    assert "Traceback" not in err


@quantized_warnings
def test_snapshot_of_a_quantized_model(tmp_path, capfd, qapp):
    out = tmp_path / "shot.png"
    argv = ["snapshot", "--model", f"{PATTERNS}:dynamic_quantized", "--select", "fc1"]
    code = main([*argv, "--input-shape", "1,1,28,28", "--out", str(out)])
    err = capfd.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err and "Error" not in err
    assert out.stat().st_size > 50_000


def test_a_complex_output_through_graph_and_activations(tmp_path, capfd):
    """The panels show |z|, the file keeps complex64, and the loss is taken of |z|."""
    argv = ["--model", f"{PATTERNS}:ComplexOut", "--input-shape", "1,32"]
    torch.manual_seed(0)  # the same weights for both commands
    arrays = _activations(tmp_path, *argv, "--random", "0")
    spectrum = arrays["2. fft_fft"]
    assert spectrum.dtype == np.complex64
    np.testing.assert_allclose(
        spectrum, np.fft.fft(arrays["1. fc"].astype(np.float64), axis=-1), rtol=1e-4, atol=1e-4
    )
    out = tmp_path / "graph.json"
    torch.manual_seed(0)
    assert main(["graph", *argv, "--seed", "0", "--out", str(out)]) == 0, capfd.readouterr().err
    graph = json.loads(out.read_text())
    expected = float(np.mean(np.abs(spectrum.astype(np.complex128)) ** 2))  # MSE vs zeros
    assert graph["loss"]["value"] == pytest.approx(expected, rel=1e-4)
    assert [n["label"] for n in graph["nodes"]][:2] == ["MseLossBackward0", "AbsBackward0"]


def test_a_forward_using_vmap_through_activations_and_graph(tmp_path):
    argv = ["--model", f"{PATTERNS}:Vmapped", "--input-shape", "2,8"]
    torch.manual_seed(0)
    arrays = _activations(tmp_path, *argv)
    assert list(arrays["steps"]) == ["1. fc"]  # what ran inside vmap stays inside it
    model = _model("Vmapped")  # seed 0: the same weights
    with torch.inference_mode():
        expected = model.fc(torch.from_numpy(arrays["input"]) * 2 + 1).numpy()
    np.testing.assert_allclose(arrays["1. fc"], expected, rtol=1e-6)
    assert main(["graph", *argv, "--out", str(tmp_path / "graph.json")]) == 0
