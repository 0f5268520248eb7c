"""Compare's maths and the engine's pin, without Qt: A against B for one input, two inputs and
two weight sets, checked against the reference computed with hooks and ``F`` calls."""

import math

import numpy as np
import pytest
import torch

from inspector.core.engine import Engine
from inspector.core.files.loading import ModelLoadError, bundled_lenet
from inspector.core.forward.compare import (
    change_colour,
    channel_changes,
    describe_change,
    relative_change,
    symmetric_levels,
)
from inspector.core.forward.export import activation_arrays, forward_steps
from inspector.core.forward.pinboard import weights_copy
from inspector.core.graph.losses import LossSpec
from inspector.core.model.images import to_drawing
from inspector.core.model.inputs import LENET_INPUT, make_input, to_tensor
from tests.lenet_reference import NAMES, expected_steps, one_image, seven_image


def test_relative_change_and_channels():
    a = np.zeros((1, 3, 2, 2), np.float32)
    a[0, 0] = 1.0
    b = a.copy()
    b[0, 2] = 2.0
    # ‖B − A‖ = sqrt(4 · 4) = 4, ‖A‖ = sqrt(4) = 2
    assert relative_change(a, b) == pytest.approx(2.0)
    assert relative_change(a, a) == 0.0
    assert math.isinf(relative_change(np.zeros(3), np.ones(3)))
    per = channel_changes(a, b)
    np.testing.assert_allclose(per, [0.0, 0.0, 4.0])
    assert int(np.argmax(per)) == 2
    assert channel_changes(np.zeros((1, 5)), np.ones((1, 5))) is None  # a vector: no channels
    # NaN is left out of the norms rather than making them NaN
    nan = a.copy()
    nan[0, 1, 0, 0] = np.nan
    assert relative_change(nan, b) == pytest.approx(2.0)


def test_summary_and_levels_are_centred_on_zero():
    assert describe_change(0.0, 3) == "Δ 0 · unchanged"
    assert describe_change(0.123, 4) == "Δ 12.3% · ch 4 changed most"
    assert describe_change(0.5, None) == "Δ 50.0%"
    lo, hi = symmetric_levels([np.array([[-0.3, 0.1, np.nan]], np.float32)])
    assert lo == -hi and hi >= 0.3
    assert change_colour(0.0) != change_colour(1.0)
    assert change_colour(float("nan")) == change_colour(1.0)


def _network_input(image: np.ndarray) -> np.ndarray:
    return make_input(LENET_INPUT, to_drawing(image))


def _request(ident: int, image: np.ndarray):
    from inspector.core.forward.results import ForwardRequest

    return ForwardRequest(ident, to_drawing(image))


@pytest.fixture
def engine():
    return Engine(bundled_lenet())


def test_forward_steps_match_the_reference(engine):
    x = _network_input(seven_image())
    steps = forward_steps(engine.model, to_tensor(x, LENET_INPUT))
    expected = expected_steps(engine.model, x)
    assert [name for name, _ in steps] == NAMES
    for name, values in steps:
        np.testing.assert_allclose(values, expected[name], rtol=1e-5, atol=1e-5)
    arrays = activation_arrays(x, steps)
    assert list(arrays) == ["steps", "input", *NAMES]


