"""A one-line label whose text changes every frame without laying the window out again.

``QLabel.setText`` asks its parent's layout to recompute (its size hint may have changed),
and the prediction's ``7 (98.6%)`` changes on nearly every frame of a stroke: 0.7 ms of the
GUI thread per change against 0.2 for a repaint alone (LeNet window, AMD EPYC). A widget
whose minimum and maximum sizes are equal invalidates no layout when its text changes, so the
label is fixed to the size of a holder that the layout does size.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class SteadyLabelHolder(QWidget):
    """Put this in the layout instead of ``label``; it is as tall as ``height``."""

    def __init__(self, label: QLabel, height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = label
        label.setParent(self)
        # Filling its own background (the same colour) makes it opaque to Qt: a change
        # repaints the label alone, not the dock and the window beneath it as well.
        label.setAutoFillBackground(True)
        self.setFixedHeight(height)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(1)  # a long text (an output's name) must never widen the dock

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.label.setFixedSize(self.size())
