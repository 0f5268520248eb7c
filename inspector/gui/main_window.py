"""The main window: builds the panels and docks and wires them to the state and the engine.

Data flows one way: input → ``AppState`` → ``Compute`` (the runner thread, the engine) → result
→ panels. This module only connects those; the panels render, ``actions`` makes the menus,
``exports`` writes files, ``persistence`` keeps sessions and settings.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Slot
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
)

from inspector.core.feed.named import input_flags
from inspector.core.files.loading import OpenedModel, bundled_lenet
from inspector.core.forward.results import ForwardResult, ModelLoaded
from inspector.core.forward.summary import first_with_weights, leaf_count, summarize
from inspector.core.model.inputs import TENSOR
from inspector.core.model.nets import LENET_WEIGHTS
from inspector.core.state import AppState, ModelRef
from inspector.gui.actions import build_actions
from inspector.gui.attention.control import AttentionControl
from inspector.gui.compare import Comparer
from inspector.gui.device_control import DeviceControl
from inspector.gui.dialogs import open_message, show_about, show_shortcuts
from inspector.gui.docks import (
    BOTTOM,
    LEFT,
    RIGHT,
    build_docks,
    restore_layout,
    save_layout,
    share_room,
    stacked,
    tab_beside,
)
from inspector.gui.edits.controller import Intervener
from inspector.gui.exports import Exporter
from inspector.gui.graph.backward_control import BackwardControl
from inspector.gui.graph.loss import LossPanel
from inspector.gui.graph.panel import GraphPanel
from inspector.gui.panels.activations import ActivationsPanel
from inspector.gui.panels.canvas import CanvasPanel
from inspector.gui.panels.other_inputs import OtherInputs
from inspector.gui.panels.prediction import PredictionPanel
from inspector.gui.panels.tree import ModuleTreeView, TreePanel
from inspector.gui.panels.weights import WeightsPanel
from inspector.gui.session.opener import ModelOpener, first_message
from inspector.gui.session.persistence import Persistence
from inspector.gui.tour import FirstRunHint
from inspector.gui.training.control import TrainingControl
from inspector.gui.training.panel import TrainingPanel
from inspector.gui.work.collector import collect_on_gui_thread
from inspector.gui.work.compute import Compute
from inspector.gui.work.connection import Connection
from inspector.gui.work.frames import FrameTracker
from inspector.gui.work.submits import Submitter
from inspector.logs import LOG


class MainWindow(QMainWindow):
    """Net Inspector's window. ``MainWindow()`` opens the bundled, trained LeNet on the CPU."""

    def __init__(
        self,
        weights: Path | None = LENET_WEIGHTS,
        device: str = "cpu",
        opened: OpenedModel | None = None,
    ) -> None:
        super().__init__()
        self.collector = collect_on_gui_thread()  # no Qt object freed on the worker thread
        self.setObjectName("mainWindow")
        loaded = opened or bundled_lenet(weights)
        shape = loaded.input.shape if opened is not None else None
        dtype = loaded.input.dtype if opened is not None else None
        self.state = AppState(
            device=device,
            active_device=device,
            model=ModelRef(
                loaded.spec, loaded.weights, shape, False, dtype, input_flags(loaded.inputs)
            ),
        )
        self.last_error: str | None = None
        self.log_path: Path | None = None  # set by app.run once logging is set up
        self._timing_shown_at = 0.0
        self.setWindowTitle(f"Net Inspector — {loaded.name}")
        self.resize(1500, 940)

        self.canvas_panel = CanvasPanel(self.state, loaded.input)
        self.tree = ModuleTreeView()
        summary = summarize(loaded.model)
        self.tree.set_root(summary)
        self.tree_panel = TreePanel(self.tree)
        self.activations = ActivationsPanel()
        self.graph = GraphPanel()
        self.prediction = PredictionPanel()
        self.loss = LossPanel(self.state)
        self.weights = WeightsPanel()
        self.training_panel = TrainingPanel(self.state)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("centralTabs")
        self.tabs.addTab(self.activations, "Activations")
        self.tabs.addTab(self.graph, "Autograd graph")
        self.hint = FirstRunHint(self.state)
        self.setCentralWidget(stacked(self.hint, self.tabs))
        self.docks = build_docks(self, [
            ("canvas", "Drawing", self.canvas_panel, LEFT),
            ("tree", "Modules", self.tree_panel, LEFT),
            ("prediction", "Prediction", self.prediction, RIGHT),
            ("loss", "Loss and backward", self.loss, BOTTOM),  # beside Training
            ("weights", "Weights", self.weights, RIGHT),
            ("training", "Training", self.training_panel, BOTTOM),
        ])  # fmt: skip
        share_room(self, self.docks)
        self._shared_room = False  # again on the first show, in proportion to the screen

        self.compute = Compute(loaded, device)
        self.other_inputs = OtherInputs(self.state, self.compute, self.canvas_panel, loaded.inputs,
                                        lambda: self.submit_input())  # fmt: skip
        shown = (self.tabs, self.graph, self.activations, self.weights)
        self.exporter = Exporter(self.compute, *shown, self)
        self.actions, self.menus, toolbar = build_actions(self)
        self.toolbar = toolbar
        self.actions["exportGraphAction"].setEnabled(False)
        for dock in self.docks.values():
            self.menus["&View"].addAction(dock.toggleViewAction())
        self.devices = DeviceControl(self.state, self.compute, self)
        self.device_combo, self.device_label = self.devices.combo, self.devices.label
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Device: "))
        toolbar.addWidget(self.device_combo)
        self.statusBar().addPermanentWidget(self.device_label)
        self.devices.moved.connect(self._show_again)
        self.timing_label = QLabel("")
        self.timing_label.setObjectName("timingStatus")
        self.statusBar().addPermanentWidget(self.timing_label)
        self.opener = ModelOpener(self.state, self.compute, self)
        self.open_busy = self.opener.busy
        self.opener.failed.connect(lambda sentence: setattr(self, "last_error", sentence))
        # Panels that show each forward result; when all visible ones have painted it, the
        # worker may start on the next input (frame pacing, see gui.runner).
        self.frames = FrameTracker(
            [
                self.canvas_panel.preview,
                self.activations.column,
                self.prediction.plot,
                self.prediction.output_view,
            ],
            lambda: self.compute.shown_request_id,
            self,
        )
        self._wire()
        self.submitter.model_opened(leaf_count(summary), None)  # big or not, before selecting
        self.restored_layout = restore_layout(self)  # the window's own, from last time
        self.persistence.restore_settings()
        self.state.selected_module = first_with_weights(summary)  # the weights show at once
        self._picked = (self.state.selected_module, summary)  # until a forward says it ran
        first = first_message(loaded)
        if first is not None:
            self.show_message(*first)
        self.submit_input()

    def _wire(self) -> None:
        state, compute = self.state, self.compute
        self.submitter = Submitter(state, compute)
        state.on("selected_module", self._on_module_selected)
        state.on("output_index", self.prediction.set_output_index)
        self.tree.moduleSelected.connect(lambda path: setattr(state, "selected_module", path))
        self.tree.clicked.connect(lambda _index: self.hint.layer_clicked())
        self.canvas_panel.input_editor.idsTyped.connect(lambda _ids: self.hint.input_changed())
        self.canvas_panel.random_button.clicked.connect(self._random_pressed)
        self.hint.set_input(self.canvas_panel.input_spec)
        self.prediction.outputChosen.connect(lambda i: setattr(state, "output_index", i))
        self.graph.stepChanged.connect(lambda k: setattr(state, "backward_step", k))
        self.graph.moduleSelected.connect(self.tree.select_path)
        self.graph.savedValueRequested.connect(compute.request_saved_value)
        self.graph.layoutRequested.connect(compute.lay_out)
        self.activations.channelPageChanged.connect(
            lambda page: self.submitter.configure(channel_page=page)
        )
        self.activations.rowsInSight.connect(lambda rows: compute.configure(coloured=rows))
        self.backward = BackwardControl(state, compute, self.loss, self.graph, self.canvas_panel,
                                        lambda: self.open_busy.is_open, self)  # fmt: skip
        self.backward_busy = self.backward.busy
        self.backward.graphShown.connect(self._on_graph_shown)
        self.backward.gradientsChanged.connect(self.refresh_parameters)
        self.backward.weightsChanged.connect(self._show_again)
        self.canvas_panel.warning.connect(lambda text: self.show_message(text, warning=True))
        self.frames.frameShown.connect(lambda _id: compute.frame_shown())
        compute.forwardReady.connect(self.show_result)
        compute.forwardReady.connect(self.collector.busy)
        compute.parametersReady.connect(self.weights.show_parameters)
        compute.savedValueReady.connect(self.graph.show_saved_value)
        compute.viewReady.connect(self.graph.show_view)
        compute.modelLoaded.connect(self._on_model_loaded)
        compute.failed.connect(self._on_failed)
        self.comparer = Comparer(state, compute, self.actions["pinAction"], self.graph, self)
        self.toolbar.addSeparator()
        for widget in self.comparer.widgets:
            self.toolbar.addWidget(widget)
        self.comparer.refresh.connect(self._show_again)
        self.attention = AttentionControl(state, compute, self.tabs, self.frames, self.canvas_panel,
                                          lambda: self.submit_input(), self)  # fmt: skip
        self.intervener = Intervener(state, compute, self.activations,
                                     lambda: self.submit_input(), self)  # fmt: skip
        tab_beside(self, self.intervener.dock, self.docks["weights"])
        self.training = TrainingControl(
            state, compute, self.training_panel, self.canvas_panel.input_spec
        )
        self.statusBar().addPermanentWidget(self.training.bar)
        self.training.showNow.connect(self._show_again)
        self.training.chunkDone.connect(lambda _progress: self.collector.busy())
        self.loss.resetRequested.connect(self.training.reset_weights)
        self.persistence = Persistence(state, compute, self.opener, self.training, self.graph, self)
        self.persistence.refused.connect(lambda sentence: setattr(self, "last_error", sentence))
        # After the Training dock's: its refusal wins.
        self.connection = Connection(state, compute, self.opener, self.training_panel,
                                     self.actions["disconnectAction"], self.windowTitle,
                                     self.setWindowTitle, self)  # fmt: skip
        self.connection.weightsMoved.connect(self._show_again)
        owned = (self.actions["pinAction"], self.actions["updateAction"],  # greyed, not refused
                 self.actions["resetWeightsAction"], self.loss.update_button,
                 self.loss.reset_button, self.loss.lr_spin)  # fmt: skip
        self.connection.localChanged.connect(lambda on: [w.setEnabled(on) for w in owned])
        for helper in (self.devices, self.opener, self.backward, self.canvas_panel,
                       self.comparer, self.training, self.persistence, self.exporter,
                       self.attention, self.intervener, self.connection):  # fmt: skip
            helper.message.connect(self.show_message)

    # -- input → worker -------------------------------------------------------------------
    @Slot()
    def submit_input(self) -> int:
        return self.submitter.submit()

    def _on_module_selected(self, path: str | None) -> None:
        if path is None:
            return
        if self.tree.current_path() != path:
            self.tree.select_path(path)
        self.graph.link_module(path)

    def _random_pressed(self) -> None:
        if self.canvas_panel.input_spec.kind == TENSOR:  # re-rolling is how it changes
            self.hint.input_changed()

    def refresh_parameters(self) -> None:
        """The weights (or their .grad) changed: show the selected module's again."""
        if self.state.selected_module is not None:
            self.compute.select_module(self.state.selected_module)

    def _show_again(self, *_why) -> None:
        """The model moved, or its results now come with A: forward and parameters again."""
        self.submit_input()
        self.refresh_parameters()

    @property
    def last_result(self) -> ForwardResult | None:
        """The forward result shown last (``Compute.last_result``)."""
        return self.compute.last_result

    # -- worker → panels ------------------------------------------------------------------
    @Slot(object)
    def show_result(self, result: ForwardResult) -> None:
        self.canvas_panel.preview.show_input(result.input, result.request_id)
        self.activations.show_result(result)
        self.prediction.show_result(result)
        self.frames.handed()
        self.loss.set_output_shape(result.output.shape)  # the loss's real target, its classes
        self.tree.tree_model.set_shapes(result.module_shapes)
        picked, summary = self._picked
        if picked is not None and result.module_shapes:  # the first pick never ran: the next
            self._picked = (None, None)
            if picked == self.state.selected_module and picked not in result.module_shapes:
                self.state.selected_module = first_with_weights(summary, result.module_shapes)
        now = time.monotonic()
        if now - self._timing_shown_at > 0.25:  # a number changing 100×/s cannot be read
            self._timing_shown_at = now
            self.timing_label.setText(f"forward {result.forward_ms:.1f} ms")
        if result.warnings:
            self.show_message(" ".join(result.warnings), warning=True)

    # -- opening models -------------------------------------------------------------------
    @Slot()
    def choose_model(self) -> None:
        self.opener.choose()

    def open_model(self, ref: ModelRef, from_elsewhere: bool = False) -> int:
        """Ask for ``ref`` (``ModelOpener.request``); returns the worker's token."""
        return self.opener.request(ref, from_elsewhere)

    def restore_session(self, saved, source: str, reuse_model: bool = False) -> int:
        return self.opener.restore(saved, source, reuse_model)

    @Slot(object)
    def _on_model_loaded(self, loaded: ModelLoaded) -> None:
        selected = first_with_weights(loaded.summary)
        self.submitter.model_opened(leaf_count(loaded.summary), selected)
        with self.submitter.held():  # one forward for all of the changes below
            self.collector.refreeze_when_idle()  # the old model may be frozen
            self.setWindowTitle(f"Net Inspector — {loaded.name}")
            self.tree.set_root(loaded.summary)
            self.canvas_panel.set_input_spec(loaded.input)
            self.hint.set_input(loaded.input)
            self.prediction.set_outputs(loaded.output_names)
            self.loss.reset()
            self.graph.clear()
            self.weights.clear()
            self.actions["exportGraphAction"].setEnabled(False)
            with QSignalBlocker(self.tree):
                self.state.update(
                    model=self.opener.asked_for(loaded),
                    selected_module=None,
                    output_index=0,
                    backward_step=None,
                    target_class=0,  # a class every classifier has, until its first result
                )
            self.state.selected_module = selected
            self._picked = (selected, loaded.summary)
            self.submit_input()
        message = f"Opened {loaded.name} in {loaded.load_ms:.0f} ms; input {loaded.input.shape}."
        if loaded.note:
            message = f"{message} {loaded.note}"
        self.show_message(f"{message} {loaded.warning}" if loaded.warning else message,
                          warning=bool(loaded.warning))  # fmt: skip

    # -- backward and weights ---------------------------------------------------------------
    @Slot()
    def run_backward(self) -> int:
        return self.backward.run()

    @Slot()
    def update_weights(self) -> None:
        self.backward.update_weights()

    def _on_graph_shown(self, shown: bool) -> None:
        self.tabs.setCurrentWidget(self.graph if shown else self.activations)
        self.actions["exportGraphAction"].setEnabled(shown)

    # -- messages -----------------------------------------------------------------------------
    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        LOG.warning("%s\n%s", message, details)
        self.show_message(message, warning=True)

    def show_error(self, message: str, details: str) -> None:
        """A non-blocking dialog for an unexpected error; the app goes on."""
        self.last_error = message
        self.show_message(message, warning=True)
        open_message(self,
            QMessageBox.Icon.Critical, "Net Inspector", message,
            f"The app carries on. Details are in the log: {self.log_path}", details, "errorDialog",
        )  # fmt: skip

    def show_message(self, text: str, warning: bool = False) -> None:
        self.statusBar().showMessage(("⚠ " if warning else "") + text, 0 if warning else 8000)

    # -- views and help -------------------------------------------------------------------------
    @Slot()
    def show_activations_tab(self) -> None:
        self.tabs.setCurrentWidget(self.activations)

    @Slot()
    def show_graph_tab(self) -> None:
        self.tabs.setCurrentWidget(self.graph)

    @Slot()
    def show_shortcuts(self) -> None:
        show_shortcuts(self)

    @Slot()
    def show_about(self) -> None:
        show_about(self, self.log_path)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shared_room and not self.restored_layout:
            self._shared_room = True
            share_room(self, self.docks)

    def closeEvent(self, event) -> None:
        self.persistence.closing()
        save_layout(self)
        self.compute.shutdown()
        super().closeEvent(event)
