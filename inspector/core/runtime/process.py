"""What a process that shows the window sets up first, before any torch op runs in it."""

from __future__ import annotations

import sys

from inspector.core.runtime.memory import keep_freed_memory
from inspector.core.runtime.threads import keep_gui_thread_serial

# How long a thread may hold the GIL while another waits for it (Python's default: 5 ms). The
# worker gives it up at every torch op and wants it back when the op returns; the GUI thread
# gives it up in Qt's calls. Each waited up to 5 ms for the other's Python (hooks, colouring,
# painting): a ResNet-18 stroke (2-core AMD EPYC, four runs each) gave worker/bare forward
# 1.37–1.65× and p95/bare 3.0–4.2× at 5 ms, 1.23–1.44× and 2.3–3.2× at 1 ms; LeNet's p95 was
# 5.7–6.4 ms and 5.7–5.8 ms. (0.2 ms was no better than 1 ms.)
GIL_SWITCH_S = 0.001


def prepare_window_process() -> None:
    """Call on the thread that will run Qt's event loop, before any torch op: torch's parallel
    kernels are left to the worker (``core.threads``), every frame reuses the memory the last
    one freed (``core.memory``), and the two threads pass the GIL to each other within 1 ms."""
    keep_gui_thread_serial()
    keep_freed_memory()
    sys.setswitchinterval(GIL_SWITCH_S)
