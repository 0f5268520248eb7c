"""What a Hugging Face model takes, read from its config and its forward's signature.

``main_input_name`` names the main input; an encoder-decoder (``config.is_encoder_decoder``, a
``VisionEncoderDecoderModel``) also needs the decoder's ids, starting with
``decoder_start_token_id``; a dual-tower model (CLIP: a ``text_config`` and a ``vision_config``)
takes ``input_ids`` and ``pixel_values``; masks are ones. Sizes come from the config and its
sub-configs (``vision_config.image_size``, ``text_config.vocab_size``), never from the first
``nn.Embedding`` when the config says (that may be a position table).
"""

from __future__ import annotations

import re

from torch import nn

from inspector.core.feed.named import ModelInputs, NamedInput, forward_parameters
from inspector.core.model.inputs import IMAGE, SEQUENCE_LENGTH, TENSOR, InputSpec

DECODER_LENGTH = 8  # decoder ids fed to an encoder-decoder


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _pair(value) -> tuple[int, int] | None:
    if _int(value):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) >= 2 and all(_int(v) for v in value[-2:]):
        return (value[-2], value[-1])
    return None


def _configs(model: nn.Module, *subs: str) -> list:
    """The model's config, after its sub-configs named in ``subs`` that it has."""
    config = getattr(model, "config", None)
    found = [getattr(config, s, None) for s in subs]
    return [c for c in found if c is not None and not isinstance(c, dict)] + [config]


def _get(configs: list, *names: str):
    """The first of ``names`` any config says, with where it was read."""
    for config in configs:
        for name in names:
            value = getattr(config, name, None)
            if value is not None:
                prefix = "" if config is configs[-1] else f"{_sub_name(configs[-1], config)}."
                return value, f"config.{prefix}{name}"
    return None, ""


def _sub_name(config, sub) -> str:
    for name in ("text_config", "vision_config", "audio_config", "decoder", "encoder"):
        if getattr(config, name, None) is sub:
            return name
    return "sub-config"


def _vocab(model: nn.Module, *subs: str) -> tuple[int | None, str]:
    vocab, source = _get(_configs(model, *subs), "vocab_size")
    if _int(vocab):
        return vocab, source
    try:  # the token table the model names, not the first nn.Embedding found
        table = model.get_input_embeddings()
    except Exception:
        table = None
    size = _int(getattr(table, "num_embeddings", None))
    return size, "the model's input embeddings" if size else ""


def _token(value, bound: int | None) -> int | None:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if isinstance(value, int) and value >= 0 and (bound is None or value < bound):
        return value
    return None


def input_spec(model: nn.Module, name: str, sibling: InputSpec | None = None) -> InputSpec | None:
    """The spec of Hugging Face input ``name`` (``input_ids``, ``pixel_values``, ...), or None
    for a name not known here."""
    config = getattr(model, "config", None)
    if config is None:
        return None
    if name in ("pixel_values", "spatial_shapes", "pixel_attention_mask") and _naflex_side(model):
        return _naflex(model, name)
    if name == "pixel_values":
        configs = _configs(model, "vision_config", "encoder")
        size, source = _get(configs, "image_size")
        channels, _ = _get(configs, "num_channels")
        size = _pair(size)
        if size is None:
            source = "the usual 224×224 (the config names no size)"
        frames, _ = _get(configs, "num_frames")
        if _int(frames):  # a video model (VideoMAE, TimeSformer, ViViT): [1, frames, C, H, W]
            shape = (1, frames, _int(channels) or 3, *(size or (224, 224)))
            return InputSpec(shape, TENSOR, source=f"{source} and config.num_frames")
        return InputSpec((1, _int(channels) or 3, *(size or (224, 224))), IMAGE, source=source)
    if name == "input_ids":
        vocab, source = _vocab(model, "text_config")
        limit, _ = _get(_configs(model, "text_config"), "max_position_embeddings", "n_positions",
                        "n_ctx")  # fmt: skip
        length = min(SEQUENCE_LENGTH, _int(limit) or SEQUENCE_LENGTH)
        eos, _ = _get(_configs(model, "text_config"), "eos_token_id")
        return InputSpec((1, length), TENSOR, dtype="int64", high=vocab,
                         source=source or "config.vocab_size", last=_token(eos, vocab))  # fmt: skip
    if name == "decoder_input_ids":
        vocab, source = _vocab(model, "decoder", "text_config")
        limit, _ = _get(_configs(model, "decoder", "text_config"), "max_target_positions",
                        "max_position_embeddings", "n_positions")  # fmt: skip
        start, _ = _get(_configs(model, "decoder"), "decoder_start_token_id", "bos_token_id",
                        "pad_token_id")  # fmt: skip
        generation = getattr(model, "generation_config", None)
        start = _token(start, vocab)
        if start is None:
            start = _token(getattr(generation, "decoder_start_token_id", None), vocab)
        # as long as the encoder's ids: a BART classifier reads the decoder at their <eos>
        length = sibling.shape[-1] if sibling is not None and sibling.is_integer else DECODER_LENGTH
        length = min(length, _int(limit) or length)
        return InputSpec((1, length), TENSOR, dtype="int64", high=vocab,
                         source=source or "config.vocab_size", first=start)  # fmt: skip
    if name in ("attention_mask", "decoder_attention_mask", "token_type_ids"):
        if sibling is None:
            return None
        fill = 0.0 if name == "token_type_ids" else 1.0
        return InputSpec(sibling.shape, TENSOR, dtype="int64", high=2, fill=fill,
                         source=f"{'zeros' if fill == 0 else 'ones'} like the ids")  # fmt: skip
    if name == "bbox":  # required as normalised floats (UDOP, Bros); LayoutLM's default zeros
        if sibling is None or not sibling.is_integer:
            return None
        return InputSpec((*sibling.shape, 4), TENSOR, fill=0.0, source="an empty box per token")
    if name == "pixel_mask":
        if sibling is None or len(sibling.shape) != 4:
            return None
        shape = (sibling.shape[0], *sibling.shape[2:])
        return InputSpec(shape, TENSOR, dtype="int64", high=2, fill=1.0, source="ones")
    if name == "input_values":  # raw audio (wav2vec2, HuBERT): one second at 16 kHz
        channels, _ = _get(_configs(model, "audio_config"), "audio_channels")
        shape = (1, 16000) if not _int(channels) else (1, channels, 16000)  # EnCodec: channels
        return InputSpec(shape, TENSOR, source="the usual one second at 16 kHz")
    if name in ("visual_feats", "visual_pos"):  # LXMERT's detected regions and their boxes
        width, source = _get([config], "visual_feat_dim" if name == "visual_feats" else
                             "visual_pos_dim")  # fmt: skip
        if not _int(width):
            return None
        return InputSpec((1, DECODER_LENGTH, width), TENSOR, source=source)
    if name == "input_features":
        return _features(model)
    if name.endswith("grid_thw") or name in ("hidden_states", "pixel_values"):
        return _patches(model, name)
    return None


