"""Walking a recorded backward pass node by node: what is current, visited, and carried."""

from __future__ import annotations

from dataclasses import dataclass, field

from inspector.core.graph.autograd import PARAM
from inspector.core.graph.backward import BackwardRecord


@dataclass
class Stepper:
    """Position ``k`` in the engine's order: -1 before the first node, ``len-1`` at the last."""

    record: BackwardRecord
    k: int = -1
    _position: dict[int, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._position = {node: i for i, node in enumerate(self.record.order)}

    @property
    def total(self) -> int:
        return len(self.record.order)

    @property
    def current(self) -> int | None:
        return self.record.order[self.k] if 0 <= self.k < self.total else None

    def step(self) -> bool:
        if self.k + 1 >= self.total:
            return False
        self.k += 1
        return True

    def back(self) -> bool:
        if self.k < 0:
            return False
        self.k -= 1
        return True

    def reset(self) -> None:
        self.k = -1

    def jump_to(self, node: int) -> bool:
        """Go to the step where the engine ran ``node``; False if it never ran."""
        position = self._position.get(node)
        if position is None:
            return False
        self.k = position
        return True

    def visited(self) -> set[int]:
        return set(self.record.order[: self.k + 1])

    def carried(self) -> set[tuple[int, int]]:
        """Edges whose gradient has been sent by now (their source node has run)."""
        done = self.visited()
        return {(a, b) for a, b in self.record.carried() if a in done}

    def label(self) -> str:
        """``MseLossBackward0 (1/26)``, ``AccumulateGrad (25/26): conv1.weight [6, 1, 5, 5]``."""
        node = self.current
        if node is None:
            return f"Press Step (Space) to run the first node (0/{self.total})"
        graph_node = self.record.graph.nodes[node]
        text = f"{graph_node.name} ({self.k + 1}/{self.total})"
        return text if graph_node.label == graph_node.name else f"{text}: {graph_node.label}"


def node_sections(record, node: int | None) -> tuple[str, list, list]:
    """What the gradient panel shows for ``node`` of a ``BackwardRecord``: a title, the
    (heading, [(name, GradInfo or None)]) sections — what came in, what was sent on and to
    which node — and the node's saved tensors. ``None``: before the first node."""
    if node is None:
        return f"loss = {record.loss_value:.4f}", [("Step to see gradients flow", [])], []
    graph_node = record.graph.nodes[node]
    grads = record.grads.get(node)
    incoming = [(f"grad_output[{i}]", g) for i, g in enumerate(grads.incoming if grads else [])]
    if graph_node.kind == PARAM:
        name = graph_node.label.split(" ")[0]
        sections = [(f"lands in {name}.grad", incoming)]
    else:
        targets = {slot: b for a, b, slot in record.graph.edges if a == node}
        outgoing = []
        for slot, g in enumerate(grads.outgoing if grads else []):
            to = targets.get(slot)
            where = f" → {record.graph.nodes[to].label}" if to is not None else ""
            outgoing.append((f"grad_input[{slot}]{where}", g))
        sections = [("incoming (grad_outputs)", incoming), ("sent on (grad_inputs)", outgoing)]
    module = f"  ·  {graph_node.module}" if graph_node.module else ""
    return f"{graph_node.label}{module}", sections, graph_node.saved
