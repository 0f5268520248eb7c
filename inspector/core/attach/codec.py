"""The wire format: typed values as one JSON header and raw numpy buffers, never pickles.

Only the dataclasses named in ``_TYPES`` (the engine's requests and results) cross the wire;
anything else is refused with ``WireError`` on either side, so a peer can make the other
build nothing but plain values, numpy arrays of plain dtypes and those dataclasses.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any

import numpy as np


class WireError(ValueError):
    """A message that is not one of ours; ``str()`` is one sentence."""


@functools.cache
def _types() -> dict[str, type]:
    from inspector.core.forward.attention import AttentionMap
    from inspector.core.forward.capture import Step
    from inspector.core.forward.heatmaps import Heatmap, TileLayout
    from inspector.core.forward.inference import ForwardSettings
    from inspector.core.forward.results import (
        BackwardResult,
        DeviceResult,
        ForwardRequest,
        ForwardResult,
        ModelLoaded,
        ParametersResult,
        ParameterView,
        Picture,
        SavedValueResult,
        StepResult,
        UpdateResult,
    )
    from inspector.core.forward.summary import ModuleNode
    from inspector.core.graph.autograd import AutogradGraph, GraphNode, SavedTensor
    from inspector.core.graph.backward import BackwardRecord, GradInfo, NodeGrads
    from inspector.core.graph.collapse import CollapsedGraph, LaidOutView
    from inspector.core.graph.layout import GraphLayout
    from inspector.core.graph.losses import LossSpec
    from inspector.core.model.inputs import InputSpec
    from inspector.core.training.trainer import TrainProgress

    kinds = (
        Step, Heatmap, TileLayout, ForwardSettings, BackwardResult, DeviceResult, ForwardRequest,
        ForwardResult, ModelLoaded, ParametersResult, ParameterView, Picture, SavedValueResult,
        StepResult, UpdateResult, ModuleNode, AutogradGraph, GraphNode, SavedTensor,
        BackwardRecord, GradInfo, NodeGrads, CollapsedGraph, LaidOutView, GraphLayout, LossSpec,
        InputSpec, TrainProgress, AttentionMap,
    )  # fmt: skip
    return {k.__name__: k for k in kinds}


# Fields rebuilt on arrival rather than sent: a module tree's parent links (a cycle).
_SKIP = {"ModuleNode": ("parent",)}


def encode(value: Any) -> tuple[bytes, list[memoryview]]:
    """``value`` as a JSON header and the buffers its arrays refer to (no copies)."""
    buffers: list[memoryview] = []
    header = json.dumps(_enc(value, buffers), separators=(",", ":")).encode()
    return header, buffers


def decode(header: bytes | memoryview, buffers: list) -> Any:
    try:
        tree = json.loads(bytes(header))
    except ValueError as exc:
        raise WireError(f"a message that is not JSON ({exc})") from None
    return _dec(tree, buffers)


def _enc(v: Any, buffers: list[memoryview]) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        if v.dtype.hasobject:
            raise WireError(f"an array of Python objects ({v.dtype}) cannot be sent")
        a = np.ascontiguousarray(v)
        buffers.append(memoryview(a).cast("B") if a.size else memoryview(b""))
        return {"$nd": len(buffers) - 1, "dtype": a.dtype.str, "shape": list(a.shape)}
    if isinstance(v, tuple):
        return {"$tuple": [_enc(x, buffers) for x in v]}
    if isinstance(v, list):
        return [_enc(x, buffers) for x in v]
    if isinstance(v, (set, frozenset)):
        return {"$set": [_enc(x, buffers) for x in sorted(v, key=repr)]}
    if isinstance(v, dict):
        return {"$dict": [[_enc(k, buffers), _enc(x, buffers)] for k, x in v.items()]}
    name = type(v).__name__
    if dataclasses.is_dataclass(v) and _types().get(name) is type(v):
        skip = _SKIP.get(name, ())
        fields = {
            f.name: _enc(getattr(v, f.name), buffers)
            for f in dataclasses.fields(v)
            if f.init and f.name not in skip
        }
        return {"$dc": name, "f": fields}
    raise WireError(f"a {name} cannot be sent")


def _dec(v: Any, buffers: list) -> Any:
    if isinstance(v, list):
        return [_dec(x, buffers) for x in v]
    if not isinstance(v, dict):
        return v
    if "$nd" in v:
        return _array(v, buffers)
    if "$tuple" in v:
        return tuple(_dec(x, buffers) for x in v["$tuple"])
    if "$set" in v:
        return frozenset(_dec(x, buffers) for x in v["$set"])
    if "$dict" in v:
        return {_hashable(_dec(k, buffers)): _dec(x, buffers) for k, x in v["$dict"]}
    if "$dc" in v:
        cls = _types().get(v["$dc"])
        if cls is None:
            raise WireError(f"unknown type {v['$dc']!r} in a message")
        fields = {k: _dec(x, buffers) for k, x in v.get("f", {}).items()}
        try:
            value = cls(**fields)
        except TypeError as exc:
            raise WireError(f"a {cls.__name__} that does not fit ({exc})") from None
        if cls.__name__ == "ModuleNode":
            for row, child in enumerate(value.children):
                child.parent, child.row = value, row
        return value
    raise WireError("a message with an unknown part")


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def _array(v: dict, buffers: list) -> np.ndarray:
    try:
        dtype = np.dtype(v["dtype"])
        shape = tuple(int(d) for d in v["shape"])
        buffer = buffers[int(v["$nd"])]
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise WireError(f"an array that does not fit its description ({exc})") from None
    if dtype.hasobject or any(d < 0 for d in shape):
        raise WireError(f"an array of dtype {dtype} and shape {shape} is not accepted")
    count = int(np.prod(shape, dtype=np.int64))
    data = memoryview(buffer).cast("B") if len(memoryview(buffer)) else b""
    if len(data) != count * dtype.itemsize:
        raise WireError(f"an array of {len(data)} bytes for shape {shape} and dtype {dtype}")
    return np.frombuffer(data, dtype=dtype, count=count).reshape(shape).copy()
