"""SigLIP 2's vision tower takes its image as a sequence of patches with their
``spatial_shapes`` and a mask: all three come from its config."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")


def _tower():
    from transformers import Siglip2VisionConfig, Siglip2VisionModel

    config = Siglip2VisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                 num_attention_heads=2, patch_size=4, num_patches=16)  # fmt: skip
    torch.manual_seed(0)
    return Siglip2VisionModel(config).eval()


def test_patches_shapes_and_mask_come_from_the_config():
    from inspector.core.feed.hf import hf_inputs
    from inspector.core.model.input_inference import infer_input_spec

    model = _tower()
    inputs = hf_inputs(model, infer_input_spec(model))
    assert inputs.names == ("pixel_values", "spatial_shapes", "pixel_attention_mask")
    assert inputs.main.spec.shape == (1, 16, 48)  # 4 × 4 patches of 3 × 4 × 4 values
    shapes = inputs.get("spatial_shapes").spec
    assert (shapes.shape, shapes.fill) == ((1, 2), 4.0)


def test_the_tower_opens_and_runs_as_its_own_forward(tmp_path):
    from inspector.core.feed.named import bound, call_model
    from inspector.core.feed.settle import settle
    from inspector.core.files.loading import open_model
    from inspector.core.model.inputs import make_input

    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    path = tmp_path / "tower.py"
    path.write_text(
        f"import sys\nsys.path.insert(0, {root!r})\n"
        "from tests.core.test_naflex_input import _tower as model\n"
    )
    opened, _ = settle(open_model(f"{path}:model", trust=True))
    assert "first reading" not in (opened.note or "")
    inputs = bound(opened.model) or opened.inputs
    x = torch.from_numpy(make_input(inputs.main.spec, None, seed=1))
    with torch.no_grad():
        ours = call_model(opened.model, inputs, x)
        own = opened.model(x, torch.ones(1, 16, dtype=torch.long), torch.tensor([[4, 4]]))
    assert torch.equal(ours.last_hidden_state, own.last_hidden_state)
