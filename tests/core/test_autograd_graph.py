"""Graph extraction, backward recording, stepping, layout and export, without Qt."""

import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inspector.core.files.loading import bundled_lenet
from inspector.core.graph.autograd import PARAM, ROOT, extract_graph
from inspector.core.graph.backward import GradInfos, record_backward, sgd_step
from inspector.core.graph.export import dumps, graph_from_json, to_dot
from inspector.core.graph.layout import layered_layout
from inspector.core.graph.losses import LossSpec, compute_loss
from inspector.core.graph.stepping import Stepper

LENET_COUNTS = {
    "MseLossBackward0": 1,
    "AddmmBackward0": 3,
    "TBackward0": 3,
    "ReluBackward0": 4,
    "MaxPool2DWithIndicesBackward0": 2,
    "ConvolutionBackward0": 2,
    "AccumulateGrad": 10,
}


@pytest.fixture
def lenet():
    return bundled_lenet().model


@pytest.fixture
def x():
    return torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))


def test_lenet_mse_graph_has_the_26_expected_nodes(lenet, x):
    record, _ = record_backward(lenet, x, LossSpec("mse"))
    graph = record.graph
    assert len(graph.nodes) == 26
    counts = graph.counts()
    flatten = counts.pop("ViewBackward0", 0) + counts.pop("ReshapeAliasBackward0", 0)
    assert flatten == 1
    assert dict(counts) == LENET_COUNTS
    assert graph.nodes[graph.root].name == "MseLossBackward0"
    assert graph.nodes[graph.root].kind == ROOT


def test_parameter_leaves_and_modules(lenet, x):
    record, _ = record_backward(lenet, x, LossSpec("mse"))
    params = {n.label: n for n in record.graph.nodes if n.kind == PARAM}
    assert set(params) == {
        f"{name} [{', '.join(map(str, p.shape))}]" for name, p in lenet.named_parameters()
    }
    assert params["conv1.weight [6, 1, 5, 5]"].module == "conv1"
    convs = [n.module for n in record.graph.nodes if n.name == "ConvolutionBackward0"]
    assert sorted(convs) == ["conv1", "conv2"]
    addmm = [n.module for n in record.graph.nodes if n.name == "AddmmBackward0"]
    assert sorted(addmm) == ["fc1", "fc2", "fc3"]
    assert all(n.module == "" for n in record.graph.nodes if n.name == "ReluBackward0")
    fc1 = next(n for n in record.graph.nodes if n.name == "AddmmBackward0" and n.module == "fc1")
    assert ("mat1", (1, 400)) in [(s.name, s.shape) for s in fc1.saved]


def test_recorded_order_is_the_engines(lenet, x):
    """Hooks of our own on an identical graph fire in the order the record holds."""
    record, _ = record_backward(lenet, x, LossSpec("mse"))
    assert record.order[0] == record.graph.root
    assert sorted(record.order) == list(range(26))  # every node ran once

    loss = compute_loss(lenet(x), LossSpec("mse"))
    _, fns = extract_graph(loss)
    fired = []
    handles = [fn.register_prehook(lambda g, i=i: fired.append(i)) for i, fn in enumerate(fns)]
    loss.backward()
    for h in handles:
        h.remove()
    assert fired == record.order


def test_gradients_shown_equal_param_grad(lenet, x):
    record, _ = record_backward(lenet, x, LossSpec("ce", 3))
    for name, p in lenet.named_parameters():
        np.testing.assert_array_equal(record.param_grads[name].values, p.grad.numpy())
    leaf = next(n for n in record.graph.nodes if n.label.startswith("conv1.weight"))
    landed = record.grads[leaf.id].incoming[0]
    np.testing.assert_allclose(landed.values, lenet.conv1.weight.grad.numpy(), rtol=1e-6)
    assert landed.norm == pytest.approx(float(lenet.conv1.weight.grad.norm()), rel=1e-5)


