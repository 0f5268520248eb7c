"""Pictures that fit the output: a reconstruction beside the input, a single value as that
number; class scores, class maps and sequences keep their own views."""

import numpy as np
import pytest
import torch

from inspector.core.display.output_picture import GAP, IMAGE, SCALAR, output_picture
from inspector.core.engine import Engine
from inspector.core.files.loading import open_model
from inspector.core.forward.results import ForwardRequest
from tests.conftest import ZOO

PATTERNS = ZOO / "people_patterns.py"


def _forward(name: str, shape: str = "1,1,28,28"):
    engine = Engine(open_model(f"{PATTERNS}:{name}", input_shape=shape))
    drawing = np.zeros((32, 32), np.float32)
    drawing[6:26, 14:18] = 1.0  # a "1"
    return engine, engine.forward(ForwardRequest(1, drawing))


def _grey(rgba_half: np.ndarray) -> np.ndarray:
    return rgba_half[..., 0].astype(np.float32) / 255


@pytest.mark.parametrize("name", ["FlatVAE", "AutoEncoder"])
def test_a_reconstruction_is_drawn_beside_the_input_not_as_classes(name):
    engine, result = _forward(name)
    picture = result.output_picture
    assert picture.kind == IMAGE
    assert result.probabilities is None and result.top_k == ()
    assert "beside the input" in picture.text
    with torch.inference_mode():
        expected = engine.model(torch.from_numpy(result.input)).reshape(28, 28).numpy()
    assert picture.rgba.shape == (28, 2 * 28 + GAP, 4)
    left, right = picture.rgba[:, :28], picture.rgba[:, 28 + GAP :]
    stretched = (expected - expected.min()) / (expected.max() - expected.min())
    np.testing.assert_allclose(_grey(right), stretched, atol=1 / 255 + 1e-6)
    x = result.input[0, 0]
    np.testing.assert_allclose(_grey(left), (x - x.min()) / (x.max() - x.min()), atol=1 / 255)
    assert (picture.rgba[:, 28 : 28 + GAP, 3] == 0).all()  # the gap is see-through


def test_a_single_value_is_that_number():
    engine, result = _forward("Energy")
    with torch.inference_mode():
        expected = float(engine.model(torch.from_numpy(result.input)))
    assert result.output_picture.kind == SCALAR
    assert result.output_picture.value == pytest.approx(expected, rel=1e-6)
    assert result.output_picture.text == f"output = {expected:.6g}"


@pytest.mark.parametrize(
    ("x_shape", "out_shape"),
    [
        ((1, 1, 28, 28), (1, 10)),  # class scores
        ((1, 3, 16, 16), (1, 5, 16, 16)),  # a segmentation map
        ((1, 1, 32, 32), (1, 2, 32, 16)),  # as many values, as two maps of another size
        ((1, 16), (1, 16)),  # a tensor input: no picture to draw beside
    ],
)
def test_other_outputs_keep_their_views(x_shape, out_shape):
    x = np.zeros(x_shape, np.float32)
    out = np.zeros(out_shape, np.float32)
    assert output_picture(x, out) is None
