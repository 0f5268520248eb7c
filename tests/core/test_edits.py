"""Interventions (core.edits) against torch itself: the tutorial's Net with its own weights,
its layers applied by hand to the edited value, and a GPT-2 patched with a hand-written hook."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inspector.core.edits.apply import Editor
from inspector.core.edits.board import patch_sources
from inspector.core.edits.spec import EditError, Intervention, from_dict, parse_edit, to_dict
from inspector.core.edits.sweep import plan_sweep, steps_like, sweep
from inspector.core.engine import Engine
from inspector.core.files.loading import OpenedModel
from inspector.core.forward.capture import capture_forward
from inspector.core.forward.export import forward_steps
from inspector.core.forward.results import ForwardRequest
from inspector.core.graph.losses import LossSpec
from inspector.core.model.inputs import LENET_INPUT, TENSOR, InputSpec, random_input
from inspector.core.model.nets import untrained_lenet


@pytest.fixture
def net():
    return untrained_lenet(seed=11).eval()


def _steps(net, x):
    with torch.no_grad():
        return capture_forward(net, x).steps


def _rest_from_pool1(net, s2):
    """Steps 4-12 of Net computed by its own layers from step 3's value."""
    c3 = net.conv2(s2)
    r3 = F.relu(c3)
    s4 = F.max_pool2d(r3, 2)
    flat = torch.flatten(s4, 1)
    f5 = net.fc1(flat)
    r5 = F.relu(f5)
    f6 = net.fc2(r5)
    r6 = F.relu(f6)
    return [c3, r3, s4, flat, f5, r5, f6, r6, net.fc3(r6)]


def _run(net, x, edits, sources=None):
    return [v for _, v in forward_steps(net, x, edit=Editor(edits, sources))]


def test_zero_one_channel_of_step_3_and_the_rest_from_the_model_own_layers(net):
    x = torch.from_numpy(random_input(LENET_INPUT, 4))
    clean = [v for _, v in forward_steps(net, x)]
    edit = parse_edit("3:zero[2]", _steps(net, x))
    assert (edit.step, edit.action, edit.channel) == (2, "zero", 2)
    assert edit.describe() == "3. max_pool2d [ch 2] = 0"
    edited = _run(net, x, [edit])
    np.testing.assert_array_equal(edited[0], clean[0])  # steps before: unchanged
    np.testing.assert_array_equal(edited[1], clean[1])
    assert not edited[2][:, 2].any() and clean[2][:, 2].any()
    others = [0, 1, 3, 4, 5]
    np.testing.assert_array_equal(edited[2][:, others], clean[2][:, others])
    with torch.no_grad():
        expected = _rest_from_pool1(net, torch.from_numpy(edited[2]))
    for mine, theirs in zip(edited[3:], expected, strict=True):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(edited[-1], clean[-1])


def test_scale_a_channel_of_conv1_by_its_module_name(net):
    x = torch.from_numpy(random_input(LENET_INPUT, 5))
    clean = [v for _, v in forward_steps(net, x)]
    edit = parse_edit("conv1:scale=-0.5[3]", _steps(net, x))
    assert (edit.step, edit.value, edit.channel) == (0, -0.5, 3)
    edited = _run(net, x, [edit])
    np.testing.assert_allclose(edited[0][:, 3], -0.5 * clean[0][:, 3], rtol=1e-6)
    np.testing.assert_array_equal(np.delete(edited[0], 3, 1), np.delete(clean[0], 3, 1))
    with torch.no_grad():
        r1 = F.relu(torch.from_numpy(edited[0]))
        s2 = F.max_pool2d(r1, (2, 2))
        expected = [r1, s2, *_rest_from_pool1(net, s2)]
    for mine, theirs in zip(edited[1:], expected, strict=True):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_set_and_clamp_a_whole_step(net):
    x = torch.from_numpy(random_input(LENET_INPUT, 6))
    steps = _steps(net, x)
    clean = [v for _, v in forward_steps(net, x)]
    edited = _run(net, x, [parse_edit("8:set=0.25", steps)])
    assert (edited[7] == 0.25).all()
    np.testing.assert_array_equal(edited[8], np.maximum(edited[7], 0))
    clamped = _run(net, x, [parse_edit("fc1:clamp=-0.1,0.05", steps)])
    np.testing.assert_allclose(clamped[7], np.clip(clean[7], -0.1, 0.05))


