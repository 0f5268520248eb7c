"""Session files: everything a user made, in one zip, written atomically (``core.io``).

Members: ``session.json`` (what was open and how it was set up), ``drawing.npy`` (and
``raw_input.npy`` for a random input), ``weights.safetensors`` (the weights as they are now,
after any updates, every dtype and shape exactly). A session is self-contained: its weights are
what is restored, so the weights file the model was first opened with is not needed again
(``model_to_open`` and ``restore_weights``).

Format versions:

- 1: as above; the model path as typed; 0-d tensors stored as shape (1,); no bf16.
- 2: weights stored exactly (0-d, bf16) and uncompressed; ``model_files`` holds each model
  file's path absolute and relative to the session, resolved on load (relative to the session
  if that file exists, else the absolute path, else as typed); ``pins`` (module paths);
  optionally ``training`` (``core.training``'s snapshot: settings and counters in the JSON,
  curves, gradient health, optimiser state, generator and order in ``training.safetensors``).
  Files without it open as before; older readers ignore it.

Reading validates every field and caps every member's size before anything is returned; a
file from a newer version, or a damaged or oversized one, raises ``SessionError`` whose
``str()`` is one sentence naming the file (and the field).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .io import atomic_write
from .training import TrainingSnapshot, check_snapshot

FORMAT = "net-inspector-session"
VERSION = 2

# Limits checked against the zip directory before anything is decompressed. ZipExtFile never
# returns more than a member's declared size, and reads are capped again, so a lying header
# cannot make a member bigger either.
MAX_JSON_BYTES = 1 << 20  # settings are a few hundred bytes
MAX_DRAWING_BYTES = 64 << 10  # a 32×32 float32 .npy is 4,224 bytes
MAX_RAW_INPUT_BYTES = 256 << 20  # a 1×3×4096×4096 float32 input; far above any canvas input
# The weights: 4 GiB is a 1-billion-parameter fp32 model, beyond what this app can inspect
# interactively (every forward is captured layer by layer on the machine's memory), while a
# session that holds more is most likely not a session at all.
MAX_WEIGHTS_BYTES = 4 << 30
# Training: Adam keeps two tensors per weight, plus the curves and the epoch's order.
MAX_TRAINING_BYTES = 2 * MAX_WEIGHTS_BYTES + (64 << 20)
MAX_TOTAL_BYTES = (
    MAX_JSON_BYTES
    + MAX_DRAWING_BYTES
    + MAX_RAW_INPUT_BYTES
    + MAX_WEIGHTS_BYTES
    + MAX_TRAINING_BYTES
)
MAX_MEMBERS = 64
# Weights (format 2) are stored uncompressed and random-looking data deflates by ~1.1×, so a
# member that expands by more than this is a zip bomb, not a session. Small members (a mostly
# empty drawing deflates 40×) are exempt: their size is capped anyway.
MAX_RATIO = 100
RATIO_EXEMPT_BYTES = 1 << 20

_MEMBER_CAPS = {
    "session.json": MAX_JSON_BYTES,
    "drawing.npy": MAX_DRAWING_BYTES,
    "raw_input.npy": MAX_RAW_INPUT_BYTES,
    "weights.safetensors": MAX_WEIGHTS_BYTES,
    "training.safetensors": MAX_TRAINING_BYTES,
}
LOSS_KINDS = ("mse", "ce", "sum")
MAX_CLASS = 2**31 - 1
MAX_TEXT = 4096  # a path or a module name
MAX_PINS = 1000


class SessionError(Exception):
    """A session file that cannot be used; ``str()`` is one sentence naming the file."""


Tensorish = torch.Tensor | np.ndarray


@dataclass
class SessionState:
    model_spec: str = "lenet"
    model_weights: str | None = None  # the file the weights were first loaded from
    trust: bool = False
    input_shape: tuple[int, ...] | None = None
    device: str = "cpu"
    selected_module: str | None = None
    loss_kind: str = "mse"
    target_class: int = 0
    zero_grad: bool = True
    learning_rate: float = 0.01
    backward_step: int | None = None  # None: no backward pass shown; -1: shown, not stepped
    output_index: int = 0
    brush_radius: float = 1.4
    drawing: np.ndarray = field(default_factory=lambda: np.zeros((32, 32), np.float32))
    raw_input: np.ndarray | None = None
    # Written from torch tensors or numpy arrays; read back as CPU torch tensors.
    weights: dict[str, Tensorish] = field(default_factory=dict)
    pins: list[str] = field(default_factory=list)  # format 2
    training: TrainingSnapshot | None = None  # format 2, optional: the training so far
    format_version: int = VERSION  # the format the file was read from

    def settings(self) -> dict:
        data = asdict(replace(self, weights={}, training=None))
        for key in ("drawing", "raw_input", "weights", "format_version", "training"):
            data.pop(key)
        data["input_shape"] = list(self.input_shape) if self.input_shape else None
        data["pins"] = list(self.pins)
        return data


@dataclass(frozen=True)
class ModelToOpen:
    """What ``loading.open_model`` needs to re-open a session's model. ``weights`` is None when
    the session holds the weights (then apply them with ``restore_weights`` after opening)."""

    spec: str
    weights: str | None
    trust: bool
    input_shape: tuple[int, ...] | None


def model_to_open(state: SessionState) -> ModelToOpen:
    """How to open ``state``'s model: without its original weights file when the session holds
    the weights (it always does when written by Net Inspector)."""
    weights = None if state.weights else state.model_weights
    return ModelToOpen(state.model_spec, weights, state.trust, state.input_shape)


def restore_weights(
    model: torch.nn.Module, state: SessionState, source: str = "the session"
) -> None:
    """Put the session's weights into ``model`` bit for bit, or raise ``ModelLoadError`` (naming
    ``source`` and the keys) and change nothing if they do not fit it exactly."""
    from .checkpoints import apply_state_dict

    tensors = {k: _as_tensor(v) for k, v in state.weights.items()}
    apply_state_dict(model, tensors, source, scalars_saved_as_1d=state.format_version < 2)


# -- writing ------------------------------------------------------------------------------------
def save_session(path: Path, state: SessionState) -> None:
    """Write ``state`` to ``path`` atomically: an interrupted save leaves the previous file as it
    was. Raises ``ValueError`` (naming the field) for a state that would not read back."""
    path = Path(path)
    folder = path.resolve().parent
    meta = {"format": FORMAT, "version": VERSION, **state.settings()}
    meta["model_files"] = {
        "spec": _file_record(_spec_file(state.model_spec), folder),
        "weights": _file_record(state.model_weights, folder),
    }
    try:
        _check_settings(meta, lambda f, v, want: f"its {f} is {_show(v)}, not {want}")
        drawing = _check_drawing(state.drawing, "drawing")
        raw = None if state.raw_input is None else _check_raw(state.raw_input)
    except _Invalid as exc:
        raise ValueError(f"cannot save {path.name}: {exc}") from None
    training = state.training
    meta["training"] = None if training is None else training.meta
    try:
        if training is not None:
            check_snapshot(training.meta, training.arrays)
    except ValueError as exc:
        raise ValueError(f"cannot save {path.name}: {exc}") from None
    text = json.dumps(meta, indent=1, allow_nan=False)
    weights = _encode_weights(state.weights)
    trained = None if training is None else _encode_weights(training.arrays)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("session.json", text)
            archive.writestr("drawing.npy", _npy(drawing))
            if raw is not None:
                archive.writestr("raw_input.npy", _npy(raw))
            archive.writestr("weights.safetensors", weights, compress_type=zipfile.ZIP_STORED)
            if trained is not None:
                archive.writestr(
                    "training.safetensors", trained, compress_type=zipfile.ZIP_DEFLATED
                )

    atomic_write(path, write)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.require(array, requirements="C"), allow_pickle=False)  # keeps 0-d
    return buffer.getvalue()


def _encode_weights(weights: dict[str, Tensorish]) -> bytes:
    """safetensors bytes, every dtype and shape as it is (0-d stays 0-d, bf16 stays bf16)."""
    arrays: dict[str, np.ndarray] = {}
    tensors: dict[str, torch.Tensor] = {}
    for name, value in weights.items():
        if not isinstance(name, str):
            raise ValueError(f"weight names must be strings, not {type(name).__name__}")
        tensor = _as_tensor(value).detach().to("cpu")
        # A copy per tensor: safetensors refuses tensors sharing storage (tied weights).
        tensors[name] = tensor.clone().contiguous()
        try:
            arrays[name] = np.require(tensor.numpy(), requirements="C")
        except TypeError:  # bf16, fp8: numpy has no such dtype
            arrays = {}
    if arrays and len(arrays) == len(tensors):
        from safetensors.numpy import save
    else:
        from safetensors.torch import save

        arrays = tensors
    return save(arrays)


def _as_tensor(value: Tensorish) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    array = np.asarray(value)
    return torch.from_numpy(np.require(array, requirements=["C", "W"]).copy())


def _spec_file(spec: str) -> str | None:
    """The file in a model spec (``nets.py`` in ``nets.py:Net``); None for a built-in."""
    from .loading import BUILTIN

    key = spec.strip()
    if key.lower() in BUILTIN:
        return None
    path_text, sep, _ = key.rpartition(":")
    return path_text if sep and path_text.endswith(".py") else key


def _file_record(typed: str | None, folder: Path) -> dict | None:
    if typed is None:
        return None
    absolute = Path(typed).expanduser().absolute()
    with_links = Path(os.path.normpath(absolute))
    try:
        relative = os.path.relpath(with_links, folder)
    except ValueError:  # another drive (Windows)
        relative = None
    return {"absolute": str(with_links), "relative": relative}


# -- reading ------------------------------------------------------------------------------------
def load_session(path: Path) -> SessionState:
    """Read and validate a session file completely; nothing is applied by this. Model paths come
    back resolved (see the module's docstring); weights as CPU torch tensors."""
    from safetensors.torch import load as load_tensors

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = _checked_members(archive, path)
            if "session.json" not in infos:
                raise SessionError(f"{path.name} is not a Net Inspector session")
            meta = json.loads(_read(archive, infos["session.json"]))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise SessionError(f"{path.name} is not a Net Inspector session")
            version = meta.get("version")
            if not _is_int(version) or version < 1:
                raise SessionError(f"{path.name} is damaged: its version is {_show(version)}")
            if version > VERSION:
                raise SessionError(
                    f"{path.name} was saved by a newer Net Inspector (session format "
                    f"{version}; this one reads up to {VERSION}): update to open it"
                )
            for name in ("drawing.npy", "weights.safetensors"):
                if name not in infos:
                    raise SessionError(f"{path.name} is damaged: it has no {name}")
            drawing = np.load(io.BytesIO(_read(archive, infos["drawing.npy"])), allow_pickle=False)
            raw = (
                np.load(io.BytesIO(_read(archive, infos["raw_input.npy"])), allow_pickle=False)
                if "raw_input.npy" in infos
                else None
            )
            weights = load_tensors(_read(archive, infos["weights.safetensors"]))
            trained = meta.get("training")
            if trained is not None:
                if "training.safetensors" not in infos:
                    raise SessionError(f"{path.name} is damaged: it has no training.safetensors")
                arrays = load_tensors(_read(archive, infos["training.safetensors"]))
                try:
                    trained = check_snapshot(trained, arrays)
                except ValueError as exc:
                    raise SessionError(f"{path.name} is damaged: {exc}") from None
    except SessionError:
        raise
    except FileNotFoundError:
        raise SessionError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SessionError(f"{path} is a folder, not a session file") from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError) as exc:
        raise SessionError(f"{path.name} is damaged and cannot be opened ({exc})") from exc

    def problem(name: str, value: Any, want: str) -> str:
        return f"{path.name} is damaged: its {name} is {_show(value)}, not {want}"

    try:
        settings = _check_settings(meta, problem)
    except _Invalid as exc:
        raise SessionError(str(exc)) from None
    try:
        drawing = _check_drawing(drawing, "drawing")
        raw = None if raw is None else _check_raw(raw)
    except _Invalid as exc:
        raise SessionError(f"{path.name} is damaged: {exc}") from None
    folder = path.resolve().parent
    files = meta.get("model_files") if version >= 2 else None
    files = files if isinstance(files, dict) else {}
    settings["model_spec"] = _resolve_spec(settings["model_spec"], files.get("spec"), folder)
    if settings["model_weights"] is not None:
        settings["model_weights"] = _resolve(
            settings["model_weights"], files.get("weights"), folder
        )
    return SessionState(
        **settings,
        drawing=drawing,
        raw_input=raw,
        weights=dict(weights),
        training=trained,
        format_version=version,
    )


