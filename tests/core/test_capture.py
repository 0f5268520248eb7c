import pytest
import torch
from torch.overrides import _get_current_function_mode_stack

from inspector.core.forward.capture import capture_forward, op_name
from inspector.core.model.nets import Net

LENET_STEPS = [
    ("Conv2d", "conv1", True, (1, 6, 28, 28)),
    ("relu", "", False, (1, 6, 28, 28)),
    ("max_pool2d", "", False, (1, 6, 14, 14)),
    ("Conv2d", "conv2", True, (1, 16, 10, 10)),
    ("relu", "", False, (1, 16, 10, 10)),
    ("max_pool2d", "", False, (1, 16, 5, 5)),
    ("flatten", "", False, (1, 400)),
    ("Linear", "fc1", True, (1, 120)),
    ("relu", "", False, (1, 120)),
    ("Linear", "fc2", True, (1, 84)),
    ("relu", "", False, (1, 84)),
    ("Linear", "fc3", True, (1, 10)),
]


def _no_hooks(model: torch.nn.Module) -> bool:
    from torch.nn.modules import module

    own = all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    return own and not module._global_forward_hooks and not module._global_forward_pre_hooks


def test_lenet_steps_in_order_with_modules_and_shapes():
    net = Net()
    with torch.no_grad():
        capture = capture_forward(net, torch.randn(1, 1, 32, 32))
    got = [(s.op, s.module, s.is_module, s.shape) for s in capture.steps]
    assert got == LENET_STEPS
    assert [s.label for s in capture.steps][:3] == ["conv1", "relu", "max_pool2d"]
    assert capture.module_shapes["conv2"] == (1, 16, 10, 10)
    assert capture.module_shapes[""] == (1, 10)


def test_captured_tensors_are_the_real_activations():
    net = Net()
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        capture = capture_forward(net, x)
        assert torch.equal(capture.tensors[0], net.conv1(x))
        assert torch.equal(capture.tensors[1], torch.relu(net.conv1(x)))
        assert torch.equal(capture.output, net(x))


def test_hooks_and_mode_removed_and_train_mode_restored():
    net = Net()
    net.train()
    capture_forward(net, torch.randn(1, 1, 32, 32))
    assert net.training
    assert _no_hooks(net)
    assert len(_get_current_function_mode_stack()) == 0


def test_cleanup_happens_when_forward_raises():
    class Broken(Net):
        def forward(self, input):
            super().forward(input)
            raise RuntimeError("boom")

    net = Broken().eval()
    with pytest.raises(RuntimeError, match="boom"):
        capture_forward(net, torch.randn(1, 1, 32, 32), train_mode=True)
    assert not net.training
    assert _no_hooks(net)
    assert len(_get_current_function_mode_stack()) == 0


def test_a_leaf_that_raises_leaves_no_mode_behind_and_capture_works_again():
    """Inside a leaf the function mode steps aside; a leaf raising must not strand it."""

    class Fragile(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fail = True

        def forward(self, x):
            x = torch.relu(x)
            if self.fail:
                raise ValueError("leaf failed")
            return x

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.leaf = Fragile()

        def forward(self, x):
            return torch.sigmoid(self.leaf(x * 2))

    model = Model()
    with pytest.raises(ValueError, match="leaf failed"):
        capture_forward(model, torch.randn(3))
    assert len(_get_current_function_mode_stack()) == 0
    assert _no_hooks(model)
    model.leaf.fail = False
    capture = capture_forward(model, torch.randn(3))
    assert [s.label for s in capture.steps] == ["mul", "leaf", "sigmoid"]


def test_only_the_models_own_modules_on_this_thread_are_recorded():
    """The hooks are global while a capture runs: a module outside the model, or another
    model run meanwhile in another thread, leaves no step."""
    import threading

    outsider = torch.nn.Linear(4, 4)  # called by the model but not one of its modules

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = torch.nn.Linear(4, 4)

        def forward(self, x):
            thread = threading.Thread(target=lambda: Net()(torch.randn(1, 1, 32, 32)))
            thread.start()
            thread.join()
            return self.inner([outsider][0](x))

    with torch.no_grad():
        capture = capture_forward(Model(), torch.randn(1, 4))
    assert [(s.label, s.is_module) for s in capture.steps] == [("linear", False), ("inner", True)]


def test_what_a_users_hook_on_a_leaf_computes_stays_inside_the_leaf():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU())
    seen = []
    model[0].register_forward_hook(lambda m, a, out: seen.append(out.abs().sum()))
    with torch.no_grad():
        capture = capture_forward(model, torch.randn(1, 4))
    assert [s.label for s in capture.steps] == ["0", "1"] and len(seen) == 1
    assert len(model[0]._forward_hooks) == 1  # ours removed, the user's kept


