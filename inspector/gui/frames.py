"""Which result a panel has actually put on screen: the latency benchmark's only probe."""

from __future__ import annotations

from collections.abc import Callable


class PaintTracked:
    """Mixin for panels that render a ``ForwardResult``; call ``mark_painted`` after painting."""

    shown_request_id: int = -1  # the result handed to the panel
    painted_request_id: int = -1  # the result the last paint showed
    on_painted: Callable[[PaintTracked], None] | None = None

    def mark_painted(self) -> None:
        self.painted_request_id = self.shown_request_id
        if self.on_painted is not None:
            self.on_painted(self)
