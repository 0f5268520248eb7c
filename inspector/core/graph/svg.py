"""The autograd graph as SVG, written straight from its layout: no Qt, no scene.

Rendering a 2,600-node scene through Qt's SVG paint engine took ~200 ms of the 330 ms export
(building the items, then drawing them into ``QSvgGenerator``); writing the same picture as
text takes a few tens. The picture is the graph view's: ``gui.graph_view`` builds its scene
from the geometry here (``curve_points``, ``arrow_points``, ``scene_rect``, the sizes and edge
widths), with the same node colours. ``GraphStyle`` carries what the view shows beyond the
graph: nodes coloured otherwise (visited, Compare), edges the gradient has carried, outlines.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from inspector.core.files.io import atomic_write_text
from inspector.core.graph.autograd import AutogradGraph
from inspector.core.graph.layout import GraphLayout
from inspector.core.graph.palette import NODE_COLOURS, PANEL_BACKGROUND

X_UNIT, Y_UNIT = 220.0, 70.0  # scene pixels per layout column / layer
NODE_W, NODE_H = 200.0, 34.0
NODE_RADIUS = 8.0
ARROW = 7.0  # an arrowhead's length; the curve stops where it starts
MARGIN = 60.0
EDGE_RGBA = (160, 170, 185, 110)
CARRIED = "#f2a541"
EDGE_WIDTH, CARRIED_WIDTH = 1.5, 2.5  # pixels, at every zoom (cosmetic pens on screen)
FONT_PX = 12.0  # Qt's 9 pt at 96 dpi
LABEL_CHARS = 26  # what fits in NODE_W - 12 at FONT_PX in a sans-serif font, capitals too
BASELINE = 0.35 * FONT_PX  # below the centre: text centred without dominant-baseline (QtSvg)


@dataclass(frozen=True)
class GraphStyle:
    """What the view shows beyond the graph itself (all optional)."""

    fills: dict[int, str] = field(default_factory=dict)  # node index → "#rrggbb", not its kind's
    carried: frozenset[tuple[int, int]] = frozenset()  # edges drawn in the carried colour
    outlines: dict[int, tuple[str, float]] = field(default_factory=dict)  # node → (colour, width)


def scene_points(point: tuple[float, float]) -> tuple[float, float]:
    """A layout point (column, layer) in scene pixels."""
    return point[0] * X_UNIT, point[1] * Y_UNIT


def curve_points(route: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Where an edge's curve passes, in scene pixels: from the bottom of its first node to
    just above the arrowhead on top of its last."""
    pts = [scene_points(p) for p in route]
    pts[0] = (pts[0][0], pts[0][1] + NODE_H / 2)
    pts[-1] = (pts[-1][0], pts[-1][1] - NODE_H / 2 - ARROW)
    return pts


def curve_segments(pts: list[tuple[float, float]]):
    """Each cubic of the curve through ``pts``: (control 1, control 2, end), vertical tangents."""
    for (ax, ay), (bx, by) in itertools.pairwise(pts):
        dy = (by - ay) / 2
        yield (ax, ay + dy), (bx, by - dy), (bx, by)


