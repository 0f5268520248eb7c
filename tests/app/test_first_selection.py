"""The module a newly opened model selects by itself is one its forward called: the activations
panel is not left empty by a module that has weights but never runs (T5's ``shared`` embedding,
called by the encoder and decoder under other names)."""

from __future__ import annotations

from inspector.core.state import ModelRef

MODEL = """
import torch.nn as nn

class SpareFirst(nn.Module):
    def __init__(self):
        super().__init__()
        self.spare = nn.Linear(4, 4)  # never called
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))
"""


def test_a_module_that_never_runs_is_not_the_first_selection(qtbot, window, tmp_path):
    path = tmp_path / "spare.py"
    path.write_text(MODEL)
    with qtbot.waitSignal(window.compute.modelLoaded, timeout=30_000):
        window.open_model(ModelRef(f"{path}:SpareFirst"))
    qtbot.waitUntil(lambda: window.state.selected_module == "fc", timeout=20_000)
    window.submit_input()
    qtbot.waitUntil(lambda: bool(window.activations.column.rows), timeout=20_000)
    assert "fc" in {r.step.module for r in window.last_result.steps if r.kept}


def test_a_module_chosen_by_hand_stays_chosen(qtbot, window, tmp_path):
    path = tmp_path / "spare.py"
    path.write_text(MODEL)
    with qtbot.waitSignal(window.compute.modelLoaded, timeout=30_000):
        window.open_model(ModelRef(f"{path}:SpareFirst"))
    qtbot.waitUntil(lambda: window.state.selected_module == "fc", timeout=20_000)
    window.state.selected_module = "spare"
    window.submit_input()
    qtbot.waitUntil(lambda: bool(window.last_result.module_shapes), timeout=20_000)
    qtbot.wait(300)
    assert window.state.selected_module == "spare"