def _check_comparison(comparison, expected_a, expected_b):
    assert [s.step.label for s in comparison.steps] == [n.split(". ")[1] for n in NAMES]
    for s, name in zip(comparison.steps, NAMES, strict=True):
        np.testing.assert_allclose(s.a, expected_a[name], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(s.b, expected_b[name], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(s.diff, expected_b[name] - expected_a[name], atol=1e-4)
        assert s.relative == pytest.approx(
            relative_change(expected_a[name], expected_b[name]), rel=1e-4
        )
        if s.channel is not None:
            per = channel_changes(expected_a[name], expected_b[name])
            assert s.channel == int(np.argmax(per))
            assert s.detail.a.shape == expected_a[name].shape[2:]
            np.testing.assert_allclose(s.detail.diff, s.diff[0, s.channel], atol=1e-5)
        assert s.rgba_diff.shape[:2] == s.heatmap_diff.image.shape


def test_one_input_compared_with_itself_changes_nothing(engine):
    request = _request(1, seven_image())
    engine.pin(request)
    engine.set_comparing(True)
    result = engine.forward(request)
    c = result.comparison
    assert c.what_differs == "nothing"
    expected = expected_steps(engine.model, _network_input(seven_image()))
    _check_comparison(c, expected, expected)
    assert all(s.relative == 0.0 and s.summary == "Δ 0 · unchanged" for s in c.steps)


def test_two_inputs(engine):
    engine.pin(_request(1, seven_image()))
    engine.set_comparing(True)
    result = engine.forward(_request(2, one_image()))
    c = result.comparison
    assert c.what_differs == "input"
    a = expected_steps(engine.model, _network_input(seven_image()))
    b = expected_steps(engine.model, _network_input(one_image()))
    _check_comparison(c, a, b)
    assert int(np.argmax(c.probabilities_a)) == 7
    assert int(np.argmax(c.probabilities_b)) == 1
    assert c.diff_levels[0] == -c.diff_levels[1]
    # not comparing: no comparison, and the pin is still there for later
    engine.set_comparing(False)
    assert engine.forward(_request(3, one_image())).comparison is None


def test_two_weight_sets_before_and_after_one_update(engine):
    request = _request(1, seven_image())
    x = _network_input(seven_image())
    before = expected_steps(engine.model, x)
    engine.pin(request)
    engine.set_comparing(True)
    engine.backward(request, LossSpec.parse("ce:7"))
    engine.update(0.05)
    after = expected_steps(engine.model, x)
    c = engine.forward(request).comparison
    assert c.what_differs == "weights"
    _check_comparison(c, before, after)
    assert c.steps[0].relative > 0
    # the pinned weights are a copy: the update did not reach them
    pinned = engine.pinboard.pin.weights
    assert not torch.equal(pinned["conv1.weight"], engine.model.conv1.weight)
    params = engine.parameters("conv1").comparison
    assert [p.name for p in params] == ["conv1.weight", "conv1.bias"]
    np.testing.assert_allclose(
        params[0].diff,
        (engine.model.conv1.weight - pinned["conv1.weight"]).detach().numpy(),
        atol=1e-6,
    )
    # A's forward swapped A's weights in and put B's back
    assert engine.forward(request).comparison.steps[0].relative == c.steps[0].relative
    np.testing.assert_allclose(engine.forward(request).steps[0].values, after["1. conv1"])


def test_gradient_change_after_a_backward_on_both(engine):
    engine.pin(_request(1, seven_image()))
    engine.set_comparing(True)
    same = engine.backward(_request(2, seven_image()), LossSpec.parse("ce:7"))
    assert same.gradient_change.maximum == 0.0  # the same input and weights
    other = engine.backward(_request(3, one_image()), LossSpec.parse("ce:7"))
    change = other.gradient_change
    assert change.maximum > 0
    assert set(change.change) <= {n.id for n in other.record.graph.nodes}
    assert len(change.colours) == len(change.change)
    # B's .grad is B's own: A's backward ran on a copy
    for name, p in engine.model.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), other.record.param_grads[name].values, rtol=1e-5, atol=1e-7
        )


def test_pin_refuses_weights_that_do_not_fit_and_a_new_model_drops_it(engine):
    weights = weights_copy(engine.model)
    weights.pop("fc3.bias")
    with pytest.raises(ModelLoadError, match=r"fc3\.bias"):
        engine.pin(_request(1, seven_image()), weights)
    engine.pin(_request(1, seven_image()), weights_copy(engine.model))
    assert engine.pinned_weights() is not None
    engine.open("lenet", opened=bundled_lenet())
    assert engine.pinboard.pin is None
    assert engine.unpin().pinned is False


def test_a_session_keeps_the_pin_and_checks_it(tmp_path):
    import json
    import zipfile

    from inspector.core.files.session import SessionError, SessionState, load_session, save_session

    net = bundled_lenet().model
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    pinned = {k: v + 1 for k, v in weights.items()}
    drawing = to_drawing(seven_image())
    state = SessionState(
        weights=weights,
        pins=["A"],
        pin_drawing=drawing,
        pin_seed=5,
        pin_weights=pinned,
        comparing=True,
    )
    path = tmp_path / "pinned.netinspector"
    save_session(path, state)
    back = load_session(path)
    assert back.pins == ["A"] and back.comparing and back.pin_seed == 5
    np.testing.assert_array_equal(back.pin_drawing, drawing)
    assert back.pin_raw_input is None
    for k, v in pinned.items():
        assert torch.equal(back.pin_weights[k], v)
    # a session without a pin opens unpinned
    plain = tmp_path / "plain.netinspector"
    save_session(plain, SessionState(weights=weights))
    assert load_session(plain).pins == [] and load_session(plain).pin_drawing is None
    # a pin named but missing, or a bad field, is refused in one sentence
    with zipfile.ZipFile(plain) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    for field, value, words in (
        ("pins", ["A"], "it pins A but has no pin_A_drawing.npy"),
        ("pins", ["B"], "its pins is"),
        ("pin_seed", -1, "its pin seed is"),
        ("comparing", "yes", "its comparing is"),
    ):
        meta = json.loads(members["session.json"])
        meta[field] = value
        bad = tmp_path / "bad.netinspector"
        with zipfile.ZipFile(bad, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, json.dumps(meta) if name == "session.json" else data)
        with pytest.raises(SessionError, match=words):
            load_session(bad)
    with pytest.raises(ValueError, match="pin A has no drawing"):
        save_session(tmp_path / "x.netinspector", SessionState(weights=weights, pins=["A"]))
