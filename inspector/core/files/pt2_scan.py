"""What in a ``torch.export`` archive (``.pt2``) would run code when it is loaded or run.

torch.export.load (torch 2.13, torch/export/pt2_archive/_package.py and
torch/_export/serde/serialize.py) runs code from a .pt2 in these ways, none of which a
cleanly exported model needs:
  * a weight or tensor constant whose config entry says "use_pickle": true is read with
    torch.load(weights_only=False); "opaque_obj_*" constants with pickle.loads and
    "custom_obj_*" ones with the TorchBind unpickler;
  * legacy "data/weights/<model>.pt" / "data/constants/<model>.pt", the sample inputs
    "data/sample_inputs/<model>.pt" and the pre-2.8 "serialized_*.pt" members go through
    deserialize_torch_artifact, which falls back to weights_only=False when a weights_only
    load fails;
  * "data/aotinductor/<model>/..." holds compiled shared libraries that load_pt2 dlopens;
  * every symbolic-shape "expr_str" in models/<model>.json is parsed by sympy.sympify (eval);
  * after loading: guards_code is exec'd by ExportedProgram.module(), input names are pasted
    into that code, and graph nodes may call any callable reachable from torch, operator
    or math (torch.os.system) when the model runs.
pt2_code_parts checks the first four before torch.export.load; exported_program_code the
rest after it and before .module().
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from inspector.core.files.checkpoints import ModelLoadError

_PT2_PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".bin")


def pt2_code_parts(path: Path) -> list[str]:
    """The members of the ``.pt2`` archive at ``path`` that ``torch.export.load`` would unpickle
    or otherwise run as code, described in a few words each; empty for a clean export.

    Reads the archive with ``zipfile`` and loads pickles only with ``weights_only=True`` (which
    runs no code). Raises ``ModelLoadError`` if ``path`` is not a zip archive.
    """
    import json
    import zipfile

    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelLoadError(f"{path.name}: not a loadable torch.export archive: {exc}") from exc
    parts: list[str] = []
    with archive:
        for info in archive.infolist():
            name = info.filename
            inner = name.split("/", 1)[1] if "/" in name else name
            if inner.startswith("data/aotinductor/") or "/aotinductor/" in name:
                parts.append(f"{name} (compiled code)")
            elif inner.startswith(("data/weights/", "data/constants/")) and inner.endswith(
                "_config.json"
            ):
                parts.extend(_pickled_payloads(archive, info))
            elif name.lower().endswith(_PT2_PICKLE_SUFFIXES):
                if not _loads_weights_only(archive.read(info)):
                    parts.append(f"{name} (pickled)")
            elif inner.startswith("models/") and name.endswith(".json"):
                try:
                    program = json.loads(archive.read(info))
                except ValueError:
                    parts.append(f"{name} (unreadable, so it cannot be checked)")
                    continue
                parts.extend(_code_in_program_json(name, program))
    return parts


def exported_program_code(program) -> list[str]:
    """What in a loaded ``ExportedProgram`` would run code other than tensor operators when the
    model is built (``.module()``) or run: guards that are not plain shape checks, input names
    that are not identifiers, graph calls to anything but operators. Empty for a clean export."""
    import ast
    import operator

    found: list[str] = []
    for guard in getattr(program, "_guards_code", None) or []:
        if not _safe_python(guard, ast):
            found.append(f"guard {guard[:40]!r} (Python code)")
    for spec in (program.call_spec.in_spec, program.call_spec.out_spec):
        bad = _spec_keys_not_identifiers(spec)
        if bad:
            found.append(f"input/output name {bad[0][:40]!r}")
    allowed = _allowed_graph_callables(operator)
    for module in program.graph_module.modules():
        graph = getattr(module, "graph", None)
        if graph is None:
            continue
        for node in graph.nodes:
            if node.op != "call_function":
                continue
            target = node.target
            if isinstance(target, (torch._ops.OpOverload, torch._ops.OpOverloadPacket)):
                continue
            if isinstance(target, torch._ops.HigherOrderOperator) or target in allowed:
                continue
            label = getattr(target, "__qualname__", None) or repr(target)
            found.append(f"a call to {getattr(target, '__module__', '')}.{label}")
    return found


def _code_in_program_json(name: str, program) -> list[str]:
    """Symbolic shapes sympy would evaluate, guards ``.module()`` would exec, and graph calls
    to anything but operators, read from a serialized ``models/<model>.json``."""
    import ast

    parts = [
        f"{name} (symbolic shape {text[:40]!r} is evaluated as code)"
        for text in _strings_under(program, "expr_str")
        if not _safe_sympy_text(text)
    ]
    guards = program.get("guards_code") if isinstance(program, dict) else None
    for guard in guards if isinstance(guards, list) else []:
        if not (isinstance(guard, str) and _safe_python(guard, ast)):
            parts.append(f"{name} (guard {str(guard)[:40]!r} is Python code)")
    parts.extend(
        f"{name} (calls {target[:60]})"
        for target in _strings_under(program, "target")
        if not _OPERATOR_TARGET.fullmatch(target) or "__" in target
    )
    return parts


# How operators are named in a serialized graph (serialize.py's serialize_operator):
# torch.ops.<namespace>.<op>.<overload>, _operator.<name>, math.<name>, torch.sym_<name>,
# and "#<namespace>:<op>" for registered extension operators.
_OPERATOR_TARGET = re.compile(
    r"torch\.ops\.\w+\.\w+(\.\w+)?|_operator\.\w+|math\.\w+|torch\.sym_\w+|#\w+:[\w.]+"
)


def _pickled_payloads(archive, info) -> list[str]:
    import json

    try:
        config = json.loads(archive.read(info))["config"]
        entries = list(config.items())
    except (ValueError, KeyError, TypeError, AttributeError):
        return [f"{info.filename} (unreadable, so it cannot be checked)"]
    parts = []
    for fqn, meta in entries:
        if not isinstance(meta, dict):
            parts.append(f"{info.filename} (unreadable, so it cannot be checked)")
            continue
        path_name = str(meta.get("path_name", ""))
        if meta.get("use_pickle") or path_name.startswith(("custom_obj_", "opaque_obj_")):
            parts.append(f"{fqn} (pickled)")
    return parts


def _loads_weights_only(data: bytes) -> bool:
    import io

    try:
        torch.load(io.BytesIO(data), map_location="meta", weights_only=True)
    except Exception:
        return False
    return True


def _strings_under(value, key: str):
    """Every string stored under ``key`` anywhere in a JSON value."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for k, v in item.items():
                if k == key and isinstance(v, str):
                    yield v
                else:
                    stack.append(v)
        elif isinstance(item, list):
            stack.extend(item)


