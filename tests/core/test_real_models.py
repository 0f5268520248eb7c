"""The models people really bring, opened with no input flags: the input comes from the model,
the forward accepts it, the forward capture has steps and an output, and backward records a
real graph with a finite loss. No Qt here."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from inspector.core.files.loading import OpenedModel, open_model
from inspector.core.forward.inference import run_forward
from inspector.core.forward.results import ForwardRequest
from inspector.core.forward.settings import ForwardSettings
from inspector.core.graph.backward import record_backward
from inspector.core.graph.losses import LossSpec
from inspector.core.model.inputs import IMAGE, TENSOR, make_input, to_tensor
from inspector.core.model.nets import Net

pytest.importorskip("transformers")

ZOO = Path(__file__).with_name("real_models.py")
CPU = torch.device("cpu")
BLANK = np.zeros((32, 32), np.float32)


def opened(name: str, **kwargs) -> OpenedModel:
    torch.manual_seed(0)  # random init: the same weights every run
    return open_model(f"{ZOO}:{name}", **kwargs)


def forward_and_backward(model_opened: OpenedModel, loss: str = "mse"):
    spec = model_opened.input
    result = run_forward(
        model_opened.model, ForwardRequest(1, BLANK), CPU, ForwardSettings(input=spec)
    )
    x = to_tensor(make_input(spec, BLANK), spec)
    record, _ = record_backward(model_opened.model, x, LossSpec.parse(loss))
    return result, record


# name, expected input shape, dtype, id bound, output shape
CASES = [
    ("vit", (1, 3, 96, 96), "float32", None, (1, 7)),
    ("vit_rectangular", (1, 1, 48, 80), "float32", None, (1, 3)),
    ("bert", (1, 16), "int64", 97, (1, 3)),
    ("gpt2", (1, 8), "int64", 97, (1, 8, 97)),  # 16 capped by n_positions=8
    ("resnet", (1, 3, 224, 224), "float32", None, (1, 1000)),
    ("convnext", (1, 3, 64, 64), "float32", None, (1, 5)),
    ("segformer", (1, 3, 64, 64), "float32", None, (1, 4, 16, 16)),
    ("BagOfWords", (1, 16), "int64", 50, (1, 4)),
    ("PretrainedCfgNet", (1, 3, 40, 40), "float32", None, (1, 5)),
    ("ImageSizeNet", (1, 3, 48, 48), "float32", None, (1, 6)),
]


@pytest.mark.parametrize(("name", "shape", "dtype", "high", "out_shape"), CASES)
def test_opens_with_no_flags_and_runs_forward_and_backward(name, shape, dtype, high, out_shape):
    model = opened(name)
    spec = model.input
    assert (spec.shape, spec.dtype, spec.high) == (shape, dtype, high)
    result, record = forward_and_backward(model)

    assert result.output.shape == out_shape and np.isfinite(result.output).all()
    assert result.input.shape == shape and result.input.dtype == np.dtype(dtype)
    assert result.total_steps >= 2 and result.steps, "the capture saw the model's insides"
    assert not result.warnings
    if spec.is_integer:
        assert result.input.min() >= 0 and result.input.max() < high
    assert len(record.graph.nodes) > 5 and record.order, "a real autograd graph was run"
    assert any(node.kind == "param" for node in record.graph.nodes)
    assert math.isfinite(record.loss_value) and record.loss_value > 0
    assert record.loss_label == f"MSELoss vs zeros [{', '.join(map(str, out_shape))}]"
    assert record.loss_note == ""
    assert record.param_grads and all(math.isfinite(g.norm) for g in record.param_grads.values())


def test_transformers_outputs_pick_logits_first():
    result, _ = forward_and_backward(opened("vit"))
    assert result.output_names[0] == "output['logits']"


def test_wide_outputs_get_a_top_k_list():
    result, _ = forward_and_backward(opened("resnet"))
    assert len(result.top_k) == 10
    classes = [c for c, _ in result.top_k]
    probs = [p for _, p in result.top_k]
    assert probs == sorted(probs, reverse=True)
    assert classes[0] == int(np.argmax(result.output[0]))
    assert probs[0] == pytest.approx(float(result.probabilities.max()))
    small, _ = forward_and_backward(opened("vit"))  # 7 classes: the bars are enough
    assert small.top_k == ()


def test_language_model_gets_next_token_cross_entropy_and_top_tokens_per_position():
    model = opened("gpt2")
    result, record = forward_and_backward(model, "ce")
    assert len(result.position_top_k) == 8
    assert all(len(position) == 5 for position in result.position_top_k)
    for t, position in enumerate(result.position_top_k):
        assert position[0][0] == int(np.argmax(result.output[0, t]))
    assert record.loss_label == (
        "CrossEntropyLoss over 7 positions vs the next input token "
        "(target = input ids shifted by one)"
    )
    ids = torch.from_numpy(result.input)
    with torch.no_grad():
        logits = model.model(ids).logits
    expected = torch.nn.functional.cross_entropy(logits[0, :-1], ids[0, 1:])
    assert record.loss_value == pytest.approx(float(expected), rel=1e-5)
    assert record.input_grad is None  # no saliency through integer ids


def test_segmentation_output_is_a_class_map():
    result, record = forward_and_backward(opened("segformer"), "ce:2")
    assert result.class_map.shape == (16, 16) and result.class_map.dtype == np.int32
    assert np.array_equal(result.class_map, result.output[0].argmax(axis=0))
    assert result.class_map_rgba.shape == (16, 16, 4)
    assert record.loss_label == "CrossEntropyLoss vs class 2 at every pixel"
    assert math.isfinite(record.loss_value)


def test_zero_initialised_head_says_why_the_loss_is_zero():
    _, record = forward_and_backward(opened("ZeroHead"))
    assert record.loss_value == 0.0
    assert "exactly 0 because the output equals the target (zeros [1, 30])" in record.loss_note
    assert "classifier.weight is all zero" in record.loss_note


def test_nan_loss_is_reported_not_drawn():
    model = opened("BagOfWords")
    with torch.no_grad():
        model.model.head.bias[0] = float("nan")
    _, record = forward_and_backward(model)
    assert not record.loss_is_finite
    assert record.loss_note.startswith("The loss is NaN: the output itself holds NaN")


def test_explicit_shape_keeps_the_models_dtype_and_vocabulary():
    model = opened("bert", input_shape="1,5")
    assert (model.input.shape, model.input.dtype, model.input.high) == ((1, 5), "int64", 97)
    result, record = forward_and_backward(model)
    assert result.input.shape == (1, 5) and math.isfinite(record.loss_value)


def test_input_dtype_flag_makes_any_model_take_ids():
    model = open_model(
        f"{Path(__file__).parents[1] / 'zoo' / 'nets.py'}:make_mlp", input_dtype="float64"
    )
    assert model.input.dtype == "float64" and model.input.kind == TENSOR
    ids = opened("BagOfWords", input_shape="1,4", input_dtype="long")
    assert ids.input.dtype == "int64" and ids.input.high == 50
    assert "4 random token ids in [0, 50)" in ids.input.describe()


# -- TorchScript and torch.compile ----------------------------------------------------------


@pytest.fixture
def lenet() -> Net:
    torch.manual_seed(0)
    return Net().eval()


@pytest.mark.parametrize("how", ["trace", "script"])
def test_torchscript_lenet_opens_traced_or_scripted(lenet, tmp_path, how):
    path = tmp_path / f"lenet_{how}.pt"
    example = torch.zeros(1, 1, 32, 32)
    archive = torch.jit.trace(lenet, example) if how == "trace" else torch.jit.script(lenet)
    archive.save(str(path))
    model = open_model(str(path))
    assert model.input.shape == (1, 1, 32, 32) and model.input.kind == IMAGE
    assert model.input.source == "the first Conv2d"
    result, record = forward_and_backward(model)
    assert result.output.shape == (1, 10) and result.steps
    with torch.no_grad():
        assert np.allclose(result.output, lenet(to_tensor(result.input, model.input)).numpy())
    assert len(record.graph.nodes) > 5 and math.isfinite(record.loss_value)
    assert record.loss_label == "MSELoss vs torch.arange(1, 11)"


def test_compiled_lenet_is_inspected_through_its_original_module(tmp_path):
    source = tmp_path / "compiled.py"
    source.write_text(
        "import torch\n"
        "from inspector.core.model.nets import Net\n\n"
        "def compiled():\n"
        "    torch.manual_seed(0)\n"
        "    return torch.compile(Net())\n"
    )
    model = open_model(f"{source}:compiled")
    assert isinstance(model.model, Net), "unwrapped before anything ran"
    assert "torch.compile'd model" in model.note and "_orig_mod" in model.note
    assert model.input.shape == (1, 1, 32, 32)
    result, record = forward_and_backward(model)
    assert {s.step.module for s in result.steps} >= {"conv1", "conv2", "fc3"}
    assert len(record.graph.nodes) > 5 and math.isfinite(record.loss_value)
    assert record.param_grads["conv1.weight"].norm > 0


def test_compiled_submodules_are_unwrapped_too():
    from inspector.core.files.loading import unwrap_compiled

    net = Net()
    net.conv1 = torch.compile(net.conv1)
    model, paths = unwrap_compiled(net)
    assert paths == ["conv1"] and isinstance(model.conv1, torch.nn.Conv2d)
