"""The one table of everything a user can ask for: it makes the menus, the toolbar and the F1
help, and the README's shortcut table is checked against it (tests/gui/test_actions.py)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar


@dataclass(frozen=True)
class ActionSpec:
    menu: str
    text: str
    slot: str  # a method of the window, or a dotted path from it ("graph.step")
    keys: str = ""  # the shortcut as a person types it: "Ctrl+Shift+O"
    tip: str = ""
    name: str = ""  # objectName, and the key in ``window.actions``
    toolbar: bool = False


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("&File", "&Open Model…", "choose_model", "Ctrl+O",
               "Open a model: file.py:Name, TorchScript, torch.export .pt2, with weights",
               "openModelAction", toolbar=True),
    ActionSpec("&File", "&Connect to Training…", "connection.choose", "",
               "Connect to a model training in another process (inspector.attach): HOST:PORT "
               "and its token", "connectAction"),
    ActionSpec("&File", "&Disconnect", "connection.disconnect", "",
               "Back to the model opened here; the training goes on", "disconnectAction"),
    ActionSpec("&File", "Load &Image…", "canvas_panel.choose_image", "Ctrl+I",
               "Load a digit image onto the canvas", "loadImageAction"),
    ActionSpec("&File", "&Save Session…", "persistence.choose_session_to_save", "Ctrl+S",
               "Save a session: drawing, model, selection, loss, backward step and weights",
               "saveSessionAction"),
    ActionSpec("&File", "Open Se&ssion…", "persistence.choose_session_to_open", "Ctrl+Shift+O",
               "Open a saved session", "openSessionAction"),
    ActionSpec("&File", "&Export…", "exporter.export_current", "Ctrl+E",
               "Export what is on screen: the graph (SVG, PNG, DOT, JSON) or the activations",
               "exportAction"),
    ActionSpec("&File", "Export &Graph…", "exporter.export_graph", "",
               "Write the autograd graph as JSON, DOT, SVG or PNG", "exportGraphAction"),
    ActionSpec("&File", "Export &Activations…", "exporter.export_activations", "",
               "The activations panel as shown (PNG) or the selected step's tensor (.npy)",
               "exportActivationsAction"),
    ActionSpec("&File", "Export &Weights…", "exporter.export_weights", "",
               "The weights panel as shown (PNG) or the first parameter (.npy)",
               "exportWeightsAction"),
    ActionSpec("&File", "Export &Window as PNG…", "exporter.export_window", "",
               "A picture of the whole window", "exportWindowAction"),
    ActionSpec("&File", "Save &Weights…", "training.choose_weights_file", "",
               "The weights as they are now, as .safetensors (open them with --weights)",
               "saveWeightsAction"),
    ActionSpec("&File", "&Quit", "close", "Ctrl+Q", "Close Net Inspector", "quitAction"),
    ActionSpec("&Edit", "&Undo Stroke", "canvas_panel.canvas.undo", "Ctrl+Z",
               "Undo the last stroke", "undoAction"),
    ActionSpec("&Edit", "&Clear Canvas", "canvas_panel.canvas.clear", "Delete",
               "Clear the canvas", "clearAction"),
    ActionSpec("&Edit", "&Random Input", "canvas_panel.random_input", "Ctrl+R",
               "Random input (torch.randn of the model's input shape)", "randomAction"),
    ActionSpec("&Backward", "&Backward", "run_backward", "Ctrl+B",
               "Backward: record the autograd graph of the loss on the current input",
               "backwardAction", toolbar=True),
    ActionSpec("&Backward", "&Step", "graph.step", "Space",
               "Step to the next node of the backward pass", "stepAction", toolbar=True),
    ActionSpec("&Backward", "Step B&ack", "graph.back", "Shift+Space",
               "Step back to the previous node", "stepBackAction"),
    ActionSpec("&Backward", "&Play / Pause", "graph.toggle_play", "Ctrl+P",
               "Play or pause the stepping through the backward pass", "playAction"),
    ActionSpec("&Backward", "&Reset Stepping", "graph.reset", "",
               "Back to before the first node", "resetSteppingAction"),
    ActionSpec("&Backward", "&Update Weights", "update_weights", "Ctrl+U",
               "Update weights: one SGD step, p -= lr * p.grad", "updateAction"),
    ActionSpec("&Backward", "Rese&t Weights", "training.reset_weights", "",
               "Back to the weights the model was opened with", "resetWeightsAction"),
    ActionSpec("&View", "&Find Module…", "tree_panel.focus_filter", "Ctrl+F",
               "Filter the module tree by name or type", "findModuleAction"),
    ActionSpec("&View", "&Activations", "show_activations_tab", "Ctrl+1",
               "The activations tab", "activationsTabAction"),
    ActionSpec("&View", "Autograd &Graph", "show_graph_tab", "Ctrl+2",
               "The autograd graph tab", "graphTabAction"),
    ActionSpec("&View", "A&ttention", "attention.show", "Ctrl+3",
               "The attention tab: every head of the selected attention layer",
               "attentionTabAction"),
    ActionSpec("&Compare", "&Pin A / Unpin", "comparer.toggle_pin", "Ctrl+K",
               "Pin the input and the weights as they are now as A, to compare with; again: unpin",
               "pinAction"),
    ActionSpec("&Help", "&Keyboard Shortcuts", "show_shortcuts", "F1",
               "This list of keyboard shortcuts", "shortcutsAction"),
    ActionSpec("&Help", "&Tour", "hint.show_again", "",
               "Show the first steps again: draw, click a layer, Backward and Space",
               "tourAction"),
    ActionSpec("&Help", "&About", "show_about", "", "Version, credits and the log file",
               "aboutAction"),
)  # fmt: skip

# What the mouse does, listed in the F1 help after the keys.
MOUSE_HELP: tuple[tuple[str, str], ...] = (
    ("Left mouse button", "Draw on the canvas"),
    ("Right mouse button", "Erase on the canvas"),
    ("Mouse wheel, drag", "Zoom and pan the graph; click a node to jump to it"),
    ("Double-click / right-click a graph node", "Expand a box / collapse a module"),
)


def resolve(window: object, dotted: str):
    """What a row's ``slot`` names on ``window`` (AttributeError if nothing)."""
    target = window
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


