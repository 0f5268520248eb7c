"""One forward pass for the panels: the input made, the model run with capture, the kept
steps copied to numpy (``collect``), then turned into what the panels show
(``presentation.present``). The parameters of a module, for the weights panel, too."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from inspector.core.forward.attention import watching
from inspector.core.forward.capture import Step, capture_forward, named_outputs
from inspector.core.forward.outputs import shown_values
from inspector.core.forward.presentation import Collected, picture, present
from inspector.core.forward.results import (
    ForwardRequest,
    ForwardResult,
    ParametersResult,
    ParameterView,
)
from inspector.core.forward.settings import (
    DEFAULT_SETTINGS,
    ForwardSettings,
    channel_page,
    step_keeper,
)
from inspector.core.model.inputs import LENET_INPUT, InputSpec, make_input, to_tensor
from inspector.core.model.quantized import quantized_note, quantized_parameters
from inspector.core.runtime.devices import synchronize

if TYPE_CHECKING:
    from inspector.core.forward.step_cache import StepCache

MAX_PARAMETERS_SHOWN = 16


def network_input(request: ForwardRequest, spec: InputSpec = LENET_INPUT) -> np.ndarray:
    """The array the network gets for this request."""
    return make_input(spec, request.drawing, request.raw_input, request.seed)


def _numpy_page(tensor: torch.Tensor, page: int) -> tuple[np.ndarray, str, str]:
    """The page of channels shown as float32, its note, and what the values are
    (``values.shown_values``: a complex tensor's magnitude, ...)."""
    real, what = shown_values(tensor)
    shown, note = channel_page(real, page)
    return shown.float().cpu().numpy(), note, what


def collect(
    model: nn.Module,
    request: ForwardRequest,
    device: torch.device,
    settings: ForwardSettings = DEFAULT_SETTINGS,
    cancel: threading.Event | None = None,
    steps: StepCache | None = None,
    edit: Callable[[Step, torch.Tensor], torch.Tensor | None] | None = None,
) -> Collected:
    """Forward ``request`` through ``model`` on ``device`` and copy its kept steps and output
    to numpy (through ``steps``, a big model's focused module alone once its steps are known;
    every step with ``edit``, the capture's: ``core.edits``)."""
    began = time.perf_counter()
    x_np = network_input(request, settings.input)
    started = time.perf_counter()
    with torch.inference_mode():
        x = to_tensor(x_np, settings.input, device)
        with watching(model, settings.attention) as watch:
            if steps is None or edit is not None:
                keep = step_keeper(settings)
                capture = capture_forward(model, x, keep=keep, cancel=cancel, edit=edit)
            else:
                capture = steps.capture(model, x, settings, cancel)
        attention = watch.maps() if watch is not None else ()
        outputs = named_outputs(capture.output)
        index = min(settings.output_index, max(0, len(outputs) - 1))
        out = outputs[index][1] if outputs else None
        tensors = [
            _numpy_page(t, settings.channel_page) if t is not None else None
            for t in capture.tensors
        ]
        out, output_is = shown_values(out) if out is not None else (None, "")
        output = out.float().cpu().numpy() if out is not None else np.zeros((1, 0), np.float32)
        synchronize(device)
    forward_ms = (time.perf_counter() - started) * 1000
    kept = [(step, *t) for step, t in zip(capture.steps, tensors, strict=True) if t is not None]
    return Collected(
        input=x_np,
        kept=kept,
        output=output,
        output_names=tuple(name for name, _ in outputs) or ("output",),
        output_index=index,
        module_shapes=capture.module_shapes,
        total_steps=len(capture.steps),
        forward_ms=forward_ms,
        device=str(device),
        began=began,
        output_is=output_is,
        attention=attention,
    )


def run_forward(
    model: nn.Module,
    request: ForwardRequest,
    device: torch.device,
    settings: ForwardSettings = DEFAULT_SETTINGS,
    cancel: threading.Event | None = None,
    steps: StepCache | None = None,
    edit: Callable[[Step, torch.Tensor], torch.Tensor | None] | None = None,
) -> ForwardResult:
    """``collect`` then ``present``: the result the panels show for ``request``."""
    collected = collect(model, request, device, settings, cancel, steps, edit)
    return present(collected, request, settings, time.perf_counter())


def submodule(model: nn.Module, path: str) -> nn.Module:
    """``model.get_submodule(path)``, also for TorchScript (which refuses ``get_submodule``
    but keeps its submodules as attributes)."""
    module = model
    for part in path.split(".") if path else ():
        child = getattr(module, part, None)
        if not isinstance(child, (nn.Module, torch.jit.ScriptModule)):
            raise AttributeError(f"{type(model).__name__} has no submodule {path!r}")
        module = child
    return module


def module_parameters(model: nn.Module, path: str, request_id: int = 0) -> ParametersResult:
    """The parameters of module ``path`` (its own first, then its children's) as numpy views.
    A path the model does not have (asked just before another model opened) shows nothing."""
    try:
        module = submodule(model, path)
    except AttributeError:
        return ParametersResult(request_id, path, (), f"{path} is not a module of this model.")
    named = list(module.named_parameters(prefix=path, recurse=True))
    named += quantized_parameters(module, path)
    note = quantized_note(module, path)
    if not named:
        note = f"{path or module._get_name()} has no parameters."
    elif len(named) > MAX_PARAMETERS_SHOWN:
        shown = f"Showing {MAX_PARAMETERS_SHOWN} of {len(named)} parameters: select a child module."
        note = f"{shown} {note}".strip()
        named = named[:MAX_PARAMETERS_SHOWN]
    views = []
    with torch.no_grad():
        for name, param in named:
            values = param.detach().float().cpu().numpy().copy()
            grad = None if param.grad is None else param.grad.detach().float().cpu().numpy().copy()
            views.append(
                ParameterView(
                    name,
                    tuple(param.shape),
                    values,
                    picture(values),
                    grad,
                    None if grad is None else picture(grad),
                )
            )
    return ParametersResult(request_id, path, tuple(views), note)
