"""An intervention as plain data, the ``STEP:ACTION`` text that names one, and the one line a
person reads for it (``3. max_pool2d [ch 2] = 0``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from inspector.core.forward.capture import Step

ACTIONS = ("zero", "scale", "set", "clamp", "patch", "paint")


class EditError(ValueError):
    """An intervention that cannot be made; ``str()`` is one sentence naming the step."""


@dataclass(frozen=True)
class Intervention:
    """One edit of one step's value, applied during the forward.

    ``step`` is the 0-based step index as the capture numbers it, ``label`` the step's label
    then (an edit whose step now has another label is not applied). ``channel`` picks dim 1 of
    a ``[N, C, ...]`` step (dim 2, the feature, of a ``[N, T, D]`` sequence step); ``position``
    picks dim 1 of a ``[N, T, D]`` step. ``value``: the factor (scale), the value (set), the
    bounds (clamp). ``delta``: paint's ``[H, W]`` map added to the channel, in activation units
    (compared through ``revision``, which every stroke raises)."""

    step: int
    label: str
    action: str
    channel: int | None = None
    position: int | None = None
    value: float | tuple[float, float] | None = None
    enabled: bool = True
    delta: np.ndarray | None = field(default=None, compare=False, repr=False)
    revision: int = 0

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise EditError(f"unknown action {self.action!r}: one of {', '.join(ACTIONS)}")

    def to_json(self) -> dict:
        """What a session file writes (``to_dict``)."""
        return to_dict(self)

    @property
    def key(self) -> str:
        """What the panel calls the step: ``3. max_pool2d``."""
        return f"{self.step + 1}. {self.label}"

    def describe(self) -> str:
        """One line: ``3. max_pool2d [ch 2] = 0``, ``5. relu × 0.5``, ``8. h.3 › add [pos 4]
        ← A``."""
        where = ""
        if self.position is not None:
            where += f" [pos {self.position}]"
        if self.channel is not None:
            where += f" [ch {self.channel}]"
        return f"{self.key}{where} {self._what()}"

    def _what(self) -> str:
        if self.action in ("scale", "set"):
            return f"{'×' if self.action == 'scale' else '='} {_number(self.value)}"
        if self.action == "clamp":
            return "clamped to [{}, {}]".format(*map(_number, self.value))
        return {"zero": "= 0", "patch": "← A", "paint": "painted"}[self.action]


def _number(value) -> str:
    return f"{float(value):g}"


def to_dict(edit: Intervention) -> dict:
    """JSON-ready fields (a session file); paint's map as nested lists."""
    value = list(edit.value) if isinstance(edit.value, tuple) else edit.value
    data = {
        "step": edit.step,
        "label": edit.label,
        "action": edit.action,
        "channel": edit.channel,
        "position": edit.position,
        "value": value,
        "enabled": edit.enabled,
    }
    if edit.delta is not None:
        data["delta"] = np.asarray(edit.delta, np.float32).tolist()
    return data


