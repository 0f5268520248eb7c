"""Between the live ``AppState`` and a session file's ``SessionState``, field by field as the
state's declarations say (``core.state_fields``): nothing is copied by hand."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from inspector.core.files.session import SETTINGS, SessionState
from inspector.core.state import AppState, ModelRef


def session_from(
    state: AppState, weights: dict, pin_weights: dict | None = None, training: Any = None
) -> SessionState:
    """The session file's contents: the live state and the weights as they are now, Compare's
    A with ``pin_weights`` (its weights) when one is pinned, and the training so far
    (``core.training.TrainingSnapshot``, or None)."""
    values = {}
    for setting in SETTINGS:
        value: Any = state
        for name in setting.path:
            value = getattr(value, name)
        values[setting.key] = value
    pin = state.pin if pin_weights else None
    values["comparing"] = state.comparing and pin is not None
    return SessionState(
        **values,
        drawing=state.drawing.copy(),
        raw_input=None if state.raw_input is None else state.raw_input.copy(),
        weights=weights,
        pins=["A"] if pin is not None else [],
        pin_drawing=None if pin is None else pin.drawing.copy(),
        pin_raw_input=None if pin is None or pin.raw_input is None else pin.raw_input.copy(),
        pin_seed=0 if pin is None else pin.seed,
        pin_weights=dict(pin_weights or {}),
        training=training,
    )


def state_values(saved: SessionState) -> dict[str, Any]:
    """The ``AppState`` field values ``saved`` holds as settings (nested values, the model,
    built whole), by field name."""
    out: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for setting in SETTINGS:
        value = getattr(saved, setting.key)
        if len(setting.path) == 1:
            out[setting.path[0]] = value
        else:
            nested.setdefault(setting.path[0], {})[setting.path[1]] = value
    defaults = {f.name: f for f in fields(AppState)}
    for name, values in nested.items():
        out[name] = replace(defaults[name].default_factory(), **values)
    return out


def session_model(saved: SessionState) -> ModelRef:
    """How a session's model is opened: without its original weights file when the session
    holds the weights (it always does when written by Net Inspector)."""
    model = state_values(saved)["model"]
    return replace(model, weights=None) if saved.weights else model
