"""``net-inspector activations --edit``: the clean run as A, the edited one as B, B − A, checked
against the tutorial's Net (own weights) with its layers applied by hand to the edited step."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from inspector.cli import main
from inspector.core.model.nets import untrained_lenet
from tests.lenet_reference import NAMES, one_image, seven_image, write_png


@pytest.fixture
def own(tmp_path):
    net = untrained_lenet(seed=5).eval()
    path = tmp_path / "own.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return net, path


def _run(tmp_path, weights, *extra):
    out = tmp_path / "acts.npz"
    argv = ["activations", "--out", str(out), "--weights", str(weights), *extra]
    assert main(argv) == 0
    with np.load(out, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _after_pool1(net, s2: np.ndarray) -> list[np.ndarray]:
    """Steps 4-12 from step 3's value, by the model's own layers."""
    with torch.no_grad():
        c3 = net.conv2(torch.from_numpy(s2))
        r3 = F.relu(c3)
        s4 = F.max_pool2d(r3, 2)
        flat = torch.flatten(s4, 1)
        f5 = net.fc1(flat)
        r5 = F.relu(f5)
        f6 = net.fc2(r5)
        r6 = F.relu(f6)
        return [t.numpy() for t in (c3, r3, s4, flat, f5, r5, f6, r6, net.fc3(r6))]


def test_zero_one_channel(tmp_path, own):
    net, weights = own
    arrays = _run(tmp_path, weights, "--random", "7", "--edit", "3:zero[2]")
    assert list(arrays["steps"]) == NAMES and list(arrays["b/steps"]) == NAMES
    np.testing.assert_array_equal(arrays["b/input"], arrays["input"])
    for name in NAMES[:2]:  # before the edit: unchanged
        np.testing.assert_array_equal(arrays[f"b/{name}"], arrays[name])
        assert not arrays[f"diff/{name}"].any()
    a, b = arrays["3. max_pool2d"], arrays["b/3. max_pool2d"]
    assert a[:, 2].any() and not b[:, 2].any()
    np.testing.assert_array_equal(np.delete(b, 2, 1), np.delete(a, 2, 1))
    for name, expected in zip(NAMES[3:], _after_pool1(net, b), strict=True):
        np.testing.assert_allclose(arrays[f"b/{name}"], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            arrays[f"diff/{name}"], arrays[f"b/{name}"] - arrays[name], atol=1e-6
        )


def test_scale_and_two_edits_in_order(tmp_path, own):
    net, weights = own
    edits = ["--edit", "conv1:scale=3[1]", "--edit", "3:scale=0.5"]
    arrays = _run(tmp_path, weights, "--random", "2", *edits)
    c1 = arrays["b/1. conv1"]
    np.testing.assert_allclose(c1[:, 1], 3 * arrays["1. conv1"][:, 1], rtol=1e-6)
    with torch.no_grad():
        s2 = F.max_pool2d(F.relu(torch.from_numpy(c1)), (2, 2)).numpy() * 0.5
    np.testing.assert_allclose(arrays["b/3. max_pool2d"], s2, rtol=1e-6)
    for name, expected in zip(NAMES[3:], _after_pool1(net, s2), strict=True):
        np.testing.assert_allclose(arrays[f"b/{name}"], expected, rtol=1e-5, atol=1e-6)


def test_patch_from_a_into_the_compared_image(tmp_path, own):
    weights = own[1]
    seven = write_png(tmp_path / "seven.png", seven_image())
    one = write_png(tmp_path / "one.png", one_image())
    argv = ["--image", str(seven), "--compare-image", str(one), "--edit", "4:patch"]
    arrays = _run(tmp_path, weights, *argv)
    clean_b = _run(tmp_path, weights, "--image", str(one))
    assert not np.array_equal(arrays["b/input"], arrays["input"])
    for name in NAMES[:3]:  # B's own, up to the patch
        np.testing.assert_array_equal(arrays[f"b/{name}"], clean_b[name])
    for name in NAMES[3:]:  # from the patch on, B's run is A's
        np.testing.assert_allclose(arrays[f"b/{name}"], arrays[name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "argv, said",
    [
        (["--edit", "3:patch"], "give --compare-image or --compare-weights"),
        (["--edit", "3:zero[6]"], "has 6 channels: no channel 6"),
        (["--edit", "3:scale=x"], "is not one of zero"),
        (["--edit", "40:zero"], "there is no step 40"),
    ],
)
def test_bad_edits_are_one_sentence_and_exit_1(tmp_path, own, capsys, argv, said):
    out = tmp_path / "acts.npz"
    code = main(["activations", "--out", str(out), "--weights", str(own[1]), *argv])
    err = capsys.readouterr().err.strip()
    assert code == 1 and said in err and "\n" not in err and "Traceback" not in err
    assert not out.exists()


def test_edit_does_not_go_with_connect(tmp_path, capsys):
    out = tmp_path / "acts.npz"
    argv = ["activations", "--out", str(out), "--connect", "localhost:1", "--edit", "3:zero"]
    assert main(argv) == 1
    assert "does not go with --connect" in capsys.readouterr().err
