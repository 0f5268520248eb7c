"""What each ``AppState`` field says about itself: whether session files keep it, under which
QSettings key it is remembered between runs, and how a value read back is checked.

Every field of ``AppState`` (and of the values nested in it, ``ModelRef``) must be declared
with ``kept`` or ``transient``; the session format (``core.files.session``) and the QSettings
table (``gui.session.persistence``) are generated from these declarations, so a new field is
either saved or explicitly not, never forgotten.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import MISSING, dataclass
from typing import Any

MAX_TEXT = 4096  # a path or a module name
_DEVICE = re.compile(r"[a-z_]+(:\d{1,4})?")
SETTING, MEMBER = "setting", "member"  # a value in session.json / a file of its own


class Invalid(Exception):
    """A value that does not pass its check; ``str()`` says what was wanted."""


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Check:
    """Checks one value read from a file: returns it as the state holds it, or raises
    ``Invalid`` with what was wanted. ``from_text`` reads QSettings' stored form first."""

    want: str
    test: Callable[[Any], bool]
    convert: Callable[[Any], Any] = lambda v: v
    optional: bool = False
    from_text: Callable[[Any], Any] = lambda v: v

    def __call__(self, value: Any) -> Any:
        if value is None and self.optional:
            return None
        if not self.test(value):
            raise Invalid(self.want + (" or null" if self.optional else ""))
        return self.convert(value)

    def read_setting(self, stored: Any) -> Any:
        """A value as QSettings gives it back (text on some platforms)."""
        try:
            return self(self.from_text(stored))
        except (TypeError, ValueError) as exc:
            raise Invalid(self.want) from exc


def _text_ok(v: Any) -> bool:
    return isinstance(v, str) and 0 < len(v) <= MAX_TEXT and "\0" not in v


def _flag_text(v: Any) -> Any:
    return v if isinstance(v, bool) else str(v).lower() == "true"


def text(optional: bool = False) -> Check:
    return Check("a path or name", _text_ok, optional=optional, from_text=str)


def any_text() -> Check:
    """Text that may be empty (a setting whose blank means "the default")."""
    return Check(
        "text",
        lambda v: isinstance(v, str) and len(v) <= MAX_TEXT and "\0" not in v,
        from_text=str,
    )


def flag() -> Check:
    return Check("true or false", lambda v: isinstance(v, bool), from_text=_flag_text)


def integer(low: int, high: int, optional: bool = False) -> Check:
    return Check(
        f"a whole number from {low} to {high}",
        lambda v: is_int(v) and low <= v <= high,
        optional=optional,
        from_text=int,
    )


def positive(high: float) -> Check:
    return Check(
        f"a number above 0 and up to {high:g}",
        lambda v: _is_number(v) and math.isfinite(v) and 0 < v <= high,
        float,
        from_text=float,
    )


def one_of(*choices: str) -> Check:
    return Check(" or ".join(choices), lambda v: v in choices, from_text=str)


def device() -> Check:
    return Check(
        "a device name such as cpu or cuda:0",
        lambda v: isinstance(v, str) and _DEVICE.fullmatch(v) is not None,
        from_text=str,
    )


def shape() -> Check:
    def ok(v: Any) -> bool:
        return (
            isinstance(v, (list, tuple))
            and 1 <= len(v) <= 8
            and all(is_int(d) and 1 <= d <= 1 << 20 for d in v)
            and math.prod(v) <= max_input_elements()
        )

    from inspector.core.runtime.budget import max_input_elements

    return Check(
        f"a list of 1 to 8 sizes of at most {max_input_elements():,} elements in all",
        ok,
        tuple,
        optional=True,
    )


def seeds() -> Check:
    """(input name, seed) pairs: the other inputs of a model with several, re-rolled."""

    def ok(v: Any) -> bool:
        return (
            isinstance(v, (list, tuple))
            and len(v) <= 64
            and all(
                isinstance(p, (list, tuple))
                and len(p) == 2
                and _text_ok(p[0])
                and is_int(p[1])
                and 0 <= p[1] < 2**63
                for p in v
            )
        )

    return Check("a list of [input name, seed] pairs", ok, lambda v: tuple(map(tuple, v)))


def input_flags() -> Check:
    """``--input`` texts (``mask=1,16:bool``) a model with several inputs is opened with."""

    def ok(v: Any) -> bool:
        return (
            isinstance(v, (list, tuple))
            and len(v) <= 64
            and all(_text_ok(t) and "=" in t for t in v)
        )

    return Check("a list of NAME=SHAPE[:DTYPE] texts", ok, tuple)


def dtype_name() -> Check:
    from inspector.core.model.inputs import _DTYPES

    return Check("a dtype name such as float32 or int64", lambda v: v in _DTYPES, optional=True)


@dataclass(frozen=True)
class Keep:
    """Where a field's value survives the app. ``session``: SETTING (a value in
    session.json under ``key``), MEMBER (a file of its own, written by the session format) or
    None; ``settings``: its QSettings key, or None."""

    session: str | None = None
    settings: str | None = None
    check: Check | None = None
    key: str | None = None  # its name in session.json; the field's name unless given


_KEEP = "keep"


def kept(default: Any = MISSING, *, factory: Any = MISSING, **keep: Any) -> Any:
    """A dataclass field declared to survive (see ``Keep``)."""
    return dataclasses.field(
        default=default, default_factory=factory, metadata={_KEEP: Keep(**keep)}
    )


def transient(default: Any = MISSING, *, factory: Any = MISSING) -> Any:
    """A dataclass field declared to live only as long as the app runs."""
    return kept(default, factory=factory)


def declared(cls: type) -> type:
    """Class decorator: refuse a dataclass with a field declared neither ``kept`` nor
    ``transient``."""
    missing = [f.name for f in dataclasses.fields(cls) if _KEEP not in f.metadata]
    if missing:
        raise TypeError(f"{cls.__name__}: say whether {', '.join(missing)} is kept or transient")
    return cls


@dataclass(frozen=True)
class Setting:
    """One value of session.json: its key, the state field it comes from (``path`` through a
    nested value), its type as written and default, and its check."""

    key: str
    path: tuple[str, ...]
    type: Any
    default: Any
    check: Check


def _default(f: dataclasses.Field) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING


def walk(
    cls: type, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], dataclasses.Field, Keep]]:
    """Every declared field of ``cls``, nested dataclass values (whose own fields are
    declared) opened up."""
    for f in dataclasses.fields(cls):
        keep = f.metadata[_KEEP]
        value = _default(f)
        if dataclasses.is_dataclass(value) and keep.session == SETTING and keep.check is None:
            yield from walk(type(value), (*prefix, f.name))
        else:
            yield (*prefix, f.name), f, keep


def session_settings(cls: type) -> list[Setting]:
    """The values ``cls`` keeps in session.json, in field order."""
    out = []
    for path, f, keep in walk(cls):
        if keep.session == SETTING:
            check = keep.check or Check("anything", lambda v: True)
            out.append(Setting(keep.key or f.name, path, f.type, _default(f), check))
    return out


def members(cls: type) -> list[str]:
    """The fields of ``cls`` a session keeps in files of their own."""
    return [path[-1] for path, _f, keep in walk(cls) if keep.session == MEMBER]


def remembered(cls: type) -> dict[str, tuple[str, Check]]:
    """QSettings key → (field name, check) for each field ``cls`` remembers between runs."""
    return {
        keep.settings: (f.name, keep.check or Check("anything", lambda v: True))
        for _path, f, keep in walk(cls)
        if keep.settings
    }