def from_dict(data: dict) -> Intervention:
    """The inverse of ``to_dict``; ``EditError`` (one sentence) for anything malformed."""
    try:
        value = data.get("value")
        if isinstance(value, list):
            value = (float(value[0]), float(value[1]))
        elif value is not None:
            value = float(value)
        delta = data.get("delta")
        return Intervention(
            step=int(data["step"]),
            label=str(data["label"]),
            action=str(data["action"]),
            channel=None if data.get("channel") is None else int(data["channel"]),
            position=None if data.get("position") is None else int(data["position"]),
            value=value,
            enabled=bool(data.get("enabled", True)),
            delta=None if delta is None else np.asarray(delta, np.float32),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        if isinstance(exc, EditError):
            raise
        raise EditError(f"an intervention in the session is malformed ({exc})") from None


# -- the command line's STEP:ACTION ----------------------------------------------------------
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_ACTION = re.compile(
    rf"^(?P<action>zero|scale|set|clamp|patch)"
    rf"(?:=(?P<value>{_NUMBER}(?:,{_NUMBER})?))?"
    rf"(?:\[(?P<channel>\d+)\])?$"
)


def resolve_step(name: str, steps: list[Step]) -> Step:
    """The step ``name`` means: a 1-based number as ``steps`` lists it, or a module's path (a
    leaf's own output; for a module with children, its last step: the block's output)."""
    if re.fullmatch(r"\d+", name):
        number = int(name)
        if not 1 <= number <= len(steps):
            raise EditError(f"there is no step {number}: the forward ran {len(steps)} steps")
        return steps[number - 1]
    inside = [s for s in steps if s.module == name or s.module.startswith(name + ".")]
    if not inside:
        raise EditError(f"{name!r} is neither a step number nor a module that ran a step")
    own = [s for s in inside if s.is_module and s.module == name]
    return own[-1] if own else inside[-1]


def parse_edit(spec: str, steps: list[Step]) -> Intervention:
    """``STEP:ACTION`` (``3:zero[2]``, ``conv1:scale=0.5``, ``fc1:clamp=-1,1``, ``5:patch``) as
    an intervention on ``steps``; ``EditError`` (one sentence) for anything else."""
    where, sep, action = spec.rpartition(":")
    if not sep or not where:
        raise EditError(f"--edit {spec!r}: expected STEP:ACTION, e.g. 3:zero[2] or conv1:scale=0.5")
    match = _ACTION.match(action.replace(" ", ""))
    if match is None:
        raise EditError(
            f"--edit {spec!r}: {action!r} is not one of zero, zero[CH], scale=F, scale=F[CH], "
            "set=V, set=V[CH], clamp=LO,HI, patch"
        )
    kind, raw, channel = match["action"], match["value"], match["channel"]
    numbers = [] if raw is None else [float(v) for v in raw.split(",")]
    wanted = {"zero": 0, "patch": 0, "scale": 1, "set": 1, "clamp": 2}[kind]
    if len(numbers) != wanted:
        form = {0: kind, 1: f"{kind}=F", 2: "clamp=LO,HI"}[wanted]
        raise EditError(f"--edit {spec!r}: {kind} takes the form {form}")
    if kind == "clamp" and numbers[0] > numbers[1]:
        low, high = numbers
        raise EditError(f"--edit {spec!r}: clamp's LO {low:g} is above its HI {high:g}")
    step = resolve_step(where.strip(), steps)
    value = None if not numbers else numbers[0] if len(numbers) == 1 else tuple(numbers)
    edit = Intervention(
        step.index, step.label, kind, None if channel is None else int(channel), None, value
    )
    check_fits(edit, step.shape)
    return edit


def check_fits(edit: Intervention, shape: tuple[int, ...]) -> None:
    """``EditError`` unless the channel and position exist in a step of ``shape``."""
    sequence = len(shape) == 3
    if edit.channel is not None:
        dim = 2 if sequence else 1
        if len(shape) <= dim:
            raise EditError(f"step {edit.key} {list(shape)} has no channels to pick from")
        if not 0 <= edit.channel < shape[dim]:
            raise EditError(
                f"step {edit.key} {list(shape)} has {shape[dim]} channels: "
                f"no channel {edit.channel}"
            )
    if edit.position is not None:
        if not sequence:
            raise EditError(f"step {edit.key} {list(shape)} has no token positions ([N, T, D])")
        if not 0 <= edit.position < shape[1]:
            raise EditError(
                f"step {edit.key} {list(shape)} has {shape[1]} positions: no position "
                f"{edit.position}"
            )


def _readable(value) -> bool:
    if not isinstance(value, (list, tuple)) or len(value) > MAX_EDITS:
        return False
    try:
        _as_edits(value)
    except EditError:
        return False
    return True


def _as_edits(value) -> tuple[Intervention, ...]:
    return tuple(e if isinstance(e, Intervention) else from_dict(e) for e in value)


MAX_EDITS = 256


def session_check():
    """How a session's ``interventions`` are checked: a list of ``to_dict`` records (or the
    interventions themselves, when saving)."""
    from inspector.core.state_fields import Check

    return Check("a list of interventions", _readable, _as_edits)
