"""A rich-text title of dotted module and parameter names that fits its width.

A path such as ``bert.embeddings.word_embeddings.weight`` has no space to wrap at, so a
word-wrapped label clipped it at the dock's edge. Each name is cut in the middle to the
label's width instead (its start and its end are what tell modules apart), again on every
resize; the tooltip holds the whole text, and short names are shown as they are.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QLabel


class PathTitle(QLabel):
    def __init__(self, text: str = "", parent=None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self._parts: tuple[str, tuple[str, ...], str] | None = None

    def set_title(
        self, module: str, names: list[str] | tuple[str, ...] = (), suffix: str = ""
    ) -> None:
        """``<b>module</b>: name, name`` + ``suffix`` (rich text, shown as given)."""
        self._parts = (module, tuple(names), suffix)
        whole = module + (": " + ", ".join(names) if names else "")
        self.setToolTip(whole)
        self._render()

    def set_plain(self, text: str) -> None:
        """A sentence rather than names (nothing selected)."""
        self._parts = None
        self.setToolTip("")
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
        # Each name with the punctuation after it in one <nobr>: an ellipsis is a place to
        # break, and a cut name must not wrap at it, nor leave its colon on a line of its own.
        colon = ":" if names or (suffix and not suffix.startswith("<br>")) else ""
        fitted = _fit(module, QFontMetrics(bold), width - metrics.horizontalAdvance(colon))
        parts = [f"<nobr><b>{html.escape(fitted)}</b>{colon}</nobr>"]
        for i, name in enumerate(names):
            comma = "," if i < len(names) - 1 else ""
            fitted = _fit(name, metrics, width - metrics.horizontalAdvance(comma))
            parts.append(f"<nobr>{html.escape(fitted)}{comma}</nobr>")
        self.setText(" ".join(parts) + suffix)


def _fit(text: str, metrics: QFontMetrics, width: int) -> str:
    """``text`` cut in the middle to ``width`` pixels (as it is before the label has a size)."""
    if width <= 0 or metrics.horizontalAdvance(text) <= width:
        return text
    return metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, width)
