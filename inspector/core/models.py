"""Named models the command line can open: the bundled LeNet and the reference networks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from .nets import LENET_WEIGHTS, load_lenet, load_state_file
from .zoo import ResNet50, transformer_encoder


@dataclass(frozen=True)
class OpenedModel:
    model: nn.Module
    name: str
    input_shape: tuple[int, ...]
    warning: str | None = None


BUILTIN = {
    "lenet": "the tutorial's LeNet with the bundled MNIST weights (input 1×1×32×32)",
    "resnet50": "a ResNet-50-shaped CNN, untrained (input 1×3×64×64)",
    "transformer": "a 48-layer nn.TransformerEncoder, d_model 128, untrained (input 1×16×128)",
}


def open_model(spec: str = "lenet", weights: Path | None = None) -> OpenedModel:
    """A built-in model by name; ``weights`` (a state_dict file) replaces its parameters."""
    key = spec.strip().lower()
    if key not in BUILTIN:
        names = ", ".join(BUILTIN)
        raise ValueError(f"unknown model {spec!r}: use one of {names}")
    if key == "lenet":
        loaded = load_lenet(weights or LENET_WEIGHTS)
        return OpenedModel(loaded.model, loaded.name, (1, 1, 32, 32), loaded.warning)
    model = ResNet50() if key == "resnet50" else transformer_encoder()
    shape = (1, 3, 64, 64) if key == "resnet50" else (1, 16, 128)
    if weights is not None:
        model.load_state_dict(load_state_file(Path(weights)))
    return OpenedModel(model.eval(), key, shape)
