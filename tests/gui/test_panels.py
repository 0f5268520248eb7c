"""Each panel on its own, fed results the engine made: no window, no thread."""

import itertools

import numpy as np
import pytest

from inspector.core.engine import Engine
from inspector.core.files.loading import bundled_lenet
from inspector.core.forward.results import ForwardRequest
from inspector.core.graph.losses import LossSpec
from inspector.core.state import AppState
from inspector.testing import SEVEN, polyline


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(bundled_lenet())


def _seven() -> np.ndarray:
    from inspector.core.model.brush import paint_segment

    drawing = np.zeros((32, 32), np.float32)
    points = [(x * 32, y * 32) for x, y in polyline(SEVEN)]
    for a, b in itertools.pairwise(points):
        paint_segment(drawing, a, b, 1.4, False)
    return drawing


def test_activations_panel_shows_every_step(qtbot, engine):
    from inspector.gui.panels.activations import ActivationsPanel

    panel = ActivationsPanel()
    qtbot.addWidget(panel)
    result = engine.forward(ForwardRequest(1, _seven()))
    panel.show_result(result)
    assert len(panel.column.rows) == len(result.steps) == 12
    assert panel.shown_request_id == 1


def test_activations_panel_colours_rows_when_they_come_into_sight(qtbot, engine):
    """The worker colours only the rows in sight (the panel says which); a row scrolled to
    is coloured when painted, at the bar's levels, exactly as the worker would have."""
    from inspector.gui.panels.activations import ActivationsPanel

    panel = ActivationsPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 260)
    panel.show()
    reports = []
    panel.rowsInSight.connect(reports.append)
    everything = engine.forward(ForwardRequest(1, _seven()))
    panel.show_result(everything)
    qtbot.waitUntil(lambda: bool(reports))
    first, last = reports[-1]
    assert first == 0 and 1 < last < 12  # a few rows fit in 260 px, not all twelve
    engine.configure(coloured=reports[-1])
    try:
        some = engine.forward(ForwardRequest(2, _seven()))
    finally:
        engine.configure(coloured=None)
    assert some.steps[-1].rgba is None
    panel.show_result(some)
    assert panel.column.rows[-1].image is None
    bar = panel.scroll.verticalScrollBar()
    bar.setValue(bar.maximum())
    assert reports[-1][1] == 12
    panel.column.grab()  # paints what is in sight
    row = panel.column.rows[-1]
    assert row.image is not None
    np.testing.assert_array_equal(row._rgbas[0], everything.steps[-1].rgba)


def test_activation_rows_cut_long_titles_and_centre_flat_images(qtbot):
    """A long name is cut in the middle to its column (it ran under the images); a flat
    image sits in the middle of its row's height, as its title does, not at the top."""
    from PySide6.QtCore import QRectF

    from inspector.core.forward.heatmaps import activation_heatmap
    from inspector.gui.panels.heatmap_view import HeatmapRow

    row = HeatmapRow("k", strip=False)
    name = "12. transformer.h.0.attn.c_attn.some.long.path › view"
    row.set_title(name, "view [1, 16, 2, 16]")
    shown = row.title.text()
    assert "…" in shown and "12. " in shown and "› view" in shown and row.name == name
    row.cell = QRectF(200, 100, 400, 80)
    flat = activation_heatmap(np.ones((1, 16, 2, 16), np.float32))  # 8 × 2 tiles of 2 × 16
    row.show(flat, None)
    target = row.target
    assert target.left() == 200 and target.height() < 80
    assert target.center().y() == pytest.approx(row.cell.center().y())


def test_prediction_panel_names_the_top_class(qtbot, engine):
    from inspector.gui.panels.prediction import PredictionPanel

    panel = PredictionPanel()
    qtbot.addWidget(panel)
    result = engine.forward(ForwardRequest(2, _seven()))
    panel.label.setToolTip("Left, grey: A (pinned)")  # what Compare leaves behind
    panel.show_result(result)
    assert panel.label.text().startswith("7 (")
    assert panel.label.toolTip() == "The most probable class and its softmax probability"
    np.testing.assert_allclose(panel.bars.opts["height"], result.probabilities)


