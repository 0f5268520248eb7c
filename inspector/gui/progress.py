"""A busy dialog for long work on the worker: shown only if the work takes a while, with Cancel."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QProgressDialog, QWidget


class BusyDialog:
    """One at a time per kind of work. ``close()`` is safe to call whether or not it is open."""

    def __init__(self, parent: QWidget, name: str, title: str, show_after_ms: int) -> None:
        self._parent = parent
        self._name = name
        self._title = title
        self._show_after_ms = show_after_ms
        self.dialog: QProgressDialog | None = None
        self._on_cancel: Callable[[], None] | None = None

    def open(self, text: str, on_cancel: Callable[[], None]) -> None:
        self.close()
        dialog = QProgressDialog(text, "Cancel", 0, 0, self._parent)
        dialog.setObjectName(self._name)
        dialog.setWindowTitle(self._title)
        dialog.setValue(0)  # else the show timer keeps Qt's default 4 s
        dialog.setMinimumDuration(self._show_after_ms)  # quick work never flashes a dialog
        dialog.canceled.connect(self._cancelled)
        self._on_cancel = on_cancel
        self.dialog = dialog

    def _cancelled(self) -> None:
        on_cancel = self._on_cancel
        self.close()
        if on_cancel is not None:
            on_cancel()

    def close(self) -> None:
        dialog, self.dialog = self.dialog, None
        self._on_cancel = None
        if dialog is not None:
            dialog.canceled.disconnect(self._cancelled)
            dialog.close()
            dialog.deleteLater()  # a child of the window: it would outlive every open

    @property
    def is_open(self) -> bool:
        return self.dialog is not None
