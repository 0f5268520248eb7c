"""The log file (in the platform's user log folder) and the last-resort exception handler."""

from __future__ import annotations

import logging
import logging.handlers
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

LOG = logging.getLogger("inspector")


def log_dir() -> Path:
    """``~/.local/share/Net Inspector/logs`` on Linux, the AppData folder on Windows, etc."""
    from PySide6.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".net-inspector") / "logs"


def setup_logging(folder: Path | None = None) -> Path:
    """Log to a rotating file (1 MB × 3); returns its path."""
    folder = folder or log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "net-inspector.log"
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    return path


def install_excepthook(show: Callable[[str, str], None]) -> Callable:
    """Any exception that escapes a slot is logged and shown with ``show(message, details)``
    instead of ending the app. Returns the handler (the previous one is kept for others)."""

    def handler(kind, value, tb) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        details = "".join(traceback.format_exception(kind, value, tb))
        LOG.error("unhandled exception\n%s", details)
        try:
            show(f"Something went wrong: {kind.__name__}: {value}", details)
        except Exception:  # the dialog itself must never take the app down
            LOG.exception("could not show the error")

    sys.excepthook = handler
    return handler
