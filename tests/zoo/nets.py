"""A small model zoo opened by the tests as users open their own files (``nets.py:Name``)."""

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return F.relu(self.conv2(F.relu(self.bn1(self.conv1(x)))) + x)


class ResNetish(nn.Module):
    """Skip connections, RGB input, 10 classes."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.blocks = nn.Sequential(Block(width), Block(width))
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        x = self.blocks(F.relu(self.stem(x)))
        return self.head(x.mean(dim=(2, 3)))


class TinyTransformer(nn.Module):
    """A sequence model: input (1, 16, 32), output of the same shape."""

    def __init__(self) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True, dropout=0.0)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)

    def forward(self, x):
        return self.encoder(x)


class TwoHeads(nn.Module):
    """Returns (class scores, a regression map): the user picks which one the loss uses."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(20, 32)
        self.classes = nn.Linear(32, 5)
        self.extra = nn.Linear(32, 3)

    def forward(self, x):
        h = F.relu(self.body(x))
        return self.classes(h), self.extra(h)


def make_mlp() -> nn.Module:
    """A factory function: an MLP on 20 features (not an image)."""
    return nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 4))


class NeedsDepth(nn.Module):
    def __init__(self, depth: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(*[nn.Linear(8, 8) for _ in range(depth)])


class RaisesInForward(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        raise RuntimeError("the forward of this model always fails")


class WantsBigImages(nn.Module):
    """Rejects the inferred 64×64 input unless the user says 1,3,128,128."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4 * 126 * 126, 2)

    def forward(self, x):
        return self.fc(torch.flatten(self.conv(x), 1))


class NaNOutput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(10, 10)

    def forward(self, x):
        return self.fc(x) * float("nan")


class FindsNothing(nn.Module):
    """A detector's habit: a step keeps the rows above a threshold, here none ([0, 8])."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        features = self.conv(x).mean((2, 3))
        found = features[features.sum(1) > 1e9]
        return self.fc(features) + found.sum()


class NormalisesInPlace(nn.Module):
    """Writes into its own input, as some preprocessing does: x.sub_(mean).mul_(scale)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 2)

    def forward(self, x):
        return self.fc(x.sub_(0.5).mul_(10))


class SlowToBuild(nn.Module):
    """A constructor stuck in Python for a long time (as a big model being built can be)."""

    def __init__(self) -> None:
        super().__init__()
        import time

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # pure Python: no torch call to interrupt
            pass
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)


class ManyUnusedLeaves(nn.Module):
    """More leaf modules than heatmaps are shown, of which the forward calls only two."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(4, 4) for _ in range(60))

    def forward(self, x):
        return self.layers[1](self.layers[0](x))
