"""A flattened-patch vision tower (Qwen-VL's: ``forward(hidden_states, grid_thw)``, its
``main_input_name`` none of them) is fed patches and their grid from its config."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")


def _tower():
    from transformers import Qwen3VLVisionConfig, Qwen3VLVisionModel

    config = Qwen3VLVisionConfig(depth=1, hidden_size=32, intermediate_size=64, num_heads=2,
                                 patch_size=4, temporal_patch_size=2, spatial_merge_size=2,
                                 out_hidden_size=32, num_position_embeddings=64,
                                 deepstack_visual_indexes=[])  # fmt: skip
    torch.manual_seed(0)
    return Qwen3VLVisionModel(config).eval()


def test_patches_and_grid_come_from_the_config():
    from inspector.core.feed.hf import hf_inputs, main_input
    from inspector.core.model.input_inference import infer_input_spec

    model = _tower()
    assert main_input(model) == "hidden_states"
    inputs = hf_inputs(model, infer_input_spec(model))
    assert inputs.names == ("hidden_states", "grid_thw")
    # 4 × 4 × 4 patches, each 3 channels × 2 frames × 4 × 4 pixels
    assert inputs.main.spec.shape == (64, 96)
    grid = inputs.get("grid_thw").spec
    assert (grid.shape, grid.dtype, grid.fill) == ((1, 3), "int64", 4.0)


def test_the_tower_opens_and_runs_as_its_own_forward(tmp_path):
    from inspector.core.feed.named import bound, call_model
    from inspector.core.feed.settle import settle
    from inspector.core.files.loading import open_model
    from inspector.core.model.inputs import make_input

    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    path = tmp_path / "tower.py"
    path.write_text(
        f"import sys\nsys.path.insert(0, {root!r})\n"
        "from tests.core.test_patch_grid_input import _tower as model\n"
    )
    opened, _ = settle(open_model(f"{path}:model", trust=True))
    inputs = bound(opened.model) or opened.inputs
    x = torch.from_numpy(make_input(inputs.main.spec, None, seed=1))
    with torch.no_grad():
        ours = call_model(opened.model, inputs, x)
        own = opened.model(x, torch.tensor([[4, 4, 4]]))
    assert torch.equal(ours.last_hidden_state, own.last_hidden_state)