def _naflex_side(model: nn.Module) -> int | None:
    """Patches per side of an image fed as a sequence of patches with its ``spatial_shapes``
    (SigLIP 2's NaFlex): the square root of ``num_patches``."""
    names = [p.name for p in forward_parameters(model) or []]
    count, _ = _get(_configs(model, "vision_config"), "num_patches")
    side = round(count**0.5) if _int(count) else 0
    return side if "spatial_shapes" in names and side * side == count else None


def _naflex(model: nn.Module, name: str) -> InputSpec | None:
    side = _naflex_side(model)
    if name == "spatial_shapes":  # rows and columns of patches
        return InputSpec((1, 2), TENSOR, dtype="int64", high=side + 1, fill=float(side),
                         source="config.num_patches")  # fmt: skip
    if name == "pixel_attention_mask":
        return InputSpec((1, side * side), TENSOR, dtype="int64", high=2, fill=1.0, source="ones")
    configs = _configs(model, "vision_config")
    patch, _ = _get(configs, "patch_size")
    channels, _ = _get(configs, "num_channels")
    if not _int(patch):
        return None
    width = (_int(channels) or 3) * patch * patch
    return InputSpec((1, side * side, width), TENSOR, source="config.num_patches and patch_size")


def _grid_side(model: nn.Module) -> int | None:
    """Frames, rows and columns of patches a flattened-patch vision tower (Qwen-VL's: the
    patches and their ``grid_thw``) is fed: twice its ``spatial_merge_size``."""
    names = [p.name for p in forward_parameters(model) or []]
    merge, _ = _get(_configs(model, "vision_config"), "spatial_merge_size")
    if not any(n.endswith("grid_thw") for n in names) or not _int(merge):
        return None
    return 2 * merge


def _patches(model: nn.Module, name: str) -> InputSpec | None:
    side = _grid_side(model)
    if side is None:
        return None
    if name.endswith("grid_thw"):  # one image of side × side × side patches
        return InputSpec((1, 3), TENSOR, dtype="int64", high=side + 1, fill=float(side),
                         source="config.spatial_merge_size")  # fmt: skip
    configs = _configs(model, "vision_config")
    patch, _ = _get(configs, "patch_size")
    frames, _ = _get(configs, "temporal_patch_size")
    channels, _ = _get(configs, "in_channels", "num_channels")
    if not (_int(patch) and _int(frames)):
        return None
    width = (_int(channels) or 3) * frames * patch * patch
    return InputSpec((side**3, width), TENSOR, source="config.patch_size and temporal_patch_size")


