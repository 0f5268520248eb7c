"""The app's colours that are not the Qt palette's: graph nodes (screen and DOT alike) and the
dark background every plot and heatmap sits on."""

from __future__ import annotations

PANEL_BACKGROUND = "#16181c"

# By node kind (core.autograd_graph's ROOT, OP, PARAM, LEAF; core.collapse's GROUP, SAVED).
NODE_COLOURS = {
    "root": "#d9822b",  # the loss
    "op": "#3d5a80",
    "param": "#3f8f5a",
    "leaf": "#6c6f75",
    "group": "#7b5ea7",  # a collapsed module
    "saved": "#9c7a1c",  # a tensor saved for backward
}
