"""The autograd graph as a QGraphicsScene of plain C++ items, so panning stays smooth.

Nodes are rounded-rect path items, edges are batched path items with an arrow at the end that
gradients flow to; only the labels of the visible nodes are drawn from Python, and not at all
below a zoom level. Qt's BSP index draws only what is visible.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsView,
    QToolTip,
)

from inspector.core.graph.autograd import LEAF, OP, PARAM, ROOT, AutogradGraph
from inspector.core.graph.collapse import GROUP, SAVED
from inspector.core.graph.layout import GraphLayout
from inspector.core.graph.palette import NODE_COLOURS, PANEL_BACKGROUND
from inspector.core.graph.svg import (
    CARRIED,
    CARRIED_WIDTH,
    EDGE_RGBA,
    EDGE_WIDTH,
    NODE_H,
    NODE_RADIUS,
    NODE_W,
    X_UNIT,
    Y_UNIT,
    GraphStyle,
    arrow_points,
    curve_points,
    curve_segments,
    scene_rect,
)

LABEL_MIN_SCALE = 0.3  # below this zoom, labels are hidden
SMALL_GRAPH = 80  # nodes; a graph this small opens at a readable zoom rather than all in view
READABLE_SCALE = 0.85

FILL = {kind: QColor(NODE_COLOURS[kind]) for kind in (ROOT, OP, PARAM, LEAF, GROUP, SAVED)}
VISITED_FILL = {k: c.lighter(140) for k, c in FILL.items()}
EDGE = QColor(*EDGE_RGBA)
EDGE_CARRIED = QColor(CARRIED)
CURRENT_PEN = QPen(QColor("#ffd43b"), 4)
LINKED_PEN = QPen(QColor("#4dd0e1"), 3)
NO_PEN = QPen(Qt.PenStyle.NoPen)
NODE_ID = 0  # QGraphicsItem.data key holding the node id


def _node_shape() -> QPainterPath:
    path = QPainterPath()
    path.addRoundedRect(QRectF(-NODE_W / 2, -NODE_H / 2, NODE_W, NODE_H), NODE_RADIUS, NODE_RADIUS)
    return path


def _edge_path(points: list[tuple[float, float]]) -> QPainterPath:
    """A smooth curve from the bottom of the first node to the top of the last: an open path,
    only ever stroked (filled, a curve that bends — a skip connection — becomes a wedge)."""
    pts = curve_points(points)
    path = QPainterPath(QPointF(*pts[0]))
    for c1, c2, end in curve_segments(pts):
        path.cubicTo(QPointF(*c1), QPointF(*c2), QPointF(*end))
    return path


def _arrow_path(points: list[tuple[float, float]]) -> QPainterPath:
    """The arrowhead at the end of ``_edge_path(points)``: a small closed triangle, filled."""
    tip, left, right = arrow_points(points)
    path = QPainterPath(QPointF(*tip))
    path.lineTo(QPointF(*left))
    path.lineTo(QPointF(*right))
    path.closeSubpath()
    return path


def _stroked(path: QPainterPath, pen: QPen) -> QGraphicsPathItem:
    item = QGraphicsPathItem(path)
    item.setPen(pen)
    item.setBrush(Qt.BrushStyle.NoBrush)
    return item


def _filled(path: QPainterPath, colour: QColor) -> QGraphicsPathItem:
    item = QGraphicsPathItem(path)
    item.setPen(NO_PEN)
    item.setBrush(colour)
    return item


class GraphScene(QGraphicsScene):
    """Items for one graph and its layout; ``nodeClicked(id)`` when a node is pressed.

    Built for thousands of nodes: one item per node (for colour and clicks), edges batched
    into a few path items by band of layers (so the BSP index still culls them), and labels
    drawn in ``drawForeground`` for the visible nodes only.
    """

    nodeClicked = Signal(int)
    nodeDoubleClicked = Signal(int)
    nodeMenuRequested = Signal(int, QPoint)  # node, screen position
    BAND_LAYERS = 40

    def __init__(self, graph: AutogradGraph, layout: GraphLayout, parent=None) -> None:
        super().__init__(parent)
        self.graph = graph
        self.setBackgroundBrush(QColor(PANEL_BACKGROUND))
        self.layout = layout
        self.xs = np.asarray(layout.x, dtype=np.float64) * X_UNIT
        self.ys = np.asarray(layout.y, dtype=np.float64) * Y_UNIT
        self.font = QFont()
        self.font.setPointSizeF(9.0)
        self._metrics = QFontMetricsF(self.font)
        self._elided: dict[int, str] = {}

        pen = QPen(EDGE, EDGE_WIDTH)
        pen.setCosmetic(True)
        self._edge_pens = (pen, self._carried_pen())
        # Each edge is a curve (stroked, never filled) and an arrowhead (filled, never
        # stroked), batched into two items per band of layers.
        self.edge_paths: dict[tuple[int, int], tuple[QPainterPath, QPainterPath]] = {}
        bands: dict[int, tuple[QPainterPath, QPainterPath]] = {}
        for (a, b, _slot), route in zip(graph.edges, layout.routes, strict=True):
            if (a, b) in self.edge_paths:  # two slots to the same node: one drawn edge
                continue
            curve, arrow = _edge_path(route), _arrow_path(route)
            self.edge_paths[(a, b)] = (curve, arrow)
            band = int(layout.y[a]) // self.BAND_LAYERS
            curves, arrows = bands.setdefault(band, (QPainterPath(), QPainterPath()))
            curves.addPath(curve)
            arrows.addPath(arrow)
        for curves, arrows in bands.values():
            self.addItem(_stroked(curves, pen))
            self.addItem(_filled(arrows, EDGE))
        self.carried_item = _stroked(QPainterPath(), self._edge_pens[1])
        self.carried_arrows = _filled(QPainterPath(), EDGE_CARRIED)
        self.addItem(self.carried_item)
        self.addItem(self.carried_arrows)

        shape = _node_shape()
        self.nodes: list[QGraphicsPathItem] = []
        for node, x, y in zip(graph.nodes, self.xs, self.ys, strict=True):
            item = QGraphicsPathItem(shape)
            item.setPos(x, y)
            item.setBrush(FILL[node.kind])
            item.setPen(NO_PEN)
            item.setData(NODE_ID, node.id)
            self.addItem(item)
            self.nodes.append(item)
        self._visited: set[int] = set()
        self._fills: dict[int, QColor] = {}  # colours other than the kind's (Compare)
        self._carried: set[tuple[int, int]] = set()
        self._current: int | None = None
        self._linked: set[int] = set()
        if len(self.xs):
            self.setSceneRect(QRectF(*scene_rect(layout)))

    @staticmethod
    def _carried_pen() -> QPen:
        pen = QPen(EDGE_CARRIED, CARRIED_WIDTH)
        pen.setCosmetic(True)
        return pen

    # -- labels, for visible nodes only -------------------------------------------------
    def label_of(self, node: int) -> str:
        text = self._elided.get(node)
        if text is None:
            label = self.graph.nodes[node].label
            text = self._metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, NODE_W - 12)
            self._elided[node] = text
        return text

    def visible_nodes(self, rect: QRectF) -> np.ndarray:
        mask = (
            (self.xs + NODE_W / 2 >= rect.left())
            & (self.xs - NODE_W / 2 <= rect.right())
            & (self.ys + NODE_H / 2 >= rect.top())
            & (self.ys - NODE_H / 2 <= rect.bottom())
        )
        return np.flatnonzero(mask)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if painter.worldTransform().m11() < LABEL_MIN_SCALE:
            return  # zoomed out: text would be unreadable and is the costly part of a frame
        painter.setFont(self.font)
        painter.setPen(QColor("white"))
        for i in self.visible_nodes(rect):
            box = QRectF(self.xs[i] - NODE_W / 2 + 6, self.ys[i] - NODE_H / 2, NODE_W - 12, NODE_H)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.label_of(int(i)))

    # -- state ----------------------------------------------------------------------------
    def set_progress(
        self, current: int | None, visited: set[int], carried: set[tuple[int, int]]
    ) -> None:
        """Colour visited nodes and carried edges, outline the current node (diffs only)."""
        for node in self._visited ^ visited:
            self.nodes[node].setBrush(self._fill(node, node in visited))
        if carried != self._carried:
            curves, arrows = QPainterPath(), QPainterPath()
            for edge in carried:
                paths = self.edge_paths.get(edge)
                if paths is not None:
                    curves.addPath(paths[0])
                    arrows.addPath(paths[1])
            self.carried_item.setPath(curves)
            self.carried_arrows.setPath(arrows)
        previous, self._current = self._current, current
        self._visited, self._carried = set(visited), set(carried)
        for node in {previous, current} - {None}:
            self._outline(node)

    def style(self) -> GraphStyle:
        """What this scene shows beyond the graph (visited and Compare colours, carried edges,
        outlines), for ``core.graph_svg`` to draw the same picture."""
        fills = {
            node: self._fill(node, node in self._visited).name()
            for node in self._visited | set(self._fills)
        }
        outlines = {node: (LINKED_PEN.color().name(), LINKED_PEN.widthF()) for node in self._linked}
        if self._current is not None:
            outlines[self._current] = (CURRENT_PEN.color().name(), CURRENT_PEN.widthF())
        return GraphStyle(fills, frozenset(self._carried), outlines)

    def set_fills(self, fills: dict[int, QColor] | None) -> None:
        """Colour nodes by something else than their kind (Compare: how much each node's
        gradient changed); the others, and all with None, by their kind again."""
        self._fills = dict(fills or {})
        for node, item in enumerate(self.nodes):
            item.setBrush(self._fill(node, node in self._visited))

    def _fill(self, node: int, visited: bool) -> QColor:
        colour = self._fills.get(node)
        if colour is not None:
            return colour.lighter(125) if visited else colour
        kind = self.graph.nodes[node].kind
        return VISITED_FILL[kind] if visited else FILL[kind]

    def link_nodes(self, nodes: set[int]) -> None:
        """Outline the nodes of the module selected in the tree."""
        previous, self._linked = self._linked, set(nodes)
        for node in previous ^ self._linked:
            self._outline(node)

    def _outline(self, node: int) -> None:
        item = self.nodes[node]
        if node == self._current:
            item.setPen(CURRENT_PEN)
            item.setZValue(2)
        elif node in self._linked:
            item.setPen(LINKED_PEN)
            item.setZValue(1)
        else:
            item.setPen(NO_PEN)
            item.setZValue(0)

    def node_at(self, pos: QPointF) -> int | None:
        for item in self.items(pos):
            node = item.data(NODE_ID)
            if node is not None:
                return int(node)
        return None

    def helpEvent(self, event) -> None:
        """Tooltips on demand (setting one on every item would cost seconds on big graphs)."""
        node = self.node_at(event.scenePos())
        if node is None:
            QToolTip.hideText()
            return
        QToolTip.showText(event.screenPos(), self.graph.nodes[node].describe())

    def mousePressEvent(self, event) -> None:
        node = self.node_at(event.scenePos())
        if node is not None and event.button() == Qt.MouseButton.LeftButton:
            self.nodeClicked.emit(node)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        node = self.node_at(event.scenePos())
        if node is not None:
            self.nodeDoubleClicked.emit(node)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event) -> None:
        node = self.node_at(event.scenePos())
        if node is not None:
            self.nodeMenuRequested.emit(node, event.screenPos())
            event.accept()


class GraphView(QGraphicsView):
    """Zoom with the wheel (around the mouse), pan by dragging, ``fit()`` to see everything."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("autogradGraph")
        self.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setBackgroundBrush(QColor(PANEL_BACKGROUND))
        self._auto_fit = False  # refit on resize until the user zooms or pans

    def graph_scene(self) -> GraphScene | None:
        scene = self.scene()
        return scene if isinstance(scene, GraphScene) else None

    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, scale: float) -> None:
        scale = max(0.02, min(4.0, scale))
        self.resetTransform()
        self.scale(scale, scale)
        self._update_lod()

    def wheelEvent(self, event: QWheelEvent) -> None:
        self._auto_fit = False
        factor = 1.0015 ** event.angleDelta().y()
        target = max(0.02, min(4.0, self.zoom() * factor))
        factor = target / self.zoom()
        self.scale(factor, factor)
        self._update_lod()

    def mousePressEvent(self, event) -> None:
        self._auto_fit = False  # a drag pans: keep the user's view from now on
        super().mousePressEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._auto_fit:
            self.fit()

    def fit(self) -> None:
        scene = self.graph_scene()
        if scene is None:
            return
        self._auto_fit = True
        rect = scene.sceneRect()
        width_scale = self.viewport().width() / max(1.0, rect.width())
        height_scale = self.viewport().height() / max(1.0, rect.height())
        scale = min(1.0, width_scale, height_scale)
        if len(scene.nodes) <= SMALL_GRAPH and scale < READABLE_SCALE:
            # A small graph (the LeNet's 26 nodes) is read, not surveyed: labels at a size
            # that reads, starting at the loss; stepping scrolls to each node.
            scale = max(READABLE_SCALE, min(1.0, width_scale))
            self.set_zoom(scale)
            self.centerOn(rect.center().x(), rect.top() + self.viewport().height() / (2 * scale))
        elif scale < LABEL_MIN_SCALE and height_scale < width_scale:
            # A tall graph fitted whole is unreadable: fit its width and start at the loss.
            scale = min(1.0, width_scale)
            self.set_zoom(scale)
            self.centerOn(rect.center().x(), rect.top() + self.viewport().height() / (2 * scale))
        else:
            self.set_zoom(scale)
            self.centerOn(rect.center())

    def center_on_node(self, node: int) -> None:
        scene = self.graph_scene()
        if scene is not None and 0 <= node < len(scene.nodes):
            item = scene.nodes[node]
            if not self.viewport().rect().contains(self.mapFromScene(item.pos())):
                self.centerOn(item)

    def _update_lod(self) -> None:
        self.viewport().update()  # labels appear or vanish with the zoom (drawForeground)