def build_actions(window: QMainWindow) -> tuple[dict[str, QAction], dict[str, QMenu], QToolBar]:
    """Menus and toolbar of ``window`` from ``ACTIONS``; returns the actions by name, the
    menus by title and the toolbar (for widgets the window adds itself)."""
    actions: dict[str, QAction] = {}
    menus: dict[str, QMenu] = {}
    toolbar = QToolBar("Main", window)
    toolbar.setObjectName("mainToolbar")
    for spec in ACTIONS:
        menu = menus.get(spec.menu)
        if menu is None:
            menu = menus[spec.menu] = window.menuBar().addMenu(spec.menu)
        action = QAction(spec.text, window)
        action.setObjectName(spec.name)
        if spec.keys:
            action.setShortcut(QKeySequence(spec.keys))
        tip = f"{spec.tip} ({spec.keys})" if spec.keys else spec.tip
        action.setStatusTip(spec.tip)
        action.setToolTip(tip)
        action.triggered.connect(lambda _=False, s=spec.slot: resolve(window, s)())
        menu.addAction(action)
        if spec.toolbar:
            toolbar.addAction(action)
        actions[spec.name] = action
    window.addToolBar(toolbar)
    return actions, menus, toolbar


def help_rows() -> list[tuple[str, str]]:
    """(keys, what) for the F1 help: every action with a shortcut, then the mouse."""
    return [(a.keys, a.tip) for a in ACTIONS if a.keys] + list(MOUSE_HELP)