def test_a_new_top_class_lays_nothing_out_again(qtbot):
    """``7 (98.6%)`` changes on nearly every frame: it repaints the label, and asks no layout
    to recompute (0.7 ms of the GUI thread per frame otherwise)."""
    from PySide6.QtCore import QEvent, QObject

    from inspector.gui.panels.prediction import PredictionPanel

    panel = PredictionPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 300)
    panel.show()
    qtbot.wait(20)
    requests = []

    class Layouts(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.LayoutRequest:
                requests.append(obj)
            return False

    spy = Layouts()
    panel.installEventFilter(spy)
    for top in range(10):
        p = np.full(10, 0.05)
        p[top] = 0.55
        panel._show_bars(p)
        qtbot.wait(1)
    assert panel.label.text() == "9 (55.0%)" and panel.label.isVisible()
    assert panel.label.height() >= panel.label.sizeHint().height()  # never cut
    assert requests == []


def test_a_new_top_k_tells_the_view_once_and_sizes_its_column(qtbot):
    """The top-k list changes most of its cells every frame: the view hears of it once (it
    sized the first column from every row at each cell's change), and still shows them all."""
    from inspector.gui.panels.prediction import PredictionPanel

    panel = PredictionPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 300)
    panel.show()
    panel._show_top_k([(i, 0.1) for i in range(10)], 1000)
    narrow = panel.table.horizontalHeader().sectionSize(0)
    told = []
    panel.table.model().dataChanged.connect(lambda *args: told.append(args[:2]))
    panel._show_top_k([(100_000 + i, 0.05) for i in range(10)], 1000)
    qtbot.wait(1)
    assert len(told) == 1
    assert (told[0][0].row(), told[0][1].row()) == (0, 9)
    cells = [(panel.table.item(r, 0).text(), panel.table.item(r, 1).text()) for r in range(10)]
    assert cells == [(str(100_000 + i), "5.00%") for i in range(10)]
    assert panel.table.horizontalHeader().sectionSize(0) > narrow
    panel._show_top_k([(100_000 + i, 0.05) for i in range(10)], 1000)
    assert len(told) == 1  # nothing changed: nothing to tell


