"""Zeroing one attention head through the edits: its output is zero, the other heads and its
own pattern are untouched, and the layers after it answer."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from inspector.core.edits.apply import Editor
from inspector.core.edits.heads import head_output_step, zero_head
from inspector.core.edits.spec import EditError
from inspector.core.forward.attention import watch_attention
from inspector.core.forward.capture import capture_forward, first_tensor

pytest.importorskip("transformers")


def _gpt2(implementation: str) -> nn.Module:
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        import real_models
    finally:
        sys.path.remove(str(Path(__file__).parent))
    torch.manual_seed(0)
    model = real_models.gpt2().eval()
    model.set_attn_implementation(implementation)
    return model


def _run(model, ids, edit=None):
    with torch.inference_mode(), watch_attention(model) as watch:
        capture = capture_forward(model, ids, edit=edit)
    return capture, watch.maps()


@pytest.mark.parametrize("implementation", ["sdpa", "eager"])
def test_zeroing_a_head_removes_its_output_only(implementation):
    model = _gpt2(implementation)
    ids = torch.randint(3, 97, (1, 8))
    clean, clean_maps = _run(model, ids)
    edit = zero_head(clean.steps, "transformer.h.0.attn", 1)
    step = clean.steps[edit.step]
    assert step.shape == (1, 2, 8, 16) and step.module == "transformer.h.0.attn"
    edited, edited_maps = _run(model, ids, Editor([edit]))
    value = edited.tensors[edit.step]
    assert torch.all(value[:, 1] == 0), "head 1's output is zero"
    torch.testing.assert_close(value[:, 0], clean.tensors[edit.step][:, 0])  # head 0 as it was
    np.testing.assert_array_equal(edited_maps[0].probs, clean_maps[0].probs)
    assert not np.allclose(edited_maps[1].probs, clean_maps[1].probs), "the next layer answers"
    assert not torch.equal(first_tensor(edited.output), first_tensor(clean.output))


def test_heads_mixed_inside_one_call_cannot_be_zeroed_one_by_one():
    mha = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    x = torch.randn(1, 3, 8)
    with torch.inference_mode():
        capture = capture_forward(mha, x, x, x)
    assert head_output_step(capture.steps, "") is None
    with pytest.raises(EditError, match="cannot be zeroed one by one"):
        zero_head(capture.steps, "", 0)


def test_a_head_the_layer_lacks_is_refused_by_name():
    model = _gpt2("sdpa")
    with torch.inference_mode():
        capture = capture_forward(model, torch.randint(3, 97, (1, 8)))
    with pytest.raises(EditError, match=r"transformer\.h\.1\.attn has 2 heads: there is no head 5"):
        zero_head(capture.steps, "transformer.h.1.attn", 5)
