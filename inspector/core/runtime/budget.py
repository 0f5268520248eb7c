"""How much memory this machine has: the budgets that files are checked against before
anything is allocated (a session's input, zip members, MNIST files, a child's address space)."""

from __future__ import annotations

import functools
import os

FALLBACK_BYTES = 8 << 30  # where the system does not say


@functools.cache
def machine_memory() -> int:
    """The machine's physical memory in bytes (8 GiB where the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return FALLBACK_BYTES


def available_memory() -> int:
    """Memory that can be used now without swapping (``MemAvailable`` on Linux), in bytes;
    half the machine's where the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return machine_memory() // 2


def max_input_elements() -> int:
    """The most elements a saved input shape may ask for: 64M (a 1×4×4096×4096 float input,
    256 MiB), fewer on a machine with under 16 GiB. A forward keeps every layer's activation,
    and each is about as big as the input: 1×1×16384×16384 (1 GiB) asked for 8.5 GB."""
    return min(1 << 26, machine_memory() // 256)
