"""The graph as SVG text, without Qt: the view's picture, every node, edge and label."""

import dataclasses
import xml.etree.ElementTree as ET

import pytest
import torch

from inspector.core.files.loading import bundled_lenet
from inspector.core.graph.backward import record_backward
from inspector.core.graph.collapse import lay_out
from inspector.core.graph.losses import LossSpec
from inspector.core.graph.palette import NODE_COLOURS
from inspector.core.graph.svg import (
    CARRIED,
    LABEL_CHARS,
    NODE_W,
    X_UNIT,
    GraphStyle,
    elide_middle,
    scene_rect,
    svg_text,
    write_svg,
)

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def view():
    x = torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    record, _ = record_backward(bundled_lenet().model, x, LossSpec("mse"), run_backward=False)
    return lay_out(record.graph)


def _parts(text: str):
    root = ET.fromstring(text.encode())
    rects = root.findall(f".//{SVG}rect")[1:]  # the first is the background
    texts = root.findall(f".//{SVG}text")
    paths = root.findall(f"{SVG}path")
    return root, rects, texts, paths


def test_every_node_edge_and_label_is_drawn_where_the_layout_puts_it(view, tmp_path):
    graph, layout = view.shown.graph, view.layout
    write_svg(graph, layout, tmp_path / "g.svg")
    root, rects, texts, paths = _parts((tmp_path / "g.svg").read_text())
    left, _top, width, _height = scene_rect(layout)
    assert float(root.get("width")) == pytest.approx(width)
    assert len(rects) == len(texts) == len(graph.nodes) == 26
    for node, rect, text, x in zip(graph.nodes, rects, texts, layout.x, strict=True):
        assert rect.get("fill") == NODE_COLOURS[node.kind]
        assert float(rect.get("x")) == pytest.approx(x * X_UNIT - left - NODE_W / 2, abs=0.1)
        assert text.text == elide_middle(node.label)
    curves, arrows = paths  # one stroked path of curves, one filled path of arrowheads
    edges = {(a, b) for a, b, _ in graph.edges}
    assert curves.get("fill") == "none" and curves.get("d").count("M") == len(edges)
    assert curves.get("d").count("C") >= len(edges)  # cubic curves, one or more per edge
    assert arrows.get("d").count("Z") == len(edges) and "C" not in arrows.get("d")


def test_the_views_state_is_drawn_too(view):
    graph = view.shown.graph
    a, b, _ = graph.edges[0]
    style = GraphStyle({a: "#123456"}, frozenset({(a, b)}), {b: ("#ffd43b", 4.0)})
    _, rects, _, paths = _parts(svg_text(graph, view.layout, style))
    assert rects[a].get("fill") == "#123456"
    assert rects[b].get("stroke") == "#ffd43b" and rects[b].get("stroke-width") == "4"
    carried = [p for p in paths if p.get("stroke") == CARRIED]
    assert len(carried) == 1 and carried[0].get("d").count("M") == 1


def test_labels_are_escaped_and_long_ones_cut_in_the_middle(view):
    graph = view.shown.graph
    nodes = list(graph.nodes)
    nodes[0] = dataclasses.replace(nodes[0], label="a<b & c>d")
    nodes[1] = dataclasses.replace(nodes[1], label="key\x01\x1f")  # a ParameterDict key
    odd = dataclasses.replace(graph, nodes=nodes)
    _, _, texts, _ = _parts(svg_text(odd, view.layout))  # parses: the text is escaped
    assert texts[0].text == "a<b & c>d"
    assert texts[1].text == "key\ufffd\ufffd"
    long = "MaxPool2DWithIndicesBackward0_and_more"
    cut = elide_middle(long)
    assert len(cut) == LABEL_CHARS and "…" in cut
    assert cut.startswith(long[:10]) and cut.endswith(long[-10:])
    assert elide_middle("ReluBackward0") == "ReluBackward0"