def _sympy_names() -> frozenset[str]:
    from torch.utils._sympy import functions

    return frozenset(getattr(functions, "__all__", ())) | {
        "Symbol", "Integer", "Rational", "Float", "Max", "Min", "Abs", "Mul", "Add", "Pow",
        "Eq", "Ne", "Lt", "Le", "Gt", "Ge", "And", "Or", "Not", "floor", "ceiling", "sqrt",
        "Piecewise",
    }  # fmt: skip


def _is_sympy_function(name: str, names: frozenset[str]) -> bool:
    return name in names or name.startswith(("OpaqueUnaryFn_", "BitwiseFn_"))


def _safe_sympy_text(text: str) -> bool:
    """Whether sympify can evaluate ``text`` without running anything but sympy arithmetic:
    numbers, operators, bare names (sympy makes them symbols), calls of known sympy and torch
    functions, and string literals only as a ``Symbol``'s name (any other string could be
    parsed again)."""
    import ast

    if len(text) > 10_000:
        return False
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        return False
    names = _sympy_names()
    symbol_names: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if not (isinstance(func, ast.Name) and _is_sympy_function(func.id, names)):
                return False
            if func.id == "Symbol" and node.args:
                symbol_names.add(id(node.args[0]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in symbol_names or not node.value.isidentifier():
                return False
        elif not isinstance(node, _SAFE_EXPR_NODES) or (
            isinstance(node, ast.Name) and node.id.startswith("_")
        ):
            return False
    return True


def _safe_python(text: str, ast) -> bool:
    """Whether a guard is a plain check on input shapes: ``L['x'].size()[0] <= 100``."""
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id not in ("L", "Max", "Min"):
                return False
        elif isinstance(node, ast.Attribute):
            if node.attr not in ("size", "stride", "storage_offset", "dim", "numel"):
                return False
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, (ast.Attribute, ast.Name)) or node.keywords:
                return False
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, str) and not node.value.isidentifier():
                return False
        elif not isinstance(node, (*_SAFE_EXPR_NODES, ast.Subscript, ast.Slice)):
            return False
    return True


def _spec_keys_not_identifiers(spec) -> list[str]:
    bad = []
    stack = [spec]
    while stack:
        item = stack.pop()
        if item is None:
            continue
        context = getattr(item, "context", None)
        if isinstance(context, (list, tuple)):
            bad.extend(str(k) for k in context if not (isinstance(k, int) or str(k).isidentifier()))
        elif isinstance(context, str) and not context.isidentifier():
            bad.append(context)
        children = item.children() if callable(getattr(item, "children", None)) else []
        stack.extend(children)
    return bad


def _allowed_graph_callables(operator) -> set:
    allowed = {operator.getitem}
    try:
        from torch._export.serde.serialize import _SYM_OPS

        allowed |= set(_SYM_OPS)
    except ImportError:
        pass
    return allowed


def _safe_nodes():
    import ast

    return (
        ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Call, ast.Name,
        ast.Constant, ast.keyword, ast.Load, ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
        ast.Tuple,
    )  # fmt: skip


_SAFE_EXPR_NODES = _safe_nodes()
