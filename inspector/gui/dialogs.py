"""The app's message boxes: errors that do not block, the F1 list, About."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from inspector.gui.actions import help_rows


def open_message(
    parent: QWidget, icon, title: str, text: str, info: str, details: str, name: str
) -> QMessageBox:
    """A message with details behind a button; window-modal but never blocking."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName(name)
    box.setInformativeText(info)
    box.setDetailedText(details)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def show_shortcuts(parent: QWidget) -> QMessageBox:
    """F1: every shortcut of the action table, and what the mouse does."""
    rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in help_rows())
    box = QMessageBox(
        QMessageBox.Icon.NoIcon,
        "Keyboard shortcuts",
        f"<table>{rows}</table>",
        QMessageBox.StandardButton.Close,
        parent,
    )
    box.setObjectName("shortcutsDialog")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setModal(False)
    box.show()
    return box


def show_about(parent: QWidget, log_path: Path | None) -> None:
    from inspector.version import __version__

    QMessageBox.about(
        parent,
        "About Net Inspector",
        f"Net Inspector {__version__}<br>Look inside a PyTorch network while it "
        "runs.<br>Bundled weights trained on MNIST (LeCun, Cortes, Burges)."
        + (f"<br><br>Log file: {log_path}" if log_path else ""),
    )