def arrow_points(route: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The arrowhead's triangle at the top of the last node: tip, left, right."""
    x, y = scene_points(route[-1])
    y -= NODE_H / 2 + ARROW
    return [(x, y + ARROW), (x - 5, y), (x + 5, y)]


def scene_rect(layout: GraphLayout) -> tuple[float, float, float, float]:
    """(left, top, width, height) of everything drawn, with a margin."""
    if len(layout.x) == 0:
        return (0.0, 0.0, 2 * MARGIN, 2 * MARGIN)
    xs, ys = layout.x * X_UNIT, layout.y * Y_UNIT
    left = float(xs.min()) - NODE_W / 2 - MARGIN
    top = float(ys.min()) - NODE_H / 2 - MARGIN
    width = float(xs.max() - xs.min()) + NODE_W + 2 * MARGIN
    height = float(ys.max() - ys.min()) + NODE_H + 2 * MARGIN
    return left, top, width, height


def elide_middle(text: str, chars: int = LABEL_CHARS) -> str:
    """``text`` cut in the middle with an ellipsis when longer than ``chars``."""
    if len(text) <= chars:
        return text
    tail = (chars - 1) // 2
    head = chars - 1 - tail
    return text[:head] + "…" + (text[-tail:] if tail else "")


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # no XML 1.0 may hold


def label_text(label: str) -> str:
    """A node's label as SVG text: cut to fit, escaped, characters XML forbids replaced."""
    return escape(_NOT_XML.sub("\ufffd", elide_middle(label)))


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _edges_d(routes: Iterable[list[tuple[float, float]]], dx: float, dy: float) -> str:
    parts = []
    for route in routes:
        pts = [(x - dx, y - dy) for x, y in curve_points(route)]
        parts.append(f"M{_n(pts[0][0])} {_n(pts[0][1])}")
        for (c1x, c1y), (c2x, c2y), (ex, ey) in curve_segments(pts):
            parts.append(f"C{_n(c1x)} {_n(c1y)} {_n(c2x)} {_n(c2y)} {_n(ex)} {_n(ey)}")
    return "".join(parts)


def _arrows_d(routes: Iterable[list[tuple[float, float]]], dx: float, dy: float) -> str:
    parts = []
    for route in routes:
        (tx, ty), (lx, ly), (rx, ry) = ((x - dx, y - dy) for x, y in arrow_points(route))
        parts.append(f"M{_n(tx)} {_n(ty)}L{_n(lx)} {_n(ly)}L{_n(rx)} {_n(ry)}Z")
    return "".join(parts)


def svg_text(graph: AutogradGraph, layout: GraphLayout, style: GraphStyle = GraphStyle()) -> str:
    """The whole picture as an SVG document."""
    left, top, width, height = scene_rect(layout)
    routes: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for (a, b, _slot), route in zip(graph.edges, layout.routes, strict=True):
        routes.setdefault((a, b), route)  # two slots to the same node: one drawn edge
    plain = [r for edge, r in routes.items() if edge not in style.carried]
    carried = [r for edge, r in routes.items() if edge in style.carried]
    r, g, b, a = EDGE_RGBA
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}">',
        "<title>Autograd graph (Net Inspector)</title>",
        f'<rect width="{_n(width)}" height="{_n(height)}" fill="{PANEL_BACKGROUND}"/>',
    ]
    for group, colour, opacity, stroke in (
        (plain, f"rgb({r},{g},{b})", a / 255, EDGE_WIDTH),
        (carried, CARRIED, 1.0, CARRIED_WIDTH),
    ):
        if group:
            out.append(
                f'<path d="{_edges_d(group, left, top)}" fill="none" stroke="{colour}" '
                f'stroke-opacity="{opacity:.2f}" stroke-width="{stroke}"/>'
            )
            out.append(
                f'<path d="{_arrows_d(group, left, top)}" fill="{colour}" '
                f'fill-opacity="{opacity:.2f}"/>'
            )
    out.append(f'<g font-family="sans-serif" font-size="{_n(FONT_PX)}px" text-anchor="middle">')
    for i, (node, x, y) in enumerate(zip(graph.nodes, layout.x, layout.y, strict=True)):
        cx, cy = x * X_UNIT - left, y * Y_UNIT - top
        fill = style.fills.get(i, NODE_COLOURS[node.kind])
        outline = style.outlines.get(i)
        stroke = f' stroke="{outline[0]}" stroke-width="{_n(outline[1])}"' if outline else ""
        out.append(
            f'<rect x="{_n(cx - NODE_W / 2)}" y="{_n(cy - NODE_H / 2)}" width="{_n(NODE_W)}" '
            f'height="{_n(NODE_H)}" rx="{_n(NODE_RADIUS)}" fill="{fill}"{stroke}/>'
            f'<text x="{_n(cx)}" y="{_n(cy + BASELINE)}" fill="white">'
            f"{label_text(node.label)}</text>"
        )
    out.append("</g>\n</svg>\n")
    return "\n".join(out)


def write_svg(
    graph: AutogradGraph, layout: GraphLayout, path: Path, style: GraphStyle = GraphStyle()
) -> None:
    """``svg_text`` to ``path``, atomically."""
    atomic_write_text(path, svg_text(graph, layout, style))
