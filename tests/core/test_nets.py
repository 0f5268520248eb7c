from pathlib import Path

import torch

from inspector.core.files.loading import bundled_lenet
from inspector.core.model.nets import LENET_WEIGHTS, Net, untrained_lenet

TUTORIAL_PRINT = """Net(
  (conv1): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
  (conv2): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))
  (fc1): Linear(in_features=400, out_features=120, bias=True)
  (fc2): Linear(in_features=120, out_features=84, bias=True)
  (fc3): Linear(in_features=84, out_features=10, bias=True)
)"""


def test_print_matches_the_tutorial():
    assert str(Net()) == TUTORIAL_PRINT


def test_parameters_as_in_the_tutorial():
    params = list(Net().parameters())
    assert len(params) == 10
    assert params[0].size() == torch.Size([6, 1, 5, 5])
    assert sum(p.numel() for p in params) == 61_706


def test_forward_shape_on_tutorial_input():
    out = Net()(torch.randn(1, 1, 32, 32))
    assert out.shape == (1, 10)


def test_bundled_weights_load_without_warning():
    loaded = bundled_lenet()
    assert loaded.warning is None
    assert LENET_WEIGHTS.stat().st_size < 1_000_000
    assert not loaded.model.training


def test_missing_weights_fall_back_to_untrained_with_warning(tmp_path: Path):
    missing = tmp_path / "nope.safetensors"
    loaded = bundled_lenet(missing)
    assert "not found" in loaded.warning and "nope.safetensors" in loaded.warning
    reference = untrained_lenet()
    assert torch.equal(loaded.model.conv1.weight, reference.conv1.weight)


def test_corrupt_weights_fall_back_with_a_message_naming_the_file(tmp_path: Path):
    corrupt = tmp_path / "broken.safetensors"
    corrupt.write_bytes(b"\x00\x01 this is not a safetensors file")
    loaded = bundled_lenet(corrupt)
    assert loaded.warning is not None and "broken.safetensors" in loaded.warning
    assert isinstance(loaded.model, Net)


def test_wrong_state_dict_is_reported(tmp_path: Path):
    path = tmp_path / "wrong.pt"
    torch.save({"conv1.weight": torch.zeros(3, 3)}, path)
    loaded = bundled_lenet(path)
    assert "wrong.pt" in loaded.warning
