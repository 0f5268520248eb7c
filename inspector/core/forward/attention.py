"""Attention probabilities ``[batch, heads, queries, keys]`` of every attention layer, as it runs.

Three ways a model computes attention, each watched by one ``TorchFunctionMode`` without
changing what it returns:

- ``F.scaled_dot_product_attention`` (Hugging Face's default "sdpa" path, and most modern
  code): its fused kernels never form the probabilities, so they are recomputed from the
  query and key it was given, ``softmax(Q Kᵀ · scale + mask)``: causal, boolean and additive
  masks, grouped-query heads (fewer key heads than query heads), dropout left out (eval).
- ``nn.MultiheadAttention`` (``F.multi_head_attention_forward``): called once more asking for
  per-head weights, with dropout off, unless the model's own call already returned them.
- Eager attention (Hugging Face's "eager", hand-written ``(q @ k.T).softmax(-1)``): the output
  of a softmax over the last axis of a 4-d tensor.

Each map belongs to the innermost module running when it was computed (``layer.0.attn``).
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from inspector.core.forward.capture import module_hooks

# At most this many probabilities are kept per forward (256 MB of float32): a long sequence
# through many layers would otherwise hold gigabytes. Later layers past it are left out.
MAX_VALUES = 1 << 26

_SDPA = F.scaled_dot_product_attention
_MHA = F.multi_head_attention_forward
_SOFTMAXES = frozenset({F.softmax, torch.softmax, torch.Tensor.softmax, torch.special.softmax})
_WATCHED = frozenset({_SDPA, _MHA, *_SOFTMAXES})
_MHA_SIGNATURE = inspect.signature(_MHA)


@dataclass(frozen=True)
class AttentionMap:
    """One attention layer's probabilities: ``probs[b, h, q, k]`` is how much query ``q``
    takes from key ``k`` in head ``h``; every row sums to 1 (a fully masked row is 0)."""

    module: str  # the module that computed it
    kind: str  # "sdpa", "mha" or "softmax"
    probs: np.ndarray  # float32 [B, H, Q, K]

    @property
    def heads(self) -> int:
        return self.probs.shape[1]


def sdpa_probabilities(
    query: torch.Tensor,
    key: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> torch.Tensor:
    """The probabilities ``F.scaled_dot_product_attention`` weighs the values with, float32
    ``[B, H, Q, K]`` (inputs with fewer leading axes get axes of 1). Key heads fewer than query
    heads are shared by consecutive query heads, as ``enable_gqa`` shares them."""
    q, k = _four_d(query).float(), _four_d(key).float()
    if k.shape[1] != q.shape[1] and k.shape[1] and q.shape[1] % k.shape[1] == 0:
        k = k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)
    k = k.expand(q.shape[0], q.shape[1], *k.shape[2:])  # batch or heads broadcast, as SDPA does
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    # One GEMM with the scale folded in (a separate pass over Q × K scores cost a tenth more).
    batch, heads, length, keys = q.shape[0], q.shape[1], q.shape[2], k.shape[2]
    scores = torch.baddbmm(
        q.new_empty(()).expand(batch * heads, length, keys),
        q.reshape(batch * heads, length, -1),
        k.reshape(batch * heads, keys, -1).transpose(1, 2),
        beta=0.0,
        alpha=scale,
    ).view(batch, heads, length, keys)
    if is_causal:  # top-left aligned, as SDPA's own
        allowed = torch.ones(length, keys, dtype=torch.bool, device=scores.device).tril()
        scores.masked_fill_(~allowed, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attn_mask, float("-inf"))  # the mask may broadcast
        else:
            scores = scores + attn_mask.float()
    probs = torch.softmax(scores, dim=-1)
    # A row with every key masked is NaN (0/0): it takes nothing from any key.
    return probs.nan_to_num_(0.0) if attn_mask is not None or is_causal else probs


def _four_d(t: torch.Tensor) -> torch.Tensor:
    """``[..., L, E]`` as ``[B, H, L, E]``: missing axes are 1, extra leading ones are merged."""
    while t.dim() < 4:
        t = t.unsqueeze(0)
    return t.flatten(0, t.dim() - 4) if t.dim() > 4 else t


def _mha_weights(args: tuple, kwargs: dict, out: object) -> torch.Tensor | None:
    """Per-head weights of an ``F.multi_head_attention_forward`` call: its own if it returned
    them (eval, not averaged), else from a second call asking for them, dropout off."""
    bound = _MHA_SIGNATURE.bind(*args, **kwargs)
    bound.apply_defaults()
    given = bound.arguments
    own = isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], torch.Tensor)
    per_head = own and given["need_weights"] and not given["average_attn_weights"]
    if per_head and (not given["training"] or not given["dropout_p"]):
        return out[1]
    given.update(need_weights=True, average_attn_weights=False, training=False)
    _, weights = _MHA(*bound.args, **bound.kwargs)
    return weights


def _softmax_dim(args: tuple, kwargs: dict) -> int | None:
    dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
    return dim if isinstance(dim, int) else None


class _AttentionMode(TorchFunctionMode):
    """Sees every torch function the model calls; keeps the attention probabilities."""

    def __init__(self, watch: AttentionWatch) -> None:
        super().__init__()
        self._watch = watch

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func in _WATCHED and self._watch.room():
            # Our own arithmetic runs with the mode off (it is popped while this handler runs).
            # Whatever goes wrong in it is ours: the model's forward goes on, the map is left out.
            try:
                probs = self._probabilities(func, args, kwargs, out)
            except Exception as exc:  # any failure of ours must not stop the model
                self._watch.failures.append(f"{type(exc).__name__}: {exc}")
                probs = None
            if probs is not None:
                self._watch.add(_KINDS.get(func, "softmax"), probs)
        return out

    @staticmethod
    def _probabilities(func, args: tuple, kwargs: dict, out: object) -> torch.Tensor | None:
        with torch.no_grad():
            if func is _SDPA:
                bound = _sdpa_arguments(args, kwargs)
                return sdpa_probabilities(
                    bound["query"], bound["key"], bound.get("attn_mask"),
                    bool(bound.get("is_causal", False)), bound.get("scale"),
                )  # fmt: skip
            if func is _MHA:
                weights = _mha_weights(args, kwargs, out)
                return None if weights is None else _four_d(weights).float()
            dim = _softmax_dim(args, kwargs)
            if isinstance(out, torch.Tensor) and out.dim() == 4 and dim in (-1, 3):
                return out.float()
        return None


_KINDS = {_SDPA: "sdpa", _MHA: "mha"}
_SDPA_NAMES = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale")


def _sdpa_arguments(args: tuple, kwargs: dict) -> dict:
    """SDPA's arguments by name (it is a builtin: no signature to bind)."""
    return {**dict(zip(_SDPA_NAMES, args, strict=False)), **kwargs}