def test_prediction_bars_are_painted_where_their_classes_are(qtbot):
    """Each class's bar in its column, as tall as its probability, the top one highlighted."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor

    from inspector.gui.panels.prediction import BAR, TOP, PredictionPanel

    panel = PredictionPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 300)
    panel.show()
    p = np.full(10, 0.02)
    p[3], p[8] = 0.3, 0.5
    panel._show_bars(p / p.sum())
    qtbot.wait(50)
    image = panel.plot.grab().toImage()
    box = panel.plot.getPlotItem().getViewBox()

    def colour_at(x: float, y: float) -> str:
        point = panel.plot.mapFromScene(box.mapViewToScene(QPointF(x, y)))
        ratio = image.devicePixelRatio()
        return QColor(image.pixel(int(point.x() * ratio), int(point.y() * ratio))).name()

    assert colour_at(8, 0.2) == TOP and colour_at(3, 0.2) == BAR
    assert colour_at(3, 0.45) not in (BAR, TOP)  # above its 0.3 bar: background
    assert colour_at(5.5, 0.01) not in (BAR, TOP)  # between two columns

    q = p.copy()
    q[1] = np.nan  # a NaN bar is not drawn, and the others still are
    panel.bars.setOpts(height=q)
    panel.bars.boundingRect()
    image = panel.plot.grab().toImage()
    assert colour_at(1, 0.01) not in (BAR, TOP) and colour_at(8, 0.4) == TOP


def test_weights_panel_titles_each_parameter(qtbot, engine):
    from inspector.gui.panels.weights import WeightsPanel

    panel = WeightsPanel()
    qtbot.addWidget(panel)
    panel.show_parameters(engine.parameters("conv1"))
    assert "conv1.weight [6, 1, 5, 5]" in panel.title.text()
    assert "conv1.bias [6]" in panel.title.text()


def test_weights_title_cuts_long_dotted_names_in_the_middle_to_its_width(qtbot):
    """A path has no space to wrap at: cut in the middle (start and end tell modules apart),
    whole in the tooltip, and whole again when there is room."""
    from PySide6.QtGui import QFont, QFontMetrics
    from PySide6.QtWidgets import QApplication

    from inspector.gui.panels.path_title import PathTitle

    title = PathTitle()
    qtbot.addWidget(title)
    module = "bert.encoder.layer.0.attention.self.query"
    names = [f"{module}.weight [32, 32]", f"{module}.bias [32]"]
    title.resize(160, 80)
    title.show()
    title.set_title(module, names, "<br><i>a note</i>")
    text = title.text()
    assert text.startswith("<nobr><b>bert.") and text.endswith("<br><i>a note</i>")
    assert text.count("…") == 3  # the module and both names, each cut in its middle
    # Each path cut in its middle keeps its end; the shapes after it wrap at their spaces.
    assert "uery.weight</nobr> [32, 32], " in text and "f.query.bias</nobr> [32]<br>" in text
    title.copy_action.trigger()  # the context menu's Copy Whole Names
    assert QApplication.clipboard().text() == title.toolTip()
    assert title.toolTip() == f"{module}: {names[0]}, {names[1]}"
    bold = QFont(title.font())
    bold.setBold(True)
    shown = text.removeprefix("<nobr><b>").split("</b>")[0]  # one line
    assert QFontMetrics(bold).horizontalAdvance(shown) <= title.contentsRect().width()

    title.resize(2000, 80)  # room for everything: nothing cut
    qtbot.waitUntil(lambda: "…" not in title.text())
    # Names shown whole are plain text: selecting and copying them gives them as they are.
    assert title.text() == f"<b>{module}</b>: {names[0]}, {names[1]}<br><i>a note</i>"
    title.resize(110, 80)  # a narrow dock: short paths whole, their shapes wrapped
    title.set_title("conv1", ["conv1.weight [6, 1, 5, 5]", "conv1.bias [6]"])
    assert title.text() == "<b>conv1</b>: conv1.weight [6, 1, 5, 5], conv1.bias [6]"
    block = [f"ln_{i}.weight [32]" for i in range(12)]  # a block's dozen: three, the rest told
    title.set_title("h.0", block)
    assert (
        title.text()
        == f"<b>h.0</b>: {block[0]}, {block[1]}, {block[2]} and 9 more (hover to read them all)"
    )
    assert title.toolTip() == "h.0: " + ", ".join(block)
    title.set_plain("Select a module.")
    assert title.text() == "Select a module." and title.toolTip() == ""


def test_weights_panel_new_values_reuse_its_plots(qtbot):
    """Training refreshes the weights a few times a second: the same layout with new values
    swaps the images and histograms in place (rebuilding cost ~80 ms of the GUI thread); a
    different module builds new plots."""
    from inspector.gui.panels.weights import WeightsPanel

    engine = Engine(bundled_lenet())
    panel = WeightsPanel()
    qtbot.addWidget(panel)
    panel.show_parameters(engine.parameters("conv1"))
    plot = panel.view.getItem(0, 0)
    before = panel._images[0][0].image.copy()
    histogram = panel._curves[0].getData()[1].copy()
    engine.backward(ForwardRequest(1, _seven()), LossSpec("ce", target_class=3))
    engine.update(lr=5.0)
    panel.show_parameters(engine.parameters("conv1"))
    assert panel.view.getItem(0, 0) is plot
    assert not np.array_equal(panel._images[0][0].image, before)
    np.testing.assert_array_equal(
        panel._images[0][0].image, engine.parameters("conv1").parameters[0].picture.rgba
    )
    assert not np.array_equal(panel._curves[0].getData()[1], histogram)
    panel.show_parameters(engine.parameters("fc1"))
    assert panel.view.getItem(0, 0) is not plot
    assert "fc1.weight" in panel.title.text()


def test_graph_panel_steps_through_a_recorded_backward(qtbot, engine):
    from inspector.gui.graph.panel import GraphPanel

    panel = GraphPanel()
    qtbot.addWidget(panel)
    steps = []
    panel.stepChanged.connect(steps.append)
    result = engine.backward(ForwardRequest(3, _seven()), LossSpec("mse"))
    panel.show_backward(result)
    assert len(panel.scene.nodes) == 26 and steps == [-1]
    assert panel.step() and steps[-1] == 0
    assert panel.node_label.text().startswith("MseLossBackward0 (1/")
    assert panel.current_gradient() is not None
    assert panel.back() and steps[-1] == -1


def test_loss_panel_and_the_state_follow_each_other(qtbot):
    from inspector.gui.graph.loss import LossPanel

    state = AppState()
    panel = LossPanel(state)
    qtbot.addWidget(panel)
    state.update(loss_kind="ce", target_class=4, learning_rate=0.2)
    assert panel.loss_combo.currentData() == "ce" and panel.class_spin.value() == 4
    assert panel.class_spin.isEnabled() and panel.lr_spin.value() == pytest.approx(0.2)
    panel.zero_grad.setChecked(False)
    panel.class_spin.setValue(6)
    assert state.zero_grad is False and state.target_class == 6
    assert panel.spec() == LossSpec("ce", 6)


def test_canvas_panel_writes_the_drawing_to_the_state(qtbot):
    from inspector.core.model.inputs import InputSpec
    from inspector.gui.panels.canvas import CanvasPanel
    from inspector.testing import stroke

    state = AppState()
    panel = CanvasPanel(state, InputSpec((1, 1, 32, 32), "mnist"))
    qtbot.addWidget(panel)
    panel.resize(400, 400)
    panel.show()
    heard = []
    state.on("drawing", heard.append)
    stroke(panel.canvas)
    assert heard and heard[-1].sum() > 10
    np.testing.assert_array_equal(state.drawing, panel.canvas.drawing)
    panel.random_input()
    assert state.raw_input.shape == (1, 1, 32, 32) and state.seed == 1
    state.brush_radius = 2.5
    assert panel.brush_spin.value() == pytest.approx(2.5)


def test_skip_connections_are_stroked_curves_never_filled_shapes(qtbot, zoo_files, tmp_path):
    """A filled open curve that bends (a skip edge) is a wedge: only arrowheads are filled."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPainterPath
    from PySide6.QtWidgets import QGraphicsPathItem

    from inspector.core.files.loading import open_model
    from inspector.core.graph.collapse import lay_out
    from inspector.gui.exports import export_graph
    from inspector.gui.graph.view import NODE_ID, GraphScene

    opened = open_model(f"{zoo_files['nets']}:ResNetish")
    engine = Engine(opened)
    record = engine.backward(ForwardRequest(1, np.zeros((32, 32), np.float32)), LossSpec()).record
    view = lay_out(record.graph)
    scene = GraphScene(view.shown.graph, view.layout)
    scene.set_progress(record.order[-1], set(record.order), record.carried())
    curve = QPainterPath.ElementType.CurveToElement
    edges = [
        item
        for item in scene.items()
        if isinstance(item, QGraphicsPathItem) and item.data(NODE_ID) is None
    ]
    stroked = [i for i in edges if i.brush().style() == Qt.BrushStyle.NoBrush]
    filled = [i for i in edges if i.brush().style() != Qt.BrushStyle.NoBrush]
    assert stroked and filled
    bends = [
        i
        for i in stroked
        if any(i.path().elementAt(k).type == curve for k in range(i.path().elementCount()))
    ]
    assert bends, "the edges are curves"
    for item in filled:  # arrowheads: straight triangles, never a curve
        path = item.path()
        assert all(path.elementAt(k).type != curve for k in range(path.elementCount()))
        assert item.pen().style() == Qt.PenStyle.NoPen
    for fmt in ("svg", "png"):
        out = tmp_path / f"graph.{fmt}"
        export_graph(record, scene, out, fmt)
        assert out.stat().st_size > 1000


