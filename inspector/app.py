"""Builds the QApplication and the main window."""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt

from inspector.core.model.nets import LENET_WEIGHTS
from inspector.core.runtime.process import prepare_window_process
from inspector.logs import LOG, install_excepthook, setup_logging
from inspector.version import __version__

pg.setConfigOptions(imageAxisOrder="row-major")

from inspector.gui.main_window import MainWindow  # noqa: E402  (after the pyqtgraph options)
from inspector.gui.theme import follow_system_theme  # noqa: E402
from inspector.gui.work.runner import threads_left_behind  # noqa: E402

__all__ = ["MainWindow", "create_window", "run"]


def create_window(
    weights: Path | None = LENET_WEIGHTS, device: str = "cpu", opened=None
) -> MainWindow:
    """The main window, shown, as ``run`` makes it (the benchmarks use this too)."""
    prepare_window_process()  # the worker's torch threads run at full speed only then
    window = MainWindow(weights=weights, device=device, opened=opened)
    window.show()
    # Everything loaded so far lives as long as the app: freezing it keeps Python's full
    # collections (tens of milliseconds with torch and Qt loaded) out of strokes and layouts.
    gc.collect()
    gc.freeze()
    return window


def set_identity() -> None:
    """Names QSettings and the standard folders (settings, autosave, logs) are filed under."""
    from PySide6.QtCore import QCoreApplication

    QCoreApplication.setOrganizationName("Net Inspector")
    QCoreApplication.setApplicationName("Net Inspector")


def remembered_model():
    """``(opened, note, ask)``: the model open when the app last closed, reopened if the user
    agreed to run its code and it has not changed since; otherwise ``opened`` is None and
    ``ask`` is ``(ref, risks)`` to ask about once the window is up (``offer_remembered_model``)
    — nothing of it runs before Yes. ``note`` says why it could not be reopened."""
    from inspector.core.feed.settle import settle
    from inspector.core.files.loading import open_model
    from inspector.gui.session import trust
    from inspector.gui.session.persistence import Persistence

    forgotten: list[str] = []
    last = Persistence.last_model(forgotten)
    said = " ".join(forgotten) or None  # hand-edited settings, forgotten

    def note(text: str) -> str:
        return " ".join(filter(None, [said, text]))

    if last is None or (last.spec == "lenet" and not last.weights):
        return None, said, None
    try:
        pending = trust.to_ask(last)
    except OSError as exc:
        LOG.warning("could not read %s: %s", last.spec, exc)
        return None, note(f"Could not reopen {last.spec} ({exc}); opened the LeNet instead."), None
    if pending:
        return None, said, (last, pending)
    try:
        opened = open_model(
            last.spec, last.weights, last.trust, last.input_shape, last.input_dtype, probe=True
        )
        opened, _names = settle(opened)  # a model that no longer runs must not half-open
        return opened, said, None
    except Exception as exc:
        LOG.warning("could not reopen %s: %s", last.spec, exc)
        return None, note(f"Could not reopen {last.spec} ({exc}); opened the LeNet instead."), None


def last_model_or_none():
    """``remembered_model`` without the question: ``(opened, note)``."""
    opened, note, _ask = remembered_model()
    return opened, note


def offer_remembered_model(window: MainWindow, ref, risks) -> None:
    """Ask (without blocking, default No) whether to reopen the model from last time, whose
    code the user has not agreed to run or which has changed since; the LeNet is open."""
    from inspector.gui.session import trust

    window.show_message(f"Opened the LeNet: reopening {ref.spec} waits for your answer.")
    window.persistence.consent_box = trust.ask(
        window,
        risks,
        f"Reopening {ref.spec}, the model open when Net Inspector last closed,",
        lambda: window.open_model(ref, from_elsewhere=True),
        lambda: window.show_message(f"Did not reopen {ref.spec}; the LeNet is open."),
    )


def offer_autosave(window: MainWindow) -> None:
    """After a crash or kill, offer the drawing that was autosaved (without blocking)."""
    from PySide6.QtWidgets import QMessageBox

    leftover = window.persistence.autosave.leftover()
    if leftover is None:
        return
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Restore the drawing?",
        "Net Inspector did not close cleanly last time. Restore the drawing it had?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        window,
    )
    box.setObjectName("restoreAutosaveDialog")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def answered(button) -> None:
        if box.standardButton(button) == QMessageBox.StandardButton.Yes:
            window.persistence.autosave.restore(leftover)

    box.buttonClicked.connect(answered)
    box.open()


def run(
    weights: Path | None = LENET_WEIGHTS,
    device: str = "cpu",
    opened=None,
    note: str | None = None,
    session=None,
    ask=None,
    connect: tuple[str, str | None] | None = None,
) -> int:
    """The app until its window closes. ``session``: ``(path, saved)`` whose model ``opened``
    is (with its weights); ``ask``: ``(ref, risks)`` of a remembered model to ask about;
    ``connect``: ``(HOST:PORT, token)`` of a training to connect to (``inspector.attach``)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    set_identity()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    follow_system_theme(app)
    log_path = setup_logging()
    LOG.info("starting Net Inspector %s", __version__)
    window = create_window(weights, device, opened)
    window.log_path = log_path
    install_excepthook(window.show_error)
    if note:
        window.show_message(note, warning=True)
    if session is not None:
        window.persistence.apply_session(*session)
    elif connect is not None:
        window.connection.connect_to(*connect)
    elif ask is not None:
        offer_remembered_model(window, *ask)
    offer_autosave(window)
    # Ctrl+C in the terminal closes the window like the close button (which stops the worker,
    # even mid-backward, within a second). Python only sees signals between Qt events: the
    # timer makes sure there are some.
    signal.signal(signal.SIGINT, lambda *_, w=window: w.close())
    ticker = QTimer()
    ticker.start(200)
    ticker.timeout.connect(lambda: None)
    code = app.exec()
    LOG.info("exiting with %s", code)
    if threads_left_behind():  # a model still busy in Python or a kernel: do not wait for it
        LOG.info("leaving a busy worker behind")
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    del window
    return code
