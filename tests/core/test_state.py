"""The live app state: one event per field, only on real change, batched updates."""

import numpy as np
import pytest

from inspector.core.state import AppState


def test_listeners_hear_changes_with_the_new_value():
    state = AppState()
    heard = []
    state.on("learning_rate", heard.append)
    state.learning_rate = 0.5
    state.learning_rate = 0.5  # no change: no event
    state.learning_rate = 0.1
    assert heard == [0.5, 0.1]


def test_arrays_are_compared_by_identity():
    state = AppState()
    heard = []
    state.on("drawing", heard.append)
    drawing = np.ones((32, 32), np.float32)
    state.drawing = drawing
    state.drawing = drawing
    assert len(heard) == 1 and heard[0] is drawing


def test_update_emits_after_all_fields_are_set():
    state = AppState()
    seen = []
    state.on("loss_kind", lambda _v: seen.append((state.loss_kind, state.target_class)))
    state.update(loss_kind="ce", target_class=7)
    assert seen == [("ce", 7)]
    with pytest.raises(AttributeError, match="no_such"):
        state.update(no_such=1)