def test_patch_from_a_takes_a_value_and_the_rest_follows(net):
    x_a = torch.from_numpy(random_input(LENET_INPUT, 1))
    x_b = torch.from_numpy(random_input(LENET_INPUT, 2))
    steps = _steps(net, x_b)
    a = [v for _, v in forward_steps(net, x_a)]
    b = [v for _, v in forward_steps(net, x_b)]
    whole = parse_edit("3:patch", steps)
    patched = _run(net, x_b, [whole], patch_sources(net, x_a, frozenset({2})))
    np.testing.assert_array_equal(patched[1], b[1])
    np.testing.assert_array_equal(patched[2], a[2])
    for mine, theirs in zip(patched[3:], a[3:], strict=True):  # all that follows is A's
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    channel = Intervention(2, "max_pool2d", "patch", channel=4)
    one = _run(net, x_b, [channel], patch_sources(net, x_a, frozenset({2})))
    np.testing.assert_array_equal(one[2][:, 4], a[2][:, 4])
    np.testing.assert_array_equal(np.delete(one[2], 4, 1), np.delete(b[2], 4, 1))
    with torch.no_grad():
        expected = _rest_from_pool1(net, torch.from_numpy(one[2]))
    np.testing.assert_allclose(one[-1], expected[-1].numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "spec, complaint",
    [
        ("3:zero[6]", "has 6 channels: no channel 6"),
        ("13:zero", "there is no step 13"),
        ("conv9:zero", "'conv9' is neither a step number nor a module"),
        ("3:scale", "scale takes the form scale=F"),
        ("3:blur", "is not one of zero"),
        ("zero", "expected STEP:ACTION"),
        ("3:clamp=2,1", "LO 2 is above its HI 1"),
    ],
)
def test_bad_specs_say_what_is_wrong(net, spec, complaint):
    steps = _steps(net, torch.from_numpy(random_input(LENET_INPUT, 0)))
    with pytest.raises(EditError, match=complaint.replace("[", r"\[")):
        parse_edit(spec, steps)


def test_an_edit_round_trips_through_plain_data():
    paint = np.arange(4, dtype=np.float32).reshape(2, 2)
    for edit in (
        Intervention(0, "conv1", "clamp", channel=1, value=(-1.0, 2.0), enabled=False),
        Intervention(5, "h.1 › add", "patch", position=3),
        Intervention(0, "conv1", "paint", channel=2, delta=paint),
    ):
        back = from_dict(to_dict(edit))
        assert back == edit
        if edit.delta is not None:
            np.testing.assert_array_equal(back.delta, paint)
    with pytest.raises(EditError, match="malformed"):
        from_dict({"step": "x", "label": "conv1", "action": "zero"})


# -- the engine: clean | edited, painting, Backward through the edited graph ------------------
@pytest.fixture
def engine(net):
    return Engine(OpenedModel(net, "Net", LENET_INPUT))


def _request(i=1, seed=3):
    drawing = np.zeros((32, 32), np.float32)
    drawing[6:26, 14:18] = 1.0
    drawing[6:9, 8:24] = 1.0
    return ForwardRequest(i, drawing, None, seed)


