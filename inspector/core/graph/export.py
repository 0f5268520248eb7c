"""The recorded autograd graph as JSON (round-trips) or Graphviz DOT text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inspector.core.files.io import atomic_write_text
from inspector.core.graph.autograd import AutogradGraph, GraphNode, SavedTensor
from inspector.core.graph.backward import BackwardRecord
from inspector.core.graph.palette import NODE_COLOURS

FORMAT_VERSION = 1


def _shapes(record: BackwardRecord, node: GraphNode) -> dict[str, Any]:
    grads = record.grads.get(node.id)
    shapes: dict[str, Any] = {
        "saved": {s.name: list(s.shape) for s in node.saved if s.shape is not None}
    }
    if node.shape is not None:
        shapes["tensor"] = list(node.shape)
    if grads is not None:
        shapes["grad_in"] = [None if g is None else list(g.shape) for g in grads.incoming]
        shapes["grad_out"] = [None if g is None else list(g.shape) for g in grads.outgoing]
    return shapes


def to_json(record: BackwardRecord) -> dict[str, Any]:
    """``nodes`` (id, name, label, kind, module, shapes), ``edges`` (from, to: the direction
    gradients flow) and ``backward_order`` (node ids in the order the engine ran them)."""
    graph = record.graph
    return {
        "format": "net-inspector-autograd-graph",
        "version": FORMAT_VERSION,
        "loss": {
            "kind": record.loss.kind,
            "target_class": record.loss.target_class,
            "value": record.loss_value,
        },
        "root": graph.root,
        "nodes": [
            {
                "id": n.id,
                "name": n.name,
                "label": n.label,
                "kind": n.kind,
                "module": n.module,
                "shapes": _shapes(record, n),
            }
            for n in graph.nodes
        ],
        "edges": [{"from": a, "to": b, "slot": slot} for a, b, slot in graph.edges],
        "backward_order": list(record.order),
    }


def dumps(record: BackwardRecord) -> str:
    return json.dumps(to_json(record), indent=1)


def graph_from_json(data: dict[str, Any]) -> tuple[AutogradGraph, list[int]]:
    """Read back what ``to_json`` wrote: the graph and the backward order."""
    if data.get("format") != "net-inspector-autograd-graph":
        raise ValueError("not a Net Inspector autograd-graph file")
    if data.get("version", 0) > FORMAT_VERSION:
        raise ValueError(f"written by a newer Net Inspector (format {data['version']})")
    nodes = [
        GraphNode(
            id=n["id"],
            name=n["name"],
            label=n["label"],
            kind=n["kind"],
            module=n["module"],
            saved=[SavedTensor(k, tuple(v)) for k, v in n["shapes"].get("saved", {}).items()],
            shape=tuple(n["shapes"]["tensor"]) if "tensor" in n["shapes"] else None,
        )
        for n in data["nodes"]
    ]
    edges = [(e["from"], e["to"], e.get("slot", 0)) for e in data["edges"]]
    value = data.get("loss", {}).get("value")
    return AutogradGraph(nodes, edges, data.get("root", 0), value), list(data["backward_order"])


_DOT_COLOURS = NODE_COLOURS


def to_dot(record: BackwardRecord) -> str:
    """Graphviz text, top to bottom, numbered in the engine's order."""
    position = {node: i + 1 for i, node in enumerate(record.order)}
    lines = [
        "digraph autograd {",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fontcolor=white, fontname="Helvetica"];',
    ]
    for n in record.graph.nodes:
        step = f"#{position[n.id]} " if n.id in position else ""
        label = (step + n.label).replace('"', r"\"")
        lines.append(f'  n{n.id} [label="{label}", fillcolor="{_DOT_COLOURS[n.kind]}"];')
    seen = set()
    for a, b, _ in record.graph.edges:
        if (a, b) not in seen:
            seen.add((a, b))
            lines.append(f"  n{a} -> n{b};")
    lines.append("}")
    return "\n".join(lines) + "\n"


TEXT_FORMATS = ("json", "dot")


def write_text_format(record: BackwardRecord, path: Path, fmt: str) -> None:
    """``json`` or ``dot`` to ``path`` (no Qt needed)."""
    if fmt not in TEXT_FORMATS:
        raise ValueError(f"{fmt!r} is not a text format ({', '.join(TEXT_FORMATS)})")
    atomic_write_text(Path(path), dumps(record) if fmt == "json" else to_dot(record))
