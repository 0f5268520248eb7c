"""The seed network: the LeNet of PyTorch's "Neural Networks" tutorial, and its bundled weights."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


def _resources() -> Path:
    """The top-level ``resources/`` of a checkout (and an editable install), else the copy
    installed with the package as ``inspector/resources``."""
    here = Path(__file__).resolve().parents[2]  # the inspector package
    checkout = here.parent / "resources"
    return checkout if (checkout / "lenet_mnist.json").exists() else here / "resources"


RESOURCES = _resources()
LENET_WEIGHTS = RESOURCES / "lenet_mnist.safetensors"
LENET_CARD = RESOURCES / "lenet_mnist.json"

# MNIST pixel statistics on a 0-1 scale (training set), as used by the tutorial's ecosystem.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


class Net(nn.Module):
    """LeNet exactly as in the tutorial (the class is named ``Net`` there, so ``print`` matches)."""

    def __init__(self) -> None:
        super().__init__()
        # 1 input image channel, 6 output channels, 5x5 square convolution kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # an affine operation: y = Wx + b
        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5*5 from image dimension
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        c1 = F.relu(self.conv1(input))
        s2 = F.max_pool2d(c1, (2, 2))
        c3 = F.relu(self.conv2(s2))
        s4 = F.max_pool2d(c3, 2)
        s4 = torch.flatten(s4, 1)
        f5 = F.relu(self.fc1(s4))
        f6 = F.relu(self.fc2(f5))
        output = self.fc3(f6)
        return output


def untrained_lenet(seed: int = 0) -> Net:
    """A freshly initialised LeNet, the same for the same seed."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Net()


def lenet_card() -> dict:
    """The JSON card written beside the bundled weights (accuracy, seed, data checksums...)."""
    try:
        return json.loads(LENET_CARD.read_text())
    except (OSError, ValueError):
        return {}
