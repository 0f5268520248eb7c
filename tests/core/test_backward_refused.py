"""A model whose own backward raises (Reformer's reversible layers assert training mode) keeps
its graph, without gradients, and says why."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from inspector.core.graph.backward import record_backward
from inspector.core.graph.losses import LossSpec


class _TrainOnly(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        raise AssertionError("use model.train() to train this model")


class Refusing(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(4, 3)
        self.tail = nn.Linear(3, 2)

    def forward(self, x):
        return self.tail(_TrainOnly.apply(self.head(x)))


def test_a_refused_backward_keeps_the_graph_with_a_note():
    torch.manual_seed(0)
    model = Refusing().eval()
    x = torch.randn(1, 4)
    record, _ = record_backward(model, x, LossSpec("sum"))
    assert "refused the backward pass (AssertionError: use model.train()" in record.loss_note
    assert record.order == [] and record.grads == {}
    assert record.graph.nodes  # the forward's graph is there
    # what the half-run backward put into the tail's .grad is gone
    assert all(p.grad is None for p in model.parameters())
    assert record.param_grads == {}
    assert record.output.ravel() == pytest.approx(model(x).detach().numpy().ravel())


def test_reformer_from_a_small_config_opens_its_graph():
    pytest.importorskip("transformers")
    from tests.zoo.hf_small import build

    model = build("reformer")
    ids = torch.randint(0, model.config.vocab_size, (1, 8))
    record, _ = record_backward(model, ids, LossSpec("sum"), with_saliency=False)
    assert "refused the backward pass" in record.loss_note
    assert "model.train()" in record.loss_note
    assert model.training is False  # the mode is given back
    with torch.no_grad():
        own = model(ids).last_hidden_state
    assert record.loss_value == pytest.approx(float(own.sum()), rel=1e-4)
