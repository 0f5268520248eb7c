"""What a process that shows the window sets up first, before any torch op runs in it."""

from __future__ import annotations

from .memory import keep_freed_memory
from .threads import keep_gui_thread_serial


def prepare_window_process() -> None:
    """Call on the thread that will run Qt's event loop, before any torch op: torch's parallel
    kernels are left to the worker (``core.threads``) and every frame reuses the memory the
    last one freed (``core.memory``)."""
    keep_gui_thread_serial()
    keep_freed_memory()
