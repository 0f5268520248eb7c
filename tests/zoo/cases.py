"""Every case of the zoo: a name and how to write the command-line arguments that open it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.zoo.files import BUILDERS, HF, PATTERNS

HF_MODELS = [
    "bert", "distilbert", "roberta", "albert", "electra", "gpt2", "llama", "qwen2", "mistral",
    "t5", "bart", "mbart", "whisper", "clip", "vision_encoder_decoder", "vit", "deit", "swin",
    "convnext", "resnet", "wav2vec2", "segformer",
]  # fmt: skip
PATTERN_MODELS = [
    "Masked", "DictIn", "Double", "GRUTagger", "LSTMSeq", "Conv1dNet", "Conv3dNet", "Attention",
    "ChunkMax", "AutoEncoder", "VAE", "UNetish", "Energy", "Spectral", "Checkpointed",
    "Embedder", "Residual", "TwoOutputs", "quantized_mlp", "sequential_cnn",
]  # fmt: skip

Builder = Callable[[Path], list[str]]


def _spec(path: str, name: str) -> Builder:
    return lambda folder: ["--model", f"{path}:{name}"]


CASES: dict[str, Builder] = {
    **{f"hf:{name}": _spec(HF, name) for name in HF_MODELS},
    **{f"torch:{name}": _spec(PATTERNS, name) for name in PATTERN_MODELS},
    **BUILDERS,
}

# The fast subset `make test` runs: one case of each class the zoo covers, cheap to build.
FAST = [
    "hf:t5", "hf:llama", "torch:Masked", "torch:DictIn", "torch:Conv3dNet", "torch:AutoEncoder",
    "torch:quantized_mlp", "file:exported_ids", "ckpt:data_parallel", "ckpt:tied_lm_safetensors",
]  # fmt: skip
