"""The attention view: every head of the selected attention layer, one head large with its
tokens, and for a vision transformer where a token looks in the image and the rollout.

Fed ``ForwardResult.attention`` (``core.attention``) with each forward; pictures come from
``core.attention_view`` (numpy). Comparing, the grid is A | B | B − A, one row per head.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from inspector.core.forward import attention_view as view
from inspector.core.forward.results import ForwardResult
from inspector.gui.attention.image_view import AttentionImage

NO_ATTENTION = (
    "No attention layer ran: the view shows nn.MultiheadAttention, "
    "F.scaled_dot_product_attention (Hugging Face's sdpa) and eager softmax attention."
)


class AttentionPanel(QWidget):
    """``patchMapChanged``: the selected token's attention over the network's input image,
    ``[H, W]`` in 0-1 (None: not an image model), for the drawing canvas to lay over itself.
    ``zeroHeadRequested(module, head)``: the seam for interventions (what-if), emitted by the
    head view's context action once ``allow_head_edits`` turned it on."""

    patchMapChanged = Signal(object)
    zeroHeadRequested = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attentionView")
        self.result: ForwardResult | None = None
        self.selected_module: str | None = None
        self.layer_module = ""  # the layer shown, kept across results by name
        self.head = 0  # the head shown large
        self.query = 0  # the token whose attention the patch maps show (0: the class token)
        self.grid: view.HeadGrid | None = None
        self.detail: view.HeadGrid | None = None
        self.labels: list[str] = []
        self.patches: view.PatchGrid | None = None
        self.index: int | None = None  # the layer shown, in result.attention
        self._listed: tuple = ()

        self.layer_combo = QComboBox()
        self.layer_combo.setObjectName("attentionLayerCombo")
        self.layer_combo.setToolTip("The attention layers inside the module selected in the tree")
        self.layer_combo.activated.connect(self._on_layer_chosen)
        self.mean_check = QCheckBox("Mean of heads")
        self.mean_check.setObjectName("attentionMeanCheck")
        self.mean_check.setChecked(True)
        self.mean_check.setToolTip("The patch map: the heads' mean, or the head shown large")
        self.mean_check.toggled.connect(lambda _on: self.refresh())
        self.own_scale = QCheckBox("Each head its own scale")
        self.own_scale.setObjectName("attentionOwnScaleCheck")
        self.own_scale.setToolTip(
            "Colour each head from 0 to its own largest weight, so heads that spread their "
            "attention thinly show their pattern too (off: all from 0 to the layer's largest)"
        )
        self.own_scale.setChecked(True)  # a layer's one sharp head would leave the rest dark
        self.own_scale.toggled.connect(lambda _on: self.refresh())
        self.over_drawing = QCheckBox("Over the drawing")
        self.over_drawing.setObjectName("attentionOverDrawingCheck")
        self.over_drawing.setChecked(True)
        self.over_drawing.setToolTip("A vision transformer: the patch map over the canvas too")
        self.allow_head_edits = False  # set by whoever answers zeroHeadRequested
        self.panes_label = QLabel("")
        self.panes_label.setObjectName("attentionPanesLabel")
        self.readout = QLabel(
            "Each tile is a head, head 0 first in reading order: hover one to read query, key "
            "and weight, click it to see it large."
        )
        self.readout.setObjectName("attentionReadout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.heads = AttentionImage()
        self.heads.setObjectName("attentionHeads")
        self.heads.note = NO_ATTENTION
        self.head_view = AttentionImage(min_side=120)
        self.head_view.setObjectName("attentionHead")
        self.head_title = QLabel("")
        self.head_title.setObjectName("attentionHeadTitle")
        self.patch_view = AttentionImage(min_side=80)
        self.patch_view.setObjectName("attentionPatchMap")
        self.rollout_view = AttentionImage(min_side=80)
        self.rollout_view.setObjectName("attentionRollout")
        self.patch_title, self.rollout_title = QLabel(""), QLabel("")

        header = QHBoxLayout()
        header.addWidget(QLabel("Layer"))
        header.addWidget(self.layer_combo, 1)
        header.addWidget(self.own_scale)
        header.addWidget(self.mean_check)
        header.addWidget(self.over_drawing)
        right = QVBoxLayout()
        right.addWidget(self.head_title)
        right.addWidget(self.head_view, 3)
        self.vision = QWidget()
        vision = QHBoxLayout(self.vision)
        vision.setContentsMargins(0, 0, 0, 0)
        for title, image in ((self.patch_title, self.patch_view),
                             (self.rollout_title, self.rollout_view)):  # fmt: skip
            column = QVBoxLayout()
            title.setWordWrap(True)
            column.addWidget(title)
            column.addWidget(image, 1)
            vision.addLayout(column)
        right.addWidget(self.vision, 2)
        side = QWidget()
        side.setLayout(right)
        split = QSplitter()
        split.addWidget(self.heads)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([600, 400])  # the heads take the larger share from the start
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(header)
        layout.addWidget(self.panes_label)
        layout.addWidget(self.readout)
        layout.addWidget(split, 1)
        self.vision.setVisible(False)

        self.heads.resized.connect(self._on_grid_resized)
        self.heads.hovered.connect(self._on_grid_hover)
        self.heads.clicked.connect(self._on_grid_click)
        self.head_view.hovered.connect(self._on_head_hover)
        self.head_view.clicked.connect(lambda row, _col: self._choose_query(row))
        self.patch_view.clicked.connect(self._on_patch_click)
        self.rollout_view.clicked.connect(self._on_patch_click)
        self.head_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.head_view.customContextMenuRequested.connect(self._head_menu)

    # -- input -------------------------------------------------------------------------------
    @property
    def shown_request_id(self) -> int:
        return self.heads.shown_request_id

    def show_result(self, result: ForwardResult) -> None:
        self.result = result
        self.heads.shown_request_id = result.request_id
        self.refresh()

    def select_module(self, path: str | None) -> None:
        """The tree's selection: its first attention layer is shown."""
        self.selected_module = path
        if self.result is not None and self.result.attention:
            indices = view.maps_in(self.result.attention, path)
            self.layer_module = self.result.attention[indices[0]].module
            self.refresh()

    def _on_layer_chosen(self, row: int) -> None:
        module = self.layer_combo.itemData(row)
        if module is not None:
            self.layer_module = module
            self.refresh()

    # -- what is shown -----------------------------------------------------------------------
    def _layer(self) -> int | None:
        """The index of the map shown, among ``result.attention``; the combo lists the maps in
        the selected module (filled again only when that list changes)."""
        maps = self.result.attention if self.result is not None else ()
        if not maps:
            return None
        indices = view.maps_in(maps, self.selected_module)
        chosen = [i for i in indices if maps[i].module == self.layer_module]
        index = chosen[0] if chosen else indices[0]
        self.layer_module = maps[index].module
        listed = tuple((i, maps[i].module, maps[i].probs.shape) for i in indices)
        with QSignalBlocker(self.layer_combo):
            if listed != self._listed:
                self._listed = listed
                self.layer_combo.clear()
                for i, module, (_, heads, queries, keys) in listed:
                    text = f"{i + 1}. {module or '(model)'} · {heads} heads, {queries}×{keys}"
                    self.layer_combo.addItem(text, module)
            self.layer_combo.setCurrentIndex(indices.index(index))
        return index

    def pane_names(self) -> tuple[str, str, str]:
        """Compare's A | B | B − A, or clean | edited | edited − clean under interventions."""
        if self.result is not None and getattr(self.result, "edits", ()):
            return ("clean", "edited", "edited − clean")
        return ("A (pinned)", "B (now)", "B − A")

    def _compared(self, index: int) -> np.ndarray | None:
        """A's map of the same layer, when comparing and it has the same shape."""
        c = self.result.comparison if self.result is not None else None
        maps_a = getattr(c, "attention_a", ()) or ()
        b = self.result.attention[index]
        if index < len(maps_a) and maps_a[index].probs.shape == b.probs.shape:
            return maps_a[index].probs
        return None

    def refresh(self) -> None:
        index = self.index = self._layer()
        if index is None:
            self.grid = self.detail = None
            self._listed = ()
            self.layer_combo.clear()
            self.heads.set_rgba(None)
            self.head_view.set_rgba(None)
            self.head_title.setText("")
            self.vision.setVisible(False)
            self.patchMapChanged.emit(None)
            return
        m = self.result.attention[index]
        probs = m.probs
        self.head = min(self.head, m.heads - 1)
        a = self._compared(index)
        names = self.pane_names()
        self.panes_label.setText("" if a is None else f"Each head's row: {' | '.join(names)}")
        self.panes_label.setVisible(a is not None)
        if a is None:
            size = self.heads.size()
            rows = view.rows_to_fit(m.heads, *probs.shape[-2:], size.width(), size.height())
            self.grid = view.head_grid(probs, rows=rows, each_own=self.own_scale.isChecked())
        else:
            self.grid = view.compare_grid(a, probs)
        self.heads.set_rgba(self.grid.rgba)
        tokens = probs.shape[-1]
        self.patches = None
        if probs.shape[-1] == probs.shape[-2] and np.ndim(self.result.input) == 4:
            self.patches = view.patch_grid(tokens, np.shape(self.result.input))
        self.labels = view.token_labels(self.result.input, tokens, self.patches)
        self.query = min(self.query, probs.shape[-2] - 1)
        self._show_head(probs)
        self._show_patches(index)

    def _show_head(self, probs: np.ndarray) -> None:
        self.detail = view.single_head(probs, self.head, each_own=self.own_scale.isChecked())
        queries = self.labels if probs.shape[-2] == len(self.labels) else []
        self.head_view.mark = (self.query, 0, 1, probs.shape[-1])
        self.head_view.set_rgba(self.detail.rgba, queries, self.labels)
        top = self.detail.levels[1]
        self.head_title.setText(
            f"<b>head {self.head}</b> of {self.layer_module or '(model)'} · queries down, keys "
            f"across · colour 0 → {top:g}"
        )

    def _show_patches(self, index: int) -> None:
        grid, maps = self.patches, self.result.attention
        self.vision.setVisible(grid is not None)
        for check in (self.mean_check, self.over_drawing):  # they set the patch map alone
            check.setEnabled(grid is not None)
        if grid is None:
            self.patchMapChanged.emit(None)
            return
        head = None if self.mean_check.isChecked() else self.head
        weights = view.patch_map(maps[index].probs, self.query, grid, head)
        self.patch_view.set_rgba(view.overlay(self.result.input, weights))
        who = "heads' mean" if head is None else f"head {head}"
        self.patch_title.setText(
            f"From <b>{self.labels[self.query]}</b>, this layer ({who}; least → most)"
        )
        same = [
            m.probs for m in maps[: index + 1] if m.probs.shape[-1] == grid.patches + grid.first
        ]
        rolled = view.rollout_row(same, self.query)
        if rolled is not None:
            flow = rolled[grid.first :].reshape(grid.rows, grid.cols)
            self.rollout_view.set_rgba(view.overlay(self.result.input, flow))
            upto = "layer 1" if len(same) == 1 else f"layers 1–{len(same)}"
            self.rollout_title.setText(f"Rollout through {upto}")
        block = np.ones(_block(self.result.input, grid), np.float32)
        full = np.kron(view.stretched(weights), block)
        self.patchMapChanged.emit(full)

    def _on_grid_resized(self) -> None:
        """Another room for the grid may fit its heads in other rows."""
        if self.grid is not None and self.grid.panes == 1:
            size = self.heads.size()
            m = self.result.attention[self.index]
            rows = view.rows_to_fit(m.heads, *m.probs.shape[-2:], size.width(), size.height())
            if rows != self.grid.layout.rows:
                self.refresh()

    # -- pointer -----------------------------------------------------------------------------
    def _on_grid_hover(self, row: int, col: int) -> None:
        where = self.grid.locate(row, col) if self.grid is not None and row >= 0 else None
        if where is None:
            return
        head, _pane, query, key = where
        index = self.index
        b = self.result.attention[index].probs[0, head, query, key]
        text = f"head {head} · {self._token(query)} → {self._token(key)}: "
        if self.grid.panes == 3:
            a = self._compared(index)[0, head, query, key]
            first, second, third = (n.split(" (")[0] for n in self.pane_names())
            text += f"{first} {a:.4f} · {second} {b:.4f} · {third} {b - a:+.4f}"
        else:
            text += f"{b:.4f}"
        self.readout.setText(text)

    def _on_head_hover(self, row: int, col: int) -> None:
        if self.detail is None or row < 0:
            return
        weight = self.detail.value(row, col)
        self.readout.setText(
            f"head {self.head} · {self._token(row)} → {self._token(col)}: {weight:.4f}"
        )

    def _token(self, i: int) -> str:
        return self.labels[i] if i < len(self.labels) else str(i)

    def _on_grid_click(self, row: int, col: int) -> None:
        where = self.grid.locate(row, col) if self.grid is not None else None
        if where is not None:
            self.head = where[0]
            self._choose_query(where[2])

    def _choose_query(self, query: int) -> None:
        self.query = max(0, query)
        self.refresh()

    def _on_patch_click(self, row: int, col: int) -> None:
        grid = self.patches
        if grid is None or self.result is None:
            return
        height, width = np.shape(self.result.input)[-2:]
        r, c = row * grid.rows // height, col * grid.cols // width
        self._choose_query(grid.first + r * grid.cols + c)

    def _head_menu(self, pos) -> None:
        """Interventions on a head (zeroing it) are what-if's: offered once it listens."""
        if not self.allow_head_edits or self.detail is None:
            return
        menu = QMenu(self)
        action = menu.addAction(f"Zero head {self.head} of {self.layer_module} (what-if)")
        if menu.exec(self.head_view.mapToGlobal(pos)) is action:
            self.zeroHeadRequested.emit(self.layer_module, self.head)


def _block(image: np.ndarray, grid: view.PatchGrid) -> tuple[int, int]:
    height, width = np.shape(image)[-2:]
    return (max(1, height // grid.rows), max(1, width // grid.cols))
