"""Hugging Face architectures people open, each built from a small config (random init, no
download). Opened as a user opens a file of their own: ``hf.py:t5``.

transformers is imported inside each factory so that listing this file stays cheap.
"""

from __future__ import annotations

import torch

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
TEXT = dict(vocab_size=99, max_position_embeddings=64, pad_token_id=0, bos_token_id=1)
TEXT_EOS = dict(**TEXT, eos_token_id=2)
DEC = dict(decoder_start_token_id=0)
# BART-family encoder-decoders: one layer each side
SEQ2SEQ = dict(
    d_model=32,
    encoder_layers=1,
    decoder_layers=1,
    encoder_attention_heads=2,
    decoder_attention_heads=2,
    encoder_ffn_dim=64,
    decoder_ffn_dim=64,
)


def _eval(model: torch.nn.Module) -> torch.nn.Module:
    return model.eval()


def bert():
    from transformers import BertConfig, BertForSequenceClassification

    return _eval(BertForSequenceClassification(BertConfig(**SMALL, **TEXT, num_labels=3)))


def distilbert():
    from transformers import DistilBertConfig, DistilBertForMaskedLM

    config = DistilBertConfig(vocab_size=99, dim=32, n_layers=2, n_heads=2, hidden_dim=64)
    return _eval(DistilBertForMaskedLM(config))


def roberta():
    from transformers import RobertaConfig, RobertaForTokenClassification

    config = RobertaConfig(**SMALL, **TEXT, num_labels=5)
    config.max_position_embeddings = 70
    return _eval(RobertaForTokenClassification(config))


def albert():
    from transformers import AlbertConfig, AlbertModel

    return _eval(AlbertModel(AlbertConfig(**SMALL, **TEXT, embedding_size=16)))


def electra():
    from transformers import ElectraConfig, ElectraForPreTraining

    return _eval(ElectraForPreTraining(ElectraConfig(**SMALL, **TEXT, embedding_size=16)))


def gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=99, n_positions=64, n_embd=32, n_layer=2, n_head=2)
    return _eval(GPT2LMHeadModel(config))


def llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(**SMALL, **TEXT_EOS, num_key_value_heads=1)
    return _eval(LlamaForCausalLM(config))


def qwen2():
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(**SMALL, **TEXT_EOS, num_key_value_heads=1)
    return _eval(Qwen2ForCausalLM(config))


def mistral():
    from transformers import MistralConfig, MistralForCausalLM

    config = MistralConfig(**SMALL, **TEXT_EOS, num_key_value_heads=1, head_dim=16)
    return _eval(MistralForCausalLM(config))


def t5():
    from transformers import T5Config, T5ForConditionalGeneration

    config = T5Config(vocab_size=99, d_model=32, d_kv=16, d_ff=64, num_layers=2, num_heads=2, **DEC)
    return _eval(T5ForConditionalGeneration(config))


def bart():
    from transformers import BartConfig, BartForConditionalGeneration

    config = BartConfig(
        **TEXT_EOS,
        **SEQ2SEQ,
        **DEC,
    )
    return _eval(BartForConditionalGeneration(config))


def mbart():
    from transformers import MBartConfig, MBartForConditionalGeneration

    config = MBartConfig(
        **TEXT_EOS,
        **SEQ2SEQ,
    )
    return _eval(MBartForConditionalGeneration(config))


def whisper():
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    config = WhisperConfig(
        vocab_size=99,
        num_mel_bins=16,
        **SEQ2SEQ,
        max_source_positions=32,
        max_target_positions=32,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
    )
    return _eval(WhisperForConditionalGeneration(config))


def clip():
    from transformers import CLIPConfig, CLIPModel

    text = dict(**SMALL, vocab_size=99, max_position_embeddings=32)
    vision = dict(**SMALL, image_size=32, patch_size=8)
    return _eval(CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)))


def vision_encoder_decoder():
    from transformers import (
        GPT2Config,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
    )

    encoder = ViTConfig(**SMALL, image_size=32, patch_size=8)
    decoder = GPT2Config(
        vocab_size=99, n_positions=64, n_embd=32, n_layer=1, n_head=2, add_cross_attention=True
    )
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id = 1
    config.pad_token_id = 0
    return _eval(VisionEncoderDecoderModel(config))


def vit():
    from transformers import ViTConfig, ViTForImageClassification

    return _eval(ViTForImageClassification(ViTConfig(**SMALL, image_size=32, patch_size=8)))


def deit():
    from transformers import DeiTConfig, DeiTForImageClassification

    return _eval(DeiTForImageClassification(DeiTConfig(**SMALL, image_size=32, patch_size=8)))


def swin():
    from transformers import SwinConfig, SwinForImageClassification

    config = SwinConfig(
        image_size=32, patch_size=4, embed_dim=16, depths=[1, 1], num_heads=[2, 2], window_size=4
    )
    return _eval(SwinForImageClassification(config))


def convnext():
    from transformers import ConvNextConfig, ConvNextForImageClassification

    config = ConvNextConfig(
        num_stages=2, hidden_sizes=[8, 16], depths=[1, 1], num_labels=4, image_size=32
    )
    return _eval(ConvNextForImageClassification(config))


def resnet():
    from transformers import ResNetConfig, ResNetForImageClassification

    config = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], num_labels=6)
    return _eval(ResNetForImageClassification(config))


def wav2vec2():
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    config = Wav2Vec2Config(
        **SMALL,
        vocab_size=20,
        conv_dim=(8, 8),
        conv_stride=(5, 2),
        conv_kernel=(10, 3),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    return _eval(Wav2Vec2ForCTC(config))


def segformer():
    from transformers import SegformerConfig, SegformerForSemanticSegmentation

    config = SegformerConfig(
        num_channels=3,
        num_encoder_blocks=2,
        depths=[1, 1],
        sr_ratios=[2, 1],
        hidden_sizes=[8, 16],
        num_attention_heads=[1, 2],
        decoder_hidden_size=16,
        num_labels=4,
        image_size=32,
    )
    return _eval(SegformerForSemanticSegmentation(config))
