"""Forwards asked for as the input in the state changes, one for several changes at once."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from inspector.core.state import AppState


class Submitter:
    """Hands the state's input to the worker whenever the drawing, the raw input or its seed
    changes (or the seeds of a model's other inputs), and whenever asked (new weights, another
    output)."""

    def __init__(self, state: AppState, compute) -> None:
        self.state, self.compute = state, compute
        self._held = self._wanted = False
        for name in ("drawing", "raw_input", "seed", "input_seeds"):
            state.on(name, lambda _value: self.submit())

    def submit(self) -> int:
        """The input as it is now to the worker; returns the request's id."""
        if self._held:  # see held
            self._wanted = True
            return self.compute.latest_request_id
        state = self.state
        return self.compute.submit(state.drawing, state.raw_input, state.seed)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Several changes at once (a new model's input, selection, settings) ask for one
        forward at the end, not one each: an idle worker starts on the first at once, and a
        big transformer's forward is not to be run twice."""
        self._held, self._wanted = True, False
        try:
            yield
        finally:
            self._held = False
        if self._wanted:
            self.submit()