def test_edges_that_carried_a_gradient(lenet, x):
    record, _ = record_backward(lenet, x, LossSpec("mse"))
    carried = record.carried()
    assert len(carried) == len({(a, b) for a, b, _ in record.graph.edges})


def test_update_is_exactly_minus_lr_times_grad(lenet, x):
    record_backward(lenet, x, LossSpec("mse"))
    before = {n: p.detach().clone() for n, p in lenet.named_parameters()}
    grads = {n: p.grad.detach().clone() for n, p in lenet.named_parameters()}
    updated = sgd_step(lenet, 0.01)
    assert len(updated) == 10
    for n, p in lenet.named_parameters():
        assert torch.equal(p.detach(), before[n] - 0.01 * grads[n])


def test_gradients_accumulate_unless_zeroed(lenet, x):
    once, _ = record_backward(lenet, x, LossSpec("mse"), zero_grad=True)
    single = once.param_grads["fc3.bias"].values
    twice, _ = record_backward(lenet, x, LossSpec("mse"), zero_grad=False)
    np.testing.assert_allclose(twice.param_grads["fc3.bias"].values, 2 * single, rtol=1e-5)
    again, _ = record_backward(lenet, x, LossSpec("mse"), zero_grad=True)
    np.testing.assert_allclose(again.param_grads["fc3.bias"].values, single, rtol=1e-6)


def test_input_gradient_matches_autograd(lenet, x):
    record, _ = record_backward(lenet, x, LossSpec("mse"))
    xg = x.clone().requires_grad_(True)
    compute_loss(lenet(xg), LossSpec("mse")).backward()
    np.testing.assert_allclose(record.input_grad, xg.grad.numpy(), rtol=1e-5, atol=1e-7)


