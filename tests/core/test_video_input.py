"""A video model's ``pixel_values`` are ``[1, frames, C, H, W]`` by its config's
``num_frames``, and the model opens on them."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")


def _videomae():
    from transformers import VideoMAEConfig, VideoMAEModel

    config = VideoMAEConfig(image_size=32, patch_size=8, num_frames=4, tubelet_size=2,
                            hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                            intermediate_size=64)  # fmt: skip
    torch.manual_seed(0)
    return VideoMAEModel(config).eval()


def test_pixel_values_of_a_video_model_carry_its_frames():
    from inspector.core.feed.hf import input_spec

    spec = input_spec(_videomae(), "pixel_values")
    assert spec.shape == (1, 4, 3, 32, 32)
    assert "num_frames" in spec.source


def test_a_video_model_opens_and_runs_as_its_own_forward(tmp_path):
    from inspector.core.feed.named import bound, call_model
    from inspector.core.feed.settle import settle
    from inspector.core.files.loading import open_model
    from inspector.core.model.inputs import make_input

    path = tmp_path / "video.py"
    root = str(_root())
    path.write_text(
        f"import sys\nsys.path.insert(0, {root!r})\n"
        "from tests.core.test_video_input import _videomae as model\n"
    )
    opened, _ = settle(open_model(f"{path}:model", trust=True))
    assert opened.input.shape == (1, 4, 3, 32, 32)
    inputs = bound(opened.model) or opened.inputs
    x = torch.from_numpy(make_input(inputs.main.spec, None, seed=3))
    with torch.no_grad():
        ours = call_model(opened.model, inputs, x)
        own = opened.model(pixel_values=x)
    assert torch.equal(ours.last_hidden_state, own.last_hidden_state)


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]
