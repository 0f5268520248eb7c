"""A session restored as one engine operation: everything it holds, or nothing changed."""

import numpy as np
import pytest
import torch

from inspector.core.engine import Engine
from inspector.core.files.loading import ModelLoadError, bundled_lenet
from inspector.core.files.session import SessionState, load_session, save_session
from inspector.core.forward.results import ForwardRequest
from inspector.core.graph.losses import LossSpec


def _drawing() -> np.ndarray:
    drawing = np.zeros((32, 32), np.float32)
    drawing[6:26, 15:18] = 1.0
    return drawing


def _changed_weights() -> dict:
    weights = Engine(bundled_lenet()).weights()
    return {k: v * 0.5 if v.is_floating_point() else v for k, v in weights.items()}


def _session(tmp_path, **changes) -> SessionState:
    """A LeNet session written and read back: halved weights, A pinned, Compare on, the
    backward pass shown."""
    weights = _changed_weights()
    fields = dict(
        model_spec="lenet",
        drawing=_drawing(),
        weights=weights,
        loss_kind="ce",
        target_class=3,
        backward_step=5,
        pins=["A"],
        pin_drawing=np.zeros((32, 32), np.float32),
        pin_weights=Engine(bundled_lenet()).weights(),
        comparing=True,
    )
    fields.update(changes)
    path = tmp_path / "s.netinspector"
    save_session(path, SessionState(**fields))
    return load_session(path)


def test_everything_a_session_holds_comes_back_in_one_operation(tmp_path):
    saved = _session(tmp_path)
    engine = Engine(bundled_lenet())
    restored = engine.restore(saved, "s.netinspector")
    for name, value in engine.weights().items():
        torch.testing.assert_close(value, saved.weights[name], rtol=0, atol=0)
    assert restored.device == "cpu" and restored.notes == ()
    assert restored.pin.pinned and restored.comparing
    assert restored.model.spec == "lenet" and restored.model.weights is None
    # The backward pass is the one the session showed: CE against class 3 on its drawing.
    backward = restored.backward
    assert backward is not None and backward.record.loss_is_finite
    again = engine.backward(ForwardRequest(1, _drawing()), LossSpec("ce", 3))
    assert backward.record.loss_value == pytest.approx(again.record.loss_value, rel=1e-6)
    # Compare runs against A's (the bundled) weights: the comparison is there.
    result = engine.forward(ForwardRequest(2, _drawing()))
    assert result.comparison is not None


def test_a_restore_that_does_not_fit_changes_nothing(tmp_path):
    wrong = {k: v[..., :1].clone() if v.ndim else v for k, v in _changed_weights().items()}
    saved = _session(tmp_path, pin_weights=wrong)  # A's weights do not fit LeNet
    engine = Engine(bundled_lenet())
    model, before = engine.model, engine.weights()
    engine.pin(ForwardRequest(0, _drawing()))
    with pytest.raises(ModelLoadError, match="pinned weights A"):
        engine.restore(saved, "s.netinspector")
    assert engine.model is model  # the same model, its weights and pin as they were
    for name, value in engine.weights().items():
        torch.testing.assert_close(value, before[name], rtol=0, atol=0)
    assert engine.pinboard.pin is not None and engine.pinboard.pin.request.drawing.any()


def test_a_device_this_machine_lacks_is_a_note_not_a_failure(tmp_path):
    saved = _session(tmp_path, device="cuda:7", pins=[], backward_step=None)
    engine = Engine(bundled_lenet())
    restored = engine.restore(saved, "s.netinspector")
    assert restored.device == "cpu" and str(engine.device) == "cpu"
    assert restored.notes and "cuda:7" in restored.notes[0]
    assert restored.pin is None and restored.backward is None and not restored.comparing


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_session_saved_on_the_gpu_opens_there(tmp_path):
    saved = _session(tmp_path, device="cuda:0")
    engine = Engine(bundled_lenet())
    restored = engine.restore(saved, "s.netinspector")
    assert restored.device == "cuda:0" and engine.device.type == "cuda"
    assert next(engine.model.parameters()).is_cuda and restored.backward is not None
    for name, value in engine.weights().items():
        torch.testing.assert_close(value, saved.weights[name], rtol=0, atol=0)
