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
  if that file exists, else the absolute path, else as typed); ``pins``: the states pinned
  for Compare — ``["A"]`` or none — each with its input and weights in ``pin_A_drawing.npy``,
  ``pin_A_raw_input.npy`` (a random input) and ``pin_A_weights.safetensors``, its seed in
  ``pin_seed``; ``comparing`` whether Compare was on. Files without them open unpinned;
  optionally ``training`` (``core.training``'s snapshot: settings and counters in the JSON,
  curves, gradient health, optimiser state, generator and order in ``training.safetensors``).
  Files without it open as before; older readers ignore it. Every setting of ``AppState``
  that says a session keeps it (``input_dtype`` was the first added so); a file without one
  opens with its default.

Reading validates every field and caps every member's size before anything is returned; a
file from a newer version, or a damaged or oversized one, raises ``SessionError`` whose
``str()`` is one sentence naming the file (and the field).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field, make_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inspector.core.files.io import atomic_write, is_special
from inspector.core.files.session_checks import (
    check_drawing,
    check_raw,
    check_settings,
    resolve,
    resolve_spec,
    show,
    spec_file,
)
from inspector.core.files.session_zip import SessionError, checked_members, read_member, read_npy
from inspector.core.state import AppState
from inspector.core.state_fields import Invalid, is_int, session_settings
from inspector.core.training.snapshot import TrainingSnapshot, check_snapshot

FORMAT = "net-inspector-session"
VERSION = 2

Tensorish = torch.Tensor | np.ndarray


# session.json's settings: generated from the fields of ``AppState`` that say a session keeps
# them (``core.state_fields``). The members below are the format's own.
SETTINGS = session_settings(AppState)
MEMBER_FIELDS = ("drawing", "raw_input", "pin")  # the state fields written as members


def _settings(self) -> dict:
    """session.json's settings (not its format, version and model files)."""
    data = {s.key: getattr(self, s.key) for s in SETTINGS}
    data["input_shape"] = list(self.input_shape) if self.input_shape else None
    data["pins"] = list(self.pins)
    data["pin_seed"] = self.pin_seed
    return data


SessionState = make_dataclass(
    "SessionState",
    [(s.key, s.type, field(default=s.default)) for s in SETTINGS]
    + [
        ("drawing", np.ndarray, field(default_factory=lambda: np.zeros((32, 32), np.float32))),
        ("raw_input", np.ndarray | None, field(default=None)),
        # Written from torch tensors or numpy arrays; read back as CPU torch tensors.
        ("weights", dict, field(default_factory=dict)),
        ("pins", list, field(default_factory=list)),  # format 2: ["A"] when A is pinned
        ("training", TrainingSnapshot | None, field(default=None)),  # format 2, optional
        ("format_version", int, field(default=VERSION)),  # the format the file was read from
        # Compare's A (when ``pins`` is ["A"]): its input, seed and weights.
        ("pin_drawing", np.ndarray | None, field(default=None)),
        ("pin_raw_input", np.ndarray | None, field(default=None)),
        ("pin_seed", int, field(default=0)),
        ("pin_weights", dict, field(default_factory=dict)),
    ],
    namespace={"settings": _settings, "__doc__": "What a session file holds."},
)
SessionState.__module__ = __name__


@dataclass(frozen=True)
class ModelToOpen:
    """What ``loading.open_model`` needs to re-open a session's model. ``weights`` is None when
    the session holds the weights (then apply them with ``restore_weights`` after opening)."""

    spec: str
    weights: str | None
    trust: bool
    input_shape: tuple[int, ...] | None
    input_dtype: str | None = None
    inputs: tuple[str, ...] = ()  # ``--input`` texts of a model with several


def model_to_open(state: SessionState) -> ModelToOpen:
    """How to open ``state``'s model: without its original weights file when the session holds
    the weights (it always does when written by Net Inspector)."""
    weights = None if state.weights else state.model_weights
    return ModelToOpen(state.model_spec, weights, state.trust, state.input_shape,
                       state.input_dtype, tuple(state.model_inputs))  # fmt: skip


