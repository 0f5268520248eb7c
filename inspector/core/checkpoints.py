"""Reading checkpoints safely: ``weights_only=True`` unless the user trusts the file."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn


class ModelLoadError(Exception):
    """A model or checkpoint that cannot be opened: ``str(err)`` is one sentence."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details or message


def torch_load(path: Path, trust: bool = False):
    """``torch.load`` with ``weights_only=True``; full unpickling only if ``trust``."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not trust:
            raise ModelLoadError(
                f"{path.name} needs full unpickling, which can run any code it contains: "
                "open it only if you trust it, with --trust-checkpoint (or the dialog's tick box)",
                str(exc),
            ) from exc
    except Exception as exc:
        raise ModelLoadError(f"{path.name}: not a readable checkpoint: {exc}") from exc
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise ModelLoadError(f"{path.name}: could not be unpickled: {exc}") from exc


def read_state_dict(path: Path, trust: bool = False) -> dict[str, torch.Tensor]:
    """A state_dict from ``.safetensors`` or ``.pt``/``.pth`` (also ``{"state_dict": ...}``)."""
    if not path.exists():
        raise ModelLoadError(f"{path}: no such weights file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:
            raise ModelLoadError(f"{path.name}: not a readable safetensors file: {exc}") from exc
    state = torch_load(path, trust)
    if isinstance(state, nn.Module):
        state = state.state_dict()
    if isinstance(state, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError(f"{path.name}: expected a state_dict of tensors")
    return state
