"""Builds the QApplication and the main window."""

from __future__ import annotations

import sys
from pathlib import Path

import pyqtgraph as pg

from .core.nets import LENET_WEIGHTS

pg.setConfigOptions(imageAxisOrder="row-major")

from .gui.main_window import MainWindow  # noqa: E402  (after the pyqtgraph options)

__all__ = ["MainWindow", "run"]


def run(weights: Path | None = LENET_WEIGHTS, device: str = "cpu") -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Net Inspector")
    app.setOrganizationName("Net Inspector")
    window = MainWindow(weights=weights, device=device)
    window.show()
    return app.exec()
