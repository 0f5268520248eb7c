"""An image file given on the command line, as the canvas drawing the app would make of it."""

from __future__ import annotations

from pathlib import Path


def drawing_from_image(path: Path):
    """A digit image as a canvas drawing, checked and decoded as the app does (Qt's image
    readers, no window)."""
    from inspector.gui.panels.image_loading import check_image, decode_drawing

    problem = check_image(path)
    if problem is not None:
        raise ValueError(f"{path.name}: {problem}")
    try:
        return decode_drawing(path)[0]
    except ValueError as exc:
        raise ValueError(f"{path.name}: {exc}") from None
