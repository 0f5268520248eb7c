"""Any Hugging Face model type built from a small config (random init, no download), for the sweep
(``tests/zoo/hf_sweep.py``). Opened as a user's file: ``hf_small.py:bert``, ``hf_small.py:sam2``.

The config is the type's default with every size it names shrunk (hidden sizes, layers, heads,
experts, vocabularies, image sizes), in its sub-configs too; the vocabulary keeps every special
token id the config names. The class is the type's ``AutoModel`` class, else the first task class
that takes the config.
"""

from __future__ import annotations

import torch

HIDDEN = 32
MAX_PARAMETERS = 20_000_000  # what the shrinking could not reach is left out
SIZES = {
    **dict.fromkeys(
        ("hidden_size", "d_model", "n_embd", "embed_dim", "dim", "embedding_size",
         "word_embed_proj_dim", "text_embed_dim", "vision_embed_dim", "d_embed", "n_embed"),
        HIDDEN,
    ),
    **dict.fromkeys(
        ("intermediate_size", "ffn_dim", "encoder_ffn_dim", "decoder_ffn_dim", "d_ff", "n_inner",
         "hidden_dim", "mlp_dim", "d_inner", "moe_intermediate_size",
         "shared_expert_intermediate_size"),
        2 * HIDDEN,
    ),
    **dict.fromkeys(
        ("num_hidden_layers", "num_layers", "n_layer", "n_layers", "encoder_layers",
         "decoder_layers", "num_decoder_layers", "num_encoder_layers"),
        2,
    ),
    **dict.fromkeys(
        ("num_attention_heads", "n_head", "n_heads", "encoder_attention_heads",
         "decoder_attention_heads", "num_heads"),
        2,
    ),
    "num_key_value_heads": 2,
    "head_dim": 16,
    "projection_dim": 16,
    **dict.fromkeys(("num_experts", "n_routed_experts", "num_local_experts"), 4),
    "num_experts_per_tok": 2,
}  # fmt: skip
DERIVED = ("layer_types", "mlp_layer_types", "attention_layers", "block_types")
NESTED = ("text_config", "vision_config", "audio_config", "encoder", "decoder", "speech_config",
          "prompt_encoder_config", "mask_decoder_config", "backbone_config", "qformer_config",
          "depth_decoder_config", "codec_config", "talker_config", "thinker_config")  # fmt: skip


def _token_ids(values: dict) -> list[int]:
    found = []
    for key, value in values.items():
        if isinstance(value, dict):
            found += _token_ids(value)
        elif str(key).endswith(("token_id", "token_index", "token_ids")):
            items = value if isinstance(value, (list, tuple)) else [value]
            found += [v for v in items if isinstance(v, int) and not isinstance(v, bool)]
    return found


def _shrunk(values: dict, vocab: int) -> dict:
    """The overrides that make the config ``values`` (its ``to_dict()``) small."""
    out: dict = {}
    if "model_type" in values:
        out["model_type"] = values["model_type"]
    for key, value in values.items():
        if isinstance(value, bool):
            continue
        if key in SIZES and isinstance(value, int):
            out[key] = min(value, SIZES[key]) if key.startswith("num_experts") else SIZES[key]
        elif key == "axial_pos_embds_dim" and isinstance(value, (list, tuple)):  # sums to hidden
            out[key] = [HIDDEN // len(value)] * len(value)
        elif key == "vocab_size" and isinstance(value, int):
            out[key] = min(value, vocab)
        elif key in ("depths", "num_heads", "hidden_sizes", "num_attention_heads") and isinstance(
            value, (list, tuple)
        ):
            out[key] = {"depths": [1] * len(value), "hidden_sizes": [
                32 * 2**i for i in range(len(value))]}.get(key, [1] * len(value))  # fmt: skip
        elif key == "image_size" and isinstance(value, int):
            patch = values.get("patch_size")
            out[key] = min(value, 4 * patch if isinstance(patch, int) else 64)
        elif key in ("rope_parameters", "rope_scaling") and isinstance(value, dict):
            section = value.get("mrope_section")  # sums to half the head's width
            if isinstance(section, list) and sum(section) > SIZES["head_dim"] // 2:
                half, total = SIZES["head_dim"] // 2, sum(section)
                small = [max(1, v * half // total) for v in section]
                small[0] += half - sum(small)
                out[key] = {**value, "mrope_section": small}
        elif isinstance(value, dict) and (key in NESTED or "model_type" in value):
            out[key] = _shrunk(value, vocab)
    return out


def model_class(model_type: str):
    """The type's ``AutoModel`` class, else its first task class, else the class its config's
    name gives (``BlipTextConfig``: ``BlipTextModel``); None when there is none."""
    import transformers
    from transformers import CONFIG_MAPPING, PreTrainedModel
    from transformers.models.auto import modeling_auto

    names = [modeling_auto.MODEL_MAPPING_NAMES.get(model_type)]
    for mapping in sorted(n for n in dir(modeling_auto) if n.endswith("_MAPPING_NAMES")):
        names.append(getattr(modeling_auto, mapping).get(model_type))
    names.append(CONFIG_MAPPING[model_type].__name__.removesuffix("Config") + "Model")
    for name in names:
        if isinstance(name, (list, tuple)):
            name = name[0] if name else None
        cls = getattr(transformers, name, None) if isinstance(name, str) else None
        if isinstance(cls, type) and issubclass(cls, PreTrainedModel):
            return cls
    return None


def small_config(model_type: str):
    from transformers import CONFIG_MAPPING

    cls = CONFIG_MAPPING[model_type]
    default = cls().to_dict()
    vocab = max([128, *(t + 1 for t in _token_ids(default) if t < 400_000)])
    overrides = _shrunk(default, vocab)
    overrides.pop("model_type", None)
    return cls(**overrides)


def build(model_type: str) -> torch.nn.Module:
    cls = model_class(model_type)
    if cls is None:
        raise LookupError(f"{model_type}: no model class")
    config = small_config(model_type)
    with torch.device("meta"):  # counted before anything is allocated
        size = sum(p.numel() for p in cls(config).parameters())
    if size > MAX_PARAMETERS:
        raise ValueError(f"{model_type}: {size / 1e6:.0f} M parameters once shrunk")
    torch.manual_seed(0)
    return cls(config).eval()


def __getattr__(name: str):  # ``hf_small.py:<model_type>`` opens that type
    if name.startswith("__"):
        raise AttributeError(name)
    return lambda: build(name)
