"""Follow the system's dark or light mode (Fusion style, so every platform looks the same)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from inspector.core.graph.palette import PANEL_BACKGROUND

__all__ = ["PANEL_BACKGROUND", "follow_system_theme", "palette_for"]

_DARK = {
    QPalette.ColorRole.Window: "#2b2d31",
    QPalette.ColorRole.WindowText: "#e6e6e6",
    QPalette.ColorRole.Base: "#1f2023",
    QPalette.ColorRole.AlternateBase: "#2a2c30",
    QPalette.ColorRole.ToolTipBase: "#3a3d42",
    QPalette.ColorRole.ToolTipText: "#f0f0f0",
    QPalette.ColorRole.Text: "#e6e6e6",
    QPalette.ColorRole.Button: "#35373c",
    QPalette.ColorRole.ButtonText: "#e6e6e6",
    QPalette.ColorRole.Highlight: "#3d6fb6",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.PlaceholderText: "#8a8d93",
}


def palette_for(scheme: Qt.ColorScheme) -> QPalette:
    """Fusion's light palette, or a dark one, for the system's colour scheme."""
    from PySide6.QtWidgets import QStyleFactory

    palette = QStyleFactory.create("Fusion").standardPalette()
    if scheme == Qt.ColorScheme.Dark:
        for role, colour in _DARK.items():
            palette.setColor(role, QColor(colour))
        disabled = QColor("#7a7d82")
        for role in (
            QPalette.ColorRole.WindowText,
            QPalette.ColorRole.Text,
            QPalette.ColorRole.ButtonText,
        ):
            palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return palette


def follow_system_theme(app: QApplication) -> None:
    """Apply the palette now and again whenever the user switches dark/light mode."""
    app.setStyle("Fusion")
    hints = QGuiApplication.styleHints()

    def apply(scheme=None) -> None:
        app.setPalette(palette_for(hints.colorScheme() if scheme is None else scheme))

    apply()
    hints.colorSchemeChanged.connect(apply)
