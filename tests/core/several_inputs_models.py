"""Models that take more than one input, or say their input only through their parameters:
plain-torch patterns people write and transformers architectures from tiny configs (random
weights, no download). Opened by the tests as a user opens a file: ``several_inputs_models.py:t5``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

TOKENS = dict(bos_token_id=0, eos_token_id=1, pad_token_id=2)


class Masked(nn.Module):
    """The issue's repro: a sequence and its mask, ``x * mask.unsqueeze(-1)``."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(16, 4)

    def forward(self, x, mask):
        return self.proj(x * mask.unsqueeze(-1)).mean(1)


class DictIn(nn.Module):
    """The issue's repro: one dict argument whose ``"image"`` a Conv2d reads."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)

    def forward(self, batch):
        return self.conv(batch["image"]).mean((2, 3))


class TwoBranch(nn.Module):
    """An image and a vector, each read by its own layer."""

    def __init__(self) -> None:
        super().__init__()
        self.image = nn.Conv2d(3, 4, 3)
        self.vector = nn.Linear(5, 4)

    def forward(self, img, vec):
        return self.image(img).mean((2, 3)) + self.vector(vec)


class TimeConditioned(nn.Module):
    """A diffusion-style ``forward(x, t)``: the timestep goes through an embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.time = nn.Embedding(100, 8)
        self.conv = nn.Conv2d(1, 8, 3, padding=1)

    def forward(self, x, t):
        return self.conv(x) + self.time(t)[:, :, None, None]


class _Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(x)


def double():
    """A ``.double()`` model: it takes float64."""
    return _Small().double()


class GRUNet(nn.Module):
    """A GRU over ``[1, T, 6]`` (batch first) before a Linear of another width."""

    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(6, 12, batch_first=True)
        self.head = nn.Linear(12, 3)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.head(out[:, -1])


class Conv1dNet(nn.Module):
    """Takes ``[1, 100]``: only the Linear after the flatten says the length."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 8, 3)
        self.fc = nn.Linear(8 * 98, 10)

    def forward(self, x):
        return self.fc(F.relu(self.conv(x.unsqueeze(1))).flatten(1))


class Unreadable(nn.Module):
    """Its second input only decides Python control flow: nothing says its shape."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x, lengths):
        return self.fc(x[:, : int(lengths.sum().item())].mean(1))


def t5():
    from transformers import T5Config, T5ForConditionalGeneration

    config = T5Config(vocab_size=97, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=2,
                      decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)  # fmt: skip
    return T5ForConditionalGeneration(config)


def whisper():
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    config = WhisperConfig(vocab_size=97, num_mel_bins=16, encoder_layers=1, decoder_layers=1,
                           d_model=32, encoder_attention_heads=2, decoder_attention_heads=2,
                           encoder_ffn_dim=64, decoder_ffn_dim=64, max_source_positions=32,
                           max_target_positions=32, decoder_start_token_id=3, **TOKENS)  # fmt: skip
    return WhisperForConditionalGeneration(config)


def clip():
    from transformers import CLIPConfig, CLIPModel

    text = dict(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                num_attention_heads=2, max_position_embeddings=16, **TOKENS)  # fmt: skip
    vision = dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=64,
                  num_hidden_layers=1, num_attention_heads=2)  # fmt: skip
    return CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16))


def vision_encoder_decoder():
    from transformers import (
        GPT2Config,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
    )

    encoder = ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64)  # fmt: skip
    decoder = GPT2Config(vocab_size=97, n_positions=16, n_embd=32, n_layer=1, n_head=2,
                         add_cross_attention=True, is_decoder=True, **TOKENS)  # fmt: skip
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id, config.pad_token_id = 0, 2
    return VisionEncoderDecoderModel(config=config)


def mbart_classifier():
    """Reads the decoder at the ``<eos>`` of the ids: random ids must end with one."""
    from transformers import MBartConfig, MBartForSequenceClassification

    config = MBartConfig(vocab_size=97, d_model=32, encoder_layers=1, decoder_layers=1,
                         encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64,
                         decoder_ffn_dim=64, max_position_embeddings=32, num_labels=3,
                         **TOKENS)  # fmt: skip
    return MBartForSequenceClassification(config)


