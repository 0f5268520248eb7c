"""Zeroing one attention head, as an intervention: the seam between the attention view and
the edits. A head's own output is the step whose dim 1 is the heads, ``[B, H, Q, D]``, before
the heads are mixed by the output projection: the ``scaled_dot_product_attention`` call, or
eager attention's ``probabilities @ values``. Zeroing its channel ``head`` removes that head's
contribution; its attention pattern stays what it was, every later layer's answers."""

from __future__ import annotations

from collections.abc import Sequence

from inspector.core.edits.spec import EditError, Intervention
from inspector.core.forward.capture import Step

HEAD_OPS = ("scaled_dot_product_attention", "matmul")


def head_output_step(steps: Sequence[Step], module: str) -> Step | None:
    """The last 4-d step of ``module``'s own functional ops that holds its heads apart."""
    found = None
    for step in steps:
        own = step.module == module and not step.is_module
        if own and step.op in HEAD_OPS and len(step.shape) == 4:
            found = step
    return found


def zero_head(steps: Sequence[Step], module: str, head: int) -> Intervention:
    """The intervention that zeroes head ``head`` of attention layer ``module``; ``EditError``
    (one sentence) where the layer's heads are not apart in any step (``nn.MultiheadAttention``
    mixes them inside one call)."""
    step = head_output_step(steps, module)
    if step is None:
        raise EditError(
            f"{module or 'the model'} has no step that holds its heads apart ([B, heads, "
            "queries, dim]): its heads cannot be zeroed one by one"
        )
    if not 0 <= head < step.shape[1]:
        raise EditError(f"{module} has {step.shape[1]} heads: there is no head {head}")
    return Intervention(step.index, step.label, "zero", channel=head)
