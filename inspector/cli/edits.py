"""``activations --edit STEP:ACTION``: B's forward with interventions (``core.edits``)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from inspector.core.edits.apply import Editor
from inspector.core.edits.board import patch_sources
from inspector.core.edits.spec import EditError, parse_edit
from inspector.core.forward.capture import capture_forward
from inspector.core.forward.export import forward_steps
from inspector.core.model.inputs import InputSpec, to_tensor


def edited_steps(
    model_b: nn.Module,
    x_a: np.ndarray,
    x_b: np.ndarray,
    spec: InputSpec,
    device: torch.device,
    specs: list[str],
    model_a: nn.Module | None = None,
) -> list[tuple[str, np.ndarray]]:
    """Every step of ``model_b`` on ``x_b`` with the edits ``specs`` made (numbered as B's
    clean forward numbers its steps); a patch takes A's value: ``model_a`` (``model_b`` if
    None) on ``x_a``. Raises ``EditError`` (one sentence) for a spec that does not fit."""
    tensor_b = to_tensor(x_b, spec, device)
    with torch.inference_mode():
        steps = capture_forward(model_b, tensor_b, keep=lambda step: False).steps
    edits = [parse_edit(text, steps) for text in specs]
    patched = Editor(edits).patched_steps
    sources = {}
    if patched:
        if model_a is None:
            raise EditError("patch takes A's value: give --compare-image or --compare-weights")
        sources = patch_sources(model_a, to_tensor(x_a, spec, device), patched)
    return forward_steps(model_b, tensor_b, edit=Editor(edits, sources))