def test_an_exported_svg_shows_what_the_view_shows(qtbot, engine, tmp_path):
    """Visited nodes, carried edges and the outlined current and linked nodes, as on screen."""
    from PySide6.QtGui import QColor

    from inspector.core.graph.collapse import lay_out
    from inspector.core.graph.svg import CARRIED
    from inspector.gui.exports import export_graph
    from inspector.gui.graph.view import CURRENT_PEN, LINKED_PEN, VISITED_FILL, GraphScene

    record = engine.backward(ForwardRequest(1, _seven()), LossSpec("mse")).record
    view = lay_out(record.graph)
    scene = GraphScene(view.shown.graph, view.layout)
    visited = set(record.order[:5])
    carried = {e for e in record.carried() if e[0] in visited and e[1] in visited}
    linked = record.order[-1]
    scene.set_progress(record.order[4], visited, carried)
    scene.link_nodes({linked})
    style = scene.style()
    kinds = {i: node.kind for i, node in enumerate(view.shown.graph.nodes)}
    assert style.fills == {i: VISITED_FILL[kinds[i]].name() for i in visited}
    assert style.carried == carried and carried
    assert style.outlines[record.order[4]] == (CURRENT_PEN.color().name(), 4.0)
    assert style.outlines[linked] == (LINKED_PEN.color().name(), 3.0)
    export_graph(record, scene, tmp_path / "g.svg")
    text = (tmp_path / "g.svg").read_text()
    assert f'stroke="{CARRIED}"' in text and QColor(CURRENT_PEN.color()).name() in text


