"""The worker: latest input wins, results are numpy, device errors keep the model usable."""

import numpy as np
import pytest
import torch

from inspector.core.nets import load_lenet
from inspector.gui.session import Session


@pytest.fixture
def session(qtbot):
    s = Session(load_lenet().model)
    yield s
    s.shutdown()


def _stroke(i: int) -> np.ndarray:
    drawing = np.zeros((32, 32), np.float32)
    drawing[4 + i % 20, 4:28] = 1.0
    return drawing


def test_hundreds_of_submissions_coalesce_to_the_last(qtbot, session):
    results = []
    session.forwardReady.connect(results.append)
    ids = [session.submit(_stroke(i)) for i in range(500)]
    qtbot.waitUntil(lambda: bool(results) and results[-1].request_id == ids[-1], timeout=10_000)
    qtbot.wait(100)
    assert results[-1].request_id == ids[-1]
    assert session.worker.submitted == 500
    assert session.worker.computed < 100  # far fewer computed than submitted
    delivered = [r.request_id for r in results]
    assert delivered == sorted(delivered)  # never an older result after a newer one


def test_result_is_numpy_and_matches_a_direct_forward(qtbot, session):
    from inspector.core.preprocess import preprocess_drawing

    results = []
    session.forwardReady.connect(results.append)
    drawing = _stroke(7)
    session.submit(drawing)
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    result = results[-1]
    assert isinstance(result.output, np.ndarray)
    assert all(isinstance(s.heatmap.image, np.ndarray) for s in result.steps)
    reference = load_lenet().model
    with torch.no_grad():
        expected = reference(torch.from_numpy(preprocess_drawing(drawing))).numpy()
    np.testing.assert_allclose(result.output, expected, rtol=1e-5, atol=1e-5)
    assert result.probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_stale_results_are_dropped(qtbot, session):
    from inspector.core.inference import run_forward
    from inspector.core.results import ForwardRequest

    shown = []
    session.forwardReady.connect(shown.append)
    model = load_lenet().model
    cpu = torch.device("cpu")
    session._on_forward(run_forward(model, ForwardRequest(5, _stroke(1)), cpu))
    session._on_forward(run_forward(model, ForwardRequest(3, _stroke(2)), cpu))
    assert [r.request_id for r in shown] == [5]


def test_unavailable_device_is_refused_and_cpu_keeps_working(qtbot, session):
    changes, results = [], []
    session.deviceChanged.connect(changes.append)
    session.forwardReady.connect(results.append)
    bogus = "cuda:7" if not torch.cuda.is_available() else "cuda:99"
    session.set_device(bogus)
    qtbot.waitUntil(lambda: bool(changes), timeout=10_000)
    assert not changes[-1].ok and bogus in changes[-1].message
    assert changes[-1].device == "cpu"
    session.submit(_stroke(3))
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)


def test_forward_errors_are_reported_and_the_worker_survives(qtbot):
    from tests.conftest import Exploding

    s = Session(Exploding())
    try:
        failures = []
        s.failed.connect(lambda message, details: failures.append(message))
        s.submit(np.zeros((32, 32), np.float32))
        qtbot.waitUntil(lambda: bool(failures), timeout=10_000)
        assert "boom in forward" in failures[0]
        assert s.worker.isRunning()
    finally:
        s.shutdown()


def test_shutdown_stops_the_thread(qtbot):
    s = Session(load_lenet().model)
    s.submit(np.zeros((32, 32), np.float32))
    s.shutdown()
    assert not s.worker.isRunning()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_device_gives_the_same_prediction(qtbot, session):
    changes, results = [], []
    session.deviceChanged.connect(changes.append)
    session.forwardReady.connect(results.append)
    session.submit(_stroke(5))
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    cpu_output = results[-1].output
    session.set_device("cuda:0")
    qtbot.waitUntil(lambda: bool(changes), timeout=20_000)
    assert changes[-1].ok and changes[-1].device == "cuda:0"
    session.submit(_stroke(5))
    qtbot.waitUntil(lambda: results[-1].device == "cuda:0", timeout=20_000)
    np.testing.assert_allclose(results[-1].output, cpu_output, rtol=1e-3, atol=1e-3)
