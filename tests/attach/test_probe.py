"""The probe in this process: the wire format, nothing done on a step no viewer asked for,
and a viewer's forward and backward leaving the training's mode, RNG, ``.grad`` and running
statistics as they were."""

import threading
import time

import numpy as np
import pytest
import torch
from torch import nn

import inspector
from inspector.core.attach import wire
from inspector.core.attach.client import Client
from inspector.core.attach.codec import WireError, decode, encode
from inspector.core.engine import Engine
from inspector.core.files.loading import bundled_lenet
from inspector.core.forward.results import ForwardRequest
from inspector.core.graph.losses import LossSpec
from tests.attach.conftest import free_port


def _round_trip(value):
    header, buffers = encode(value)
    return decode(header, [bytes(b) for b in buffers])


def test_engine_results_cross_the_wire_whole():
    engine = Engine(bundled_lenet())
    request = ForwardRequest(3, np.random.default_rng(0).random((32, 32), np.float32))
    result = engine.forward(request)
    back = _round_trip(result)
    assert type(back) is type(result) and back.request_id == 3
    assert [s.step for s in back.steps] == [s.step for s in result.steps]
    for a, b in zip(result.steps, back.steps, strict=True):
        np.testing.assert_array_equal(a.rgba, b.rgba)
    np.testing.assert_array_equal(back.output, result.output)
    assert back.module_shapes == result.module_shapes
    backward = _round_trip(engine.backward(request, LossSpec("ce", 7)))
    assert backward.record.loss.target_class == 7
    assert len(backward.view.layout.x) == len(backward.view.shown.graph.nodes)
    assert isinstance(backward.view.collapsed, frozenset)


def test_only_our_types_and_plain_arrays_are_accepted():
    class Other:
        pass

    with pytest.raises(WireError):
        encode({"x": Other()})
    with pytest.raises(WireError):
        encode(np.array([object()], dtype=object))
    with pytest.raises(WireError, match="unknown type"):
        decode(b'{"$dc":"Popen","f":{}}', [])
    with pytest.raises(WireError):
        decode(b'{"$nd":0,"dtype":"|O","shape":[1]}', [b"12345678"])
    with pytest.raises(WireError):  # a buffer shorter than its shape says
        decode(b'{"$nd":0,"dtype":"<f4","shape":[4]}', [b"1234"])


def test_port_and_token_come_from_the_arguments_then_the_environment():
    env = {"NET_INSPECTOR_PORT": "7000", "LOCAL_RANK": "3", "NET_INSPECTOR_TOKEN": "t"}
    assert wire.resolve_port(None, env) == 7003
    assert wire.resolve_port(6000, env) == 6000
    assert wire.resolve_port(None, {"LOCAL_RANK": "1"}) == wire.DEFAULT_BASE_PORT + 1
    assert wire.resolve_token("mine", env) == ("mine", "given")
    assert wire.resolve_token(None, env) == ("t", "NET_INSPECTOR_TOKEN")
    generated, source = wire.resolve_token(None, {})
    assert source == "generated" and len(generated) >= 16
    assert wire.parse_address("example.org:81") == ("example.org", 81)
    with pytest.raises(ValueError, match="HOST:PORT"):
        wire.parse_address("example.org")


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.norm = nn.BatchNorm2d(3)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(3 * 6 * 6, 4)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.fc(self.drop(torch.relu(self.norm(self.conv(x)))).flatten(1))


def _in_thread(run):
    box = {}

    def work():
        try:
            box["value"] = run()
        except BaseException as exc:  # handed to the test
            box["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    return thread, box


def test_a_viewer_leaves_the_training_as_it_was(capsys):
    torch.manual_seed(0)
    model = _Net().train()
    probe = inspector.attach(model, torch.randn(1, 1, 8, 8), port=free_port(), token="tok")
    try:
        assert f"listens on 127.0.0.1:{probe.port}" in capsys.readouterr().err
        calls = model.calls
        for _ in range(50):  # nobody asks: the model is not run, whatever the step count
            probe.step(loss=1.0)
        assert model.calls == calls
        loss = model(torch.randn(2, 1, 8, 8)).sum()
        loss.backward()
        grads = [p.grad for p in model.parameters()]
        grad_values = [g.clone() for g in grads]
        stats = model.norm.running_mean.clone()
        rng = torch.get_rng_state()

        def view():
            client = Client(f"127.0.0.1:{probe.port}", "tok")
            try:
                request = ForwardRequest(1, np.ones((32, 32), np.float32))
                return (client.call("forward", request=request),
                        client.call("backward", request=request, loss=LossSpec("sum")),
                        client.call("parameters", path="conv"))  # fmt: skip
            finally:
                client.close()

        thread, box = _in_thread(view)
        while thread.is_alive():
            time.sleep(0.002)  # a training step's kernels, which let the probe's thread run
            probe.step(loss=0.5)
        thread.join()
        assert "error" not in box, box.get("error")
        forward, backward, params = box["value"]
        assert model.calls > calls  # the viewer's forwards ran on the live model
        assert forward.steps[0].step.module == "conv"
        assert backward.record.loss_label.startswith("sum")
        # the weights panel shows the training's own gradients, untouched by the Backward
        np.testing.assert_array_equal(params.parameters[0].grad, grad_values[0].numpy())
        assert model.training and model.drop.training
        assert all(p.grad is g for p, g in zip(model.parameters(), grads, strict=True))
        for g, v in zip(grads, grad_values, strict=True):
            torch.testing.assert_close(g, v)
        torch.testing.assert_close(model.norm.running_mean, stats)
        assert torch.equal(torch.get_rng_state(), rng)
    finally:
        probe.close()


def test_the_drawing_is_fed_on_the_scale_of_the_scripts_example():
    """A 0..1 example (ToTensor) gets the ink as it is; one with negatives gets -1..1."""
    from inspector.core.attach.describe import live_opened
    from inspector.core.model.inputs import IMAGE

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(10))
    plain = live_opened(model, np.random.default_rng(0).random((1, 3, 32, 32), np.float32))
    centred = live_opened(model, np.full((1, 3, 32, 32), -0.5, np.float32))
    assert plain.input.kind == centred.input.kind == IMAGE
    assert not plain.input.normalise and "-1..1" not in plain.input.describe()
    assert centred.input.normalise