def test_a_small_graph_opens_at_a_size_where_labels_read(qtbot, engine):
    """Fit shows a small graph (the LeNet's 26 nodes) big enough to read, from the loss down;
    a graph too big for that is fitted whole."""
    from inspector.core.graph.collapse import lay_out
    from inspector.gui.graph.panel import GraphPanel
    from inspector.gui.graph.view import LABEL_MIN_SCALE, READABLE_SCALE

    panel = GraphPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 560)
    panel.show()
    panel.show_backward(engine.backward(ForwardRequest(4, _seven()), LossSpec("mse")))
    panel.view.fit()
    assert panel.view.zoom() >= READABLE_SCALE
    loss_node = panel.scene.nodes[panel.result.record.graph.root]
    assert panel.view.viewport().rect().contains(panel.view.mapFromScene(loss_node.pos()))
    big = Engine(bundled_lenet())
    big.open("transformer")
    result = big.backward(ForwardRequest(5, _seven()), LossSpec("sum"))
    panel.show_backward(result)
    panel.collapsed = set()  # every node drawn, as Expand all asks the worker to lay out
    panel.show_view(lay_out(result.record.graph))
    assert len(panel.scene.nodes) > 1000
    panel.view.fit()
    assert panel.view.zoom() < READABLE_SCALE and panel.view.zoom() >= LABEL_MIN_SCALE / 10


