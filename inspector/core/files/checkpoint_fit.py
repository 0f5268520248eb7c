"""Checkpoints as people save them, fitted to the model they are for.

- a ``save_pretrained`` folder, its ``model.safetensors``, or a sharded checkpoint's
  ``model.safetensors.index.json`` (``pytorch_model.bin`` and its index too, read with
  ``weights_only=True``);
- keys with the prefix of a wrapper the model no longer has: ``module.`` (DataParallel,
  DistributedDataParallel), ``_orig_mod.`` (torch.compile), or one every key shares (a
  Lightning module's ``model.``); or without the model's ``base_model_prefix`` (a transformers
  base model's weights for a model with a head), or with it and a head (the other way round);
- tied weights saved once (``safetensors.torch.save_model``, ``save_pretrained``): a key the
  file lacks is taken from the one it shares its tensor with in the model (or that the model's
  ``_tied_weights_keys`` names).

Each change is said in one line (``FittedWeights.note``); anything else that does not fit is
refused as before, by ``checkpoints.check_fit``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from inspector.core.files.checkpoints import ModelLoadError, read_state_dict
from inspector.core.model.quantized import tensor_state

# What a wrapper adds to every key, and who adds it.
WRAPPERS = {
    "module.": "DataParallel or DistributedDataParallel",
    "_orig_mod.": "torch.compile",
}
# What a save_pretrained folder holds, most wanted first.
FOLDER_FILES = (
    "model.safetensors.index.json",
    "model.safetensors",
    "pytorch_model.bin.index.json",
    "pytorch_model.bin",
)


@dataclass(frozen=True)
class FittedWeights:
    state: dict[str, torch.Tensor]
    source: str  # the file or folder, as messages name it
    note: str = ""  # what was changed to fit, one line ("" when nothing)


def weights_path(path: Path) -> Path:
    """The file to read for ``path``: itself, or in a ``save_pretrained`` folder the first of
    ``FOLDER_FILES`` it holds (else its only ``.safetensors``)."""
    if not path.is_dir():
        return path
    for name in FOLDER_FILES:
        if (path / name).is_file():
            return path / name
    found = sorted(path.glob("*.safetensors"))
    if len(found) == 1:
        return found[0]
    raise ModelLoadError(
        f"{path.name}/ holds no weights file (looked for {', '.join(FOLDER_FILES)})"
    )


def read_weights(path: Path | str, trust: bool = False) -> dict[str, torch.Tensor]:
    """The state dict in ``path``: a weights file, a ``save_pretrained`` folder or a sharded
    checkpoint's ``*.index.json`` (every shard it names read and merged). ``trust`` (full
    unpickling) applies to a file given as itself only: a folder's files and an index's shards
    are read with ``weights_only=True`` whatever it says, since consent is asked file by file."""
    given = Path(path)
    path = weights_path(given)
    if not path.name.endswith(".index.json"):
        return read_state_dict(path, trust and path == given)
    try:
        index = json.loads(path.read_text())
        weight_map = index["weight_map"]
        shards = sorted(set(weight_map.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelLoadError(f"{path.name}: not a sharded checkpoint's index: {exc}") from exc
    state: dict[str, torch.Tensor] = {}
    for shard in shards:
        shard_path = path.parent / shard
        if Path(shard).is_absolute() or ".." in Path(shard).parts:
            raise ModelLoadError(f"{path.name} names a shard outside its folder: {shard}")
        state.update(read_state_dict(shard_path))
    absent = [k for k in weight_map if k not in state]
    if absent:
        raise ModelLoadError(
            f"{path.name}: {len(absent)} keys it lists are in no shard (first: {absent[0]})"
        )
    return state


def _fits(own: dict, keys) -> int:
    return sum(1 for k in keys if k in own)


def _renamed(state: dict, rename) -> dict:
    return {rename(k): v for k, v in state.items()}


def fit_prefixes(own: dict, state: dict) -> tuple[dict, list[str]]:
    """``state`` with wrapper prefixes stripped (or the base model's prefix added) where that
    makes more of its keys the model's, and what was done."""
    notes: list[str] = []
    stripped, said = state, []
    while stripped:  # wrappers of wrappers: DataParallel(torch.compile(model))
        prefix = next((p for p in WRAPPERS if all(k.startswith(p) for k in stripped)), None)
        if prefix is None:
            break
        stripped = _renamed(stripped, lambda k, p=prefix: k[len(p) :])
        said.append(f"the {prefix!r} prefix {WRAPPERS[prefix]} adds")
    if said and _fits(own, stripped) > _fits(own, state):
        state = stripped
        notes.extend(dict.fromkeys(said))
    inner = "._orig_mod."  # a compiled submodule's keys
    if any(inner in k for k in state):
        stripped = _renamed(state, lambda k: k.replace(inner, "."))
        if _fits(own, stripped) > _fits(own, state):
            notes.append("the '_orig_mod.' of compiled submodules")
            state = stripped
    if _fits(own, state) < len(own):
        state = _common_prefix(own, state, notes)
    return state, notes


def _common_prefix(own: dict, state: dict, notes: list[str]) -> dict:
    """One more prefix all keys share (a Lightning module's ``model.``) stripped, or a base
    model's weights given the prefix its model with a head keeps them under, where every key
    then is the model's."""
    firsts = {k.split(".", 1)[0] for k in state}
    if len(firsts) == 1 and all("." in k for k in state):
        prefix = f"{firsts.pop()}."
        stripped = _renamed(state, lambda k: k[len(prefix) :])
        if _fits(own, stripped) == len(stripped) > _fits(own, state):
            notes.append(f"the {prefix!r} prefix every key had")
            return stripped
    return state


def _with_base_prefix(model: nn.Module, own: dict, state: dict, notes: list[str]) -> dict:
    base = getattr(model, "base_model_prefix", "")
    if not isinstance(base, str) or not base or _fits(own, state) == len(state):
        return state
    added = _renamed(state, lambda k: f"{base}.{k}")
    if _fits(own, added) == len(added) > _fits(own, state):
        notes.append(f"{base!r}. added to every key (the weights of the base model)")
        return added
    return state


def _without_the_head(model: nn.Module, own: dict, state: dict, notes: list[str]) -> dict:
    """A model with a head's weights for its base model (``save_pretrained`` of
    ``GPT2LMHeadModel`` opened into ``GPT2Model``): the keys under the base model's prefix,
    the head's left out, where those hold every key of the model."""
    base = getattr(model, "base_model_prefix", "")
    if not isinstance(base, str) or not base or _fits(own, state) == len(own):
        return state
    prefix = f"{base}."
    body = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    if not body or _fits(own, body) < len(own):
        return state
    head = [k for k in state if not k.startswith(prefix)]
    shown = ", ".join(head[:3]) + (f" and {len(head) - 3} more" if len(head) > 3 else "")
    notes.append(f"its {base!r}. prefix, and its head ({shown}) left out")
    return body


def _storage_key(tensor: torch.Tensor) -> tuple | None:
    if tensor.numel() == 0 or tensor.device.type == "meta":
        return None
    try:
        address = tensor.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError, TypeError):
        return None
    return (address, tensor.storage_offset(), tuple(tensor.shape), tensor.stride())


