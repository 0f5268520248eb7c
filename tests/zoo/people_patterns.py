"""Models as people write them, opened by the tests as ``people_patterns.py:Name``: ops that
return tuples, quantized models, outputs shaped like the input, a scalar, complex values,
a checkpointed block."""

import torch
import torch.utils.checkpoint as checkpoint
from torch import nn


class Chunky(nn.Module):
    """``chunk`` and ``max(dim)``: ops that return tuples of tensors. Input [1, 8]."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        a, b = self.fc(x).chunk(2, dim=1)
        best = torch.max(a * b, dim=1)
        return best.values.unsqueeze(1) + a


class SelfAttention(nn.Module):
    """``nn.MultiheadAttention``: (output, weights). Input [1, 6, 16]."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        out, _weights = self.attn(x, x, x)
        return self.head(out.mean(1))


class Recurrent(nn.Module):
    """An LSTM: ``(out, (h, c))``. Input [1, 5, 8]."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        _out, (h, _c) = self.lstm(x)
        return self.head(h[-1])


class _Mlp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


def dynamic_quantized() -> nn.Module:
    """``quantize_dynamic`` of an MLP (qint8 Linear weights). Input [1, 1, 28, 28]."""
    torch.manual_seed(0)
    return torch.ao.quantization.quantize_dynamic(_Mlp().eval(), {nn.Linear}, dtype=torch.qint8)


def dynamic_quantized_lstm() -> nn.Module:
    """``quantize_dynamic`` of an LSTM tagger (a quantized LSTM). Input [1, 5, 8]."""
    torch.manual_seed(0)
    return torch.ao.quantization.quantize_dynamic(Recurrent().eval(), {nn.LSTM, nn.Linear})


class _Static(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.conv = nn.Conv2d(1, 4, 3)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(4 * 26 * 26, 10)
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = self.relu(self.conv(self.quant(x)))
        return self.dequant(self.fc(torch.flatten(x, 1)))


def static_quantized() -> nn.Module:
    """Post-training static quantization (quint8 activations). Input [1, 1, 28, 28]."""
    torch.manual_seed(0)
    model = _Static().eval()
    model.qconfig = torch.ao.quantization.get_default_qconfig("fbgemm")
    prepared = torch.ao.quantization.prepare(model)
    prepared(torch.rand(8, 1, 28, 28))
    return torch.ao.quantization.convert(prepared)


class AutoEncoder(nn.Module):
    """A sigmoid reconstruction shaped like its input [1, 1, 28, 28]."""

    def __init__(self) -> None:
        super().__init__()
        self.encode = nn.Linear(784, 16)
        self.decode = nn.Linear(16, 784)

    def forward(self, x):
        code = torch.relu(self.encode(x.flatten(1)))
        return torch.sigmoid(self.decode(code)).view(-1, 1, 28, 28)


class Energy(nn.Module):
    """An energy model: one number for an image [1, 1, 28, 28]."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.score = nn.Linear(4, 1)

    def forward(self, x):
        return self.score(self.conv(x).mean((2, 3))).sum()


class Spectral(nn.Module):
    """``torch.fft``: complex activations between real ones. Input [1, 32]."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(32, 32)

    def forward(self, x):
        spectrum = torch.fft.rfft(self.fc(x), dim=-1)
        return torch.fft.irfft(spectrum * 0.5, n=32, dim=-1)


class Checkpointed(nn.Module):
    """A block run through ``torch.utils.checkpoint`` (reentrant). Input [1, 16]."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Linear(16, 16), nn.ReLU())
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        return self.head(checkpoint.checkpoint(self.block, x, use_reentrant=True))


class TiedLM(nn.Module):
    """A language model whose output layer is its embedding (tied weights). Input ids [1, 8]."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 16)
        self.body = nn.Linear(16, 16)
        self.lm_head = nn.Linear(16, 50, bias=False)
        self.lm_head.weight = self.embed.weight

    def forward(self, ids):
        return self.lm_head(torch.tanh(self.body(self.embed(ids))))


def tiny_gpt2() -> nn.Module:
    """A two-layer GPT-2 from a small config (its lm_head tied to wte), untrained."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        n_layer=2, n_embd=32, n_head=2, vocab_size=64, n_positions=32, bos_token_id=0,
        eos_token_id=0,
    )  # fmt: skip
    return GPT2LMHeadModel(config).eval()


class FlatVAE(nn.Module):
    """A VAE whose reconstruction comes out flat, [1, 784], for an image [1, 1, 28, 28]."""

    def __init__(self) -> None:
        super().__init__()
        self.encode = nn.Linear(784, 2 * 8)
        self.decode = nn.Linear(8, 784)

    def forward(self, x):
        mean, log_var = self.encode(x.flatten(1)).chunk(2, dim=1)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean) if self.training else mean
        return torch.sigmoid(self.decode(z))


class ComplexOut(nn.Module):
    """Returns a spectrum: a complex output [1, 32] for an input [1, 32]."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(32, 32)

    def forward(self, x):
        return torch.fft.fft(self.fc(x), dim=-1)


class Vmapped(nn.Module):
    """``torch.vmap`` inside the forward: its per-sample tensors must not escape. Input [2, 8]."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(torch.vmap(lambda row: row * 2 + 1)(x))
