"""A multimodal language model whose guessed image does not fit opens on its text alone: the
optional inputs besides the main one are dropped before giving up."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")


def test_lfm2_vl_from_a_small_config_opens_on_its_ids(tmp_path):
    from inspector.core.feed.named import bound, call_model
    from inspector.core.feed.settle import settle
    from inspector.core.files.loading import open_model
    from inspector.core.model.inputs import make_input

    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    path = tmp_path / "lfm.py"
    path.write_text(
        f"import sys\nsys.path.insert(0, {root!r})\n"
        "from tests.zoo.hf_small import build\n\ndef model():\n    return build('lfm2_vl')\n"
    )
    opened = open_model(f"{path}:model", trust=True)
    assert "pixel_values" in opened.inputs.names  # the first reading: its text and an image
    opened, _ = settle(opened)
    inputs = bound(opened.model) or opened.inputs
    assert inputs.names == ("input_ids",)
    assert "it runs with input_ids" in opened.note
    ids = torch.from_numpy(make_input(inputs.main.spec, None, seed=2))
    with torch.no_grad():
        ours = call_model(opened.model, inputs, ids)
        own = opened.model(input_ids=ids)
    assert torch.equal(ours.last_hidden_state, own.last_hidden_state)
