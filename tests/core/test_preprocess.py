import numpy as np
import pytest

from inspector.core.model.nets import MNIST_MEAN, MNIST_STD
from inspector.core.model.preprocess import fit_to_mnist, preprocess_drawing

BACKGROUND = (0 - MNIST_MEAN) / MNIST_STD


def test_empty_canvas_is_all_background():
    x = preprocess_drawing(np.zeros((32, 32), np.float32))
    assert x.shape == (1, 1, 32, 32) and x.dtype == np.float32
    assert np.isfinite(x).all()
    assert np.allclose(x, BACKGROUND)


def test_nan_and_inf_in_the_drawing_do_not_propagate():
    drawing = np.zeros((32, 32), np.float32)
    drawing[5, 5] = np.nan
    drawing[10:20, 10:12] = np.inf
    assert np.isfinite(preprocess_drawing(drawing)).all()


def test_small_off_centre_stroke_is_scaled_to_20_and_centred():
    drawing = np.zeros((32, 32), np.float32)
    drawing[1:6, 25:28] = 1.0  # 5 tall, 3 wide, in a corner
    field = fit_to_mnist(drawing)
    rows = np.flatnonzero(field.max(axis=1) > 0.05)
    cols = np.flatnonzero(field.max(axis=0) > 0.05)
    assert rows[-1] - rows[0] + 1 == 20  # the longer side fills the 20-pixel box
    assert 10 <= cols[-1] - cols[0] + 1 <= 14  # aspect kept (3/5 of 20 = 12)
    ys, xs = np.indices(field.shape)
    mass = field.sum()
    assert (ys * field).sum() / mass == pytest.approx(13.5, abs=0.6)
    assert (xs * field).sum() / mass == pytest.approx(13.5, abs=0.6)


def test_padding_to_32_and_normalisation():
    drawing = np.zeros((32, 32), np.float32)
    drawing[8:24, 15:17] = 1.0
    x = preprocess_drawing(drawing)[0, 0]
    assert np.allclose(x[:2], BACKGROUND) and np.allclose(x[:, -2:], BACKGROUND)
    assert x.max() == pytest.approx((1 - MNIST_MEAN) / MNIST_STD, rel=1e-3)


@pytest.mark.parametrize("where", [(16, 16), (3, 29)])
def test_a_single_dot_is_size_normalised_and_centred_like_any_drawing(where):
    """A one-cell drawing has no extent to scale by: like every drawing it fills MNIST's 20×20
    box, centred in the field (the middle of the 32×32 input), wherever it was drawn."""
    drawing = np.zeros((32, 32), np.float32)
    drawing[where] = 1.0
    x = preprocess_drawing(drawing)[0, 0]
    assert np.isfinite(x).all()
    ink = np.argwhere(x > BACKGROUND + 1.0)
    assert len(ink) == 20 * 20
    assert ink.min(axis=0).tolist() == [6, 6] and ink.max(axis=0).tolist() == [25, 25]
