"""Checking every field of a session file before anything of it is applied: types, ranges,
sizes, and where its model files are now (beside the session first)."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

LOSS_KINDS = ("mse", "ce", "sum")
MAX_CLASS = 2**31 - 1
MAX_TEXT = 4096  # a path or a module name
PIN_NAMES = ("A",)  # the states a session may pin (Compare's A)


def spec_file(spec: str) -> str | None:
    """The file in a model spec (``nets.py`` in ``nets.py:Net``); None for a built-in."""
    from inspector.core.files.loading import BUILTIN, python_spec

    key = spec.strip()
    if key.lower() in BUILTIN:
        return None
    python = python_spec(key)
    return python[0] if python is not None else key


class Invalid(Exception):
    pass


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def size_text(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


_DEVICE = re.compile(r"[a-z_]+(:\d{1,4})?")


def check_settings(meta: dict, problem, defaults: object) -> dict:
    """The settings in ``meta`` with their types checked (``problem(field, value, want)`` words
    a failure; ``defaults`` has the value of each field a file leaves out); returns the
    dataclass fields only."""
    out: dict[str, Any] = {}

    def get(name: str):
        return meta.get(name, getattr(defaults, name))

    def fail(name: str, want: str):
        raise Invalid(problem(name.replace("_", " "), meta.get(name), want))

    def text(name: str, optional: bool) -> None:
        value = get(name)
        if value is None and optional:
            out[name] = None
        elif isinstance(value, str) and 0 < len(value) <= MAX_TEXT and "\0" not in value:
            out[name] = value
        else:
            fail(name, "a path or name" + (" or null" if optional else ""))

    def flag(name: str) -> None:
        if not isinstance(get(name), bool):
            fail(name, "true or false")
        out[name] = get(name)

    def integer(name: str, low: int, high: int, optional: bool = False) -> None:
        value = get(name)
        if value is None and optional:
            out[name] = None
        elif is_int(value) and low <= value <= high:
            out[name] = value
        else:
            fail(name, f"a whole number from {low} to {high}" + (" or null" if optional else ""))

    def positive(name: str, high: float) -> None:
        value = get(name)
        if not (_is_number(value) and math.isfinite(value) and 0 < value <= high):
            fail(name, f"a number above 0 and up to {high:g}")
        out[name] = float(value)

    text("model_spec", optional=False)
    text("model_weights", optional=True)
    flag("trust")
    shape = get("input_shape")
    if shape is None:
        out["input_shape"] = None
    elif (
        isinstance(shape, (list, tuple))
        and 1 <= len(shape) <= 8
        and all(is_int(d) and 1 <= d <= 1 << 20 for d in shape)
        and math.prod(shape) <= 1 << 30
    ):
        out["input_shape"] = tuple(shape)
    else:
        fail("input_shape", "a list of 1 to 8 sizes")
    device = get("device")
    if not (isinstance(device, str) and _DEVICE.fullmatch(device)):
        fail("device", "a device name such as cpu or cuda:0")
    out["device"] = device
    text("selected_module", optional=True)
    if get("loss_kind") not in LOSS_KINDS:
        fail("loss_kind", " or ".join(LOSS_KINDS))
    out["loss_kind"] = get("loss_kind")
    integer("target_class", 0, MAX_CLASS)
    flag("zero_grad")
    positive("learning_rate", 1e6)
    integer("backward_step", -1, 10**9, optional=True)  # -1: shown, before the first node
    integer("output_index", 0, 10**6)
    positive("brush_radius", 64.0)
    pins = get("pins")
    if not (isinstance(pins, list) and pins in ([], list(PIN_NAMES))):
        fail("pins", 'an empty list or ["A"]')
    out["pins"] = list(pins)
    integer("pin_seed", 0, 2**63 - 1)
    flag("comparing")
    files = meta.get("model_files")
    if files is not None and not (
        isinstance(files, dict) and all(_valid_record(files.get(k)) for k in ("spec", "weights"))
    ):
        fail("model_files", "the model's paths")
    return out


def _valid_record(record: Any) -> bool:
    if record is None:
        return True
    return isinstance(record, dict) and all(
        record.get(k) is None
        or (isinstance(record.get(k), str) and len(record[k]) <= MAX_TEXT and "\0" not in record[k])
        for k in ("absolute", "relative")
    )


def check_drawing(drawing: Any, name: str) -> np.ndarray:
    array = np.asarray(drawing)
    if array.shape != (32, 32) or array.dtype.kind != "f" or not np.isfinite(array).all():
        raise Invalid(
            f"its {name} is a {array.dtype} array of shape {list(array.shape)}, "
            "not 32×32 finite numbers"
        )
    return array.astype(np.float32)


def check_raw(raw: Any) -> np.ndarray:
    array = np.asarray(raw)
    if (
        array.dtype.kind not in "biuf"
        or not 1 <= array.ndim <= 8
        or (array.dtype.kind == "f" and not np.isfinite(array).all())
    ):
        raise Invalid(
            f"its raw input is a {array.dtype} array of shape {list(array.shape)}, "
            "not finite numbers"
        )
    return array.astype(np.float32)


# -- model paths --------------------------------------------------------------------------------
def resolve(typed: str, record: Any, folder: Path) -> str:
    """The first of: relative to the session's folder, absolute, as typed (relative to the
    working folder) that exists; as typed if none does (opening it then names it)."""
    candidates: list[Path] = []
    if isinstance(record, dict):
        if record.get("relative"):
            candidates.append(folder / record["relative"])
        if record.get("absolute"):
            candidates.append(Path(record["absolute"]))
    elif not Path(typed).is_absolute():  # format 1: as typed, else beside the session
        candidates.append(Path(typed))
        candidates.append(folder / typed)
    candidates.append(Path(typed))
    for candidate in candidates:
        if candidate.exists():
            return str(Path(os.path.normpath(candidate.absolute())))
    return typed


def resolve_spec(spec: str, record: Any, folder: Path) -> str:
    file = spec_file(spec)
    if file is None:
        return spec
    resolved = resolve(file, record, folder)
    key = spec.strip()
    return resolved + key[len(file) :] if resolved != file else spec