def speech_to_text():
    """Features as ``[1, frames, features]``, not Whisper's ``[1, bins, frames]``."""
    from transformers import Speech2TextConfig, Speech2TextForConditionalGeneration

    config = Speech2TextConfig(vocab_size=97, d_model=32, encoder_layers=1, decoder_layers=1,
                               encoder_attention_heads=2, decoder_attention_heads=2,
                               encoder_ffn_dim=64, decoder_ffn_dim=64, max_source_positions=64,
                               max_target_positions=32, conv_channels=16, input_feat_per_channel=8,
                               decoder_start_token_id=0, **TOKENS)  # fmt: skip
    return Speech2TextForConditionalGeneration(config)


def bert():
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=97, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, num_labels=3,
                        **TOKENS)  # fmt: skip
    return BertForSequenceClassification(config)


def lxmert():
    """Token ids and detected image regions: ``visual_feats`` and their boxes ``visual_pos``."""
    from transformers import LxmertConfig, LxmertModel

    config = LxmertConfig(vocab_size=97, hidden_size=32, num_attention_heads=2,
                          intermediate_size=37, l_layers=1, x_layers=1, r_layers=1,
                          visual_feat_dim=16, visual_pos_dim=4, max_position_embeddings=64,
                          **TOKENS)  # fmt: skip
    return LxmertModel(config)


class Seq2Seq(nn.Module):
    """``nn.Transformer``: a source and a target sequence."""

    def __init__(self):
        super().__init__()
        self.t = nn.Transformer(
            d_model=16,
            nhead=2,
            num_encoder_layers=1,
            num_decoder_layers=1,
            dim_feedforward=32,
            batch_first=True,
        )
        self.head = nn.Linear(16, 5)

    def forward(self, src, tgt):
        return self.head(self.t(src, tgt))


class IdsMask(nn.Module):
    """Ids and a boolean padding mask (``masked_fill(~mask…)``)."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, ids, mask):
        h = self.emb(ids).masked_fill(~mask.unsqueeze(-1), 0.0)
        return self.head(h.sum(1) / mask.sum(1, keepdim=True).clamp(min=1))


class SinusoidalTime(nn.Module):
    """A timestep through sinusoidal features (``t[:, None] * freqs``), then a Linear."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 8, 3, padding=1)
        self.t = nn.Linear(8, 8)

    def forward(self, x, t):
        freqs = torch.exp(-math.log(1000) * torch.arange(4) / 4)
        e = t[:, None].float() * freqs[None]
        e = torch.cat([e.sin(), e.cos()], -1)
        return self.c(x) + self.t(e)[:, :, None, None]


class MultiModal(nn.Module):
    """An image and token ids, each through its own tower."""

    def __init__(self):
        super().__init__()
        self.img = nn.Conv2d(3, 8, 3)
        self.txt = nn.Embedding(30, 8)
        self.head = nn.Linear(16, 3)

    def forward(self, image, text):
        return self.head(torch.cat([self.img(image).mean((2, 3)), self.txt(text).mean(1)], -1))


class TwoKeys(nn.Module):
    """A dict of two keys, a float vector and category ids."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(10, 4)
        self.b = nn.Embedding(20, 4)

    def forward(self, batch):
        return self.a(batch["features"]) + self.b(batch["category"]).mean(1)


class CondGAN(nn.Module):
    """A conditional generator: noise and one class label per sample."""

    def __init__(self):
        super().__init__()
        self.label = nn.Embedding(10, 10)
        self.net = nn.Linear(74, 784)

    def forward(self, z, labels):
        return self.net(torch.cat([z, self.label(labels)], -1))


class Siamese(nn.Module):
    """Two images through one encoder; only the Linear after it says their size (28×28)."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 26 * 26, 8))

    def forward(self, a, b):
        return F.pairwise_distance(self.enc(a), self.enc(b))


class Packed(nn.Module):
    """A packed LSTM: its lengths are only read by ``pack_padded_sequence``."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(5, 7, batch_first=True)
        self.h = nn.Linear(7, 2)

    def forward(self, x, lengths):
        packed = nn.utils.rnn.pack_padded_sequence(
            x, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        _, (h, _) = self.rnn(packed)
        return self.h(h[-1])


class PooledCNN(nn.Module):
    """MNIST-sized: a pooling floors odd sizes, and only the Linear says 28×28."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(8 * 13 * 13, 10)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))