def restore_weights(
    model: torch.nn.Module, state: SessionState, source: str = "the session"
) -> None:
    """Put the session's weights into ``model`` bit for bit, or raise ``ModelLoadError`` (naming
    ``source`` and the keys) and change nothing if they do not fit it exactly."""
    from inspector.core.files.checkpoints import apply_state_dict

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
        "spec": _file_record(spec_file(state.model_spec), folder),
        "weights": _file_record(state.model_weights, folder),
    }
    try:
        problem = lambda f, v, want: f"its {f} is {show(v)}, not {want}"  # noqa: E731
        check_settings(meta, problem, SETTINGS)
        drawing = check_drawing(state.drawing, "drawing")
        raw = None if state.raw_input is None else check_raw(state.raw_input)
        pinned = bool(state.pins)
        if pinned and (state.pin_drawing is None or not state.pin_weights):
            raise Invalid("its pin A has no drawing or no weights")
        pin_drawing = check_drawing(state.pin_drawing, "pinned drawing") if pinned else None
        pin_raw = (
            check_raw(state.pin_raw_input) if pinned and state.pin_raw_input is not None else None
        )
    except Invalid as exc:
        raise ValueError(f"cannot save {path.name}: {exc}") from None
    training = state.training
    meta["training"] = None if training is None else training.meta
    try:
        if training is not None:
            check_snapshot(training.meta, training.arrays)
    except ValueError as exc:
        raise ValueError(f"cannot save {path.name}: {exc}") from None
    text = json.dumps(meta, indent=1, allow_nan=False, default=_plain)
    weights = _encode_weights(state.weights)
    pin_weights = _encode_weights(state.pin_weights) if pinned else None
    trained = None if training is None else _encode_weights(training.arrays)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("session.json", text)
            archive.writestr("drawing.npy", _npy(drawing))
            if raw is not None:
                archive.writestr("raw_input.npy", _npy(raw))
            archive.writestr("weights.safetensors", weights, compress_type=zipfile.ZIP_STORED)
            if pinned:
                archive.writestr("pin_A_drawing.npy", _npy(pin_drawing))
                if pin_raw is not None:
                    archive.writestr("pin_A_raw_input.npy", _npy(pin_raw))
                stored = zipfile.ZIP_STORED
                archive.writestr("pin_A_weights.safetensors", pin_weights, compress_type=stored)
            if trained is not None:
                archive.writestr(
                    "training.safetensors", trained, compress_type=zipfile.ZIP_DEFLATED
                )

    atomic_write(path, write)


def _plain(value: Any) -> Any:
    """A setting held as an object with a JSON form (``core.edits`` interventions)."""
    if hasattr(value, "to_json"):
        return value.to_json()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


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
    if is_special(path):  # /dev/zero would be read until memory ran out, a FIFO block
        raise SessionError(f"{path} is not a regular file, so not a session")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = checked_members(archive, path)
            if "session.json" not in infos:
                raise SessionError(f"{path.name} is not a Net Inspector session")
            meta = json.loads(read_member(archive, infos["session.json"]))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise SessionError(f"{path.name} is not a Net Inspector session")
            version = meta.get("version")
            if not is_int(version) or version < 1:
                raise SessionError(f"{path.name} is damaged: its version is {show(version)}")
            if version > VERSION:
                raise SessionError(
                    f"{path.name} was saved by a newer Net Inspector (session format "
                    f"{version}; this one reads up to {VERSION}): update to open it"
                )
            for name in ("drawing.npy", "weights.safetensors"):
                if name not in infos:
                    raise SessionError(f"{path.name} is damaged: it has no {name}")
            drawing = read_npy(archive, infos["drawing.npy"])
            raw = read_npy(archive, infos["raw_input.npy"]) if "raw_input.npy" in infos else None
            weights = load_tensors(read_member(archive, infos["weights.safetensors"]))
            pin = _read_pin(archive, infos, meta, path, load_tensors)
            trained = meta.get("training")
            if trained is not None:
                if "training.safetensors" not in infos:
                    raise SessionError(f"{path.name} is damaged: it has no training.safetensors")
                arrays = load_tensors(read_member(archive, infos["training.safetensors"]))
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
        return f"{path.name} is damaged: its {name} is {show(value)}, not {want}"

    try:
        settings = check_settings(meta, problem, SETTINGS)
    except Invalid as exc:
        raise SessionError(str(exc)) from None
    try:
        drawing = check_drawing(drawing, "drawing")
        raw = None if raw is None else check_raw(raw)
    except Invalid as exc:
        raise SessionError(f"{path.name} is damaged: {exc}") from None
    folder = path.resolve().parent
    files = meta.get("model_files") if version >= 2 else None
    files = files if isinstance(files, dict) else {}
    settings["model_spec"] = resolve_spec(settings["model_spec"], files.get("spec"), folder)
    if settings["model_weights"] is not None:
        settings["model_weights"] = resolve(settings["model_weights"], files.get("weights"), folder)
    return SessionState(
        **settings,
        drawing=drawing,
        raw_input=raw,
        weights=dict(weights),
        training=trained,
        format_version=version,
        **pin,
    )


def _read_pin(archive: zipfile.ZipFile, infos: dict, meta: dict, path: Path, load) -> dict:
    """Compare's A, if the session pinned one: its members must all be there and sound."""
    if meta.get("pins") != ["A"]:
        return {}
    for name in ("pin_A_drawing.npy", "pin_A_weights.safetensors"):
        if name not in infos:
            raise SessionError(f"{path.name} is damaged: it pins A but has no {name}")
    drawing = read_npy(archive, infos["pin_A_drawing.npy"])
    raw = None
    if "pin_A_raw_input.npy" in infos:
        raw = read_npy(archive, infos["pin_A_raw_input.npy"])
    try:
        drawing = check_drawing(drawing, "pinned drawing")
        raw = None if raw is None else check_raw(raw)
    except Invalid as exc:
        raise SessionError(f"{path.name} is damaged: {exc}") from None
    weights = load(read_member(archive, infos["pin_A_weights.safetensors"]))
    return {"pin_drawing": drawing, "pin_raw_input": raw, "pin_weights": dict(weights)}
