"""The drawing and its undo history live in the state; every edit replaces the array."""

import numpy as np

from inspector.core.model import drawing as edits
from inspector.core.state import AppState


def test_a_stroke_replaces_the_drawing_and_makes_it_the_input():
    state = AppState(raw_input=np.ones((1, 1, 32, 32), np.float32))
    before = state.drawing
    heard = []
    state.on("drawing", heard.append)
    edits.begin_stroke(state)
    assert state.stroking and state.drawing_undo[-1] is before
    top, left, bottom, right = edits.stroke_to(state, (8.0, 8.0), (24.0, 8.0))
    edits.end_stroke(state)
    assert not state.stroking
    assert state.drawing is not before and not before.any()  # the old array was left alone
    assert state.drawing[8, 16] > 0.9 and state.raw_input is None
    assert (top, left) <= (8, 8) and bottom >= 8 and right >= 24
    assert heard == [state.drawing]


def test_undo_gives_back_each_earlier_drawing_and_stops_at_the_first():
    state = AppState()
    shown = [state.drawing]
    for x in (4.0, 12.0, 20.0):
        edits.begin_stroke(state)
        edits.stroke_to(state, (x, 4.0), (x, 28.0))
        edits.end_stroke(state)
        shown.append(state.drawing)
    for expected in reversed(shown[:-1]):
        assert edits.undo(state)
        assert state.drawing is expected
    assert not edits.undo(state)


def test_the_undo_history_is_capped():
    state = AppState()
    for i in range(edits.UNDO_DEPTH + 10):
        edits.set_drawing(state, np.full((32, 32), i / 100, np.float32))
    assert len(state.drawing_undo) == edits.UNDO_DEPTH
    # The first (empty) drawing and the nine oldest were dropped; 59 is shown.
    assert state.drawing_undo[0][0, 0] == np.float32(9 / 100)


def test_clear_is_undoable_and_drops_a_random_input():
    state = AppState()
    edits.set_drawing(state, np.ones((32, 32), np.float32))
    edits.clear(state)
    assert not state.drawing.any()
    state.raw_input = np.ones((1, 1, 32, 32), np.float32)
    edits.clear(state)  # nothing drawn, but a random input shown over it: back to the drawing
    assert state.raw_input is None
    edits.clear(state)
    assert len(state.drawing_undo) == 3  # the empty clear changed nothing, so kept no step
    assert edits.undo(state) and not state.drawing.any()
