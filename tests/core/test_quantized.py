"""Quantized models (dynamic and static) open, run, reset and show dequantized weights."""

import numpy as np
import pytest
import torch

from inspector.core.engine import Engine
from inspector.core.files.loading import open_model
from inspector.core.forward.export import forward_steps
from inspector.core.forward.results import ForwardRequest
from tests.conftest import ZOO

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),  # torch.ao's observers and quantizers
    pytest.mark.filterwarnings("ignore:.*torch.ao.quantization is deprecated:DeprecationWarning"),
]
PATTERNS = ZOO / "people_patterns.py"


def _engine(name: str) -> Engine:
    return Engine(open_model(f"{PATTERNS}:{name}", input_shape="1,1,28,28"))


def _request(seed: int = 1) -> ForwardRequest:
    drawing = np.random.default_rng(seed).random((32, 32)).astype(np.float32)
    return ForwardRequest(1, drawing)


@pytest.mark.parametrize("name", ["dynamic_quantized", "static_quantized"])
def test_a_quantized_model_opens_runs_and_resets(name):
    engine = _engine(name)
    result = engine.forward(_request())
    x = torch.from_numpy(result.input)
    with torch.inference_mode():
        expected = engine.model(x).numpy()
    np.testing.assert_allclose(result.output, expected, rtol=1e-6)
    assert engine.reset().kind == "reset"  # its packed weights are put back as they were
    np.testing.assert_allclose(engine.forward(_request()).output, expected, rtol=1e-6)
    assert all(isinstance(v, torch.Tensor) for v in engine.weights().values())


@pytest.mark.parametrize(("name", "module"), [("dynamic_quantized", "fc1"),
                                              ("static_quantized", "conv")])  # fmt: skip
def test_the_weights_panel_shows_the_dequantized_weights_and_says_so(name, module):
    engine = _engine(name)
    shown = engine.parameters(module)
    quantized = engine.model.get_submodule(module)
    views = {v.name: v for v in shown.parameters}
    assert set(views) == {f"{module}.weight", f"{module}.bias"}
    np.testing.assert_array_equal(
        views[f"{module}.weight"].values, quantized.weight().dequantize().numpy()
    )
    np.testing.assert_array_equal(views[f"{module}.bias"].values, quantized.bias().detach().numpy())
    assert "dequantized" in shown.note and "qint8" in shown.note


def test_static_quantized_activations_are_dequantized_steps():
    engine = _engine("static_quantized")
    result = engine.forward(_request())
    labels = [s.step.label for s in result.steps]
    assert labels == ["quant", "conv", "relu", "flatten", "fc", "dequant"]  # fc: one leaf
    x = torch.from_numpy(result.input)
    model = engine.model
    with torch.inference_mode():
        conv = model.conv(model.quant(x)).dequantize().numpy()
    np.testing.assert_array_equal(result.steps[1].values, conv)
    assert result.steps[1].shown_as == "dequantized"
    steps = dict(forward_steps(model, x))
    np.testing.assert_array_equal(steps["2. conv"], conv)


def test_a_session_of_a_quantized_model_restores_its_plain_tensors():
    engine = _engine("dynamic_quantized")
    saved = engine.weights()
    assert "fc1._packed_params.dtype" not in saved
    assert engine.load_weights(saved).kind == "restore"


@pytest.mark.parametrize("name", ["dynamic_quantized", "static_quantized"])
def test_the_graph_of_a_quantized_model_is_its_float_twins(name):
    from inspector.core.graph.losses import LossSpec, evaluate_loss
    from inspector.core.model.float_twin import TWIN_NOTE, twin_of

    engine = _engine(name)
    result = engine.forward(_request())
    record = engine.backward(_request(), LossSpec.parse("mse")).record
    assert record.loss_note.startswith(TWIN_NOTE)
    twin = twin_of(engine.model)
    x = torch.from_numpy(result.input)
    with torch.inference_mode():
        twin_out = twin(x)
    # the loss is the twin's, whose output is the quantized one within its rounding
    expected = float(evaluate_loss(twin_out, LossSpec.parse("mse"), x)[0])
    assert record.loss_value == pytest.approx(expected, rel=1e-5)
    if name == "dynamic_quantized":  # static: activations clipped to their calibrated range
        np.testing.assert_allclose(twin_out.numpy(), result.output, atol=0.02)
    for module in ("fc", "conv", "fc1", "fc2"):
        if hasattr(engine.model, module):
            quantized = engine.model.get_submodule(module).weight().dequantize()
            assert torch.equal(twin.get_submodule(module).weight, quantized)
    params = {n.label.split(" [")[0] for n in record.graph.nodes if n.kind == "param"}
    assert params == {n for n, _ in twin.named_parameters()}


def test_training_a_quantized_model_is_refused_in_one_sentence():
    from inspector.core.training.setup import TrainConfig, TrainingRefused

    engine = _engine("dynamic_quantized")
    with pytest.raises(TrainingRefused, match=r"has no trainable parameters \(it is quantized"):
        engine.train_chunk(TrainConfig(), None, max_batches=1)


def test_the_tree_counts_packed_weights_and_opens_on_the_first_quantized_layer():
    from inspector.core.forward.summary import first_with_weights, summarize

    model = _engine("dynamic_quantized").model
    root = summarize(model)
    expected = sum(m.weight().numel() + m.bias().numel() for m in (model.fc1, model.fc2))
    assert root.parameters == expected == 784 * 32 + 32 + 32 * 10 + 10
    assert [n.path for n in root.walk()] == ["", "fc1", "fc2"]  # no _packed_params rows
    assert first_with_weights(root) == "fc1"
