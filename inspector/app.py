"""Builds the QApplication and the main window."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pyqtgraph as pg

from .core.nets import LENET_WEIGHTS

pg.setConfigOptions(imageAxisOrder="row-major")

from .gui.main_window import MainWindow  # noqa: E402  (after the pyqtgraph options)

__all__ = ["MainWindow", "create_window", "run"]


def create_window(
    weights: Path | None = LENET_WEIGHTS, device: str = "cpu", opened=None
) -> MainWindow:
    """The main window, shown, as ``run`` makes it (the benchmarks use this too)."""
    window = MainWindow(weights=weights, device=device, opened=opened)
    window.show()
    # Everything loaded so far lives as long as the app: freezing it keeps Python's full
    # collections (tens of milliseconds with torch and Qt loaded) out of strokes and layouts.
    gc.collect()
    gc.freeze()
    return window


def run(weights: Path | None = LENET_WEIGHTS, device: str = "cpu", opened=None) -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Net Inspector")
    app.setOrganizationName("Net Inspector")
    window = create_window(weights, device, opened)
    code = app.exec()
    del window
    return code