def _checked_members(archive: zipfile.ZipFile, path: Path) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise SessionError(f"{path.name} is not a session: it has {len(infos)} members")
    known = {info.filename: info for info in infos if info.filename in _MEMBER_CAPS}
    total = 0
    for name, info in known.items():
        cap = _MEMBER_CAPS[name]
        if info.file_size > cap:
            raise SessionError(
                f"{path.name} is refused: its {name} would expand to {_size(info.file_size)}, "
                f"over the {_size(cap)} a session may hold"
            )
        if info.file_size > RATIO_EXEMPT_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise SessionError(
                f"{path.name} is refused: its {name} would expand from "
                f"{_size(info.compress_size)} to {_size(info.file_size)} (a zip bomb)"
            )
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise SessionError(f"{path.name} is refused: it would expand to {_size(total)}")
    return known


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    cap = _MEMBER_CAPS[info.filename]
    with archive.open(info) as member:
        data = member.read(min(info.file_size, cap) + 1)
    if len(data) > min(info.file_size, cap):
        raise ValueError(f"{info.filename} is longer than its header says")
    return data


# -- validation ---------------------------------------------------------------------------------
class _Invalid(Exception):
    pass


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


_DEVICE = re.compile(r"[a-z_]+(:\d{1,4})?")