def test_the_engine_shows_clean_against_edited(engine, net):
    clean = engine.forward(_request(1))
    edit = Intervention(0, "conv1", "zero", channel=3)
    assert engine.set_edits((edit,)).lines == ("1. conv1 [ch 3] = 0",)
    result = engine.forward(_request(2))
    assert result.edits == ("1. conv1 [ch 3] = 0",)
    comparison = result.comparison
    np.testing.assert_array_equal(comparison.steps[0].a, clean.steps[0].values)
    assert not comparison.steps[0].b[:, 3].any()
    np.testing.assert_array_equal(comparison.probabilities_a, clean.probabilities)
    assert comparison.steps[0].channel == 3  # the channel that changed most
    assert not np.allclose(result.output, clean.output)
    paint = np.full((28, 28), 0.5, np.float32)
    painted = Intervention(0, "conv1", "paint", channel=3, delta=paint, revision=1)
    engine.set_edits((edit, painted))
    again = engine.forward(_request(3))
    np.testing.assert_allclose(again.steps[0].values[:, 3], 0.5)
    engine.set_edits((Intervention(0, "conv1", "zero", channel=3, enabled=False),))
    np.testing.assert_array_equal(engine.forward(_request(4)).output, clean.output)


def test_backward_runs_through_the_edited_graph(engine, net):
    engine.set_edits((Intervention(0, "conv1", "zero"),))  # conv1 contributes nothing
    result = engine.backward(_request(), LossSpec.parse("mse"))
    assert net.conv1.weight.grad is not None and not net.conv1.weight.grad.any()
    assert not net.conv2.weight.grad.any()  # its input is all zero now
    assert net.conv2.bias.grad.abs().sum() > 0 and net.fc3.weight.grad.abs().sum() > 0
    np.testing.assert_allclose(result.record.output, engine.forward(_request(2)).output, atol=1e-6)


def test_patch_in_the_engine_needs_a_and_takes_its_value(engine):
    engine.set_edits((Intervention(2, "max_pool2d", "patch"),))
    refused = engine.forward(_request(1))
    assert any("pin" in w for w in refused.warnings) and refused.edits == ()
    a_request = ForwardRequest(1, np.zeros((32, 32), np.float32))
    engine.set_edits(())
    a = engine.forward(a_request)
    engine.pin(a_request)
    engine.set_edits((Intervention(2, "max_pool2d", "patch"),))
    patched = engine.forward(_request(2))
    np.testing.assert_allclose(patched.output, a.output, rtol=1e-5, atol=1e-6)


# -- a GPT-2 from a config: patching one position of a block's output --------------------------
def _gpt2(layers=3):
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(
        n_positions=16, n_embd=32, n_layer=layers, n_head=2, vocab_size=97,
        bos_token_id=0, eos_token_id=1,
    )  # fmt: skip
    torch.manual_seed(0)
    return transformers.GPT2LMHeadModel(config).eval()


def _logits(output):
    return output.logits if hasattr(output, "logits") else output[0]


def _hooked_patch(model, x_a, x_b, block, position):
    """The same patch made by hand: a forward hook on the block."""
    kept = {}

    def grab(_m, _i, out):
        kept["a"] = (out[0] if isinstance(out, tuple) else out).detach().clone()

    def put(_m, _i, out):
        hidden = out[0] if isinstance(out, tuple) else out
        hidden = hidden.clone()
        hidden[:, position] = kept["a"][:, position]
        return (hidden, *out[1:]) if isinstance(out, tuple) else hidden

    module = model.transformer.h[block]
    with torch.no_grad():
        handle = module.register_forward_hook(grab)
        model(x_a)
        handle.remove()
        handle = module.register_forward_hook(put)
        try:
            return _logits(model(x_b))
        finally:
            handle.remove()


def test_a_gpt2_patch_equals_the_same_patch_by_a_hook():
    model = _gpt2()
    gen = torch.Generator().manual_seed(1)
    x_a, x_b = torch.randint(3, 97, (2, 1, 12), generator=gen)
    steps = _steps(model, x_b)
    edit = parse_edit("transformer.h.1:patch", steps)
    assert edit.label == "transformer.h.1 › add" and steps[edit.step + 1].module.startswith(
        "transformer.h.2"
    )
    edit = Intervention(edit.step, edit.label, "patch", position=5)
    sources = patch_sources(model, x_a, frozenset({edit.step}))
    with torch.no_grad():
        mine = _logits(capture_forward(model, x_b, edit=Editor([edit], sources)).output)
        clean = _logits(model(x_b))
    theirs = _hooked_patch(model, x_a, x_b, 1, 5)
    torch.testing.assert_close(mine, theirs)
    assert not torch.allclose(mine[:, 5:], clean[:, 5:])
    torch.testing.assert_close(mine[:, :5], clean[:, :5])  # causal: earlier positions untouched


