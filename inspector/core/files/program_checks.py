"""What no model does, found in a TorchScript archive or a ``.pt2`` before torch builds it.

Both are programs. Opening one the user picked is consent to run it, but not to whatever a
model file never needs: touching files (``aten.from_file`` maps any file the user can write,
shared, so ``fill_`` overwrites it; ``aten.save`` writes one), operators from other namespaces
(profiler, inductor, symmetric memory, debug loaders), or names that torch pastes into Python
source it executes (a ``.pt2``'s ``forward_arg_names`` become ``def forward(self, ...)``).
So these are refused whoever opens the file:

* ``torchscript_refusals``: the archive's ``code/`` sources (TorchScript compiles them, and runs
  ``__setstate__``, inside ``torch.jit.load``) name a denied operator or a namespace outside
  ``TORCHSCRIPT_NAMESPACES``;
* ``pt2_refusals``: a ``models/*.json`` names an argument, node or value with anything but an
  identifier, or calls an operator outside the allowlist (``op_allowed``);
* ``graph_refusals``: the same, on the loaded ``ExportedProgram`` (what ``.module()`` builds).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import tokenize
import zipfile
from pathlib import Path

# Operators that read or write files, or touch raw memory, by their name in any namespace.
DENIED_OPS = frozenset(
    {"from_file", "_from_file", "save", "load", "load_tensor", "_nested_view_from_buffer"}
)
# Namespaces a .pt2 graph may call: tensor operators, their primitives, control flow.
PT2_NAMESPACES = frozenset({"aten", "prims", "higher_order"})
# TorchScript also names its interpreter's own (prim) and quantized kernels.
TORCHSCRIPT_NAMESPACES = frozenset({"aten", "prim", "prims", "quantized", "_quantized"})
# Python functions a serialized graph may call (shape arithmetic): anything else in
# ``operator`` (``call``, ``methodcaller``, ``attrgetter``) calls arbitrary code.
OPERATOR_FUNCTIONS = frozenset(
    {
        "getitem", "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "neg", "pos",
        "abs", "eq", "ne", "lt", "le", "gt", "ge", "and_", "or_", "xor", "not_", "invert",
        "lshift", "rshift", "truth", "trunc",
    }
)  # fmt: skip
MAX_CODE_BYTES = 64 << 20  # all of an archive's code/ sources together
_TARGET = re.compile(r"torch\.ops\.(\w+)\.(\w+)(?:\.(\w+))?|_operator\.(\w+)|math\.(\w+)")
_SYM = re.compile(r"torch\.(_?sym_\w+)")


def op_allowed(namespace: str, name: str, namespaces: frozenset[str] = PT2_NAMESPACES) -> bool:
    """Whether ``torch.ops.<namespace>.<name>`` is an operator a model file may call."""
    return namespace in namespaces and name not in DENIED_OPS and not name.startswith("__")


def target_allowed(target: str) -> bool:
    """Whether a serialized ``.pt2`` node's target string may be called."""
    if _SYM.fullmatch(target):
        return "__" not in target
    match = _TARGET.fullmatch(target)
    if match is None:
        return False
    namespace, name, _overload, operator_name, math_name = match.groups()
    if namespace is not None:
        return op_allowed(namespace, name)
    if operator_name is not None:
        return operator_name in OPERATOR_FUNCTIONS
    return not math_name.startswith("_")


def is_name(text: object, dotted: bool = False) -> bool:
    """An ASCII identifier (``dotted``: parts that are identifiers or indices, ``layer.0.w``)."""
    if not isinstance(text, str) or not text.isascii() or not 0 < len(text) <= 1024:
        return False
    parts = text.split(".") if dotted else [text]
    return all(part.isidentifier() or (dotted and part.isdigit()) for part in parts)


# -- TorchScript --------------------------------------------------------------------------------
def torchscript_refusals(path: Path) -> list[str]:
    """What in the TorchScript archive at ``path`` no model does: denied operators, namespaces
    outside ``TORCHSCRIPT_NAMESPACES``, custom classes outside ``quantized``, code that cannot
    be read to check. Empty for a scripted or traced model."""
    found: list[str] = []
    total = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if "/code/" not in f"/{info.filename}" or not info.filename.endswith(".py"):
                continue
            total += info.file_size
            if total > MAX_CODE_BYTES:
                return [f"over {MAX_CODE_BYTES >> 20} MiB of code"]
            with archive.open(info) as member:
                data = member.read(info.file_size + 1)
            found.extend(_code_refusals(info.filename, data))
    return found


def _code_refusals(name: str, data: bytes) -> list[str]:
    try:
        text = data.decode("utf-8").replace("\\\n", "")
        tokens = [
            t.string
            for t in tokenize.generate_tokens(io.StringIO(text).readline)
            if t.type in (tokenize.NAME, tokenize.OP)
        ]
    except (UnicodeDecodeError, tokenize.TokenError, SyntaxError, IndentationError):
        return [f"{name} (code that cannot be read to check it)"]
    found = []
    for i, token in enumerate(tokens):
        if token in DENIED_OPS:
            found.append(f"{name} (calls {token}, which touches files)")
        elif token in ("ops", "classes") and tokens[i + 1 : i + 2] == ["."]:
            namespace = tokens[i + 2] if i + 2 < len(tokens) else ""
            allowed = TORCHSCRIPT_NAMESPACES if token == "ops" else {"quantized"}
            if namespace not in allowed:
                found.append(f"{name} (uses torch.{token}.{namespace})")
    return sorted(set(found))


