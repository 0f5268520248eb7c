"""``net-inspector activations``: every forward step as arrays, named as the panel names them,
for one input, two inputs and two weight sets, against the hooks-and-F reference."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from inspector.cli import main
from inspector.core.files.loading import bundled_lenet
from inspector.core.graph.backward import record_backward, sgd_step
from inspector.core.graph.losses import LossSpec
from inspector.core.model.images import to_drawing
from inspector.core.model.inputs import LENET_INPUT, make_input, random_input, to_tensor
from tests.lenet_reference import NAMES, expected_steps, one_image, seven_image, write_png


@pytest.fixture
def images(tmp_path):
    return (
        write_png(tmp_path / "seven.png", seven_image()),
        write_png(tmp_path / "one.png", one_image()),
    )


def _load(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _check(arrays, prefix, expected):
    for name in NAMES:
        np.testing.assert_allclose(arrays[prefix + name], expected[name], rtol=1e-5, atol=1e-5)


def test_one_input(tmp_path, images, capsys):
    out = tmp_path / "acts.npz"
    assert main(["activations", "--out", str(out), "--image", str(images[0])]) == 0
    assert "12 steps" in capsys.readouterr().out
    arrays = _load(out)
    assert list(arrays) == ["steps", "input", *NAMES]
    assert list(arrays["steps"]) == NAMES
    x = make_input(LENET_INPUT, to_drawing(seven_image()))
    np.testing.assert_allclose(arrays["input"], x)
    _check(arrays, "", expected_steps(bundled_lenet().model, x))
    assert int(np.argmax(arrays["12. fc3"])) == 7


def test_two_inputs(tmp_path, images):
    out = tmp_path / "acts.npz"
    argv = ["activations", "--out", str(out), "--image", str(images[0])]
    assert main([*argv, "--compare-image", str(images[1])]) == 0
    arrays = _load(out)
    net = bundled_lenet().model
    a = expected_steps(net, make_input(LENET_INPUT, to_drawing(seven_image())))
    b = expected_steps(net, make_input(LENET_INPUT, to_drawing(one_image())))
    _check(arrays, "", a)
    _check(arrays, "b/", b)
    for name in NAMES:
        np.testing.assert_allclose(arrays[f"diff/{name}"], b[name] - a[name], atol=1e-4)
    assert int(np.argmax(arrays["b/12. fc3"])) == 1


def test_two_weight_sets_before_and_after_one_update(tmp_path):
    """B: the weights after one Update weights (``p -= lr * p.grad``) on a random input."""
    net = bundled_lenet().model
    x = random_input(LENET_INPUT, 3)
    before = expected_steps(net, x)
    record_backward(net, to_tensor(x, LENET_INPUT), LossSpec.parse("mse"), with_saliency=False)
    assert sgd_step(net, 0.01)
    updated = tmp_path / "updated.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(updated))
    after = expected_steps(net, x)
    out = tmp_path / "acts.npz"
    argv = ["activations", "--out", str(out), "--random", "3", "--compare-weights", str(updated)]
    assert main(argv) == 0
    arrays = _load(out)
    np.testing.assert_array_equal(arrays["input"], x)
    np.testing.assert_array_equal(arrays["b/input"], x)
    _check(arrays, "", before)
    _check(arrays, "b/", after)
    for name in NAMES:
        np.testing.assert_allclose(
            arrays[f"diff/{name}"], after[name] - before[name], rtol=1e-4, atol=1e-4
        )
    assert not np.allclose(arrays["diff/1. conv1"], 0)


def test_refusals_say_one_sentence(tmp_path, capsys):
    out = tmp_path / "acts.npz"
    missing = tmp_path / "missing.png"
    assert main(["activations", "--out", str(out), "--image", str(missing)]) == 1
    assert "missing.png: file not found" in capsys.readouterr().err
    wrong = tmp_path / "wrong.safetensors"
    save_file({"fc.weight": torch.zeros(2, 2)}, str(wrong))
    assert main(["activations", "--out", str(out), "--compare-weights", str(wrong)]) == 1
    assert capsys.readouterr().err.startswith("net-inspector: ")
    assert not out.exists()


def test_an_svg_named_png_is_refused_at_once(tmp_path, capsys):
    """3 KB of nested <use>: Qt's SVG decoder, picked by content, hung past 120 s."""
    import time

    uses = "".join(
        f'<g id="l{i}"><use href="#l{i - 1}"/><use href="#l{i - 1}"/></g>' for i in range(1, 40)
    )
    svg = tmp_path / "digit.png"
    svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><defs><rect id="l0" width="1" height="1"/>'
        f'{uses}</defs><use href="#l39"/></svg>'
    )
    out = tmp_path / "acts.npz"
    started = time.perf_counter()
    assert main(["activations", "--out", str(out), "--image", str(svg)]) == 1
    assert time.perf_counter() - started < 10
    err = capsys.readouterr().err.strip()
    assert err == (
        "net-inspector: digit.png: not a PNG, JPEG or BMP image "
        "(judged by its first bytes, not its name)"
    )
    assert not out.exists()