@dataclass
class AttentionWatch:
    """What one forward's attention layers computed, in the order they ran (torch tensors
    until ``maps()``)."""

    limit: int = MAX_VALUES
    found: list[tuple[str, str, torch.Tensor]] = field(default_factory=list)
    skipped: int = 0  # layers left out past ``limit``
    failures: list[str] = field(default_factory=list)  # maps that could not be computed, why
    where: list[str] = field(default_factory=list)  # the modules running, innermost last
    _kept: int = 0

    def room(self) -> bool:
        if self._kept < self.limit:
            return True
        self.skipped += 1
        return False

    def add(self, kind: str, probs: torch.Tensor) -> None:
        self.found.append((self.where[-1] if self.where else "", kind, probs))
        self._kept += probs.numel()

    def maps(self) -> tuple[AttentionMap, ...]:
        """Every map as numpy float32 ``[B, H, Q, K]``."""
        return tuple(
            AttentionMap(module, kind, probs.detach().cpu().numpy())
            for module, kind, probs in self.found
        )

    @property
    def note(self) -> str:
        notes = []
        if self.skipped:
            notes.append(f"{self.skipped} attention layers left out: over {self.limit:,} values")
        if self.failures:
            notes.append(f"{len(self.failures)} left out: {self.failures[0]}")
        return "; ".join(notes)


@contextlib.contextmanager
def watch_attention(model: nn.Module, limit: int = MAX_VALUES) -> Iterator[AttentionWatch]:
    """Record the attention probabilities of every attention layer ``model`` runs inside the
    block (on this thread). Enter it before ``capture_forward``: the capture's own mode then
    sits above this one and steps aside inside leaf modules without taking this one along."""
    watch = AttentionWatch(limit)
    names = {module: name for name, module in model.named_modules()}

    def pre(module: nn.Module, _args: object) -> None:
        watch.where.append(names.get(module, "?"))

    def post(_module: nn.Module, _args: object, _output: object) -> None:
        if watch.where:
            watch.where.pop()

    with module_hooks(model, pre, post), _AttentionMode(watch):
        yield watch


@contextlib.contextmanager
def watching(model: nn.Module, on: bool) -> Iterator[AttentionWatch | None]:
    """``watch_attention(model)`` when ``on``, else nothing watched (None)."""
    if not on:
        yield None
        return
    with watch_attention(model) as watch:
        yield watch


def attention_arrays(maps: tuple[AttentionMap, ...], prefix: str = "") -> dict[str, np.ndarray]:
    """``attn/<module>`` → ``[B, H, Q, K]`` float32 per map, in the order they ran (a module
    that ran again: ``attn/<module>#2``), for an ``activations`` file."""
    arrays: dict[str, np.ndarray] = {}
    for m in maps:
        name, n = f"{prefix}attn/{m.module}", 1
        while name in arrays:
            n += 1
            name = f"{prefix}attn/{m.module}#{n}"
        arrays[name] = np.ascontiguousarray(m.probs, np.float32)
    return arrays
