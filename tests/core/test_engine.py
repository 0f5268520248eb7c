"""The engine without threads or Qt: every operation the app offers, called directly."""

import numpy as np
import pytest
import torch

from inspector.core.engine import COLLAPSE_ABOVE, Engine
from inspector.core.files.loading import ModelLoadError, bundled_lenet
from inspector.core.forward.results import ForwardRequest
from inspector.core.graph.losses import LossSpec
from inspector.core.model.preprocess import preprocess_drawing
from tests.conftest import ZOO, assert_reset_brings_back_the_opening_weights


def _stroke(i: int) -> np.ndarray:
    drawing = np.zeros((32, 32), np.float32)
    drawing[4 + i % 20, 4:28] = 1.0
    return drawing


@pytest.fixture
def engine() -> Engine:
    return Engine(bundled_lenet())


def test_forward_is_numpy_and_matches_a_plain_forward(engine):
    drawing = _stroke(7)
    result = engine.forward(ForwardRequest(1, drawing))
    assert isinstance(result.output, np.ndarray)
    assert [s.step.op for s in result.steps][:3] == ["Conv2d", "relu", "max_pool2d"]
    with torch.no_grad():
        expected = bundled_lenet().model(torch.from_numpy(preprocess_drawing(drawing))).numpy()
    np.testing.assert_allclose(result.output, expected, rtol=1e-5, atol=1e-5)
    assert result.probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_only_the_rows_in_sight_are_coloured(engine):
    """``coloured``: the worker colours the rows the panel shows; the others keep their
    values and heatmaps for the panel to colour if they are scrolled to."""
    everything = engine.forward(ForwardRequest(1, _stroke(3)))
    engine.configure(coloured=(2, 5))
    some = engine.forward(ForwardRequest(2, _stroke(3)))
    assert [s.rgba is not None for s in some.steps] == [2 <= i < 5 for i in range(12)]
    assert all(s.heatmap is not None and s.values is not None for s in some.steps)
    for row in range(2, 5):
        np.testing.assert_array_equal(some.steps[row].rgba, everything.steps[row].rgba)
    np.testing.assert_array_equal(
        some.steps[7].heatmap.colorize(some.levels), everything.steps[7].rgba
    )
    # Out of sight, not even tiled: the heatmap is made when asked for, the same one.
    assert some.steps[0].tiled is None and some.steps[2].tiled is not None
    for out_of_sight in (some.steps[0], some.steps[6], some.steps[9]):  # tiles, strips
        again = everything.steps[out_of_sight.step.index]
        assert out_of_sight.is_strip == again.heatmap.is_strip
        np.testing.assert_array_equal(out_of_sight.heatmap.image, again.heatmap.image)
    assert some.levels == everything.levels


def test_a_step_with_an_empty_batch_shows_empty_and_the_rest_as_usual(engine):
    engine.open(f"{ZOO / 'nets.py'}:FindsNothing")
    result = engine.forward(ForwardRequest(1, _stroke(3)))
    by_label = {s.step.label: s for s in result.steps}
    empty = by_label["getitem"]
    assert empty.step.shape == (0, 8) and empty.values.size == 0
    assert empty.heatmap.image.size == 0 and empty.rgba.size == 0 and empty.is_strip
    assert by_label["conv"].rgba.shape[-1] == 4 and result.levels[1] > 0
    assert result.output.shape == (1, 10)


def test_a_model_writing_into_its_input_changes_neither_the_shown_nor_the_stored_input(engine):
    engine.open(f"{ZOO / 'nets.py'}:NormalisesInPlace", input_shape=(1, 6))
    raw = np.ones((1, 6), np.float32)
    for request_id in (1, 2):  # the same stored input, twice: never written into
        result = engine.forward(ForwardRequest(request_id, _stroke(3), raw_input=raw))
        assert np.array_equal(result.input, np.ones((1, 6))) and np.array_equal(raw, result.input)
        sub, mul = result.steps[0], result.steps[1]  # each step as it was, not as overwritten
        assert (sub.step.op, mul.step.op) == ("sub", "mul")
        assert np.allclose(sub.values, 0.5) and np.allclose(mul.values, 5.0)


def test_backward_update_and_reset(engine):
    request = ForwardRequest(1, _stroke(3))
    before = engine.parameters("conv1").parameters[0].values
    result = engine.backward(request, LossSpec("mse"))
    assert result.record.loss_value > 0 and len(result.record.graph.nodes) == 26
    assert result.view.collapsed == frozenset() and result.view.layout is not None
    grads = engine.parameters("conv1").parameters[0].grad
    assert grads is not None and np.abs(grads).sum() > 0
    update = engine.update(0.1)
    assert "conv1.weight" in update.updated
    after = engine.parameters("conv1").parameters[0].values
    np.testing.assert_allclose(after, before - 0.1 * grads, rtol=1e-5, atol=1e-6)
    engine.reset()
    np.testing.assert_array_equal(engine.parameters("conv1").parameters[0].values, before)
    assert engine.parameters("conv1").parameters[0].grad is None


def test_update_without_gradients_says_so(engine):
    assert engine.update(0.1).updated == ()
    assert "Backward first" in engine.update(0.1).message


def test_saved_value_reads_the_kept_graph(engine):
    result = engine.backward(ForwardRequest(1, _stroke(2)), LossSpec("mse"))
    fc1 = next(n for n in result.record.graph.nodes if n.module == "fc1" and n.saved)
    saved = engine.saved_value(fc1.id, "mat1")
    assert saved.values.shape == (1, 400)


