"""The main window: docks for the canvas, module tree, activations, prediction and weights."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QTabWidget,
    QToolBar,
    QWidget,
)

from ..core.devices import available_devices
from ..core.inference import MAX_KEPT_STEPS
from ..core.inputs import InputSpec
from ..core.loading import OpenedModel, bundled_lenet
from ..core.nets import LENET_WEIGHTS, lenet_card
from ..core.results import (
    BackwardResult,
    DeviceResult,
    ForwardResult,
    ModelLoaded,
    ParametersResult,
    UpdateResult,
)
from ..core.summary import summarize
from ..logs import LOG
from .activations_panel import ActivationsPanel
from .canvas_panel import CanvasPanel
from .graph_export import export_graph as write_graph
from .graph_panel import GraphPanel
from .loss_panel import LossPanel
from .open_dialog import OpenModelDialog, OpenRequest
from .persistence import Persistence
from .prediction_panel import PredictionPanel
from .session import Session
from .tree_panel import ModuleTreeView, TreePanel
from .weights_panel import WeightsPanel

SHORTCUTS = [
    ("Left mouse button", "Draw on the canvas"),
    ("Right mouse button", "Erase on the canvas"),
    ("Ctrl+Z", "Undo the last stroke"),
    ("Delete", "Clear the canvas"),
    ("Ctrl+R", "Random input (torch.randn)"),
    ("Ctrl+O", "Open a model (file.py:Name, TorchScript, .pt2) and its weights"),
    ("Ctrl+I", "Load a digit image"),
    ("Ctrl+B", "Backward: record the autograd graph of the loss"),
    ("Space", "Step to the next node of the backward pass"),
    ("Shift+Space", "Step back"),
    ("Ctrl+U", "Update weights (one SGD step)"),
    ("Ctrl+S / Ctrl+Shift+O", "Save / open a session (drawing, model, weights, backward step)"),
    ("Ctrl+E", "Export the graph, or the activations (PNG, .npy)"),
    ("Ctrl+1 / Ctrl+2", "Activations / Autograd graph tab"),
    ("Mouse wheel, drag", "Zoom and pan the graph; click a node to jump to it"),
    ("F1", "Keyboard shortcuts"),
    ("Ctrl+Q", "Quit"),
]


class MainWindow(QMainWindow):
    """Net Inspector's window. ``MainWindow()`` opens the bundled, trained LeNet on the CPU."""

    def __init__(
        self,
        weights: Path | None = LENET_WEIGHTS,
        device: str = "cpu",
        opened: OpenedModel | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        loaded = opened or bundled_lenet(weights)
        self.input_spec: InputSpec = loaded.input
        self.last_open: OpenRequest | None = None
        self.current_open = OpenRequest(loaded.spec, loaded.weights, None, False)
        self.last_error: str | None = None
        self._progress: QProgressDialog | None = None
        self._backward_progress: QProgressDialog | None = None
        self.log_path: Path | None = None  # set by app.run once logging is set up
        self.setWindowTitle(f"Net Inspector — {loaded.name}")
        self.resize(1500, 940)
        self.last_result: ForwardResult | None = None
        self._timing_shown_at = 0.0

        self.canvas_panel = CanvasPanel()
        self.canvas_panel.set_input_spec(loaded.input)
        self.tree = ModuleTreeView()
        self.tree.set_root(summarize(loaded.model))
        self.tree_panel = TreePanel(self.tree)
        self.activations = ActivationsPanel()
        self.graph = GraphPanel()
        self.prediction = PredictionPanel()
        self.loss = LossPanel()
        self.weights = WeightsPanel()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("centralTabs")
        self.tabs.addTab(self.activations, "Activations")
        self.tabs.addTab(self.graph, "Autograd graph")
        self.setCentralWidget(self.tabs)
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.docks = {
            "canvas": self._dock("Drawing", self.canvas_panel, left),
            "tree": self._dock("Modules", self.tree_panel, left),
            "prediction": self._dock("Prediction", self.prediction, right),
            "loss": self._dock("Loss and backward", self.loss, right),
            "weights": self._dock("Weights", self.weights, right),
        }
        self.resizeDocks(
            [self.docks["canvas"], self.docks["prediction"]], [370, 380], Qt.Orientation.Horizontal
        )
        self.resizeDocks(
            [self.docks["canvas"], self.docks["tree"]], [470, 330], Qt.Orientation.Vertical
        )
        self.resizeDocks(
            [self.docks["prediction"], self.docks["loss"], self.docks["weights"]],
            [230, 200, 470],
            Qt.Orientation.Vertical,
        )

        self.device_combo = QComboBox()
        self.device_combo.setObjectName("deviceCombo")
        self.device_combo.setToolTip("The device the model runs on")
        self.device_combo.addItems(available_devices())
        self.device_combo.setCurrentText(device)
        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.addWidget(QLabel(" Device: "))
        toolbar.addWidget(self.device_combo)
        self.addToolBar(toolbar)
        self.device_label = QLabel(device)
        self.device_label.setObjectName("deviceStatus")
        self.timing_label = QLabel("")
        self.timing_label.setObjectName("timingStatus")
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().addPermanentWidget(self.timing_label)

        self.session = Session(loaded.model, device)
        self.persistence = Persistence(self)
        self._build_menus()
        self.session.forwardReady.connect(self.show_result)
        self.session.parametersReady.connect(self.show_parameters)
        self.session.deviceChanged.connect(self._on_device_changed)
        self.session.failed.connect(self._on_failed)
        self.session.backwardReady.connect(self.show_backward)
        self.session.weightsUpdated.connect(self._on_weights_updated)
        self.session.modelLoaded.connect(self._on_model_loaded)
        self.session.loadFailed.connect(self._on_load_failed)
        self.session.workCancelled.connect(self._on_work_cancelled)
        self.prediction.outputChosen.connect(self._on_output_chosen)
        self.activations.channelPageChanged.connect(self._on_channel_page)
        self.loss.backwardRequested.connect(self.run_backward)
        self.loss.updateRequested.connect(self.session.update_weights)
        self.loss.resetRequested.connect(self.session.reset_weights)
        self.graph.moduleSelected.connect(self._on_graph_module_selected)
        self.graph.savedValueRequested.connect(self.session.request_saved_value)
        self.session.savedValueReady.connect(self.graph.show_saved_value)
        self.tree.moduleSelected.connect(self._link_module_to_graph)
        # Panels that show each forward result; when all visible ones have painted it, the
        # worker may start on the next input (frame pacing, see InferenceWorker).
        self.frame_panels = [
            self.canvas_panel.preview,
            self.activations.column,
            self.prediction.plot,
            self.prediction.output_view,
        ]
        for panel in self.frame_panels:
            panel.on_painted = self._on_panel_painted
        self.canvas_panel.inputChanged.connect(self.submit_input)
        self.canvas_panel.message.connect(self.show_message)
        self.tree.moduleSelected.connect(self.session.select_module)
        self.tree.moduleSelected.connect(self._focus_activations)
        self.device_combo.currentTextChanged.connect(self._on_device_picked)

        if opened is not None:
            self.session.update_settings(input=loaded.input)
            self.current_open = OpenRequest(loaded.spec, loaded.weights, loaded.input.shape, False)
        self.persistence.restore_settings()
        if loaded.warning:
            self.show_message(loaded.warning, warning=True)
        elif loaded.spec == "lenet":
            accuracy = lenet_card().get("test_accuracy")
            if accuracy:
                self.show_message(f"{loaded.name}: {accuracy:.2%} on the MNIST test set. Draw!")
        self.submit_input()

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{widget.objectName()}Dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_menus(self) -> None:
        def action(menu, text, slot, shortcut=None, tip=""):
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.setStatusTip(tip)
            act.triggered.connect(slot)
            menu.addAction(act)
            return act

        file_menu = self.menuBar().addMenu("&File")
        action(
            file_menu,
            "&Open Model…",
            self.choose_model,
            QKeySequence.StandardKey.Open,
            "Open a model: file.py:Name, TorchScript, torch.export .pt2, with weights",
        )
        action(
            file_menu,
            "Load &Image…",
            self.canvas_panel._choose_image,
            "Ctrl+I",
            "Load a digit image onto the canvas",
        )
        file_menu.addSeparator()
        action(
            file_menu,
            "&Save Session…",
            self.choose_session_to_save,
            QKeySequence.StandardKey.Save,
            "One file with the drawing, model, selection, loss, backward step and weights",
        )
        action(
            file_menu,
            "Open Se&ssion…",
            self.choose_session_to_open,
            "Ctrl+Shift+O",
            "Go back to a saved session",
        )
        file_menu.addSeparator()
        action(
            file_menu,
            "&Export…",
            self.export_current,
            "Ctrl+E",
            "The graph (JSON, DOT, SVG, PNG) on the graph tab, else the activations (PNG, .npy)",
        )
        self.export_action = action(
            file_menu,
            "Export &Graph…",
            self.export_graph,
            None,
            "Write the autograd graph as JSON, DOT, SVG or PNG",
        )
        self.export_action.setEnabled(False)
        action(
            file_menu,
            "Export &Activations…",
            self.export_activations,
            None,
            "The activations panel as shown (PNG) or the selected step's tensor (.npy)",
        )
        action(
            file_menu,
            "Export &Weights…",
            self.export_weights,
            None,
            "The weights panel as shown (PNG) or the first parameter (.npy)",
        )
        action(file_menu, "Export &Window as PNG…", self.export_window)
        file_menu.addSeparator()
        action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        edit_menu = self.menuBar().addMenu("&Edit")
        action(
            edit_menu, "&Undo Stroke", self.canvas_panel.canvas.undo, QKeySequence.StandardKey.Undo
        )
        action(edit_menu, "&Clear Canvas", self.canvas_panel.canvas.clear, Qt.Key.Key_Delete)
        action(
            edit_menu,
            "&Random Input",
            self.canvas_panel.on_random_clicked,
            "Ctrl+R",
            "Feed torch.randn(1, 1, 32, 32) as the tutorial does",
        )
        backward_menu = self.menuBar().addMenu("&Backward")
        action(
            backward_menu,
            "&Backward",
            self.run_backward,
            "Ctrl+B",
            "Record the autograd graph of the loss on the current input",
        )
        action(backward_menu, "&Step", self.graph.step, Qt.Key.Key_Space)
        action(backward_menu, "Step B&ack", self.graph.back, QKeySequence("Shift+Space"))
        action(backward_menu, "&Play / Pause", self.graph.toggle_play, "Ctrl+P")
        action(backward_menu, "&Reset Stepping", self.graph.reset)
        backward_menu.addSeparator()
        action(
            backward_menu,
            "&Update Weights",
            lambda: self.session.update_weights(self.loss.lr_spin.value()),
            "Ctrl+U",
            "One SGD step: p -= lr * p.grad",
        )
        action(backward_menu, "Rese&t Weights", self.session.reset_weights)
        view_menu = self.menuBar().addMenu("&View")
        action(view_menu, "&Activations", lambda: self.tabs.setCurrentIndex(0), "Ctrl+1")
        action(view_menu, "Autograd &Graph", lambda: self.tabs.setCurrentIndex(1), "Ctrl+2")
        view_menu.addSeparator()
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        help_menu = self.menuBar().addMenu("&Help")
        action(
            help_menu,
            "&Keyboard Shortcuts",
            self.show_shortcuts,
            QKeySequence.StandardKey.HelpContents,
        )
        action(help_menu, "&About", self.show_about)

    # -- input → worker -------------------------------------------------------------------
    @Slot()
    def submit_input(self) -> int:
        return self.session.submit(self.canvas_panel.canvas.drawing, self.canvas_panel.raw_input)

    @Slot(str)
    def _focus_activations(self, path: str) -> None:
        """A big model shows the selected module's steps (a small one shows them all)."""
        result = self.last_result
        big = result is not None and result.total_steps > MAX_KEPT_STEPS
        self.session.update_settings(focus=path if big else "")
        if big:
            self.submit_input()

    # -- worker → panels ------------------------------------------------------------------
    @Slot(object)
    def show_result(self, result: ForwardResult) -> None:
        self.last_result = result
        self.canvas_panel.preview.show_input(result.input, result.request_id)
        self.activations.show_result(result)
        self.prediction.show_result(result)
        if result.probabilities is not None:  # the target class must be one of the outputs
            self.loss.set_classes(len(result.probabilities))
        self.tree.tree_model.set_shapes(result.module_shapes)
        now = time.monotonic()
        if now - self._timing_shown_at > 0.25:  # a number changing 100×/s cannot be read
            self._timing_shown_at = now
            self.timing_label.setText(f"forward {result.forward_ms:.1f} ms")
        if result.warnings:
            self.show_message(" ".join(result.warnings), warning=True)

    def _on_panel_painted(self, _panel) -> None:
        shown = self.session.shown_request_id
        visible = [p for p in self.frame_panels if p.isVisible()]
        if all(p.painted_request_id >= shown for p in visible):
            self.session.frame_shown()

    @Slot(object)
    def show_parameters(self, result: ParametersResult) -> None:
        self.weights.show_parameters(result)

    # -- opening models -------------------------------------------------------------------
    @Slot()
    def choose_model(self) -> None:
        dialog = OpenModelDialog(self, self.last_open)
        if dialog.exec() == OpenModelDialog.DialogCode.Accepted and dialog.request is not None:
            self.open_model(dialog.request)

    def open_model(self, request: OpenRequest) -> None:
        """Open a model on the worker; the current one stays until the new one works."""
        self.last_open = request
        self.session.open_model(request.spec, request.weights, request.trust, request.input_shape)
        self._progress = QProgressDialog(f"Opening {request.spec}…", "Cancel", 0, 0, self)
        self._progress.setObjectName("openProgress")
        self._progress.setWindowTitle("Opening model")
        self._progress.setValue(0)  # else the show timer keeps Qt's default 4 s
        self._progress.setMinimumDuration(300)  # quick loads never flash a dialog
        self._progress.canceled.connect(self._cancel_open)
        self.show_message(f"Opening {request.spec}…")

    @Slot()
    def _cancel_open(self) -> None:
        self.session.cancel_load()
        self._close_progress()
        self.show_message("Opening cancelled; the previous model is still loaded.")

    def _close_progress(self) -> None:
        if self._progress is not None:
            self._progress.canceled.disconnect(self._cancel_open)
            self._progress.close()
            self._progress.deleteLater()  # a child of the window: it would outlive every open
            self._progress = None

    @Slot(object)
    def _on_model_loaded(self, loaded: ModelLoaded) -> None:
        self._close_progress()
        if self.last_open is not None:
            self.current_open = self.last_open
        self.input_spec = loaded.input
        self.setWindowTitle(f"Net Inspector — {loaded.name}")
        self.tree.set_root(loaded.summary)
        self.canvas_panel.set_input_spec(loaded.input)
        self.prediction.set_outputs(loaded.output_names)
        self.graph.clear()
        self.weights.clear()
        self.export_action.setEnabled(False)
        self.last_result = None
        self.submit_input()
        message = f"Opened {loaded.name} in {loaded.load_ms:.0f} ms; input {loaded.input.shape}."
        if loaded.warning:
            self.show_message(f"{message} {loaded.warning}", warning=True)
        else:
            self.show_message(message)

    @Slot(str, str)
    def _on_load_failed(self, message: str, details: str) -> None:
        self._close_progress()
        self.last_error = message
        self.show_message(f"{message} The previous model is still loaded.", warning=True)
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Could not open the model",
            message,
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("loadErrorDialog")
        box.setInformativeText("The previous model is still loaded.")
        box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # window-modal but not blocking: the app keeps running

    @Slot(int)
    def _on_output_chosen(self, index: int) -> None:
        self.session.update_settings(output_index=index)
        self.submit_input()

    @Slot(int)
    def _on_channel_page(self, page: int) -> None:
        self.session.update_settings(channel_page=page)
        self.submit_input()

    # -- backward -------------------------------------------------------------------------
    @Slot()
    def run_backward(self) -> int:
        self.show_message("Running backward…")
        request_id = self.session.run_backward(
            self.canvas_panel.canvas.drawing,
            self.canvas_panel.raw_input,
            self.loss.spec(),
            self.loss.zero_grad.isChecked(),
        )
        self._close_backward_progress()
        progress = QProgressDialog("Recording the backward pass…", "Cancel", 0, 0, self)
        progress.setObjectName("backwardProgress")
        progress.setWindowTitle("Backward")
        progress.setValue(0)  # else the show timer keeps Qt's default 4 s
        progress.setMinimumDuration(400)  # a LeNet's 15 ms never shows it; a big model's does
        progress.canceled.connect(self.session.cancel_work)
        self._backward_progress = progress
        return request_id

    def _close_backward_progress(self) -> None:
        progress, self._backward_progress = self._backward_progress, None
        if progress is not None:
            progress.canceled.disconnect(self.session.cancel_work)
            progress.close()
            progress.deleteLater()

    @Slot(str)
    def _on_work_cancelled(self, kind: str) -> None:
        self._close_backward_progress()
        self.show_message(
            "Backward cancelled; the graph and gradients shown are the previous ones."
        )

    @Slot(object)
    def show_backward(self, result: BackwardResult) -> None:
        self._close_backward_progress()
        started = time.perf_counter()
        record = result.record
        self.graph.show_backward(result)
        self.tabs.setCurrentWidget(self.graph)
        self.loss.show_loss(record.loss_value, record.loss)
        self.canvas_panel.set_input_gradient(record.input_grad)
        self.export_action.setEnabled(True)
        if self.session.selected_module is not None:  # the weights panel can show .grad now
            self.session.select_module(self.session.selected_module)
        scene_ms = (time.perf_counter() - started) * 1000
        t = result.timings_ms
        self.show_message(
            f"{len(record.graph.nodes)} autograd nodes, loss {record.loss_value:.4f} "
            f"(backward {t['backward_ms']:.0f} ms, layout {t['layout_ms']:.0f} ms, "
            f"drawing {scene_ms:.0f} ms). Space steps through the engine's order."
        )

    @Slot(object)
    def _on_weights_updated(self, result: UpdateResult) -> None:
        self.show_message(result.message)
        self.submit_input()  # the activations and prediction follow the new weights
        if self.session.selected_module is not None:
            self.session.select_module(self.session.selected_module)

    @Slot(str)
    def _on_graph_module_selected(self, module: str) -> None:
        self.tree.select_path(module)

    @Slot(str)
    def _link_module_to_graph(self, path: str) -> None:
        scene = self.graph.scene
        if scene is None:
            return
        if not path:  # the model itself: every node would light up, which says nothing
            scene.link_nodes(set())
            return
        inside = {
            n.id for n in scene.graph.nodes if n.module == path or n.module.startswith(path + ".")
        }
        scene.link_nodes(inside)

    @Slot()
    def export_graph(self) -> None:
        record = self.graph.stepper.record if self.graph.stepper else None
        if record is None:
            self.show_message("Nothing to export yet: press Backward first.", warning=True)
            return
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export autograd graph",
            "autograd_graph.svg",
            "SVG (*.svg);;PNG (*.png);;JSON (*.json);;Graphviz DOT (*.dot)",
        )
        if not path:
            return
        try:
            fmt = write_graph(record, self.graph.scene, Path(path))
        except (OSError, ValueError) as exc:
            self.show_message(f"Could not export to {Path(path).name}: {exc}", warning=True)
            return
        self.show_message(f"Exported the graph as {fmt.upper()} to {path}.")

    @Slot(str)
    def _on_device_picked(self, device: str) -> None:
        if device and device != self.session.device:
            self.show_message(f"Moving the model to {device}…")
            self.session.set_device(device)

    @Slot(object)
    def _on_device_changed(self, result: DeviceResult) -> None:
        self.device_label.setText(result.device)
        if self.device_combo.currentText() != result.device:
            blocked = self.device_combo.blockSignals(True)
            self.device_combo.setCurrentText(result.device)
            self.device_combo.blockSignals(blocked)
        if result.ok:
            self.show_message(f"Running on {result.device}.")
            self.submit_input()
            if self.session.selected_module is not None:
                self.session.select_module(self.session.selected_module)
        else:
            self.show_message(result.message, warning=True)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self._close_backward_progress()
        LOG.warning("%s\n%s", message, details)
        self.show_message(message, warning=True)

    def show_error(self, message: str, details: str) -> None:
        """A non-blocking dialog for an unexpected error; the app goes on."""
        self.last_error = message
        self.show_message(message, warning=True)
        box = QMessageBox(
            QMessageBox.Icon.Critical, "Net Inspector", message, QMessageBox.StandardButton.Ok, self
        )
        box.setObjectName("errorDialog")
        box.setInformativeText(f"The app carries on. Details are in the log: {self.log_path}")
        box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def show_message(self, text: str, warning: bool = False) -> None:
        self.statusBar().showMessage(("⚠ " if warning else "") + text, 0 if warning else 8000)

    # -- help -----------------------------------------------------------------------------
    @Slot()
    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in SHORTCUTS)
        box = QMessageBox(
            QMessageBox.Icon.NoIcon,
            "Keyboard shortcuts",
            f"<table>{rows}</table>",
            QMessageBox.StandardButton.Close,
            self,
        )
        box.setModal(False)
        box.show()

    @Slot()
    def show_about(self) -> None:
        from .. import __version__

        QMessageBox.about(
            self,
            "About Net Inspector",
            f"Net Inspector {__version__}<br>Look inside a PyTorch network while it "
            "runs.<br>Bundled weights trained on MNIST (LeCun, Cortes, Burges)."
            + (f"<br><br>Log file: {self.log_path}" if self.log_path else ""),
        )

    # -- sessions and exports ---------------------------------------------------------------
    @Slot()
    def choose_session_to_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(  # asks before overwriting
            self, "Save session", "session.netinspector", "Net Inspector session (*.netinspector)"
        )
        if path:
            self.persistence.save_session(Path(path))

    @Slot()
    def choose_session_to_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open session", "", "Net Inspector session (*.netinspector);;All files (*)"
        )
        if path:
            self.persistence.open_session(Path(path))

    @Slot()
    def export_current(self) -> None:
        if self.tabs.currentWidget() is self.graph and self.graph.stepper is not None:
            self.export_graph()
        else:
            self.export_activations()

    def _ask_export_path(self, title: str, name: str, filters: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, title, name, filters)
        return Path(path) if path else None

    @Slot()
    def export_activations(self) -> None:
        path = self._ask_export_path(
            "Export activations", "activations.png", "PNG image (*.png);;NumPy array (*.npy)"
        )
        if path is not None:
            self.write_activations(path)

    def write_activations(self, path: Path, step: int = 0) -> bool:
        """The panel as shown (``.png``) or one step's values (``.npy``, step ``step``)."""
        result = self.last_result
        if path.suffix == ".npy":
            if result is None or not result.steps:
                return False
            values = result.steps[min(step, len(result.steps) - 1)].heatmap.image
            return self._write_npy(path, values)
        return self._write_png(path, self.activations.column.grab())

    @Slot()
    def export_weights(self) -> None:
        path = self._ask_export_path(
            "Export weights", "weights.png", "PNG image (*.png);;NumPy array (*.npy)"
        )
        if path is None:
            return
        if path.suffix == ".npy":
            result = self.weights.result
            if result is None or not result.parameters:
                self.show_message("Select a module with parameters first.", warning=True)
                return
            self._write_npy(path, result.parameters[0].values)
        else:
            self._write_png(path, self.weights.view.grab())

    @Slot()
    def export_window(self) -> None:
        path = self._ask_export_path("Export window", "net-inspector.png", "PNG image (*.png)")
        if path is not None:
            self._write_png(path, self.grab())

    def _write_png(self, path: Path, pixmap) -> bool:
        tmp = path.with_name(f".{path.stem}.partial.png")
        if not pixmap.save(str(tmp), "PNG"):
            self.show_message(f"Could not write {path.name}.", warning=True)
            return False
        tmp.replace(path)
        self.show_message(f"Wrote {path}.")
        return True

    def _write_npy(self, path: Path, values: np.ndarray) -> bool:
        tmp = path.with_name(f".{path.stem}.partial.npy")
        try:
            np.save(tmp, np.asarray(values), allow_pickle=False)
            tmp.replace(path)
        except OSError as exc:
            self.show_message(f"Could not write {path.name}: {exc}", warning=True)
            return False
        self.show_message(f"Wrote {path}.")
        return True

    def closeEvent(self, event) -> None:
        self.persistence.closing()
        self.session.shutdown()
        super().closeEvent(event)
