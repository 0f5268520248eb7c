"""A rich-text title of dotted module and parameter names that fits its width.

A path such as ``bert.embeddings.word_embeddings.weight`` has no space to wrap at, so a
word-wrapped label clipped it at the dock's edge. Each name is cut in the middle to the
label's width instead (its start and its end are what tell modules apart), again on every
resize; the tooltip and the context menu's Copy Whole Names hold the whole text, and short
names are shown as they are. (A resize lays the label out twice, once for the text cut to
the old width: measured, no flicker.)
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFont, QFontMetrics, QGuiApplication
from PySide6.QtWidgets import QLabel, QMenu

SHOWN_NAMES = 4  # a block's dozen parameters took the whole dock from its pictures


class PathTitle(QLabel):
    def __init__(self, text: str = "", parent=None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self._parts: tuple[str, tuple[str, ...], str] | None = None
        # Selecting copies what is shown, cut names included: this copies them whole.
        self.copy_action = QAction("Copy Whole Names", self)
        self.copy_action.triggered.connect(lambda: QGuiApplication.clipboard().setText(self.whole))
        self.copy_action.setEnabled(False)

    @property
    def whole(self) -> str:
        """The title as plain text, nothing cut (also its tooltip)."""
        if self._parts is None:
            return self.text()
        module, names, _suffix = self._parts
        return module + (": " + ", ".join(names) if names else "")

    def contextMenuEvent(self, event) -> None:
        menu = self.createStandardContextMenu() if self.hasSelectedText() else QMenu(self)
        menu.addAction(self.copy_action)
        menu.exec(event.globalPos())
        menu.deleteLater()

    def set_title(
        self, module: str, names: list[str] | tuple[str, ...] = (), suffix: str = ""
    ) -> None:
        """``<b>module</b>: name, name`` + ``suffix`` (rich text, shown as given)."""
        self._parts = (module, tuple(names), suffix)
        self.setToolTip(self.whole)
        self.copy_action.setEnabled(True)
        self._render()

    def set_plain(self, text: str) -> None:
        """A sentence rather than names (nothing selected)."""
        self._parts = None
        self.setToolTip("")
        self.copy_action.setEnabled(False)
        self.setText(text)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._parts is not None:
            self._render()

    def _render(self) -> None:
        module, names, suffix = self._parts
        width = self.contentsRect().width() - 2 * self.margin()
        bold = QFont(self.font())
        bold.setBold(True)
        metrics = self.fontMetrics()
        colon = ":" if names or (suffix and not suffix.startswith("<br>")) else ""
        fitted = _fit(module, QFontMetrics(bold), width - metrics.horizontalAdvance(colon))
        parts = [_kept(fitted != module, f"<b>{html.escape(fitted)}</b>{colon}")]
        more = len(names) - SHOWN_NAMES + 1 if len(names) > SHOWN_NAMES else 0
        shown = names[: len(names) - more]
        for i, name in enumerate(shown):
            comma = "," if i < len(shown) - 1 else ""
            # Only the path is cut: "conv1.weight [6, 1, 5, 5]" wraps at its spaces.
            path, space, rest = name.partition(" ")
            tail = comma if not space else ""
            fitted = _fit(path, metrics, width - metrics.horizontalAdvance(tail))
            piece = _kept(fitted != path, html.escape(fitted) + tail)
            parts.append(piece + (f" {html.escape(rest)}{comma}" if space else ""))
        if more:
            parts.append(f"and {more} more (hover to read them all)")
        self.setText(" ".join(parts) + suffix)


def _kept(cut: bool, piece: str) -> str:
    """A cut name in one <nobr> with the punctuation after it: its ellipsis is a place to
    break, and it must not wrap there. (Only cut ones: a <nobr>'s spaces are copied as
    non-breaking ones, and a name shown whole copies as it is.)"""
    return f"<nobr>{piece}</nobr>" if cut else piece


def _fit(text: str, metrics: QFontMetrics, width: int) -> str:
    """``text`` cut in the middle to ``width`` pixels (as it is before the label has a size)."""
    if width <= 0 or metrics.horizontalAdvance(text) <= width:
        return text
    return metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, width)