def test_weights_round_trip_and_must_fit(engine):
    weights = engine.weights()
    weights["fc3.bias"] = np.full(10, 0.5, np.float32)
    engine.load_weights(weights)
    assert (engine.weights()["fc3.bias"] == 0.5).all()
    weights["fc3.bias"] = np.zeros(11, np.float32)
    with pytest.raises(ModelLoadError, match="does not fit the model"):
        engine.load_weights(weights)


def test_open_switches_only_when_the_model_runs(engine):
    loaded = engine.open("transformer")
    assert loaded.name == "transformer" and engine.settings.input.shape == (1, 16, 128)
    result = engine.backward(ForwardRequest(2, _stroke(0)), LossSpec("sum"))
    assert len(result.record.graph.nodes) > COLLAPSE_ABOVE
    assert result.view.collapsed  # big graphs open with their repeated blocks collapsed
    assert len(result.view.shown.graph.nodes) < len(result.record.graph.nodes)
    with pytest.raises(ModelLoadError):
        engine.open(f"{ZOO / 'nets.py'}:NoSuchModel")
    assert engine.settings.input.shape == (1, 16, 128)  # still the transformer


def test_forward_errors_propagate_with_the_model_kept(engine):
    from inspector.core.files.loading import OpenedModel
    from inspector.core.model.inputs import InputSpec
    from tests.conftest import Exploding

    with pytest.raises(ModelLoadError, match="boom in forward"):
        engine.open("x", opened=OpenedModel(Exploding(), "Exploding", InputSpec((1, 4), "tensor")))
    assert engine.forward(ForwardRequest(1, _stroke(1))).probabilities is not None


def test_an_unavailable_device_is_refused_and_the_model_stays(engine):
    bogus = "cuda:7" if not torch.cuda.is_available() else "cuda:99"
    result = engine.set_device(bogus)
    assert not result.ok and bogus in result.message and result.device == "cpu"
    assert engine.forward(ForwardRequest(1, _stroke(1))).device == "cpu"


def test_switching_devices_moves_the_model():
    """A real switch, to the meta device every torch has; a forward there fails with a
    message instead of a crash, and the engine reports where it is."""
    engine = Engine(bundled_lenet())
    moved = engine.set_device("meta")
    assert moved.ok and moved.device == "meta"
    assert next(engine.model.parameters()).device.type == "meta"
    assert engine.device.type == "meta"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_gives_the_same_prediction(engine):
    cpu = engine.forward(ForwardRequest(1, _stroke(5))).output
    assert engine.set_device("cuda:0").ok
    gpu = engine.forward(ForwardRequest(2, _stroke(5)))
    assert gpu.device == "cuda:0"
    np.testing.assert_allclose(gpu.output, cpu, rtol=1e-3, atol=1e-3)


def test_weights_of_every_dtype_and_shape_round_trip_bit_for_bit():
    """bf16 (which numpy lacks), fp16, int64 and 0-d tensors come back exactly."""
    from inspector.core.files.loading import OpenedModel
    from inspector.core.model.input_inference import infer_input_spec

    class Mixed(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn = torch.nn.BatchNorm1d(4)  # num_batches_tracked: a 0-d int64
            self.fc = torch.nn.Linear(4, 3)
            self.bf = torch.nn.Parameter(torch.randn(3, dtype=torch.bfloat16))
            self.register_buffer("fp16", torch.randn(5, dtype=torch.float16))
            self.register_buffer("ids", torch.arange(6))

        def forward(self, x):
            return self.fc(self.bn(x)) + self.bf.float() + self.fp16.float().sum()

    model = Mixed().eval()
    engine = Engine(OpenedModel(model, "Mixed", infer_input_spec(model, (1, 4))))
    saved = engine.weights()
    assert saved["bf"].dtype == torch.bfloat16 and saved["bn.num_batches_tracked"].dim() == 0
    with torch.no_grad():
        for value in model.state_dict().values():
            value.add_(1)
    engine.load_weights(saved)
    for name, value in engine.weights().items():
        assert value.dtype == saved[name].dtype and value.shape == saved[name].shape
        assert _bits(value).equal(_bits(saved[name])), name


def _bits(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.reshape(-1).view(torch.uint8)


@pytest.mark.parametrize(
    "change",
    [
        lambda e: (e.backward(ForwardRequest(1, _stroke(3)), LossSpec("mse")), e.update(0.1)),
        lambda e: e.load_weights({k: v + 1 for k, v in e.model.state_dict().items()}),
        lambda e: e.reinitialise(seed=3),
    ],
    ids=["update", "session weights", "reinitialise"],
)
def test_reset_brings_back_the_opening_weights_after_any_change(engine, change):
    assert_reset_brings_back_the_opening_weights(engine, change)


def test_reset_of_untouched_weights_changes_nothing(engine):
    opened = {k: v.clone() for k, v in engine.model.state_dict().items()}
    engine.reset()
    assert all(torch.equal(v, opened[k]) for k, v in engine.model.state_dict().items())


class CountsItsForwards(torch.nn.Module):
    """A buffer its own forward changes, as an observer or a counter does."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)
        self.register_buffer("seen", torch.zeros(()))

    def forward(self, x):
        self.seen += 1
        return self.fc(x)


def test_reset_puts_back_buffers_the_forward_changed():
    from inspector.core.files.loading import OpenedModel
    from inspector.core.model.inputs import TENSOR, InputSpec

    model = CountsItsForwards()
    opened = OpenedModel(model, "counter", InputSpec((1, 4), TENSOR))
    engine = Engine(opened)
    engine.forward(ForwardRequest(1, _stroke(1)))
    assert float(model.seen) > 0
    weight = model.fc.weight.detach().clone()
    engine.reset()
    assert float(model.seen) == 0 and torch.equal(model.fc.weight, weight)
