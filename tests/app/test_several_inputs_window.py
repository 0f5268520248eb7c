"""A model with several inputs in the real window: the Input box lists every input, the drawing
goes to the image input, Re-roll draws another value for one input (and the forward follows),
and a session keeps every input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PySide6.QtWidgets import QLabel, QPushButton

from inspector.core.feed.named import call_arguments
from inspector.core.feed.settle import inputs_of
from inspector.core.forward.capture import named_outputs
from inspector.core.state import ModelRef
from inspector.testing import stroke

MODELS = Path(__file__).parents[1] / "core" / "several_inputs_models.py"


def _open(qtbot, window, name: str) -> None:
    with qtbot.waitSignal(window.compute.modelLoaded, timeout=30_000):
        window.open_model(ModelRef(f"{MODELS}:{name}"))
    _settled(qtbot, window)


def _settled(qtbot, window, after: int = -1) -> None:
    """The latest result on screen (newer than request ``after``)."""
    qtbot.waitUntil(lambda: window.last_result is not None
                    and window.last_result.request_id > after, timeout=20_000)  # fmt: skip
    qtbot.waitUntil(
        lambda: (
            window.last_result is not None
            and window.last_result.request_id >= window.compute.latest_request_id
        ),
        timeout=20_000,
    )


def _own_output(window, seeds: dict[str, int]) -> np.ndarray:
    """What the model itself gives for the input on screen and ``seeds`` for the others."""
    inputs = inputs_of(window.compute.local_engine.opened)
    tensors = {}
    for item in inputs.inputs:
        if item.name == inputs.primary:
            values = window.last_result.input
        else:
            values = inputs.rerolled(item.name, seeds.get(item.name, 0)).array(item.name)
        tensors[item.name] = torch.from_numpy(np.array(values)).to(getattr(torch, item.spec.dtype))
    args, kwargs = call_arguments(inputs, tensors)
    with torch.inference_mode():
        output = window.compute.local_engine.model(*args, **kwargs)
    return named_outputs(output)[0][1].float().numpy()


def test_every_input_is_listed_the_drawing_feeds_the_image_and_reroll_draws_anew(
    qtbot, window, tmp_path
):
    _open(qtbot, window, "TwoBranch")
    box = window.findChild(QLabel, "inputRow_vec")
    assert box is not None and box.isVisible() and "vec: 1×5 float32" in box.text()
    assert "(the canvas)" in window.findChild(QLabel, "inputRow_img").text()
    assert window.findChild(QPushButton, "rerollInput_img") is None  # Random does the main one

    stroke(window.canvas_panel.canvas)
    _settled(qtbot, window)
    assert window.last_result.input.shape == (1, 3, 64, 64) and window.last_result.input.max() > 0
    before = window.last_result.output.copy()
    np.testing.assert_allclose(before, _own_output(window, {}), rtol=1e-5, atol=1e-6)

    shown = window.last_result.request_id
    window.findChild(QPushButton, "rerollInput_vec").click()
    assert window.state.input_seeds == (("vec", 1),)
    _settled(qtbot, window, shown)  # a forward follows the re-roll
    assert "seed 1" in box.text()
    after = window.last_result.output
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, _own_output(window, {"vec": 1}), rtol=1e-5, atol=1e-6)


def test_a_session_keeps_every_input(qtbot, window, tmp_path):
    from inspector.core.files.session import load_session

    _open(qtbot, window, "TwoBranch")
    shown = window.last_result.request_id
    window.findChild(QPushButton, "rerollInput_vec").click()
    window.findChild(QPushButton, "rerollInput_vec").click()
    _settled(qtbot, window, shown)
    path = tmp_path / "two.netinspector"
    with qtbot.waitSignal(window.persistence.sessionSaved, timeout=20_000):
        window.persistence.save_session(path)
    saved = load_session(path)
    assert saved.input_seeds == (("vec", 2),)
    expected = _own_output(window, {"vec": 2})

    shown = window.last_result.request_id
    window.findChild(QPushButton, "rerollInput_vec").click()  # seed 3, then the session again
    _settled(qtbot, window, shown)
    with qtbot.waitSignal(window.persistence.sessionRestored, timeout=30_000):
        window.persistence.apply_session(path, saved)
    _settled(qtbot, window)
    assert window.state.input_seeds == (("vec", 2),)
    np.testing.assert_allclose(window.last_result.output, expected, rtol=1e-5, atol=1e-6)
