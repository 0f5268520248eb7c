"""Real architectures people bring, from transformers, built from tiny configs (random weights,
no download), plus the shapes of model nothing in transformers covers. Opened by the tests as a
user opens their own file: ``real_models.py:vit``.

Nothing here imports Qt; transformers is imported inside each factory so that the plain models
open without it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

TINY_TEXT = dict(vocab_size=97, bos_token_id=0, eos_token_id=1, pad_token_id=2)


def vit():
    """A ViT built for 96×96 images: any other size raises in its patch embedding."""
    from transformers import ViTConfig, ViTForImageClassification

    config = ViTConfig(
        image_size=96,
        patch_size=16,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=7,
    )
    return ViTForImageClassification(config)


def vit_rectangular():
    """``image_size`` as a (height, width) pair."""
    from transformers import ViTConfig, ViTForImageClassification

    config = ViTConfig(
        image_size=(48, 80),
        patch_size=16,
        num_channels=1,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        num_labels=3,
    )
    return ViTForImageClassification(config)


def bert():
    """A BERT-style sequence classifier: token ids in, 3 class scores out."""
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=3,
        **TINY_TEXT,
    )
    return BertForSequenceClassification(config)


def gpt2():
    """A GPT-2-style LM: ids in, ``[1, T, vocab]`` logits out; only 8 positions."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(n_positions=8, n_embd=32, n_layer=2, n_head=2, **TINY_TEXT)
    return GPT2LMHeadModel(config)


def resnet():
    """A ResNet with skip connections; its config says channels but no image size."""
    from transformers import ResNetConfig, ResNetForImageClassification

    config = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], num_labels=1000)
    return ResNetForImageClassification(config)


def convnext():
    from transformers import ConvNextConfig, ConvNextForImageClassification

    config = ConvNextConfig(
        num_stages=2, hidden_sizes=[8, 16], depths=[1, 1], image_size=64, num_labels=5
    )
    return ConvNextForImageClassification(config)


def segformer():
    """A segmentation net: ``[1, classes, H/4, W/4]`` logits."""
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

    config = SegformerConfig(
        num_encoder_blocks=2,
        depths=[1, 1],
        sr_ratios=[2, 1],
        hidden_sizes=[8, 16],
        num_attention_heads=[1, 2],
        decoder_hidden_size=16,
        image_size=64,
        num_labels=4,
    )
    return SegformerForSemanticSegmentation(config)


class BagOfWords(nn.Module):
    """A plain token model: its first layer is an ``nn.Embedding`` of 50 ids."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 12)
        self.head = nn.Linear(12, 4)

    def forward(self, ids):
        return self.head(F.relu(self.embed(ids)).mean(dim=1))


class ZeroHead(nn.Module):
    """A head initialised to zero (as transformers does for some classifiers)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(8, 16)
        self.classifier = nn.Linear(16, 30)
        nn.init.zeros_(self.classifier.weight)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, x):
        return self.classifier(torch.tanh(self.body(x)))


class WantsBigImages(nn.Module):
    """Nothing says its size, and it refuses anything but 1×3×128×128."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        assert x.shape[-1] == 128, f"Wrong image width! Expected 128 but got {x.shape[-1]}!"
        return self.conv(x)


class PretrainedCfgNet(nn.Module):
    """timm-style: ``pretrained_cfg["input_size"]`` says (C, H, W)."""

    def __init__(self) -> None:
        super().__init__()
        self.pretrained_cfg = {"input_size": (3, 40, 40)}
        self.conv = nn.Conv2d(3, 4, 3)
        self.head = nn.Linear(4 * 38 * 38, 5)

    def forward(self, x):
        return self.head(self.conv(x).flatten(1))


class ImageSizeNet(nn.Module):
    """torchvision-ViT-style: an ``image_size`` attribute, patches from a conv."""

    def __init__(self) -> None:
        super().__init__()
        self.image_size = 48
        self.conv_proj = nn.Conv2d(3, 8, 16, stride=16)
        self.head = nn.Linear(8, 6)

    def forward(self, x):
        torch._assert(x.shape[-1] == self.image_size, "Wrong image width!")
        return self.head(self.conv_proj(x).flatten(2).mean(-1))
