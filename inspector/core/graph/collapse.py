"""Collapsing modules of the autograd graph into single boxes, and expanding them again.

The recorded graph never changes: a ``CollapsedGraph`` is a view of it, with each collapsed
module's nodes replaced by one GROUP node, edges redirected to the boxes, and a map from every
original node to the node that shows it. Stepping keeps walking the original nodes; the box
that holds the current node is the one highlighted, so a step enters and leaves boxes.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from inspector.core.graph.autograd import AutogradGraph, GraphNode, format_shape
from inspector.core.graph.layout import GraphLayout, layered_layout

GROUP = "group"
SAVED = "saved"  # a tensor an op saved for its backward, drawn beside the op
_INDEXED = re.compile(r"^(.*)\.(\d+)$")  # "layer1.0", "layers.12": a block in a repeated list


@dataclass
class CollapsedGraph:
    graph: AutogradGraph  # the view: original nodes and GROUP boxes, renumbered
    shown_as: list[int]  # original node id -> view node id
    members: dict[int, list[int]] = field(default_factory=dict)  # box id -> original ids

    def view_edges(self, edges: set[tuple[int, int]]) -> set[tuple[int, int]]:
        """Original edges as edges of the view (those inside one box disappear)."""
        out = set()
        for a, b in edges:
            va, vb = self.shown_as[a], self.shown_as[b]
            if va != vb:
                out.add((va, vb))
        return out


def _owner(module: str, collapsed: set[str]) -> str | None:
    """The outermost collapsed module that contains ``module``."""
    inside = [p for p in collapsed if module == p or module.startswith(p + ".")]
    return min(inside, key=len) if inside else None


def collapse(graph: AutogradGraph, collapsed: set[str]) -> CollapsedGraph:
    """The view of ``graph`` with every module in ``collapsed`` drawn as one box."""
    owner_of = {}
    for node in graph.nodes:
        if node.module and collapsed:
            owner = _owner(node.module, collapsed)
            if owner is not None:
                owner_of[node.id] = owner
    if not owner_of:
        return CollapsedGraph(graph, list(range(len(graph.nodes))))
    nodes: list[GraphNode] = []
    shown_as = [0] * len(graph.nodes)
    box_of: dict[str, int] = {}
    members: dict[int, list[int]] = {}
    for node in graph.nodes:  # breadth-first order: a box sits where its first node was
        owner = owner_of.get(node.id)
        if owner is None:
            view_id = len(nodes)
            nodes.append(
                GraphNode(
                    view_id, node.name, node.label, node.kind, node.module, node.saved, node.shape
                )
            )
        elif owner in box_of:
            view_id = box_of[owner]
        else:
            view_id = box_of[owner] = len(nodes)
            nodes.append(GraphNode(view_id, GROUP, owner, GROUP, owner))
        shown_as[node.id] = view_id
        if owner is not None:
            members.setdefault(view_id, []).append(node.id)
    for box, ids in members.items():
        kinds = Counter(graph.nodes[i].name for i in ids)
        nodes[box].label = f"{nodes[box].module} ({len(ids)} nodes)"
        nodes[box].summary = ", ".join(f"{name} ×{n}" for name, n in kinds.most_common(4))
    edges, seen = [], set()
    for a, b, slot in graph.edges:
        va, vb = shown_as[a], shown_as[b]
        if va != vb and (va, vb) not in seen:
            seen.add((va, vb))
            edges.append((va, vb, slot))
    view = AutogradGraph(nodes, edges, shown_as[graph.root], graph.loss_value)
    return CollapsedGraph(view, shown_as, members)


def with_saved_tensors(view: CollapsedGraph) -> tuple[CollapsedGraph, dict[int, tuple[int, str]]]:
    """The view plus one SAVED node per saved tensor of every op it shows (as torchviz draws
    them), joined to its op. Returns the new view and, per SAVED node, (op view id, name)."""
    nodes = list(view.graph.nodes)
    edges = list(view.graph.edges)
    owner: dict[int, tuple[int, str]] = {}
    for node in view.graph.nodes:
        if node.kind == GROUP:
            continue
        for tensor in node.saved:
            if tensor.shape is None:
                continue
            saved_id = len(nodes)
            label = f"{tensor.name} {format_shape(tensor.shape)}"
            nodes.append(GraphNode(saved_id, SAVED, label, SAVED, node.module, shape=tensor.shape))
            edges.append((node.id, saved_id, -1))
            owner[saved_id] = (node.id, tensor.name)
    graph = AutogradGraph(nodes, edges, view.graph.root, view.graph.loss_value)
    return CollapsedGraph(graph, view.shown_as, view.members), owner


def repeated_blocks(graph: AutogradGraph) -> set[str]:
    """Modules that are one of several numbered blocks of a list (``layers.0``…``layers.47``,
    ``layer1.0``…): the shallowest such level, which is what a big graph collapses by default."""
    indexed: dict[str, set[str]] = {}
    for node in graph.nodes:
        parts = node.module.split(".") if node.module else []
        for depth in range(1, len(parts) + 1):
            path = ".".join(parts[:depth])
            match = _INDEXED.match(path)
            if match:
                indexed.setdefault(match.group(1), set()).add(path)
    blocks = {p for parent, paths in indexed.items() if len(paths) >= 2 for p in paths}
    return {p for p in blocks if _owner(p, blocks - {p}) is None}  # the shallowest level only


@dataclass(frozen=True)
class LaidOutView:
    """What the graph view draws: the collapsed view, its saved-tensor nodes, and its layout."""

    source: AutogradGraph  # the recorded graph this is a view of
    collapsed: frozenset[str]
    saved: bool  # with the tensors each op saved for backward
    shown: CollapsedGraph
    saved_owner: dict[int, tuple[int, str]]  # SAVED view node -> (op view node, tensor name)
    layout: GraphLayout


def lay_out(
    graph: AutogradGraph,
    collapsed: set[str] | frozenset[str] = frozenset(),
    saved: bool = False,
    layout: GraphLayout | None = None,
) -> LaidOutView:
    """Collapse ``collapsed``, add saved tensors if asked, and lay it out (unless ``layout``
    is given for exactly this view, as a backward result carries it)."""
    shown = collapse(graph, set(collapsed))
    owner: dict[int, tuple[int, str]] = {}
    if saved:
        shown, owner = with_saved_tensors(shown)
    if layout is None or saved:
        layout = layered_layout(len(shown.graph.nodes), [(a, b) for a, b, _ in shown.graph.edges])
    return LaidOutView(graph, frozenset(collapsed), saved, shown, owner, layout)
