"""Digit images from files: checked from the header, decoded off the GUI thread.

An image is refused before decoding when it is missing, not a regular file, not a PNG, JPEG
or BMP by its first bytes (whatever its name says), not an image Qt reads, bigger than
``MAX_IMAGE_BYTES`` on disk or ``MAX_IMAGE_SIDE``² pixels (from the header: an 8190² PNG froze
the GUI thread 2.7 s and took 1.4 GB). ``decode_drawing`` touches no widget, so any thread may
run it; ``CanvasPanel.load_image`` runs it on a side thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QImageReader

from inspector.core.model.images import to_drawing
from inspector.core.model.preprocess import CANVAS_SIZE

# Digits for a 32×32 canvas: a 16-megapixel photo still loads, anything bigger is refused.
MAX_IMAGE_SIDE = 4096  # at most 4096×4096 pixels
MAX_IMAGE_BYTES = 50 << 20  # at most 50 MB on disk
DECODE_SIDE = 1024  # bigger images are decoded scaled down where the format can (JPEG)


# The formats a digit image may be in, by their first bytes: Qt would otherwise pick a
# decoder from the name or the content (an SVG named .png, 3 KB of nested <use>, hung it).
MAGIC = ((b"\x89PNG\r\n\x1a\n", b"png"), (b"\xff\xd8\xff", b"jpeg"), (b"BM", b"bmp"))


def image_format(path: Path) -> bytes | None:
    """``b"png"``, ``b"jpeg"`` or ``b"bmp"`` from the file's first bytes; None for anything
    else (or a file that cannot be read)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return None
    return next((kind for magic, kind in MAGIC if head.startswith(magic)), None)


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
    kind = image_format(path)
    if kind is None:
        return "not a PNG, JPEG or BMP image (judged by its first bytes, not its name)"
    reader = QImageReader(str(path), kind)
    reader.setAutoDetectImageFormat(False)  # that decoder only, whatever the name says
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
    kind = image_format(path)
    if kind is None:  # checked before; the file may have changed since
        raise ValueError("not a PNG, JPEG or BMP image")
    reader = QImageReader(str(path), kind)
    reader.setAutoDetectImageFormat(False)  # that decoder only, whatever the name says
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
