"""Interventions in the window: the activations' right-click menu, painting into a channel,
the list dock, and keeping the worker's edits in step with ``AppState.interventions``.

Everything an edit changes goes through the state: the menu and the brush write
``interventions``, the list shows it and writes it back, and each change is sent to the
engine (``Compute.set_edits``) before the next forward, which then shows clean | edited |
edited − clean. The window creates this and places its dock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QInputDialog, QMenu, QWidget

from inspector.core.edits.spec import Intervention
from inspector.core.state import AppState
from inspector.gui.edits.list_panel import InterventionList
from inspector.gui.edits.targets import Target, dab, target_of


class Intervener(QObject):
    """Takes the state, the compute, the ``activations`` panel whose menu and brush make the
    edits, ``submit`` (send the input again) and the widget its dialogs belong to; the window
    places ``dock``."""

    message = Signal(str, bool)  # a sentence, whether it is a warning

    def __init__(
        self,
        state: AppState,
        compute,
        activations,
        submit: Callable[[], object],
        dialog_parent: QWidget | None = None,
    ) -> None:
        super().__init__(dialog_parent)
        self.state, self.compute, self.panel = state, compute, activations
        self._submit = submit
        self.list = InterventionList()
        self.dock = QDockWidget("Interventions")
        self.dock.setObjectName("interventionListDock")
        self.dock.setWidget(self.list)
        self.painting: int | None = None  # the index of the paint edit being drawn
        self.menu: QMenu | None = None
        self.sweeper = None  # gui.edits.sweep.Sweeper, made on the first sweep
        column = self.panel.column
        column.contextRequested.connect(self._on_context)
        column.painted.connect(self._on_paint)
        self.list.toggled.connect(self._on_toggled)
        self.list.removed.connect(self.remove)
        self.list.cleared.connect(self.clear)
        self.list.stopPainting.connect(self.stop_painting)
        self.state.on("interventions", self._on_edits)
        self.compute.modelLoaded.connect(self._on_model_loaded)

    # -- the state ------------------------------------------------------------------------------
    def add(self, edit: Intervention) -> int:
        """Append ``edit``; its index in the list (shown: the dock comes to the front)."""
        self.state.interventions = (*self.state.interventions, edit)
        self.dock.raise_()
        return len(self.state.interventions) - 1

    @Slot(int)
    def remove(self, index: int) -> None:
        edits = list(self.state.interventions)
        if 0 <= index < len(edits):
            del edits[index]
            if self.painting is not None:
                if index == self.painting:
                    self.stop_painting()
                elif index < self.painting:
                    self.painting -= 1
            self.state.interventions = tuple(edits)

    @Slot()
    def clear(self) -> None:
        self.stop_painting()
        self.state.interventions = ()

    @Slot(int, bool)
    def _on_toggled(self, index: int, on: bool) -> None:
        edits = list(self.state.interventions)
        if 0 <= index < len(edits) and edits[index].enabled != on:
            edits[index] = dataclasses.replace(edits[index], enabled=on)
            self.state.interventions = tuple(edits)

    def _on_edits(self, edits: tuple[Intervention, ...]) -> None:
        if edits and not self.list.lines():  # a session's too: otherwise behind the weights
            self.dock.raise_()
        self.list.show_edits(edits)
        self.compute.set_edits(tuple(edits))
        self._submit()

    @Slot(object)
    def _on_model_loaded(self, _loaded) -> None:
        """A new engine model has no edits: the listed ones apply where the steps match."""
        self.stop_painting()
        if self.state.interventions:
            self.compute.set_edits(tuple(self.state.interventions))

    # -- the menu -------------------------------------------------------------------------------
    def target(self, row: int, pane: int, pixel) -> Target | None:
        """What row ``row`` of the activations shows under ``pixel`` of ``pane``."""
        result = self.panel.result
        if result is None:
            return None
        comparison = self.panel.comparison
        if comparison is not None:  # the three panes share one layout
            shown = [(s.step, s.heatmap_b) for s in comparison.steps]
        else:  # a row out of sight is tiled here (``StepResult.heatmap``)
            shown = [(s.step, s) for s in result.steps if s.kept]
        if not 0 <= row < len(shown):
            return None
        step, heatmap = shown[row]
        heatmap = heatmap if comparison is not None else heatmap.heatmap
        return target_of(step, heatmap, pixel, self.panel.page_spin.value())

    @Slot(int, int, object, object)
    def _on_context(self, row: int, pane: int, pixel, where) -> None:
        target = self.target(row, pane, pixel)
        if target is None:
            return
        self.menu = self.build_menu(target)
        self.menu.popup(where)

    def build_menu(self, target: Target) -> QMenu:
        """The right-click menu for ``target``; each action's objectName says what it does."""
        menu = QMenu(self.panel)
        menu.setObjectName("interventionMenu")
        step = f"{target.step.index + 1}. {target.step.label}"
        part = ""
        if target.channel is not None:
            part = f" channel {target.channel}"
        elif target.position is not None:
            part = f" position {target.position}"

        def item(name: str, text: str, run) -> QAction:
            action = menu.addAction(text)
            action.setObjectName(name)
            action.triggered.connect(run)
            return action

        if target.channel is not None:
            item("zeroChannelAction", f"Zero this channel ({target.channel})",
                 lambda: self.add(target.edit("zero")))  # fmt: skip
        item("zeroStepAction", f"Zero this step ({step})",
             lambda: self.add(target.edit("zero", whole=True)))  # fmt: skip
        item("scaleAction", f"Scale{part}…", lambda: self._ask(target, "scale"))
        item("setAction", f"Set{part} to…", lambda: self._ask(target, "set"))
        item("clampAction", f"Clamp{part}…", lambda: self._ask(target, "clamp"))
        if self.state.pin is not None:
            item("patchAction", f"Patch{part or ' this step'} from A",
                 lambda: self.add(target.edit("patch")))  # fmt: skip
            if len(target.step.shape) == 3:
                item("sweepAction", "Patch every position of this step…",
                     lambda: self.sweep(target))  # fmt: skip
        if target.can_paint:
            item("paintAction", f"Paint on this channel ({target.channel})",
                 lambda: self.start_painting(target))  # fmt: skip
        return menu

    def ask_number(self, title: str, label: str, value: float) -> float | None:
        number, ok = QInputDialog.getDouble(self.panel, title, label, value, -1e9, 1e9, 4)
        return number if ok else None

    def _ask(self, target: Target, action: str) -> None:
        if action == "clamp":
            low = self.ask_number("Clamp", "Lowest value:", 0.0)
            high = None if low is None else self.ask_number("Clamp", "Highest value:", 1.0)
            if high is None:
                return
            self.add(target.edit("clamp", (min(low, high), max(low, high))))
            return
        text = {"scale": ("Scale", "Multiply by:", 0.0), "set": ("Set", "Set every value to:", 0.0)}
        number = self.ask_number(*text[action])
        if number is not None:
            self.add(target.edit(action, number))

    # -- painting -------------------------------------------------------------------------------
    def start_painting(self, target: Target) -> None:
        """Add a paint edit on ``target``'s channel; the brush then draws into that row."""
        index = self.add(target.edit("paint"))
        self.painting = index
        self.paint_target = target
        self.panel.column.painting_row = self._row_of(target.step.index)
        self.list.set_painting(True)
        self.message.emit(
            f"Painting on {target.step.label} channel {target.channel}: drag in its tile to add "
            f"{self.list.amount.value():g} per dab, the right button or Shift erases.",
            False,
        )

    def _row_of(self, step_index: int) -> int | None:
        comparison = self.panel.comparison
        if comparison is not None:
            steps = [s.step.index for s in comparison.steps]
        else:
            steps = [s.step.index for s in self.panel.result.steps if s.kept]
        return steps.index(step_index) if step_index in steps else None

    @Slot()
    def stop_painting(self) -> None:
        self.painting = None
        self.panel.column.painting_row = None
        self.list.set_painting(False)

    @Slot(int, int, object, bool)
    def _on_paint(self, row: int, pane: int, pixel, erase: bool) -> None:
        if self.painting is None or self.painting >= len(self.state.interventions):
            return
        target = self.target(row, pane, pixel)
        edit = self.state.interventions[self.painting]
        if target is None or target.channel != edit.channel or target.at is None:
            return
        delta = dab(edit.delta, target.at, self.list.amount.value(), erase)
        painted = dataclasses.replace(edit, delta=delta, revision=edit.revision + 1)
        edits = list(self.state.interventions)
        edits[self.painting] = painted
        self.state.interventions = tuple(edits)

    # -- the sweep ------------------------------------------------------------------------------
    def sweep(self, target: Target) -> None:
        from inspector.gui.edits.sweep import Sweeper

        if self.sweeper is None:
            self.sweeper = Sweeper(self.state, self.compute, self.parent())
        self.sweeper.start(target.step)
