"""Session files: everything a user made, in one zip, written atomically.

``session.json`` (what was open and how it was set up), ``drawing.npy`` (and ``raw_input.npy``
for a random input), ``weights.safetensors`` (the weights as they are now, after any updates).
A file from a newer version, or a damaged one, is refused with a message saying which.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

FORMAT = "net-inspector-session"
VERSION = 1


class SessionError(Exception):
    """A session file that cannot be used; ``str()`` is one sentence naming the file."""


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
    backward_step: int | None = None  # None: no backward pass was shown
    output_index: int = 0
    brush_radius: float = 1.4
    drawing: np.ndarray = field(default_factory=lambda: np.zeros((32, 32), np.float32))
    raw_input: np.ndarray | None = None
    weights: dict[str, np.ndarray] = field(default_factory=dict)

    def settings(self) -> dict:
        data = asdict(self)
        for key in ("drawing", "raw_input", "weights"):
            data.pop(key)
        data["input_shape"] = list(self.input_shape) if self.input_shape else None
        return data


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def save_session(path: Path, state: SessionState) -> None:
    """Write ``state`` to ``path`` through a temporary file and a rename: an interrupted save
    leaves the previous file as it was."""
    from safetensors.numpy import save as save_tensors

    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            meta = {"format": FORMAT, "version": VERSION, **state.settings()}
            archive.writestr("session.json", json.dumps(meta, indent=1))
            archive.writestr("drawing.npy", _npy(state.drawing.astype(np.float32)))
            if state.raw_input is not None:
                archive.writestr("raw_input.npy", _npy(state.raw_input.astype(np.float32)))
            weights = {k: np.ascontiguousarray(v) for k, v in state.weights.items()}
            archive.writestr("weights.safetensors", save_tensors(weights))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_session(path: Path) -> SessionState:
    """Read a session file completely (nothing is applied until all of it has been read)."""
    from safetensors.numpy import load as load_tensors

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            meta = json.loads(archive.read("session.json"))
            if meta.get("format") != FORMAT:
                raise SessionError(f"{path.name} is not a Net Inspector session")
            if int(meta.get("version", 0)) > VERSION:
                raise SessionError(
                    f"{path.name} was saved by a newer Net Inspector (session format "
                    f"{meta['version']}; this one reads up to {VERSION}): update to open it"
                )
            drawing = np.load(io.BytesIO(archive.read("drawing.npy")), allow_pickle=False)
            names = archive.namelist()
            raw = (
                np.load(io.BytesIO(archive.read("raw_input.npy")), allow_pickle=False)
                if "raw_input.npy" in names
                else None
            )
            weights = load_tensors(archive.read("weights.safetensors"))
    except SessionError:
        raise
    except FileNotFoundError:
        raise SessionError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, json.JSONDecodeError) as exc:
        raise SessionError(f"{path.name} is damaged and cannot be opened ({exc})") from exc
    if drawing.shape != (32, 32):
        raise SessionError(f"{path.name} is damaged: its drawing is {list(drawing.shape)}")
    known = {k: v for k, v in meta.items() if k in SessionState.__dataclass_fields__}
    if known.get("input_shape") is not None:
        known["input_shape"] = tuple(known["input_shape"])
    return SessionState(**known, drawing=drawing, raw_input=raw, weights=dict(weights))
