"""A training script with ``inspector.attach`` in a subprocess, read while it trains: the
``activations --connect`` file against torch's own relations, the token, the training's end
and death as one sentence, a viewer killed mid-request, and two torchrun ranks."""

import subprocess
import sys
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inspector.cli import main
from inspector.core.attach.client import Client, TrainingGone
from tests.attach.conftest import ROOT, TOKEN, Training, free_port


def _activations(port: int, out, *extra: str) -> int:
    return main(["activations", "--connect", f"127.0.0.1:{port}", "--out", str(out), *extra])


def _load(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def test_activations_follow_torch_while_it_trains(training, tmp_path, capsys):
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    assert _activations(training.port, first, "--token", TOKEN) == 0
    assert "steps of SmallNet at step" in capsys.readouterr().out
    a = _load(first)
    names = list(a["steps"])
    assert names[:3] == ["1. conv1", "2. relu", "3. max_pool2d"]
    x = torch.from_numpy(a["input"])
    assert x.shape == (1, 1, 16, 16)  # the script's example input
    conv, relu, pool = (torch.from_numpy(a[n]) for n in names[:3])
    torch.testing.assert_close(relu, F.relu(conv))
    torch.testing.assert_close(pool, F.max_pool2d(relu, 2))
    torch.testing.assert_close(torch.from_numpy(a[names[4]]), F.relu(torch.from_numpy(a[names[3]])))
    flat = torch.from_numpy(a["7. flatten"])
    torch.testing.assert_close(flat, torch.flatten(torch.from_numpy(a["6. max_pool2d"]), 1))
    # The same input later: the weights moved in between (it is being trained, not a copy).
    before = training_steps(training.port)
    while training_steps(training.port) < before + 20:
        time.sleep(0.05)
    assert _activations(training.port, second, "--token", TOKEN) == 0
    b = _load(second)
    np.testing.assert_array_equal(a["input"], b["input"])
    assert not np.array_equal(a["1. conv1"], b["1. conv1"])
    training.stop()
    assert training.wait() == 0
    assert "finished" in training.output()


def training_steps(port: int) -> int:
    client = Client(f"127.0.0.1:{port}", TOKEN, subscribe=False)
    try:
        return int(client.info["step"])
    finally:
        client.close()


def test_a_wrong_or_missing_token_gets_nothing(training, tmp_path, capsys, monkeypatch):
    out = tmp_path / "a.npz"
    assert _activations(training.port, out, "--token", "not-the-token") == 1
    err = capsys.readouterr().err.strip()
    assert "refused the token" in err and err.count("\n") == 0
    monkeypatch.delenv("NET_INSPECTOR_TOKEN", raising=False)
    assert _activations(training.port, out) == 1
    assert "No token" in capsys.readouterr().err
    assert not out.exists()
    deadline = time.monotonic() + 10
    while "refused a viewer" not in training.output():
        assert time.monotonic() < deadline, training.output()
        time.sleep(0.05)
    assert training.output().count("refused a viewer") == 1  # one line, not one per retry
    training.stop()
    assert training.wait() == 0
    assert "finished" in training.output()


@pytest.mark.parametrize("ending", ["finish", "kill"])
def test_the_end_of_the_training_is_said_within_2_s(training, ending):
    client = Client(f"127.0.0.1:{training.port}", TOKEN)
    try:
        client.pump(0.2)
        if ending == "finish":
            training.stop()
            assert training.wait() == 0
        else:
            training.kill()
        ended = time.monotonic()
        with pytest.raises(TrainingGone) as caught:
            while time.monotonic() - ended < 5:
                client.pump(0.05)
        assert time.monotonic() - ended < 2.0
        said = str(caught.value)
        assert ("finished" if ending == "finish" else "127.0.0.1") in said
        assert said.count(".") >= 1 and "\n" not in said
    finally:
        client.close()


VIEWER = """
import sys
import numpy as np
from inspector.core.attach.client import Client
from inspector.core.forward.results import ForwardRequest
client = Client(sys.argv[1], sys.argv[2])
print("connected", flush=True)
while True:
    client.call("backward", request=ForwardRequest(1, np.zeros((32, 32), np.float32)))
    client.call("forward", request=ForwardRequest(2, np.ones((32, 32), np.float32)))
"""


def test_killing_a_viewer_mid_request_leaves_the_training_alone(training):
    viewer = subprocess.Popen(
        [sys.executable, "-c", VIEWER, f"127.0.0.1:{training.port}", TOKEN],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert viewer.stdout.readline().strip() == b"connected"
        time.sleep(0.5)  # it is now asking, one request after another
    finally:
        viewer.kill()
        viewer.wait(10)
        viewer.stdout.close()
    before = training_steps(training.port)
    deadline = time.monotonic() + 30
    while training_steps(training.port) < before + 10:
        assert time.monotonic() < deadline, training.output()
        time.sleep(0.1)
    training.stop()
    assert training.wait() == 0
    assert "finished" in training.output()


def test_two_torchrun_ranks_each_on_its_own_port(tmp_path):
    port = free_port(pairs=2)
    run = Training(tmp_path, port, ranks=2)
    try:
        run.wait_listening(count=2, timeout=120)
        output = run.output()
        assert f"rank 0 of 2 listens on 127.0.0.1:{port}" in output
        assert f"rank 1 of 2 listens on 127.0.0.1:{port + 1}" in output
        for rank in (0, 1):
            client = Client(f"127.0.0.1:{port + rank}", TOKEN, subscribe=False)
            try:
                assert (client.info["rank"], client.info["world_size"]) == (rank, 2)
                assert client.info["local_rank"] == rank
            finally:
                client.close()
        out = tmp_path / "rank1.npz"
        assert _activations(port + 1, out, "--token", TOKEN) == 0
        assert "1. conv1" in _load(out)
        run.stop()
        assert run.wait(90) == 0
        assert run.output().count("finished") == 2
    finally:
        run.stop()
        run.kill()
