"""What a right-click or a brush dab on the activations means: which step, channel, token
position and pixel inside the channel (plain Python: no Qt)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inspector.core.edits.spec import Intervention
from inspector.core.forward.capture import Step
from inspector.core.forward.heatmaps import Heatmap
from inspector.core.forward.settings import CHANNEL_PAGE


@dataclass(frozen=True)
class Target:
    """The part of a step under the mouse: a channel of an ``[N, C, H, W]`` step (and the
    pixel in it), or a token position of an ``[N, T, D]`` one; neither elsewhere."""

    step: Step
    channel: int | None = None
    position: int | None = None
    at: tuple[int, int] | None = None  # (y, x) inside the channel

    @property
    def can_paint(self) -> bool:
        return self.channel is not None and len(self.step.shape) == 4

    @property
    def channel_shape(self) -> tuple[int, int]:
        return tuple(self.step.shape[2:4])

    def edit(self, action: str, value=None, whole: bool = False) -> Intervention:
        """An intervention on this target (``whole``: on the whole step)."""
        channel = None if whole else self.channel
        position = None if whole else self.position
        delta = np.zeros(self.channel_shape, np.float32) if action == "paint" else None
        return Intervention(
            self.step.index, self.step.label, action, channel, position, value, delta=delta
        )


def target_of(
    step: Step, heatmap: Heatmap | None, pixel: tuple[int, int] | None, page: int = 0
) -> Target:
    """The target under image pixel ``pixel`` of ``heatmap`` (the step's first sample, the
    channel ``page`` shown)."""
    if heatmap is None or pixel is None:
        return Target(step)
    where = heatmap.layout.locate(pixel[0] * heatmap.stride, pixel[1] * heatmap.stride)
    if where is None:
        return Target(step)
    tile, y, x = where
    if len(step.shape) == 4 and heatmap.kind == "channels":
        offset = page * CHANNEL_PAGE if step.shape[1] > CHANNEL_PAGE else 0
        return Target(step, channel=tile + offset, at=(y, x))
    if len(step.shape) == 3 and heatmap.kind in ("image", "wrapped"):
        return Target(step, position=y if heatmap.kind == "image" else None)
    if len(step.shape) == 2 and heatmap.kind == "strip":  # a vector: one of its units
        index = y * heatmap.layout.width + x
        return Target(step, channel=index) if index < step.shape[1] else Target(step)
    return Target(step)


def dab(delta: np.ndarray, at: tuple[int, int], amount: float, erase: bool, radius: float = 1.2):
    """``delta`` with one brush dab at ``at``: ``amount`` added under a soft round brush, or
    (``erase``) the paint there taken away. A new array: the old one may be on its way."""
    h, w = delta.shape
    yy, xx = np.ogrid[:h, :w]
    distance = np.hypot(yy - at[0], xx - at[1])
    weight = np.clip(1.0 + radius - distance, 0.0, 1.0).astype(np.float32)
    if erase:
        return delta * (1.0 - weight)
    return delta + amount * weight
