"""Layered (Sugiyama) layout of the autograd graph: loss on top, parameters below their ops.

Layers come from the longest path from the root; an edge that spans several layers gets dummy
vertices, so igraph's crossing reduction sees it and the edge can be drawn through them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass
class GraphLayout:
    x: np.ndarray  # node centre, in columns (unit = one node slot)
    y: np.ndarray  # node layer (0 = the root)
    routes: list[list[tuple[float, float]]]  # per edge: the points it passes, ends included

    @property
    def size(self) -> tuple[float, float]:
        if len(self.x) == 0:
            return (0.0, 0.0)
        return float(self.x.max() - self.x.min() + 1), float(self.y.max() + 1)


def longest_path_layers(n: int, edges: list[tuple[int, int]]) -> np.ndarray:
    """Layer of each node: the length of the longest path from any source to it (a DAG)."""
    children: list[list[int]] = [[] for _ in range(n)]
    indegree = np.zeros(n, dtype=np.int64)
    for a, b in edges:
        children[a].append(b)
        indegree[b] += 1
    layer = np.zeros(n, dtype=np.int64)
    ready = [i for i in range(n) if indegree[i] == 0]
    done = 0
    while ready:
        a = ready.pop()
        done += 1
        for b in children[a]:
            if layer[a] + 1 > layer[b]:
                layer[b] = layer[a] + 1
            indegree[b] -= 1
            if indegree[b] == 0:
                ready.append(b)
    if done != n:
        raise ValueError("the graph has a cycle; autograd graphs never do")
    return layer


def separate(x: np.ndarray, layers: np.ndarray, gap: float = 1.0) -> np.ndarray:
    """Push apart vertices of a layer closer than ``gap`` (igraph may place them half a unit
    apart), keeping their order: nodes never overlap."""
    x = x.astype(np.float64).copy()
    order = np.lexsort((x, layers))  # by layer, then by x
    for previous, current in itertools.pairwise(order):
        if layers[current] == layers[previous] and x[current] < x[previous] + gap:
            x[current] = x[previous] + gap
    return x


def layered_layout(n: int, edges: list[tuple[int, int]], maxiter: int = 50) -> GraphLayout:
    """Positions for ``n`` nodes and a route for every edge, with few crossings."""
    import igraph

    if n == 0:
        return GraphLayout(np.zeros(0), np.zeros(0), [])
    layers = longest_path_layers(n, edges)
    ext_layers = list(layers)
    ext_edges: list[tuple[int, int]] = []
    chains: list[list[int]] = []  # per edge: the vertices it passes, dummies included
    for a, b in edges:
        chain = [a]
        for layer in range(int(layers[a]) + 1, int(layers[b])):
            ext_layers.append(layer)
            chain.append(len(ext_layers) - 1)
        chain.append(b)
        ext_edges.extend(itertools.pairwise(chain))
        chains.append(chain)
    graph = igraph.Graph(n=len(ext_layers), edges=ext_edges, directed=True)
    coords = np.asarray(graph.layout_sugiyama(layers=ext_layers, maxiter=maxiter).coords)
    x, y = separate(coords[:, 0], np.asarray(ext_layers)), coords[:, 1]
    x = x - x[:n].min() if n else x
    routes = [[(float(x[v]), float(y[v])) for v in chain] for chain in chains]
    return GraphLayout(x[:n].copy(), y[:n].copy(), routes)
