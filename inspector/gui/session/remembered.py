"""The model remembered in QSettings, read back checked: a value someone edited by hand
(``model/input_shape=abc``, or ``1, 4``, which the INI format reads as a list) is forgotten
with a note for the status bar, never a traceback at every start."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings

from inspector.core import state_fields as check
from inspector.core.state import ModelRef
from inspector.core.state_fields import Invalid

MODEL_KEYS = (
    "model/spec",
    "model/weights",
    "model/trust",
    "model/input_shape",
    "model/input_dtype",
)


def _shape(stored: Any) -> tuple[int, ...] | None:
    if stored in ("", None):
        return None
    parts = stored if isinstance(stored, list) else str(stored).split(",")
    try:
        return check.shape()([int(str(p).strip()) for p in parts])
    except ValueError:
        raise Invalid("a list of sizes such as 1,3,64,64") from None


def _text(stored: Any) -> str | None:
    return None if stored in ("", None) else check.text()(stored)


def _flag(stored: Any) -> bool:
    text = str(stored).lower()
    if text not in ("true", "false"):
        raise Invalid("true or false")
    return text == "true"


def _dtype(stored: Any) -> str | None:
    return None if stored in ("", None) else check.dtype_name()(stored)


def last_model(notes: list[str]) -> ModelRef | None:
    """The remembered model, each value checked; a bad one is removed from QSettings and
    ``notes`` gets a sentence for it (a bad spec forgets the whole model)."""
    s = QSettings()
    readers = {
        "model/spec": _text,
        "model/weights": _text,
        "model/input_shape": _shape,
        "model/trust": _flag,
        "model/input_dtype": _dtype,
    }
    values: dict[str, Any] = {}
    for key, read in readers.items():
        stored = s.value(key, "" if key != "model/trust" else "false")
        try:
            values[key] = read(stored)
        except (Invalid, TypeError) as exc:
            shown = repr(stored) if len(repr(stored)) <= 40 else repr(stored)[:37] + "..."
            notes.append(f"Forgot the saved setting {key} ({shown}): it was not {exc}.")
            s.remove(key)
            values[key] = None if key != "model/trust" else False
            if key == "model/spec":
                for other in MODEL_KEYS:
                    s.remove(other)
                return None
    if not values["model/spec"]:
        return None
    return ModelRef(
        values["model/spec"],
        values["model/weights"],
        values["model/input_shape"],
        values["model/trust"],
        values["model/input_dtype"],
    )
