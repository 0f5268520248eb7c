"""Checking every field of a session file before anything of it is applied: types, ranges,
sizes, and where its model files are now (beside the session first)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from inspector.core.state_fields import MAX_TEXT, Invalid, Setting, integer

PIN_NAMES = ("A",)  # the states a session may pin (Compare's A)


def spec_file(spec: str) -> str | None:
    """The file in a model spec (``nets.py`` in ``nets.py:Net``); None for a built-in."""
    from inspector.core.files.loading import BUILTIN, python_spec

    key = spec.strip()
    if key.lower() in BUILTIN:
        return None
    python = python_spec(key)
    return python[0] if python is not None else key


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def size_text(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


def check_settings(meta: dict, problem, settings: list[Setting]) -> dict:
    """The ``settings`` (``core.state_fields.Setting``) in ``meta`` checked, with the format's
    own pins and model files (``problem(field, value, want)`` words a failure; a setting a file
    leaves out has its default); returns the values by key."""
    out: dict[str, Any] = {}

    def fail(name: str, want: str):
        raise Invalid(problem(name.replace("_", " "), meta.get(name), want))

    for setting in settings:
        try:
            out[setting.key] = setting.check(meta.get(setting.key, setting.default))
        except Invalid as exc:
            fail(setting.key, str(exc))
    pins = meta.get("pins", [])
    if not (isinstance(pins, list) and pins in ([], list(PIN_NAMES))):
        fail("pins", 'an empty list or ["A"]')
    out["pins"] = list(pins)
    try:
        out["pin_seed"] = integer(0, 2**63 - 1)(meta.get("pin_seed", 0))
    except Invalid as exc:
        fail("pin_seed", str(exc))
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
    """The raw input as float32, refused unless every value is finite as float32 too (1e308 in
    a float64 array would become Inf)."""
    array = np.asarray(raw)
    ok = array.dtype.kind in "biuf" and 1 <= array.ndim <= 8
    if ok:
        with np.errstate(over="ignore", invalid="ignore"):
            converted = array.astype(np.float32)
        ok = bool(np.isfinite(converted).all())
    if not ok:
        raise Invalid(
            f"its raw input is a {array.dtype} array of shape {list(array.shape)}, "
            "not finite float32 numbers"
        )
    return converted


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
