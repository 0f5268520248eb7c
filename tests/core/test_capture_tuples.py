"""Ops and modules that return tuples: each tensor in the tuple is its own step."""

import numpy as np
import pytest
import torch
from torch import nn

from inspector.core.engine import Engine
from inspector.core.files.loading import open_model
from inspector.core.forward.capture import capture_forward
from inspector.core.forward.export import forward_steps
from inspector.core.forward.results import ForwardRequest
from tests.conftest import ZOO

PATTERNS = ZOO / "people_patterns.py"


def _capture(model: nn.Module, x: torch.Tensor):
    with torch.inference_mode():
        capture = capture_forward(model, x)
    return {s.label: t for s, t in zip(capture.steps, capture.tensors, strict=True)}, capture


def test_chunk_and_max_give_a_step_per_tensor():
    model = open_model(f"{PATTERNS}:Chunky", input_shape="1,8").model
    x = torch.randn(1, 8)
    steps, capture = _capture(model, x)
    assert [s.label for s in capture.steps] == [
        "fc", "chunk[0]", "chunk[1]", "mul", "max[0]", "max[1]", "unsqueeze", "add",
    ]  # fmt: skip
    with torch.inference_mode():
        a, b = model.fc(x).chunk(2, dim=1)
        best = torch.max(a * b, dim=1)
    assert torch.equal(steps["chunk[1]"], b)
    assert torch.equal(steps["max[0]"], best.values)
    assert torch.equal(steps["max[1]"], best.indices)


@pytest.mark.parametrize(
    ("op", "parts"),
    [
        (lambda x: x.split([1, 3], dim=1), 2),
        (lambda x: x.topk(2, dim=1), 2),
        (lambda x: x.unbind(1), 4),
    ],
)
def test_split_topk_and_unbind(op, parts):
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Identity()

        def forward(self, x):
            return op(self.scale(x) * 2)

    x = torch.randn(2, 4)
    steps, capture = _capture(Net(), x)
    labels = [s.label for s in capture.steps][2:]  # scale, mul, then the parts
    name = labels[0][: labels[0].index("[")]
    assert labels == [f"{name}[{i}]" for i in range(parts)]
    for i, expected in enumerate(op(x * 2)):
        assert torch.equal(steps[f"{name}[{i}]"], expected)


def test_an_lstm_gives_its_output_and_both_states():
    model = open_model(f"{PATTERNS}:Recurrent", input_shape="1,5,8").model
    x = torch.randn(1, 5, 8)
    steps, capture = _capture(model, x)
    assert [s.label for s in capture.steps][:3] == ["lstm[0]", "lstm[1][0]", "lstm[1][1]"]
    assert all(s.is_module and s.op == "LSTM" for s in capture.steps[:3])
    with torch.inference_mode():
        out, (h, c) = model.lstm(x)
    assert torch.equal(steps["lstm[0]"], out)
    assert torch.equal(steps["lstm[1][0]"], h)
    assert torch.equal(steps["lstm[1][1]"], c)


def test_multihead_attention_gives_its_output_and_its_weights():
    model = open_model(f"{PATTERNS}:SelfAttention", input_shape="1,6,16").model
    x = torch.randn(1, 6, 16)
    steps, _ = _capture(model, x)
    with torch.inference_mode():
        out, weights = model.attn(x, x, x)
    found = {label: t for label, t in steps.items() if label.startswith("attn ›")}
    outputs = [t for label, t in found.items() if label.endswith("[0]")]
    attention = [t for label, t in found.items() if label.endswith("[1]")]
    assert len(outputs) == len(attention) == 1
    assert torch.allclose(outputs[0].transpose(0, 1), out, atol=1e-6)
    assert torch.allclose(attention[0], weights, atol=1e-6)


def test_the_panel_the_export_and_the_numbering_agree():
    opened = open_model(f"{PATTERNS}:Chunky", input_shape="1,8")
    engine = Engine(opened)
    raw = np.random.default_rng(0).standard_normal((1, 8)).astype(np.float32)
    result = engine.forward(ForwardRequest(1, np.zeros((32, 32), np.float32), raw))
    panel = [f"{s.step.index + 1}. {s.step.label}" for s in result.steps]
    exported = forward_steps(engine.model, torch.from_numpy(raw))
    assert panel == [name for name, _ in exported]
    assert panel[1:3] == ["2. chunk[0]", "3. chunk[1]"]
    assert result.total_steps == len(panel) == 8
    for s, (_, values) in zip(result.steps, exported, strict=True):
        np.testing.assert_array_equal(s.values, values.astype(np.float32))