def _features(model: nn.Module) -> InputSpec:
    """Log-mel features: Whisper's ``[1, bins, frames]`` (frames: twice its positions), or
    Speech2Text's ``[1, frames, features × channels]``."""
    configs = _configs(model, "audio_config", "encoder")
    per_channel, _ = _get(configs, "input_feat_per_channel")
    if _int(per_channel):
        channels, _ = _get(configs, "input_channels")
        features = per_channel * (_int(channels) or 1)
        return InputSpec((1, 64, features), TENSOR, source="config.input_feat_per_channel")
    bins, _ = _get(configs, "num_mel_bins", "feature_size")
    positions, _ = _get(configs, "max_source_positions")
    frames = 2 * positions if _int(positions) else 3000
    return InputSpec((1, _int(bins) or 80, frames), TENSOR, source="config.num_mel_bins")


_SIBLINGS = {
    "attention_mask": "input_ids",
    "token_type_ids": "input_ids",
    "decoder_input_ids": "input_ids",
    "decoder_attention_mask": "decoder_input_ids",
    "pixel_mask": "pixel_values",
    "bbox": "input_ids",
}


def main_input(model: nn.Module) -> str | None:
    """The main input's name: ``main_input_name`` (the first of a list, OneFormer's), or the
    forward's first required argument where that name is none of its arguments (a Qwen-VL
    vision tower takes ``hidden_states`` and ``grid_thw``)."""
    names = getattr(model, "main_input_name", None)
    name = names[0] if isinstance(names, (list, tuple)) and names else names
    params = forward_parameters(model)
    if not isinstance(name, str) or params is None:
        return None
    if name not in [p.name for p in params]:
        required = [p.name for p in params if p.default is p.empty]
        name = required[0] if required else name
    return name


def _encoder_decoder(model: nn.Module) -> bool:
    config = getattr(model, "config", None)
    halves = (getattr(config, "encoder", None), getattr(config, "decoder", None))
    return bool(getattr(config, "is_encoder_decoder", False)) or None not in halves


def hf_inputs(model: nn.Module, main_spec: InputSpec) -> ModelInputs | None:
    """Every input a Hugging Face model needs by its conventions, ``main_spec`` for its
    ``main_input_name``; None when it is not a Hugging Face model."""
    main = main_input(model)
    params = forward_parameters(model)
    if getattr(model, "config", None) is None or main is None or params is None:
        return None
    names = [p.name for p in params]
    wanted = [main, *(n for n in names if n.endswith("grid_thw") and _grid_side(model))]
    if main == "pixel_values" and _naflex_side(model):
        wanted += [n for n in ("spatial_shapes", "pixel_attention_mask") if n in names]
    if _encoder_decoder(model) and "decoder_input_ids" in names:
        wanted.append("decoder_input_ids")
    config = model.config
    if main != "input_ids" and "input_ids" in names and hasattr(config, "text_config"):
        wanted.append("input_ids")
    if main != "pixel_values" and "pixel_values" in names and hasattr(config, "vision_config"):
        wanted.append("pixel_values")
    audio = next((n for n in ("input_features", "input_values") if n in names), None)
    if audio and main != audio and hasattr(config, "audio_config"):
        wanted.append(audio)
    return _built(model, wanted, main, main_spec)


def _built(model: nn.Module, wanted: list[str], main: str, main_spec: InputSpec) -> ModelInputs:
    params = forward_parameters(model) or []
    first = params[0].name if params else main
    specs: dict[str, InputSpec] = {main: main_spec}
    for name in wanted:
        if name not in specs:
            spec = input_spec(model, name, specs.get(_SIBLINGS.get(name, "")))
            if spec is not None:
                specs[name] = spec
    inputs = tuple(NamedInput(n, s, positional=n == main == first) for n, s in specs.items())
    return ModelInputs(inputs, main)


def with_missing(model: nn.Module, inputs: ModelInputs, message: str) -> ModelInputs | None:
    """``inputs`` with the forward's inputs that ``message`` names and are not fed yet (``You
    have to specify either decoder_input_ids or decoder_inputs_embeds``), where they can be
    built; None when there is none."""
    params = forward_parameters(model)
    if params is None or getattr(model, "config", None) is None:
        return None
    mentioned = {w.lower() for w in re.findall(r"[A-Za-z_]+", message)}  # "Bbox is required"
    names = [p.name for p in params if p.name.lower() in mentioned and p.name not in inputs.names]
    if "attention_mask" in [p.name for p in params] and "mask" in message.lower():
        names.append("attention_mask")
    wanted = [*inputs.names, *dict.fromkeys(names)]
    added = _built(model, wanted, inputs.primary, inputs.main.spec)
    if added.names == inputs.names:
        return None
    kept = {i.name: i for i in inputs.inputs}
    merged = tuple(kept.get(i.name, i) for i in added.inputs)
    return ModelInputs(merged, inputs.primary)