def tied_sources(model: nn.Module, own: dict[str, torch.Tensor]) -> dict[str, list[str]]:
    """For each key of the model, the other keys it is tied to: the same tensor, or what the
    model's ``_tied_weights_keys`` says (transformers, where its config ties them)."""
    groups: dict[tuple, list[str]] = {}
    for key, tensor in own.items():
        where = _storage_key(tensor)
        if where is not None:
            groups.setdefault(where, []).append(key)
    tied: dict[str, list[str]] = {}
    for keys in groups.values():
        for key in keys:
            if len(keys) > 1:
                tied[key] = [k for k in keys if k != key]
    declared = getattr(model, "all_tied_weights_keys", None)
    if not isinstance(declared, dict):
        config = getattr(model, "config", None)
        ties = getattr(config, "tie_word_embeddings", True) is not False
        declared = getattr(model, "_tied_weights_keys", None) if ties else None
    if isinstance(declared, dict):
        for target, source in declared.items():
            if isinstance(target, str) and isinstance(source, str) and target in own:
                tied.setdefault(target, []).append(source)
    return tied


def fill_tied(model: nn.Module, own: dict, state: dict) -> tuple[dict, list[tuple[str, str]]]:
    """``state`` with each key it lacks taken from a key it holds that the model ties to it."""
    missing = [k for k in own if k not in state]
    if not missing:
        return state, []
    tied = tied_sources(model, own)
    state, filled = dict(state), []
    for key in missing:
        source = next((s for s in tied.get(key, ()) if s in state), None)
        if source is not None:
            state[key] = state[source]
            filled.append((key, source))
    return state, filled


def fit_weights(model: nn.Module, path: Path | str, trust: bool = False) -> FittedWeights:
    """Read ``path`` (see ``read_weights``) and fit its keys to ``model``: wrapper prefixes
    stripped, tied weights saved once filled in. Nothing is loaded here: ``apply_state_dict``
    then refuses what still does not fit."""
    path = Path(path)
    state = read_weights(path, trust)
    own = tensor_state(model, keep_vars=True)
    state, stripped = fit_prefixes(own, state)
    state = _without_the_head(model, own, state, stripped)
    state = _with_base_prefix(model, own, state, stripped)
    state, filled = fill_tied(model, own, state)
    parts = []
    if stripped:
        parts.append(f"Took {path.name} without {' and '.join(stripped)}.")
    if filled:
        shown = ", ".join(f"{k} ← {s}" for k, s in filled[:3])
        more = f" and {len(filled) - 3} more" if len(filled) > 3 else ""
        parts.append(f"Tied weights the file holds once: {shown}{more}.")
    return FittedWeights(state, path.name, " ".join(parts))
