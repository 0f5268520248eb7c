"""Python's cyclic garbage collected on the GUI thread only.

A collection runs in whichever thread happens to allocate when a threshold is crossed. If it
frees the PySide wrapper of a Qt object there (a plot of an earlier weights view, say), Qt
destroys the object on the worker thread, which then waits for the GIL while holding a Qt lock
that the GUI thread, holding the GIL, waits for: a deadlock. It happened here: the worker
registering forward hooks while the GUI rebuilt the weights plots. pyqtgraph's remedy
(``GarbageCollector``): no automatic collection; a GUI-thread timer collects instead.

Modules imported after start-up live as long as the app, like those ``app.create_window``
freezes: the first optimiser imports ``torch._dynamo`` and sympy (120,000 objects), opening a
transformers model imports transformers. Left in the young generations, every collection
walked them again: 20-50 ms of the GUI thread holding the GIL, several times a second while
training. So after imports the collector freezes what is alive, once per wave of imports;
and when a model replaces another, what was frozen is looked at again at the next quiet
moment (the old model may have been alive at a freeze, and a model in a reference cycle is
freed only by a collection; that takes ~0.2 s of the GIL, too long during a stroke).
"""

from __future__ import annotations

import gc
import sys
import time

from pyqtgraph.util.garbage_collector import GarbageCollector

FREEZE_AFTER_MODULES = 20  # modules imported since the last freeze
IDLE_S = 2.0  # a full collection of everything (~0.2 s) waits for this long without work

_collector: GarbageCollector | None = None


class FreezingCollector(GarbageCollector):
    """pyqtgraph's collector, which also freezes what the imports since the last check
    loaded, so that later collections skip it."""

    def __init__(self, interval: float) -> None:
        self.modules = len(sys.modules)
        self.refreeze_pending = False
        self.last_busy = 0.0
        super().__init__(interval=interval)

    def busy(self, *_args) -> None:
        """Results are being shown (a stroke, training): not the moment for a long pause."""
        self.last_busy = time.monotonic()

    def refreeze_when_idle(self, *_args) -> None:
        """A model replaced another: ``refreeze`` at the next quiet moment."""
        self.refreeze_pending = True
        self.busy()

    def check(self) -> None:
        if self.refreeze_pending and time.monotonic() - self.last_busy >= IDLE_S:
            self.refreeze_pending = False
            self.refreeze()
            return
        if len(sys.modules) - self.modules >= FREEZE_AFTER_MODULES:
            self.modules = len(sys.modules)
            gc.collect()  # what is garbage now is not frozen with the rest
            gc.freeze()
            return
        super().check()

    def refreeze(self) -> None:
        """Collect everything, frozen or not, and freeze what survives (~0.2 s)."""
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.modules = len(sys.modules)


def collect_on_gui_thread(interval_s: float = 0.5) -> FreezingCollector:
    """Once per process, from the GUI thread (the window's constructor calls it)."""
    global _collector
    if _collector is None:
        _collector = FreezingCollector(interval_s)
    return _collector
