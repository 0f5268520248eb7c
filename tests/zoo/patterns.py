"""The shapes of model people write themselves, opened as ``patterns.py:Name``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

# The two repros live with the other several-input models; the zoo opens them here too.
from tests.core.several_inputs_models import DictIn, Masked  # noqa: F401


class Double(nn.Module):
    """A model converted with ``.double()``: its input must be float64."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(12, 8), nn.Tanh(), nn.Linear(8, 3))
        self.double()

    def forward(self, x):
        return self.net(x)


class GRUTagger(nn.Module):
    """A GRU over [batch, time, features] (batch_first)."""

    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(10, 16, batch_first=True)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.head(out[:, -1])


class LSTMSeq(nn.Module):
    """An LSTM whose (out, (h, c)) tuple is used whole."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(6, 12, num_layers=2)
        self.head = nn.Linear(12, 2)

    def forward(self, x):
        _out, (h, c) = self.lstm(x)
        return self.head(h[-1] + c[-1])


class Conv1dNet(nn.Module):
    """A 1-D signal model over [batch, 100] samples."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 8, 5)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        h = F.relu(self.conv(x.unsqueeze(1)))
        return self.head(h.mean(-1))


class Conv3dNet(nn.Module):
    """A video-like volume: [batch, channels, depth, height, width]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(2, 4, 3)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        return self.head(F.relu(self.conv(x)).mean((2, 3, 4)))


class Attention(nn.Module):
    """``nn.MultiheadAttention``: its forward returns (output, weights)."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 4, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        out, weights = self.attn(x, x, x)
        return self.head(out.mean(1)) + weights.mean()


class ChunkMax(nn.Module):
    """Tuple-returning ops: chunk, max(dim), topk, unbind."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(20, 24)

    def forward(self, x):
        a, b = self.fc(x).chunk(2, dim=-1)
        values, _ = torch.max(a.view(-1, 3, 4), dim=1)
        top, _ = b.topk(3, dim=-1)
        first, *_ = values.unbind(0)
        return torch.cat([values.flatten(1), top], dim=-1) + first.sum()


class AutoEncoder(nn.Module):
    """An image in, the same image shape out."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU())
        self.dec = nn.Sequential(nn.Linear(32, 784), nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28)))

    def forward(self, x):
        return self.dec(self.enc(x))


class VAE(nn.Module):
    """A VAE whose forward returns (reconstruction, mu, logvar)."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Linear(784, 32)
        self.mu = nn.Linear(32, 8)
        self.logvar = nn.Linear(32, 8)
        self.dec = nn.Sequential(nn.Linear(8, 784), nn.Sigmoid())

    def forward(self, x):
        h = F.relu(self.enc(x.flatten(1)))
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.dec(z).view(-1, 1, 28, 28), mu, logvar


class UNetish(nn.Module):
    """Down, up and a skip: a map the size of its input."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(8, 8, 2, stride=2)
        self.out = nn.Conv2d(9, 1, 1)

    def forward(self, x):
        return self.out(torch.cat([F.relu(self.up(F.relu(self.down(x)))), x], dim=1))


class Energy(nn.Module):
    """A scalar energy: the output is one number."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(784, 1)

    def forward(self, x):
        return self.fc(x.flatten(1)).sum()


class Spectral(nn.Module):
    """``torch.fft``: complex activations between a convolution and the head."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        spectrum = torch.fft.fft2(self.conv(x))
        return self.head(spectrum.abs().mean((2, 3)))


class Checkpointed(nn.Module):
    """A block run through the reentrant activation checkpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16))
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(checkpoint(self.block, x, use_reentrant=True))


class Embedder(nn.Module):
    """Token ids through an embedding bag and a classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.head = nn.Linear(16, 4)

    def forward(self, ids):
        return self.head(self.emb(ids).mean(1))


class Residual(nn.Module):
    """A residual MLP with LayerNorm and GELU."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(32)
        self.fc1 = nn.Linear(32, 64)
        self.fc2 = nn.Linear(64, 32)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head(x + self.fc2(F.gelu(self.fc1(self.norm(x)))))


class TwoOutputs(nn.Module):
    """Returns a dict of outputs, as many research models do."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Conv2d(1, 4, 3, padding=1)
        self.cls = nn.Linear(4, 10)

    def forward(self, x):
        h = F.relu(self.body(x))
        return {"logits": self.cls(h.mean((2, 3))), "features": h}


def quantized_mlp():
    """``quantize_dynamic`` of an MLP: packed int8 Linear layers."""
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 4)).eval()
    return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


def sequential_cnn():
    """An anonymous ``nn.Sequential`` CNN for 28×28 digits."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8 * 13 * 13, 10),
    )
