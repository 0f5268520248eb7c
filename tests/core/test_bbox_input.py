"""A model that says its boxes are required (UDOP: "Bbox is required ...") gets an empty box
per token, and runs as its own forward does on them."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")


def test_udop_from_a_small_config_opens_with_empty_boxes(tmp_path):
    from inspector.core.feed.named import bound, call_model
    from inspector.core.feed.settle import settle
    from inspector.core.files.loading import open_model
    from inspector.core.model.inputs import make_input

    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    path = tmp_path / "udop.py"
    path.write_text(
        f"import sys\nsys.path.insert(0, {root!r})\n"
        "from tests.zoo.hf_small import build\n\ndef model():\n    return build('udop')\n"
    )
    opened, _ = settle(open_model(f"{path}:model", trust=True))
    inputs = bound(opened.model) or opened.inputs
    assert inputs.names == ("input_ids", "decoder_input_ids", "bbox")
    box = inputs.get("bbox").spec
    assert (box.shape, box.dtype, box.fill) == ((*inputs.main.spec.shape, 4), "float32", 0.0)
    ids = torch.from_numpy(make_input(inputs.main.spec, None, seed=2))
    decoder = torch.from_numpy(inputs.array("decoder_input_ids"))
    with torch.no_grad():
        ours = call_model(opened.model, inputs, ids)
        own = opened.model(input_ids=ids, decoder_input_ids=decoder,
                           bbox=torch.zeros(*ids.shape, 4))  # fmt: skip
    assert torch.equal(ours.last_hidden_state, own.last_hidden_state)
