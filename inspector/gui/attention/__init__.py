"""The attention view: its panel, its image widget and its wiring into the window."""
