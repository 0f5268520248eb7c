"""An independent reference for Compare's tests: the tutorial's ``Net`` run with plain forward
hooks and ``torch.nn.functional`` calls (nothing of ``core.capture``), and digit PNGs written
with zlib alone (nothing of Qt)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# The steps the activations panel shows for ``Net``, in order, as it names them.
NAMES = [
    "1. conv1", "2. relu", "3. max_pool2d", "4. conv2", "5. relu", "6. max_pool2d",
    "7. flatten", "8. fc1", "9. relu", "10. fc2", "11. relu", "12. fc3",
]  # fmt: skip


def expected_steps(net: torch.nn.Module, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every step of ``Net.forward`` on ``x``: module outputs from forward hooks, checked against
    the functional ops computed here from the module's weights, and the functional ops."""
    hooked: dict[str, torch.Tensor] = {}
    handles = [
        module.register_forward_hook(
            lambda _m, _i, out, name=name: hooked.__setitem__(name, out.detach())
        )
        for name, module in net.named_children()
    ]
    t = torch.from_numpy(np.asarray(x, np.float32))
    try:
        with torch.no_grad():
            output = net(t)
    finally:
        for handle in handles:
            handle.remove()
    with torch.no_grad():
        c1 = F.conv2d(t, net.conv1.weight, net.conv1.bias)
        r1 = F.relu(c1)
        s2 = F.max_pool2d(r1, (2, 2))
        c3 = F.conv2d(s2, net.conv2.weight, net.conv2.bias)
        r3 = F.relu(c3)
        s4 = F.max_pool2d(r3, 2)
        flat = torch.flatten(s4, 1)
        f5 = F.linear(flat, net.fc1.weight, net.fc1.bias)
        r5 = F.relu(f5)
        f6 = F.linear(r5, net.fc2.weight, net.fc2.bias)
        r6 = F.relu(f6)
        out = F.linear(r6, net.fc3.weight, net.fc3.bias)
    for name, mine in (("conv1", c1), ("conv2", c3), ("fc1", f5), ("fc2", f6), ("fc3", out)):
        torch.testing.assert_close(hooked[name], mine)
    torch.testing.assert_close(output, out)
    values = [c1, r1, s2, c3, r3, s4, flat, f5, r5, f6, r6, out]
    return {name: v.numpy() for name, v in zip(NAMES, values, strict=True)}


def write_png(path: Path, grey: np.ndarray) -> Path:
    """An 8-bit greyscale PNG of ``grey`` (0-255), written with zlib only."""
    grey = np.asarray(grey, np.uint8)
    h, w = grey.shape
    raw = b"".join(b"\0" + grey[r].tobytes() for r in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    Path(path).write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )  # fmt: skip
    return Path(path)


def seven_image() -> np.ndarray:
    """Dark ink on white paper, 64×64: a 7."""
    image = np.full((64, 64), 255, np.uint8)
    image[12:17, 14:50] = 0
    for i in range(40):
        image[15 + i, 45 - i // 2 : 50 - i // 2] = 0
    return image


def one_image() -> np.ndarray:
    """Dark ink on white paper, 64×64: a 1."""
    image = np.full((64, 64), 255, np.uint8)
    image[10:56, 30:35] = 0
    return image