def test_the_sweep_fills_positions_by_blocks_with_the_logit_change():
    model = _gpt2(layers=2)
    gen = torch.Generator().manual_seed(2)
    x_a, x_b = torch.randint(3, 97, (2, 1, 6), generator=gen)
    steps = _steps(model, x_b)
    chosen = [s for s in steps if s.label == "transformer.h.0 › add"][-1]
    rows = steps_like(steps, chosen)
    assert [s.label for s in rows] == ["transformer.h.0 › add", "transformer.h.1 › add"]
    assert rows[0].index == chosen.index
    plan = plan_sweep(model, x_a, x_b, chosen.index)
    done = []
    grid = sweep(model, plan, progress=lambda i, n: done.append((i, n)))
    assert grid.shape == (2, 6) and done == [(1, 2), (2, 2)]
    last, token = plan.pick
    with torch.no_grad():
        clean = _logits(model(x_b))[0, last, token]
    for block in (0, 1):
        for position in (0, 5):
            patched = _hooked_patch(model, x_a, x_b, block, position)[0, last, token]
            assert grid[block, position] == pytest.approx(float(patched - clean), abs=1e-5)


def test_the_engine_sweeps_row_by_row_from_the_pin():
    model = _gpt2(layers=2)
    spec = InputSpec((1, 6), TENSOR, dtype="int64", high=97)
    engine = Engine(OpenedModel(model, "gpt2", spec))
    blank = np.zeros((32, 32), np.float32)
    a, b = ForwardRequest(1, blank, None, 1), ForwardRequest(2, blank, None, 2)
    with pytest.raises(EditError, match="pin A first"):
        engine.plan_sweep(b, 0)
    engine.pin(a)
    steps = _steps(model, torch.from_numpy(random_input(spec, 2)))
    chosen = [s for s in steps if s.label == "transformer.h.1 › add"][-1]
    plan = engine.plan_sweep(b, chosen.index)
    assert [s.label for s in plan.steps] == ["transformer.h.0 › add", "transformer.h.1 › add"]
    rows = [engine.sweep_row(i).changes for i in range(2)]
    assert np.isfinite(rows).all() and np.abs(rows).max() > 0
    assert engine.plan_sweep(b, chosen.index, token=11).pick == (5, 11)
    with pytest.raises(EditError, match="there is no token 97"):
        engine.plan_sweep(b, chosen.index, token=97)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_an_edit_and_a_patch_on_cuda_give_what_they_give_on_the_cpu(net):
    cpu = Engine(OpenedModel(net, "Net", LENET_INPUT))
    gpu = Engine(OpenedModel(untrained_lenet(seed=11).eval(), "Net", LENET_INPUT), "cuda:0")
    edits = (Intervention(0, "conv1", "scale", channel=2, value=-3.0),
             Intervention(2, "max_pool2d", "patch", channel=1))  # fmt: skip
    a_request = ForwardRequest(1, np.zeros((32, 32), np.float32), None, 5)
    results = []
    for engine in (cpu, gpu):
        engine.pin(a_request)
        engine.set_edits(edits)
        results.append(engine.forward(_request(2)))
    assert results[1].device == "cuda:0" and results[1].edits == results[0].edits
    np.testing.assert_allclose(results[1].output, results[0].output, rtol=1e-3, atol=1e-3)


def test_edits_the_forward_cannot_make_leave_the_clean_forward_and_say_why(engine):
    clean = engine.forward(_request(1))
    engine.set_edits((Intervention(40, "conv9", "zero"), Intervention(0, "fc1", "zero")))
    result = engine.forward(_request(2))
    assert result.edits == () and result.comparison is None
    np.testing.assert_array_equal(result.output, clean.output)
    assert any("ran 12 steps): 41. conv9" in w for w in result.warnings)
    assert any("ran other steps there): 1. fc1" in w for w in result.warnings)
