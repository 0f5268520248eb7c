"""Builds the QApplication and the main window."""

from __future__ import annotations

import gc
import signal
import sys
from pathlib import Path

import pyqtgraph as pg

from . import __version__
from .core.nets import LENET_WEIGHTS
from .logs import LOG, install_excepthook, setup_logging

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
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Net Inspector")
    app.setOrganizationName("Net Inspector")
    log_path = setup_logging()
    LOG.info("starting Net Inspector %s", __version__)
    window = create_window(weights, device, opened)
    window.log_path = log_path
    install_excepthook(window.show_error)
    # Ctrl+C in the terminal closes the window like the close button (which stops the worker,
    # even mid-backward, within a second). Python only sees signals between Qt events: the
    # timer makes sure there are some.
    signal.signal(signal.SIGINT, lambda *_, w=window: w.close())
    ticker = QTimer()
    ticker.start(200)
    ticker.timeout.connect(lambda: None)
    code = app.exec()
    LOG.info("exiting with %s", code)
    del window
    return code
