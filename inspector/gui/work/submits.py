"""Forwards asked for as the state changes: the input (one forward for several changes at
once), the output shown, the page of channels, and the module whose steps a big model keeps
(``core.forward.settings.Focus``, told by each result whether the model is big)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from inspector.core.forward.results import ForwardResult
from inspector.core.forward.settings import Focus
from inspector.core.state import AppState


class Submitter:
    def __init__(self, state: AppState, compute) -> None:
        self.state, self.compute = state, compute
        self.focus = Focus()
        self._held = self._wanted = False
        for name in ("drawing", "raw_input", "seed"):
            state.on(name, lambda _value: self.submit())
        state.on("selected_module", self._selected)
        state.on("output_index", lambda index: self.configure(output_index=index))
        compute.forwardReady.connect(self._result)

    def submit(self) -> int:
        """The input as it is now to the worker; returns the request's id."""
        if self._held:  # see held
            self._wanted = True
            return self.compute.latest_request_id
        state = self.state
        return self.compute.submit(state.drawing, state.raw_input, state.seed)

    def configure(self, **changes) -> None:
        """Forward settings changed: a forward with them."""
        self.compute.configure(**changes)
        self.submit()

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

    def model_opened(self, leaves: int, selected: str | None) -> None:
        """More leaf modules than heatmaps shown: big for sure, so the first forward keeps the
        selected module's steps, not 48 steps its result would replace at once (a
        ResNet-50's 60 ms). Fewer leaves: its first result says."""
        self.focus.opened(leaves)
        if self.focus.focus_for(selected):
            self.compute.configure(focus=selected)

    def _selected(self, path: str | None) -> None:
        if path is None:
            return
        self.compute.select_module(path)
        # A big model shows the selected module's steps (a small one shows them all).
        self.compute.configure(focus=self.focus.focus_for(path))
        if self.focus.big:
            self.submit()

    def _result(self, result: ForwardResult) -> None:
        selected = self.state.selected_module
        focus = self.focus.after_result(result.total_steps, result.focus, selected)
        if focus is not None:  # the result told whether the model is big
            self.configure(focus=focus)
