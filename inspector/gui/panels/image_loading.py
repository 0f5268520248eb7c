"""Digit images from files: checked from the header, decoded off the GUI thread.

An image is refused before decoding when it is missing, not an image Qt reads, bigger than
``MAX_IMAGE_BYTES`` on disk or ``MAX_IMAGE_SIDE``² pixels (from the header: an 8190² PNG froze
the GUI thread 2.7 s and took 1.4 GB). ``decode_drawing`` touches no widget, so any thread may
run it; ``CanvasPanel.load_image`` runs it on a side thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QImageReader

from inspector.core.files.images import to_drawing
from inspector.core.model.preprocess import CANVAS_SIZE

# Digits for a 32×32 canvas: a 16-megapixel photo still loads, anything bigger is refused.
MAX_IMAGE_SIDE = 4096  # at most 4096×4096 pixels
MAX_IMAGE_BYTES = 50 << 20  # at most 50 MB on disk
DECODE_SIDE = 1024  # bigger images are decoded scaled down where the format can (JPEG)


def check_image(path: Path) -> str | None:
    """Why ``path`` cannot be loaded as a digit image, found without decoding it, or None."""
    if not path.exists():
        return "file not found"
    if not path.is_file():
        return "not a file"
    size_bytes = path.stat().st_size
    if size_bytes > MAX_IMAGE_BYTES:
        return (
            f"the file is {size_bytes / 2**20:.0f} MB, over the {MAX_IMAGE_BYTES >> 20} MB "
            "an image may be here"
        )
    reader = QImageReader(str(path))
    if not reader.canRead():
        return "not a readable image"
    size = reader.size()
    if size.isValid() and size.width() * size.height() > MAX_IMAGE_SIDE**2:
        return (
            f"it is {size.width()}×{size.height()} pixels, over the "
            f"{MAX_IMAGE_SIDE}×{MAX_IMAGE_SIDE} an image may be here"
        )
    return None


def decode_drawing(path: Path) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode ``path`` to a canvas drawing and the image's size; ``ValueError`` if it cannot.
    Qt refuses at once an image whose real size exceeds what its header said."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    reader.setAllocationLimit(2 * (MAX_IMAGE_SIDE**2 * 4 >> 20))  # MB: a header that lied
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > DECODE_SIDE:
        keep = Qt.AspectRatioMode.KeepAspectRatio
        reader.setScaledSize(size.scaled(DECODE_SIDE, DECODE_SIDE, keep))
    image = reader.read()
    if image.isNull():
        raise ValueError(reader.errorString() or "not a readable image")
    w0, h0 = (size.width(), size.height()) if size.isValid() else (image.width(), image.height())
    grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
    w, h, stride = grey.width(), grey.height(), grey.bytesPerLine()
    buffer = np.frombuffer(grey.constBits(), np.uint8, count=stride * h)
    pixels = buffer.reshape(h, stride)[:, :w].astype(np.float32)
    return to_drawing(pixels, CANVAS_SIZE), (w0, h0)
