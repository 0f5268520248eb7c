"""torch's CPU threads: the parallel kernels belong to the worker, not to the GUI thread.

torch's intra-op parallelism is OpenMP (libgomp here), whose thread teams belong to the thread
that starts them. Once the GUI thread has run one parallel region on every core it keeps a team
for good, and a team the worker starts afterwards runs about half as fast. Measured on the
2-core development machine (AMD EPYC): LeNet training in a second thread 3,100 images/s after
the main thread had trained on 2 threads, 6,500 when it had not; a LeNet forward+backward 5.3
vs 2.6 ms. (``torch.set_num_threads(1)`` later does not give the team back.) So a process that
shows the window makes its GUI thread serial before any torch op runs there; the worker then
sets its own count (``gui.runner``).
"""

from __future__ import annotations

import os

import torch


def usable_cores() -> int:
    """The cores this process may run on (a container's limit, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def keep_gui_thread_serial() -> None:
    """Call first, on the thread that will run Qt's event loop, before any torch op."""
    torch.set_num_threads(1)
