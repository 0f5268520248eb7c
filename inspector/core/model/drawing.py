"""Edits of the drawing and its undo history, both held in ``AppState``: whatever draws (the
canvas, a loaded image, a session) goes through these, and the canvas renders the state.

The drawing array is replaced on every edit, never changed in place, so an undo step keeps the
array that was shown (no copy) and a listener may keep what it was given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from inspector.core.model.brush import paint_segment

if TYPE_CHECKING:
    from inspector.core.state import AppState

UNDO_DEPTH = 50


def _remember(state: AppState) -> tuple[np.ndarray, ...]:
    return (*state.drawing_undo, state.drawing)[-UNDO_DEPTH:]


def begin_stroke(state: AppState) -> None:
    """A stroke starts: the drawing before it is an undo step; a stroke is being drawn."""
    state.update(drawing_undo=_remember(state), stroking=True)


def end_stroke(state: AppState) -> None:
    state.stroking = False


def stroke_to(
    state: AppState,
    start: tuple[float, float],
    end: tuple[float, float],
    erase: bool = False,
) -> tuple[int, int, int, int]:
    """Paint (or erase) one segment of a stroke with the state's brush; drawing makes the
    drawing the input again. Returns the cells changed (top, left, bottom, right)."""
    drawing = state.drawing.copy()  # one copy per segment: the state's array is never changed
    cells = paint_segment(drawing, start, end, state.brush_radius, erase)
    state.update(drawing=drawing, raw_input=None)
    return cells


def set_drawing(state: AppState, drawing: np.ndarray) -> None:
    """Replace the drawing (undoable); it becomes the input."""
    new = np.array(drawing, np.float32, copy=True)
    state.update(drawing_undo=_remember(state), drawing=new, raw_input=None)


def clear(state: AppState) -> None:
    if state.drawing.any() or state.raw_input is not None:
        set_drawing(state, np.zeros_like(state.drawing))


def undo(state: AppState) -> bool:
    """Back to the drawing before the last edit; False when there is none."""
    if not state.drawing_undo:
        return False
    *rest, last = state.drawing_undo
    state.update(drawing_undo=tuple(rest), drawing=last, raw_input=None)
    return True
