"""A big model's forwards record only the focused module once its steps are known, and give
exactly what a full capture gives."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inspector.core.forward import step_cache
from inspector.core.forward.inference import run_forward
from inspector.core.forward.results import ForwardRequest
from inspector.core.forward.settings import ForwardSettings
from inspector.core.forward.step_cache import StepCache
from inspector.core.model.inputs import TENSOR, InputSpec
from tests.zoo.nets import ResNetish

CPU = torch.device("cpu")


class NormThenReluInPlace(nn.Module):
    """The focused BatchNorm's output is overwritten by the ReLU after it, outside the focus."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x))).mean((2, 3))


class Branchy(nn.Module):
    """Takes one more step when its input's mean is positive."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        y = self.fc(x)
        return F.relu(y) if x.mean() > 0 else y


class BranchesOnItsInput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Branchy()
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        return self.head(self.block(x))


def _settings(shape, focus):
    return ForwardSettings(input=InputSpec(shape, TENSOR), focus=focus)


def _forward(model, settings, raw, steps=None, request_id=1):
    request = ForwardRequest(request_id, np.zeros((32, 32), np.float32), raw_input=raw)
    return run_forward(model, request, CPU, settings, steps=steps)


def _same(a, b) -> None:
    assert [s.step for s in a.steps] == [s.step for s in b.steps]  # labels, indices, shapes
    for x, y in zip(a.steps, b.steps, strict=True):
        np.testing.assert_array_equal(x.values, y.values)
    assert a.total_steps == b.total_steps and a.module_shapes == b.module_shapes
    np.testing.assert_array_equal(a.output, b.output)


@pytest.mark.parametrize(
    "make, shape, focus",
    [
        (ResNetish, (1, 3, 16, 16), "blocks.1"),  # a block: its leaves and functional ops
        (ResNetish, (1, 3, 16, 16), "stem"),  # a leaf
        (NormThenReluInPlace, (1, 3, 8, 8), "bn"),  # written over, outside the focus
    ],
)
def test_a_scoped_forward_gives_what_a_full_capture_gives(make, shape, focus):
    model = make().eval()
    settings = _settings(shape, focus)
    raw = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    steps = StepCache()
    _forward(model, settings, raw, steps)  # learns the steps
    scoped = _forward(model, settings, raw, steps)
    assert steps.scoped == 1
    _same(scoped, _forward(model, settings, raw))
    if focus == "bn":  # the BatchNorm's own values, negative ones included, not the ReLU's
        assert scoped.steps[0].values.min() < 0


def test_steps_that_change_with_the_input_are_captured_in_full():
    model = BranchesOnItsInput()
    settings = _settings((1, 6), "block")
    steps = StepCache()
    down, up = -np.ones((1, 6), np.float32), np.ones((1, 6), np.float32)
    _forward(model, settings, down, steps)
    _same(_forward(model, settings, down, steps), _forward(model, settings, down))
    assert steps.scoped == 1
    changed = _forward(model, settings, up, steps)  # a step more: the scoped one disagrees
    _same(changed, _forward(model, settings, up))
    _forward(model, settings, up, steps)
    assert steps.scoped == 1  # that focus is captured in full from then on


def test_a_new_focus_or_input_shape_is_learnt_first_and_a_full_capture_comes_back():
    model = ResNetish().eval()
    raw = np.zeros((1, 3, 16, 16), np.float32)
    steps = StepCache()
    for focus in ("blocks.0", "blocks.1"):
        _forward(model, _settings(raw.shape, focus), raw, steps)
    assert steps.scoped == 0
    settings = _settings(raw.shape, "blocks.1")
    for _ in range(step_cache.REFRESH_EVERY + 1):
        _forward(model, settings, raw, steps)
    assert steps.scoped == step_cache.REFRESH_EVERY  # then one full capture
    bigger = np.zeros((1, 3, 24, 24), np.float32)
    _forward(model, _settings(bigger.shape, "blocks.1"), bigger, steps)
    assert steps.scoped == step_cache.REFRESH_EVERY


class HoldsAScriptedModule(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.box = nn.Sequential(nn.Linear(6, 6), torch.jit.script(nn.Linear(6, 6)))
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        return self.head(self.box(x))


@pytest.mark.parametrize("focus", ["box", "box.1"])
def test_a_focus_holding_a_scripted_module_is_captured_in_full(focus):
    """A TorchScript module refuses hooks: every forward after the first had raised."""
    model = HoldsAScriptedModule()
    settings = _settings((1, 6), focus)
    raw = np.ones((1, 6), np.float32)
    steps = StepCache()
    for _ in range(3):
        _same(_forward(model, settings, raw, steps), _forward(model, settings, raw))
    assert steps.scoped == 0