class SharedAndSkip(nn.Module):
    """The same Linear used twice and a skip connection: nodes reached twice, drawn once."""

    def __init__(self) -> None:
        super().__init__()
        self.shared = nn.Linear(8, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        h = F.relu(self.shared(x))
        h = self.shared(h) + x  # shared parameters, and x skips over both
        return self.head(h)


def test_shared_parameters_and_skips_give_one_node_each():
    model = SharedAndSkip()
    record, _ = record_backward(model, torch.randn(1, 8), LossSpec("sum"))
    graph = record.graph
    labels = [n.label for n in graph.nodes if n.kind == PARAM]
    assert sorted(labels) == sorted(set(labels))  # shared.weight appears once
    assert "shared.weight [8, 8]" in labels
    assert len(record.order) == len(graph.nodes)  # each node ran once
    shared = next(n for n in graph.nodes if n.label == "shared.weight [8, 8]")
    parents = [a for a, b, _ in graph.edges if b == shared.id]
    assert len(parents) == 2  # reached twice, still one node


class WritesIntoItsInput(nn.Module):
    """Normalises its input in place, as some user models do."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x.sub_(0.5)
        return self.fc(x)


def _shape_of(record):
    """What the panels see of a backward: the graph, what each node saved, the order, and
    which slots sent on."""
    graph = record.graph
    sent = {i: [info is not None for info in g.outgoing] for i, g in sorted(record.grads.items())}
    saved = [[(t.name, t.shape) for t in n.saved] for n in graph.nodes]
    return [n.label for n in graph.nodes], sorted(graph.edges), saved, record.order, sent


@pytest.mark.parametrize(
    "make, shape", [(lambda: bundled_lenet().model, (1, 1, 32, 32)), (SharedAndSkip, (1, 8))]
)
def test_the_saliency_leaves_the_graph_as_a_plain_backward_builds_it(make, shape):
    """The graph, its saved tensors (a first Linear whose input requires grad saves its weight
    too), the order and the gradients are those of a plain ``loss.backward()``; the saliency
    is the plain d loss / d input."""
    model = make()
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    plain, _ = record_backward(model, x, LossSpec("sum"), with_saliency=False)
    both, _ = record_backward(model, x, LossSpec("sum"))
    assert plain.input_grad is None
    assert _shape_of(both) == _shape_of(plain)
    for name, info in plain.param_grads.items():
        np.testing.assert_allclose(both.param_grads[name].values, info.values, rtol=1e-6)
    xg = x.clone().requires_grad_(True)
    compute_loss(model(xg), LossSpec("sum")).backward()
    np.testing.assert_allclose(both.input_grad, xg.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_a_model_that_writes_into_its_input_gets_its_backward_and_saliency():
    """It used to fail: the saliency's input was a leaf that requires grad, and writing into
    such a leaf raises. Its saliency is taken from the input as it was given."""
    model = WritesIntoItsInput()
    x = torch.rand(1, 8, generator=torch.Generator().manual_seed(2))
    record, _ = record_backward(model, x, LossSpec("sum"))
    assert record.input_grad is not None
    np.testing.assert_allclose(  # d sum(W (x - 0.5) + b) / dx = the column sums of W
        record.input_grad[0], model.fc.weight.detach().sum(0).numpy(), rtol=1e-6
    )
    assert "SubBackward0" not in record.graph.counts()  # the input needs no gradient there


def test_grad_infos_reuse_a_tensor_only_while_unchanged():
    infos = GradInfos()
    grad = torch.tensor([1.0, -2.0, 3.0])
    first = infos.of(grad)
    assert infos.of(grad) is first  # the same tensor, unchanged: the same statistics
    grad.add_(10.0)  # as the engine does when a second gradient arrives for it
    changed = infos.of(grad)
    assert changed is not first and (changed.min, changed.max) == (8.0, 13.0)
    other = torch.tensor([1.0, -2.0, 3.0])
    assert infos.of(other) is not changed and infos.of(other).max == 3.0


def test_deep_graph_beyond_the_recursion_limit():
    x = torch.randn(4, requires_grad=True)
    y = x
    for _ in range(sys.getrecursionlimit() + 500):
        y = y * 1.0001
    graph, _ = extract_graph(y.sum())
    assert len(graph.nodes) > sys.getrecursionlimit()
    layout = layered_layout(len(graph.nodes), [(a, b) for a, b, _ in graph.edges])
    assert layout.y.max() == len(graph.nodes) - 1


def test_layout_layers_edges_downwards_without_overlap(lenet, x):
    record, _ = record_backward(lenet, x, LossSpec("mse"))
    edges = [(a, b) for a, b, _ in record.graph.edges]
    layout = layered_layout(len(record.graph.nodes), edges)
    assert layout.y[record.graph.root] == 0
    assert all(layout.y[b] > layout.y[a] for a, b in edges)
    for layer in np.unique(layout.y):
        xs = np.sort(layout.x[layout.y == layer])
        assert np.all(np.diff(xs) >= 1.0 - 1e-9)  # no two nodes of a layer overlap
    assert len(layout.routes) == len(edges)


def test_stepper_walks_the_order(lenet, x):
    record, _ = record_backward(lenet, x, LossSpec("mse"))
    stepper = Stepper(record)
    assert stepper.current is None and stepper.label().startswith("Press Step")
    assert stepper.step()
    assert stepper.label() == "MseLossBackward0 (1/26)"
    walked = [stepper.current]
    while stepper.step():
        walked.append(stepper.current)
    assert walked == record.order
    assert stepper.label().startswith("AccumulateGrad (26/26): conv1.")
    assert stepper.carried() == record.carried()
    assert stepper.back() and stepper.k == 24
    leaf = next(n.id for n in record.graph.nodes if n.label == "fc3.bias [10]")
    assert stepper.jump_to(leaf) and stepper.current == leaf
    stepper.reset()
    assert stepper.visited() == set()


def test_json_export_round_trips(lenet, x):
    import json

    record, _ = record_backward(lenet, x, LossSpec("ce", 7))
    data = json.loads(dumps(record))
    assert set(data) >= {"nodes", "edges", "backward_order"}
    assert {"id", "name", "label", "kind", "module", "shapes"} <= set(data["nodes"][0])
    graph, order = graph_from_json(data)
    assert order == record.order
    assert [(n.id, n.name, n.label, n.kind, n.module) for n in graph.nodes] == [
        (n.id, n.name, n.label, n.kind, n.module) for n in record.graph.nodes
    ]
    assert graph.edges == record.graph.edges
    data["version"] = 99
    with pytest.raises(ValueError, match="newer"):
        graph_from_json(data)


def test_dot_export_names_every_node(lenet, x):
    record, _ = record_backward(lenet, x, LossSpec("mse"))
    dot = to_dot(record)
    assert dot.startswith("digraph autograd {")
    assert dot.count("->") == len({(a, b) for a, b, _ in record.graph.edges})
    assert '"#1 MseLossBackward0"' in dot


@pytest.mark.parametrize(
    ("text", "spec"),
    [("mse", LossSpec("mse")), ("ce:7", LossSpec("ce", 7)), ("sum", LossSpec("sum"))],
)
def test_loss_parsing(text, spec):
    assert LossSpec.parse(text) == spec


@pytest.mark.parametrize("text", ["l1", "ce:x", "mse:3"])
def test_bad_loss_is_refused(text):
    with pytest.raises(ValueError):
        LossSpec.parse(text)


def test_tutorial_loss_value(lenet):
    out = lenet(torch.randn(1, 1, 32, 32))
    target = torch.arange(1, 11, dtype=torch.float32).view(1, -1)
    assert compute_loss(out, LossSpec("mse")).item() == pytest.approx(
        F.mse_loss(out, target).item()
    )


def test_repeated_blocks_collapse_and_map_every_node():
    from inspector.core.graph.collapse import GROUP, collapse, repeated_blocks
    from inspector.core.model.zoo import ResNet50

    model = ResNet50().eval()
    record, _ = record_backward(
        model, torch.randn(1, 3, 64, 64), LossSpec("sum"), with_saliency=False
    )
    blocks = repeated_blocks(record.graph)
    assert "layer1.0" in blocks and "layer4.2" in blocks and len(blocks) == 16
    assert not any(b.startswith("layer1.0.") for b in blocks)  # the shallowest level only
    view = collapse(record.graph, blocks)
    boxes = [n for n in view.graph.nodes if n.kind == GROUP]
    assert len(boxes) == 16 and len(view.graph.nodes) < 40
    assert sum(len(m) for m in view.members.values()) + len(view.graph.nodes) - 16 == 338
    inside = next(n.id for n in record.graph.nodes if n.module == "layer2.1.conv2")
    box = view.graph.nodes[view.shown_as[inside]]
    assert box.kind == GROUP and box.module == "layer2.1" and "nodes" in box.label
    # edges join boxes in order: nothing points back up, no edge inside a box survives
    layout = layered_layout(len(view.graph.nodes), [(a, b) for a, b, _ in view.graph.edges])
    assert all(layout.y[b] > layout.y[a] for a, b, _ in view.graph.edges)
    carried = view.view_edges(record.carried())
    assert carried == {(a, b) for a, b, _ in view.graph.edges}
    assert collapse(record.graph, set()).graph is record.graph


def test_the_graph_alone_is_the_same_graph_without_a_backward_pass(lenet):
    x = torch.randn(1, 1, 32, 32)
    full, _ = record_backward(lenet, x, LossSpec("mse"))
    bare, _ = record_backward(lenet, x, LossSpec("mse"), run_backward=False)
    assert [n.label for n in bare.graph.nodes] == [n.label for n in full.graph.nodes]
    assert bare.graph.edges == full.graph.edges
    assert bare.order == [] and bare.grads == {} and len(full.order) == 26
    assert bare.loss_value == full.loss_value
