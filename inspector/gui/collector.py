"""Python's cyclic garbage collected on the GUI thread only.

A collection runs in whichever thread happens to allocate when a threshold is crossed. If it
frees the PySide wrapper of a Qt object there (a plot of an earlier weights view, say), Qt
destroys the object on the worker thread, which then waits for the GIL while holding a Qt lock
that the GUI thread, holding the GIL, waits for: a deadlock. It happened here: the worker
registering forward hooks while the GUI rebuilt the weights plots. pyqtgraph's remedy
(``GarbageCollector``): no automatic collection; a GUI-thread timer collects instead.
"""

from __future__ import annotations

from pyqtgraph.util.garbage_collector import GarbageCollector

_collector: GarbageCollector | None = None


def collect_on_gui_thread(interval_s: float = 0.5) -> None:
    """Once per process, from the GUI thread (the window's constructor calls it)."""
    global _collector
    if _collector is None:
        _collector = GarbageCollector(interval=interval_s)
