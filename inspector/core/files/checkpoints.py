"""Reading checkpoints safely (``weights_only=True`` unless the user trusts the file), and
writing a model's weights as ``.safetensors``."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import torch
from torch import nn

from inspector.core.model.quantized import is_plain, loadable, tensor_state


class ModelLoadError(Exception):
    """A model or checkpoint that cannot be opened: ``str(err)`` is one sentence."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details or message


def weights_only_load(path: Path):
    """``torch.load`` exactly as every load of a checkpoint starts: on the CPU, ``weights_only``
    (no code from the file runs). Whatever it raises means the file needs full unpickling.
    torch's deprecation warnings (TypedStorage, quantized tensors) are not the user's concern."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.load(path, map_location="cpu", weights_only=True)


def torch_load(path: Path, trust: bool = False):
    """``torch.load`` with ``weights_only=True``; full unpickling only if ``trust``."""
    try:
        return weights_only_load(path)
    except Exception as exc:
        if not trust:
            if isinstance(exc, pickle.UnpicklingError):
                raise ModelLoadError(
                    f"{path.name} needs full unpickling, which can run any code it contains: "
                    "open it only if you trust it, with --trust-checkpoint (or the dialog's "
                    "tick box)",
                    str(exc),
                ) from exc
            raise ModelLoadError(f"{path.name}: not a readable checkpoint: {exc}") from exc
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise ModelLoadError(f"{path.name}: could not be unpickled: {exc}") from exc


# Where training scripts keep the weights in a checkpoint dict, most common first: Lightning,
# the PyTorch tutorials, most repositories, DeepSpeed ("module"), and plain "net"/"network".
STATE_KEYS = ("state_dict", "model_state_dict", "model", "module", "net", "network")


def read_state_dict(path: Path, trust: bool = False) -> dict[str, torch.Tensor]:
    """A state_dict from ``.safetensors`` or ``.pt``/``.pth`` (also ``{"state_dict": ...}``)."""
    if not path.exists():
        raise ModelLoadError(f"{path}: no such weights file")
    if not path.is_file():
        raise ModelLoadError(f"{path}: not a regular file (a folder, a device or a pipe)")
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
        for key in STATE_KEYS:
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        held = ""
        if isinstance(state, dict):
            keys = [str(k) for k in state][:6]
            held = f" (it holds a dict of {', '.join(keys)}{' ...' if len(state) > 6 else ''})"
        raise ModelLoadError(f"{path.name}: expected a state_dict of tensors{held}")
    return state


def needs_unpickling(path: Path) -> bool:
    """Whether ``torch_load(path, trust=True)`` would fully unpickle ``path``, which can run any
    code in it: decided by the very load it starts with (``weights_only_load``, which runs no
    code from the file). Any failure of that load counts, whatever it raised: a trusted load
    falls back to full unpickling on every one of them.
    """
    try:
        weights_only_load(path)
    except Exception:
        return True
    return False


def check_fit(
    own: dict[str, torch.Tensor],
    state: dict[str, torch.Tensor],
    source: str,
    *,
    same_dtypes: bool = True,
) -> None:
    """Refuse (``ModelLoadError`` naming ``source`` and the keys) unless ``state`` has the
    names, shapes and (if ``same_dtypes``) dtypes of the model's own state dict ``own`` (less a
    quantized model's packed entries, see ``model.quantized``, which stay as they are)."""
    own = {k: v for k, v in own.items() if is_plain(v)}
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong_shape = [
        f"{k} {list(state[k].shape)} vs {list(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    wrong_dtype = [
        f"{k} {state[k].dtype} vs {own[k].dtype}".replace("torch.", "")
        for k in own
        if same_dtypes and k in state and state[k].dtype != own[k].dtype
    ]
    problems = []
    for label, keys in (
        ("missing", missing),
        ("unexpected", unexpected),
        ("wrong shape", wrong_shape),
        ("wrong dtype", wrong_dtype),
    ):
        if keys:
            shown = ", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise ModelLoadError(f"{source} does not fit the model ({'; '.join(problems)})")


def apply_state_dict(
    model: nn.Module,
    state: dict[str, torch.Tensor],
    source: str,
    *,
    scalars_saved_as_1d: bool = False,
    same_dtypes: bool = True,
) -> None:
    """Put ``state`` into ``model`` exactly: refused (naming ``source`` and the keys) unless it
    has the same names, shapes and (if ``same_dtypes``) dtypes as the model's own state_dict;
    nothing is changed then. A user's checkpoint may differ in dtype (it is cast on loading);
    a session's may not (it is restored bit for bit).

    ``scalars_saved_as_1d``: a shape ``(1,)`` tensor may fill a 0-d one (format-1 sessions
    stored BatchNorm's ``num_batches_tracked`` so).
    """
    own = tensor_state(model)
    state = dict(state)
    if scalars_saved_as_1d:
        for key, value in state.items():
            if key in own and own[key].dim() == 0 and tuple(value.shape) == (1,):
                state[key] = value.reshape(())
    check_fit(own, state, source, same_dtypes=same_dtypes)
    with torch.no_grad():
        model.load_state_dict(loadable(model, state), strict=True)


def save_weights(path: Path | str, weights: dict[str, torch.Tensor]) -> None:
    """The weights as a ``.safetensors`` file (loadable with ``--weights``), written atomically."""
    from safetensors.torch import save_file

    from inspector.core.files.io import atomic_write

    tensors = {k: v.detach().cpu().clone().contiguous() for k, v in weights.items()}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp)))
