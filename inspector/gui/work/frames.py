"""Which result each panel has actually put on screen: frame pacing and the latency benchmark.

Panels that render a ``ForwardResult`` call ``mark_painted`` at the end of their paint; the
window's ``FrameTracker`` then says when every visible one shows the newest result, which lets
the worker start the next forward (see ``gui.runner``). The benchmark listens to
``panelPainted`` to time each input's way to the screen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget


class PaintTracked:
    """Mixin for panels that render a ``ForwardResult``; call ``mark_painted`` after painting."""

    shown_request_id: int = -1  # the result handed to the panel
    painted_request_id: int = -1  # the result the last paint showed
    frame_tracker: FrameTracker | None = None

    def mark_painted(self) -> None:
        self.painted_request_id = self.shown_request_id
        if self.frame_tracker is not None:
            self.frame_tracker.painted(self)


def on_screen(widget: QWidget) -> bool:
    """Visible, in a window that is not minimised: Qt still calls a minimised window's widgets
    visible, though they paint nothing."""
    return widget.isVisible() and not widget.window().isMinimized()


class FrameTracker(QObject):
    panelPainted = Signal(object)  # a tracked panel, just painted
    frameShown = Signal(int)  # every visible tracked panel shows this request id (or newer)

    def __init__(
        self, panels: Sequence[PaintTracked], latest_shown: Callable[[], int], parent=None
    ) -> None:
        super().__init__(parent)
        self.panels = list(panels)
        self._latest_shown = latest_shown
        for panel in self.panels:
            panel.frame_tracker = self

    def handed(self) -> None:
        """A result went to the panels: with none of them on screen, none will paint it, and
        the worker need not wait for that."""
        if not any(on_screen(p) for p in self.panels):
            self.frameShown.emit(self._latest_shown())

    def painted(self, panel: PaintTracked) -> None:
        self.panelPainted.emit(panel)
        shown = self._latest_shown()
        visible = [p for p in self.panels if on_screen(p)]
        if all(p.painted_request_id >= shown for p in visible):
            self.frameShown.emit(shown)
