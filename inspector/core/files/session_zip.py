"""The limits a session zip is held to before anything in it is decompressed: which members,
how big each may expand, by what ratio, in all; and reading a member no longer than it said."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from inspector.core.files.session_checks import size_text
from inspector.core.runtime.budget import machine_memory

# Limits checked against the zip directory before anything is decompressed. ZipExtFile never
# returns more than a member's declared size, and reads are capped again, so a lying header
# cannot make a member bigger either.
MAX_JSON_BYTES = 1 << 20  # settings are a few hundred bytes
MAX_DRAWING_BYTES = 64 << 10  # a 32×32 float32 .npy is 4,224 bytes
MAX_RAW_INPUT_BYTES = 256 << 20  # a 1×3×4096×4096 float32 input; far above any canvas input
# The weights: 4 GiB is a 1-billion-parameter fp32 model, beyond what this app can inspect
# interactively (every forward is captured layer by layer on the machine's memory), while a
# session that holds more is most likely not a session at all.
# On a smaller machine, a quarter of its memory.
MAX_WEIGHTS_BYTES = min(4 << 30, machine_memory() // 4)
# Training: Adam keeps two tensors per weight, plus the curves and the epoch's order.
MAX_TRAINING_BYTES = 2 * MAX_WEIGHTS_BYTES + (64 << 20)
MAX_TOTAL_BYTES = min(
    2 * (MAX_DRAWING_BYTES + MAX_RAW_INPUT_BYTES + MAX_WEIGHTS_BYTES)
    + MAX_JSON_BYTES
    + MAX_TRAINING_BYTES,
    machine_memory() // 2,  # everything is decompressed into memory at once
)
MAX_MEMBERS = 64
# Weights (format 2) are stored uncompressed and random-looking data deflates by ~1.1× (trained
# weights, curves and optimiser state by under 3×), so a member that expands by more than this
# is a zip bomb, not a session (84:1 took 12.8 MB to 2.4 GB). Small members (a mostly empty
# drawing deflates 40×) are exempt: their size is capped anyway.
MAX_RATIO = 20
RATIO_EXEMPT_BYTES = 1 << 20

_MEMBER_CAPS = {
    "session.json": MAX_JSON_BYTES,
    "drawing.npy": MAX_DRAWING_BYTES,
    "raw_input.npy": MAX_RAW_INPUT_BYTES,
    "weights.safetensors": MAX_WEIGHTS_BYTES,
    "pin_A_drawing.npy": MAX_DRAWING_BYTES,  # Compare's A (see ``pins``)
    "pin_A_raw_input.npy": MAX_RAW_INPUT_BYTES,
    "pin_A_weights.safetensors": MAX_WEIGHTS_BYTES,
    "training.safetensors": MAX_TRAINING_BYTES,
}


class SessionError(Exception):
    """A session file that cannot be used; ``str()`` is one sentence naming the file."""


def checked_members(archive: zipfile.ZipFile, path: Path) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise SessionError(f"{path.name} is not a session: it has {len(infos)} members")
    known = {info.filename: info for info in infos if info.filename in _MEMBER_CAPS}
    total = 0
    for name, info in known.items():
        cap = _MEMBER_CAPS[name]
        if info.file_size > cap:
            raise SessionError(
                f"{path.name} is refused: its {name} would expand to {size_text(info.file_size)}, "
                f"over the {size_text(cap)} a session may hold"
            )
        if info.file_size > RATIO_EXEMPT_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise SessionError(
                f"{path.name} is refused: its {name} would expand from "
                f"{size_text(info.compress_size)} to {size_text(info.file_size)} (a zip bomb)"
            )
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise SessionError(f"{path.name} is refused: it would expand to {size_text(total)}")
    return known


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    cap = _MEMBER_CAPS[info.filename]
    with archive.open(info) as member:
        data = member.read(min(info.file_size, cap) + 1)
    if len(data) > min(info.file_size, cap):
        raise ValueError(f"{info.filename} is longer than its header says")
    return data


def read_npy(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """A ``.npy`` member, never unpickled."""
    return np.load(io.BytesIO(read_member(archive, info)), allow_pickle=False)