def test_functional_ops_inside_a_submodule_are_attributed_to_it(tiny_resnet):
    with torch.no_grad():
        capture = capture_forward(tiny_resnet, torch.randn(1, 1, 8, 8))
    labels = [s.label for s in capture.steps]
    assert labels[:5] == ["stem", "block.conv", "block.bn", "block › add", "block › relu"]
    assert labels[-2:] == ["mean", "head"]


class _InPlaceBlock(torch.nn.Module):
    """torchvision's BasicBlock habits: ``out += identity`` and ``nn.ReLU(inplace=True)``."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 4)
        self.relu = torch.nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.fc(x)
        out += x
        return self.relu(out)


def test_a_step_overwritten_in_place_later_keeps_its_own_values():
    model = _InPlaceBlock()
    x = torch.tensor([[-3.0, -2.0, 1.0, 2.0]])
    with torch.no_grad():
        fc = model.fc(x)
        capture = capture_forward(model, x)
    assert [s.label for s in capture.steps] == ["fc", "add", "relu"]
    fc_kept, added, relu = capture.tensors
    assert torch.equal(fc_kept, fc)  # not fc + x, not relu(fc + x)
    assert torch.equal(added, fc + x)
    assert torch.equal(relu, torch.relu(fc + x)) and (added < 0).any()
    assert torch.equal(capture.output, relu)


class _WritesIntoItsSteps(_InPlaceBlock):
    """Every other way of writing into memory a kept step shows: a slice, an item, ``out=``."""

    def forward(self, x):
        y = self.fc(x)
        y[:, 1:] += 100  # through a slice that starts after y's first value
        y[:, 0] = -7.0
        torch.mul(y, 2, out=y)
        return self.relu(y.narrow(1, 2, 2))  # in place on a view


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_writes_through_slices_items_and_out_keep_earlier_steps_intact(mode):
    model = _WritesIntoItsSteps()
    x = torch.tensor([[-3.0, -2.0, 1.0, 2.0]])
    with mode():
        fc = model.fc(x).clone()
        capture = capture_forward(model, x)
    assert torch.equal(capture.tensors[0], fc)
    expected = fc.clone()
    expected[:, 1:] += 100
    expected[:, 0] = -7.0
    by_label = dict(zip([s.label for s in capture.steps], capture.tensors, strict=True))
    assert torch.equal(by_label["mul"], expected * 2)


def test_a_sparse_step_before_an_in_place_op_is_captured():
    class Sparse(_InPlaceBlock):
        def forward(self, x):
            y = self.fc(x).to_sparse()
            return self.relu(y.to_dense() + 1)

    model = Sparse()
    with torch.no_grad():
        model.fc.weight.copy_(-torch.eye(4))
        model.fc.bias.zero_()
        capture = capture_forward(model, torch.tensor([[3.0, -3.0, 0.5, -0.5]]))
    assert [s.label for s in capture.steps] == ["fc", "to_sparse", "to_dense", "add", "relu"]
    assert capture.tensors[3].tolist() == [[-2.0, 4.0, 0.5, 1.5]]  # before the relu wrote
    assert capture.tensors[4].tolist() == [[0.0, 4.0, 0.5, 1.5]]


def test_keep_selects_which_tensors_are_kept():
    with torch.no_grad():
        capture = capture_forward(Net(), torch.randn(1, 1, 32, 32), keep=lambda s: s.is_module)
    kept = [s.op for s, t in zip(capture.steps, capture.tensors, strict=True) if t is not None]
    assert kept == ["Conv2d", "Conv2d", "Linear", "Linear", "Linear"]


def test_op_names():
    assert op_name(torch.nn.functional.relu) == "relu"
    assert op_name(torch.Tensor.__add__) == "add"