# -- torch.export -------------------------------------------------------------------------------
_PLAIN_NAME_KEYS = ("name", "as_name", "forward_arg_names", "user_input_name")


def pt2_refusals(path: Path) -> list[str]:
    """What in the ``.pt2`` at ``path`` no model does, read from its ``models/*.json`` before
    ``torch.export.load``: a name that is not an identifier, a call outside the allowlist.
    Raises ``OSError``/``zipfile.BadZipFile`` for a file that is not a zip archive."""
    found: list[str] = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            inner = info.filename.split("/", 1)[-1]
            if not (inner.startswith("models/") and inner.endswith(".json")):
                continue
            if info.file_size > MAX_CODE_BYTES:
                found.append(f"{info.filename} (over {MAX_CODE_BYTES >> 20} MiB)")
                continue
            try:
                program = json.loads(archive.read(info))
            except ValueError:
                found.append(f"{info.filename} (unreadable, so it cannot be checked)")
                continue
            found.extend(_json_refusals(info.filename, program))
    return found


def _json_refusals(member: str, program: object) -> list[str]:
    found: list[str] = []
    stack: list[tuple[str | None, object]] = [(None, program)]
    while stack and len(found) < 20:
        key, value = stack.pop()
        if isinstance(value, dict):
            if key is not None and key.endswith("_values"):  # node name -> value
                found.extend(f"{member} (name {k[:40]!r})" for k in value if not is_name(k))
            stack.extend(value.items())
        elif isinstance(value, list):
            stack.extend((key, item) for item in value)
        elif isinstance(value, str) and key is not None:
            bad = _bad_string(key, value)
            if bad:
                found.append(f"{member} ({bad})")
    return found


def _bad_string(key: str, value: str) -> str | None:
    if key in _PLAIN_NAME_KEYS:
        return None if is_name(value) else f"{key} {value[:40]!r}"
    if key.endswith("_name") or key == "fqn":
        return None if value == "" or is_name(value, dotted=True) else f"{key} {value[:40]!r}"
    if key == "target":
        return None if target_allowed(value) else f"calls {value[:60]}"
    if key in ("in_spec", "out_spec"):
        return _bad_spec(key, value)
    return None


def _bad_spec(key: str, text: str) -> str | None:
    """A serialized pytree spec: its types and dict keys end up in generated code."""
    try:
        stack = [json.loads(text)]
    except ValueError:
        return f"{key} unreadable"
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for field in ("type", "context"):
                value = item.get(field)
                if isinstance(value, str) and field == "context":
                    with contextlib.suppress(ValueError):
                        value = json.loads(value)
                for text_value in _strings(value):
                    if not is_name(text_value, dotted=True):
                        return f"{key} name {text_value[:40]!r}"
            stack.extend(item.get("children_spec") or [])
    return None


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for item in value.items() for s in _strings(list(item))]
    return []


def graph_refusals(program) -> list[str]:
    """``pt2_refusals`` on a loaded ``ExportedProgram``: its forward's argument names and every
    operator its graphs call (the ones ``.module()`` would build and run)."""
    import torch

    found: list[str] = []
    for entry in getattr(program, "module_call_graph", None) or []:
        signature = getattr(entry, "signature", None)
        for name in getattr(signature, "forward_arg_names", None) or []:
            if not is_name(name):
                found.append(f"argument name {str(name)[:40]!r}")
    for module in program.graph_module.modules():
        graph = getattr(module, "graph", None)
        for node in graph.nodes if graph is not None else ():
            if not is_name(node.name):
                found.append(f"node name {node.name[:40]!r}")
            target = node.target
            if node.op == "call_function" and isinstance(target, torch._ops.OpOverload):
                namespace, _, rest = target.name().partition("::")
                if not op_allowed(namespace, rest.split(".")[0]):
                    found.append(f"a call to {target.name()}")
    return found


def refuse_beyond_a_model(path: Path, program=None) -> None:
    """Raise ``ModelLoadError`` (one sentence) if the TorchScript archive or ``.pt2`` at
    ``path`` (or its loaded ``program``) does what no model does; trust does not change it."""
    from inspector.core.files.checkpoints import ModelLoadError

    try:
        if program is not None:
            found = graph_refusals(program)
        elif path.suffix == ".pt2":
            found = pt2_refusals(path)
        else:
            found = torchscript_refusals(path)
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError) as exc:
        kind = "torch.export" if path.suffix == ".pt2" else "TorchScript"
        raise ModelLoadError(f"{path.name}: not a loadable {kind} archive: {exc}") from exc
    if found:
        more = f" and {len(found) - 2} more" if len(found) > 2 else ""
        raise ModelLoadError(
            f"{path.name} is refused: it does what no model does ({'; '.join(found[:2])}{more})",
            "\n".join(found),
        )