def _tracked_panel(qtbot, latest: int):
    """A shown panel, its FrameTracker (the latest result ``latest``) and what it said."""
    from PySide6.QtWidgets import QWidget

    from inspector.gui.work.frames import FrameTracker, PaintTracked

    class Panel(PaintTracked, QWidget):
        pass

    panel = Panel()
    qtbot.addWidget(panel)
    tracker = FrameTracker([panel], lambda: latest)
    shown: list[int] = []
    tracker.frameShown.connect(shown.append)
    panel.show()
    tracker.handed()
    assert shown == []  # a panel on screen says so once it has painted
    return panel, tracker, shown


def test_a_result_no_visible_panel_will_paint_counts_as_shown_at_once(qtbot):
    """Every forward waits for the last result on screen: with every tracked panel hidden (the
    docks closed), nothing would ever paint it, and each frame would wait for the frame
    timeout (``Knobs.frame_timeout_s``)."""
    panel, tracker, shown = _tracked_panel(qtbot, 7)
    panel.shown_request_id = 7
    panel.mark_painted()
    assert shown == [7]
    panel.hide()
    tracker.handed()
    assert shown == [7, 7]


def test_panels_of_a_minimised_window_are_not_waited_for(qtbot):
    """Qt calls a minimised window's widgets visible, but they paint nothing."""
    panel, tracker, shown = _tracked_panel(qtbot, 3)
    panel.showMinimized()
    assert panel.isVisible() and panel.isMinimized()
    tracker.handed()
    assert shown == [3]


def test_the_canvas_renders_the_state_and_strokes_into_it(qtbot):
    from PySide6.QtCore import QEvent, QObject

    from inspector.core.model import drawing as edits
    from inspector.gui.panels.draw_canvas import DrawCanvas
    from inspector.testing import mouse_event

    class Paints(QObject):
        count = 0

        def eventFilter(self, _obj, event) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.count += 1
            return False

    state = AppState()
    canvas = DrawCanvas(state)
    qtbot.addWidget(canvas)
    canvas.resize(320, 320)
    canvas.show()
    qtbot.waitExposed(canvas)
    paints = Paints()
    canvas.installEventFilter(paints)
    canvas.mousePressEvent(mouse_event(canvas, "press", (0.2, 0.5)))
    assert state.stroking
    canvas.mouseMoveEvent(mouse_event(canvas, "move", (0.8, 0.5)))
    canvas.mouseReleaseEvent(mouse_event(canvas, "release", (0.8, 0.5)))
    assert not state.stroking and state.drawing[16, 16] > 0.9
    assert canvas.drawing is state.drawing
    qtbot.waitUntil(lambda: paints.count > 0)
    painted = paints.count
    edits.undo(state)  # changed elsewhere: the canvas repaints what the state holds
    assert not canvas.drawing.any()
    qtbot.waitUntil(lambda: paints.count > painted)
    assert canvas.grab().toImage().pixelColor(160, 160).lightness() < 60


@pytest.mark.parametrize("name", ["FlatVAE", "Energy"])
def test_prediction_panel_draws_a_reconstruction_beside_the_input_and_a_value(qtbot, name):
    from inspector.core.files.loading import open_model
    from inspector.gui.panels.prediction import PredictionPanel
    from tests.conftest import ZOO

    opened = open_model(f"{ZOO / 'people_patterns.py'}:{name}", input_shape="1,1,28,28")
    result = Engine(opened).forward(ForwardRequest(1, np.ones((32, 32), np.float32)))
    panel = PredictionPanel()
    qtbot.addWidget(panel)
    panel.show_result(result)
    picture = result.output_picture
    if name == "FlatVAE":
        assert panel.stack.currentWidget() is panel.output_view
        np.testing.assert_array_equal(panel.output_image.image, picture.rgba)
        assert panel.label.text() == "output 1×784: beside the input"
        assert panel.table.rowCount() == 0  # not a 784-class top-10 list
    else:
        assert panel.stack.currentWidget() is panel.value_label
        assert panel.value_label.text() == f"{picture.value:.6g}"
        assert panel.label.text() == "output []: one value"
