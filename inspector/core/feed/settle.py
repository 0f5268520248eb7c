"""Running a newly opened model once on its inputs, and what to do when it refuses them.

When the forward rejects a guessed input, other readings are tried, each with one forward: the
inputs read from what consumes them (``core.feed.probe``), the Hugging Face inputs the error
names, the size or dtype the message asks for, and a length or image side solved from a
``mat1 and mat2`` mismatch. The first that runs is kept, with a note saying so. An input the
user gave is never replaced: the refusal names the flags that worked instead. A hint is only
ever offered after a forward with it ran.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from inspector.core.feed.named import ModelInputs, bind, call_model, required_parameters, single
from inspector.core.files.checkpoints import ModelLoadError
from inspector.core.forward.capture import named_outputs
from inspector.core.model.input_inference import (
    candidate_specs,
    explain_forward_failure,
    missing_input_sentence,
)
from inspector.core.model.inputs import InputSpec, make_input, to_tensor

MAX_TRIES = 12
_MATMUL = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")


def inputs_of(opened) -> ModelInputs:
    """Every input of an ``OpenedModel``; its ``input`` wins where it was replaced since."""
    inputs = getattr(opened, "inputs", None)
    if inputs is None:
        return single(opened.input)
    if inputs.main.spec != opened.input:
        return inputs.with_spec(inputs.primary, opened.input)
    return inputs


def run_once(model: nn.Module, inputs: ModelInputs, device) -> tuple[str, ...]:
    """The names of the tensors ``model`` returns for ``inputs``; raises what the forward
    raises, or ValueError when it returns no tensor."""
    spec = inputs.main.spec
    main = inputs.values.get(inputs.primary)
    x = to_tensor(make_input(spec, np.zeros((32, 32), np.float32), main), spec, device)
    with torch.inference_mode():
        output = call_model(model, inputs, x)
    names = tuple(name for name, _ in named_outputs(output))
    if not names:
        raise ValueError("returned no tensor")
    return names


def settle(opened, model: nn.Module | None = None, device="cpu"):
    """``(opened, names)``: the model run once on its inputs, or on the first other reading of
    them that runs (``opened`` then carries it, and a note). Raises ``ModelLoadError`` in one
    sentence (what was fed, the complaint, a flag that works where one was found)."""
    model = opened.model if model is None else model
    inputs = inputs_of(opened)
    try:
        return opened, _checked(model, inputs, device)
    except Exception as exc:
        first = exc
    if isinstance(first, ModelLoadError):
        raise first
    given = any(i.spec.source == "given" for i in inputs.inputs)
    failed = [first]  # the latest failure: the next reading is made from it
    for candidate in _candidates(model, inputs, lambda: failed[-1]):
        try:
            names = _checked(model, candidate, device)
        except Exception as exc:
            failed.append(exc)
            continue
        flag = flags(candidate, inputs)
        if given:
            bind(model, inputs)
            message = explain_forward_failure(inputs.main.spec, first, opened.name, flag)
            raise ModelLoadError(message) from first
        note = f"The first reading of its input failed; it runs with {candidate.describe()}."
        joined = f"{opened.note} {note}" if opened.note else note
        return replace(opened, input=candidate.main.spec, inputs=candidate, note=joined), names
    bind(model, inputs)
    message = explain_forward_failure(inputs.main.spec, first, opened.name)
    missing = missing_input_sentence(model, inputs, first)
    raise ModelLoadError(f"{message} {missing}".strip()) from first


def _checked(model: nn.Module, inputs: ModelInputs, device) -> tuple[str, ...]:
    """``run_once`` with what it warns kept back unless it runs: a reading that fails (a
    tensor indexed with a string) must not leave its warnings behind."""
    bind(model, inputs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = run_once(model, inputs, device)
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename,
                               warning.lineno)  # fmt: skip
    return names


def _candidates(
    model: nn.Module, inputs: ModelInputs, last: Callable[[], BaseException]
) -> Iterator[ModelInputs]:
    """Other readings of the inputs, each made after the previous one failed (``last()``: its
    exception), at most MAX_TRIES."""
    from inspector.core.feed.hf import with_missing
    from inspector.core.feed.probe import read_inputs

    tried: set = {_key(inputs)}

    def fresh(candidate: ModelInputs | None) -> bool:
        if candidate is None or _key(candidate) in tried or len(tried) > MAX_TRIES:
            return False
        tried.add(_key(candidate))
        return True

    for spec in candidate_specs(inputs.main.spec, str(last()), model):
        candidate = inputs.with_spec(inputs.primary, spec)
        if fresh(candidate):
            yield candidate
    if getattr(model, "config", None) is None:
        given = {i.name: i.spec for i in inputs.inputs if i.spec.source == "given"}
        read = read_inputs(model, given if len(inputs.inputs) > 1 else None)
        if fresh(read):
            yield read
            inputs = read if read is not None else inputs
    else:
        for _ in range(3):
            added = with_missing(model, inputs, str(last()))
            if not fresh(added):
                break
            yield added
            inputs = added
        bare = required_only(model, inputs)  # an optional image a text model may go without
        if fresh(bare):
            yield bare
    yield from _solved(model, inputs, last, fresh)


def required_only(model: nn.Module, inputs: ModelInputs) -> ModelInputs | None:
    """``inputs`` less the optional ones besides the main input (a multimodal language model's
    ``pixel_values``); None when none is optional."""
    required = set(required_parameters(model) or ())
    kept = tuple(i for i in inputs.inputs
                 if i.name == inputs.primary or i.name.partition(".")[0] in required)  # fmt: skip
    return replace(inputs, inputs=kept) if len(kept) < len(inputs.inputs) else None


def _solved(model, inputs: ModelInputs, last, fresh) -> Iterator[ModelInputs]:
    """The main input's length (or square side) that makes a flattened size fit the Linear
    after it: the flattened size is found at three sizes ``step`` apart, fitted as a quadratic
    in the side, and solved; steps of 1, then 2 and 4 (a pooling floors odd sizes away)."""
    spec = inputs.main.spec
    match = _MATMUL.search(str(last()))
    if match is None or spec.is_integer or len(spec.shape) not in (2, 3, 4):
        return
    wanted = int(match.group(3))
    spatial = 1 if len(spec.shape) in (2, 3) else 2
    side = spec.shape[-1]
    seen: dict[int, int] = {side: int(match.group(2))}
    for step in (1, 2, 4):
        for s in (side + step, side + 2 * step):
            if s in seen:
                continue
            candidate = _resized(inputs, s, spatial)
            if not fresh(candidate):
                return
            yield candidate
            found = _MATMUL.search(str(last()))
            if found is None:
                return  # it failed for another reason: nothing to fit
            seen[s] = int(found.group(2))
        fa, fb, fc = seen[side], seen[side + step], seen[side + 2 * step]
        second = fc - 2 * fb + fa  # f(side + k step) = fa + k (fb - fa) + k (k-1)/2 second
        for k in range(-(side - 2) // step, (1024 - side) // step + 1):
            if fa + k * (fb - fa) + k * (k - 1) // 2 * second == wanted:
                candidate = _resized(inputs, side + k * step, spatial)
                if fresh(candidate):
                    yield candidate
                break


def _resized(inputs: ModelInputs, side: int, spatial: int) -> ModelInputs:
    """The main input, and every input shaped like it (a siamese pair), at ``side``."""
    main = inputs.main.spec
    for item in inputs.inputs:
        if item.spec.shape == main.shape and item.spec.dtype == main.dtype:
            inputs = inputs.with_spec(item.name, _sized(item.spec, side, spatial))
    return inputs


def _sized(spec: InputSpec, side: int, spatial: int) -> InputSpec:
    shape = (*spec.shape[:-spatial], *([side] * spatial))
    return replace(spec, shape=shape, source=f"solved from the layer after it ({side})")


def _key(inputs: ModelInputs) -> tuple:
    return tuple((i.name, i.spec.shape, i.spec.dtype, i.spec.fill) for i in inputs.inputs)


def flags(candidate: ModelInputs, before: ModelInputs) -> str:
    """The command-line flags that give ``candidate``'s inputs where they differ from
    ``before``'s: ``--input-shape 1,100`` for a one-input model, else ``--input NAME=SHAPE``."""

    def shape(spec: InputSpec) -> str:
        return ",".join(map(str, spec.shape))

    if len(candidate.inputs) == 1 and candidate.main.positional:
        spec, old = candidate.main.spec, before.main.spec
        parts = [f"--input-shape {shape(spec)}"]
        if spec.dtype != old.dtype:
            parts.append(f"--input-dtype {'long' if spec.dtype == 'int64' else spec.dtype}")
        return " ".join(parts)
    changed = [i for i in candidate.inputs
               if before.get(i.name) is None or before.get(i.name).spec != i.spec]  # fmt: skip
    return " ".join(f"--input {i.name}={shape(i.spec)}:{i.spec.dtype}" for i in changed or
                    candidate.inputs)  # fmt: skip


def check_runs(opened, model: nn.Module | None = None, device="cpu") -> tuple[str, ...]:
    """The names of the tensors the model returns (``settle``'s, for callers that keep their
    ``opened``: its inputs must have run as they are)."""
    settled, names = settle(opened, model, device)
    if settled is not opened:
        raise ModelLoadError(f"{opened.name} does not run on its input as read; {settled.note}")
    return names