def _check_settings(meta: dict, problem) -> dict:
    """The settings in ``meta`` with their types checked (``problem(field, value, want)`` words
    a failure); returns the dataclass fields only."""
    out: dict[str, Any] = {}
    defaults = SessionState()

    def get(name: str):
        return meta.get(name, getattr(defaults, name))

    def fail(name: str, want: str):
        raise _Invalid(problem(name.replace("_", " "), meta.get(name), want))

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
        elif _is_int(value) and low <= value <= high:
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
        and all(_is_int(d) and 1 <= d <= 1 << 20 for d in shape)
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
    if not (
        isinstance(pins, list)
        and len(pins) <= MAX_PINS
        and all(isinstance(p, str) and len(p) <= MAX_TEXT for p in pins)
    ):
        fail("pins", f"a list of up to {MAX_PINS} module names")
    out["pins"] = list(pins)
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


def _check_drawing(drawing: Any, name: str) -> np.ndarray:
    array = np.asarray(drawing)
    if array.shape != (32, 32) or array.dtype.kind != "f" or not np.isfinite(array).all():
        raise _Invalid(
            f"its {name} is a {array.dtype} array of shape {list(array.shape)}, "
            "not 32×32 finite numbers"
        )
    return array.astype(np.float32)


def _check_raw(raw: Any) -> np.ndarray:
    array = np.asarray(raw)
    if (
        array.dtype.kind not in "biuf"
        or not 1 <= array.ndim <= 8
        or (array.dtype.kind == "f" and not np.isfinite(array).all())
    ):
        raise _Invalid(
            f"its raw input is a {array.dtype} array of shape {list(array.shape)}, "
            "not finite numbers"
        )
    return array.astype(np.float32)


# -- model paths --------------------------------------------------------------------------------
def _resolve(typed: str, record: Any, folder: Path) -> str:
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


def _resolve_spec(spec: str, record: Any, folder: Path) -> str:
    file = _spec_file(spec)
    if file is None:
        return spec
    resolved = _resolve(file, record, folder)
    key = spec.strip()
    return resolved + key[len(file) :] if resolved != file else spec
