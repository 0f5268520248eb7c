"""Attention capture against the models' own numbers: the sdpa path's recomputed probabilities
equal what the same weights give with eager attention and ``output_attentions=True``; an
``nn.MultiheadAttention``'s equal its ``need_weights=True, average_attn_weights=False``. No Qt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inspector.core.forward.attention import (
    attention_arrays,
    sdpa_probabilities,
    watch_attention,
)
from inspector.core.forward.capture import capture_forward, first_tensor
from inspector.core.forward.inference import run_forward
from inspector.core.forward.results import ForwardRequest
from inspector.core.forward.settings import ForwardSettings

TOLERANCE = 2e-5
ZOO = Path(__file__).with_name("real_models.py")


def _watched(model: nn.Module, *inputs, **kwargs):
    """The model's output and the maps, captured as the app captures (every step recorded)."""
    with torch.inference_mode(), watch_attention(model) as watch:
        output = model(*inputs, **kwargs) if kwargs else capture_forward(model, *inputs).output
    return output, watch.maps()


def _eager_reference(model, *inputs, **kwargs) -> list[np.ndarray]:
    model.set_attn_implementation("eager")
    try:
        with torch.inference_mode():
            out = model(*inputs, output_attentions=True, **kwargs)
    finally:
        model.set_attn_implementation("sdpa")
    return [a.numpy() for a in out.attentions]


def _rows_sum_to_one(probs: np.ndarray, rows: np.ndarray | None = None) -> None:
    sums = probs.sum(-1)
    if rows is not None:
        sums = sums[..., rows]
    np.testing.assert_allclose(sums, 1.0, atol=1e-5)


def _hf(name: str):
    pytest.importorskip("transformers")
    import sys

    sys.path.insert(0, str(ZOO.parent))
    try:
        import real_models
    finally:
        sys.path.remove(str(ZOO.parent))
    torch.manual_seed(0)
    return getattr(real_models, name)().eval()


def _llama(kind: str) -> nn.Module:
    """A grouped-query decoder: 4 query heads share 2 key/value heads."""
    transformers = pytest.importorskip("transformers")
    config_class, model_class = {
        "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
        "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
    }[kind]
    config = config_class(
        vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
    )  # fmt: skip
    torch.manual_seed(1)
    return model_class(config).eval()


@pytest.mark.parametrize(
    ("name", "make_input"),
    [
        ("vit", lambda: torch.randn(2, 3, 96, 96)),
        ("bert", lambda: torch.randint(3, 97, (2, 12))),
        ("gpt2", lambda: torch.randint(3, 97, (2, 8))),
    ],
)
def test_sdpa_maps_equal_eager_attentions(name, make_input):
    model = _hf(name)
    assert model.config._attn_implementation == "sdpa"
    torch.manual_seed(2)
    x = make_input()
    with torch.inference_mode():
        plain = first_tensor(model(x))
    output, maps = _watched(model, x)
    assert torch.equal(first_tensor(output), plain), "watching changed what the model computes"
    reference = _eager_reference(model, x)
    assert len(maps) == len(reference) == model.config.num_hidden_layers
    for found, expected in zip(maps, reference, strict=True):
        assert found.kind == "sdpa" and found.probs.dtype == np.float32
        assert found.probs.shape == expected.shape  # [B, H, Q, K]
        np.testing.assert_allclose(found.probs, expected, atol=TOLERANCE, rtol=0)
        _rows_sum_to_one(found.probs)
    assert [m.module for m in maps] == sorted({m.module for m in maps}), "one per layer, in order"
    if name == "gpt2":  # causal: nothing above the diagonal
        assert np.all(np.triu(maps[0].probs[0, 0], 1) == 0)


def test_bert_padding_mask_matches_eager():
    model = _hf("bert")
    ids = torch.randint(3, 97, (2, 10))
    mask = torch.ones(2, 10, dtype=torch.long)
    mask[1, 6:] = 0
    _, maps = _watched(model, ids, attention_mask=mask)
    reference = _eager_reference(model, ids, attention_mask=mask)
    for found, expected in zip(maps, reference, strict=True):
        np.testing.assert_allclose(found.probs, expected, atol=TOLERANCE, rtol=0)
        assert np.all(found.probs[1, :, :, 6:] == 0), "padded keys get no attention"
        _rows_sum_to_one(found.probs)


@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_grouped_query_heads_match_eager(kind):
    model = _llama(kind)
    ids = torch.randint(3, 97, (2, 9))
    mask = torch.ones(2, 9, dtype=torch.long)
    mask[1, 7:] = 0
    for kwargs in ({}, {"attention_mask": mask}):
        _, maps = _watched(model, ids, **kwargs)
        reference = _eager_reference(model, ids, **kwargs)
        assert [m.probs.shape for m in maps] == [(2, 4, 9, 9)] * 2, "every query head"
        for found, expected in zip(maps, reference, strict=True):
            np.testing.assert_allclose(found.probs, expected, atol=TOLERANCE, rtol=0)
            _rows_sum_to_one(found.probs)


def test_eager_attention_is_seen_through_its_softmax():
    model = _hf("gpt2")
    ids = torch.randint(3, 97, (1, 8))
    reference = _eager_reference(model, ids)
    model.set_attn_implementation("eager")
    _, maps = _watched(model, ids)
    assert [m.kind for m in maps] == ["softmax", "softmax"]
    for found, expected in zip(maps, reference, strict=True):
        np.testing.assert_allclose(found.probs, expected, atol=TOLERANCE, rtol=0)


@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_attention_equals_its_per_head_weights(batch_first):
    torch.manual_seed(3)
    mha = nn.MultiheadAttention(16, 4, dropout=0.5, batch_first=batch_first).eval()
    q, kv = torch.randn(2, 5, 16), torch.randn(2, 7, 16)
    if not batch_first:
        q, kv = q.transpose(0, 1), kv.transpose(0, 1)
    padding = torch.zeros(2, 7, dtype=torch.bool)
    padding[0, 5:] = True
    with torch.no_grad():
        expected_out, expected = mha(
            q, kv, kv, key_padding_mask=padding, need_weights=True, average_attn_weights=False
        )
    output, maps = _watched(mha, q, kv, kv, key_padding_mask=padding, need_weights=False)
    assert len(maps) == 1 and maps[0].kind == "mha" and maps[0].module == ""
    np.testing.assert_allclose(maps[0].probs, expected.numpy(), atol=TOLERANCE, rtol=0)
    torch.testing.assert_close(output[0], expected_out)
    assert output[1] is None, "the caller's need_weights=False still holds"
    _rows_sum_to_one(maps[0].probs)


def test_transformer_encoder_layers_each_give_a_map():
    torch.manual_seed(4)
    layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True)
    encoder = nn.TransformerEncoder(layer, 3, enable_nested_tensor=False).eval()
    x = torch.randn(1, 6, 16)
    _, maps = _watched(encoder, x)
    assert [m.module for m in maps] == [f"layers.{i}.self_attn" for i in range(3)]
    first = encoder.layers[0].self_attn
    with torch.no_grad():
        _, expected = first(x, x, x, need_weights=True, average_attn_weights=False)
    np.testing.assert_allclose(maps[0].probs, expected.numpy(), atol=TOLERANCE, rtol=0)


def _math_reference(q, k, mask=None, causal=False, scale=None):
    """SDPA's documented reference, through the probabilities it weighs ``v = I`` with: with
    the values an identity, the output *is* the probabilities."""
    keys = k.shape[-2]
    eye = torch.eye(keys).expand(*k.shape[:-2], keys, keys)
    with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH):
        return F.scaled_dot_product_attention(q, k, eye, mask, is_causal=causal, scale=scale)


@pytest.mark.parametrize(
    "case", ["plain", "causal", "bool", "float", "scale", "broadcast", "three-d"]
)
def test_sdpa_probabilities_are_what_sdpa_weighs_the_values_with(case):
    torch.manual_seed(5)
    q, k = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8)
    kwargs = {}
    if case == "causal":
        k = torch.randn(2, 3, 5, 8)
        kwargs = {"causal": True}
    elif case == "bool":
        mask = torch.rand(2, 3, 5, 7) > 0.3
        mask[..., 0] = True  # no row wholly masked
        kwargs = {"mask": mask}
    elif case == "float":
        kwargs = {"mask": torch.randn(2, 1, 5, 7)}
    elif case == "scale":
        kwargs = {"scale": 0.05}
    elif case == "broadcast":
        kwargs = {"mask": torch.tensor([True] * 6 + [False])}
    elif case == "three-d":
        q, k = q[0], k[0]
    expected = _math_reference(q, k, **kwargs)
    found = sdpa_probabilities(
        q, k, kwargs.get("mask"), kwargs.get("causal", False), kwargs.get("scale")
    )
    assert found.dim() == 4
    torch.testing.assert_close(found, expected.reshape(found.shape), atol=1e-6, rtol=0)


def test_sdpa_with_enable_gqa_shares_key_heads_like_sdpa():
    torch.manual_seed(6)
    q, k = torch.randn(1, 6, 4, 8), torch.randn(1, 2, 4, 8)
    v = torch.eye(4).expand(1, 2, 4, 4)

    class Gqa(nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)

    output, maps = _watched(Gqa(), q, k, v)
    assert maps[0].probs.shape == (1, 6, 4, 4)
    np.testing.assert_allclose(maps[0].probs, output.numpy(), atol=1e-6)


def test_fully_masked_rows_are_zero_not_nan():
    q, k = torch.randn(1, 1, 3, 4), torch.randn(1, 1, 3, 4)
    mask = torch.tensor([[True, True, False], [False, False, False], [True, False, False]])
    probs = sdpa_probabilities(q, k, mask).numpy()
    assert np.isfinite(probs).all() and probs[0, 0, 1].sum() == 0
    np.testing.assert_allclose(probs[0, 0, [0, 2]].sum(-1), 1.0, atol=1e-6)


def test_a_model_without_attention_gives_no_maps_and_other_softmaxes_are_left_alone():
    model = nn.Sequential(nn.Linear(4, 6), nn.Softmax(dim=-1))
    _, maps = _watched(model, torch.randn(2, 4))
    assert maps == ()


def test_the_limit_leaves_later_layers_out_and_says_so():
    model = _hf("gpt2")
    ids = torch.randint(3, 97, (1, 8))
    with torch.inference_mode(), watch_attention(model, limit=2 * 8 * 8) as watch:
        model(ids)
    assert len(watch.maps()) == 1 and watch.skipped == 1
    assert "1 attention layers left out" in watch.note


def test_run_forward_carries_the_maps_only_when_asked():
    pytest.importorskip("transformers")
    from inspector.core.files.loading import open_model

    torch.manual_seed(0)
    opened = open_model(f"{ZOO}:bert")
    request = ForwardRequest(1, np.zeros((32, 32), np.float32), seed=3)
    settings = ForwardSettings(input=opened.input)
    plain = run_forward(opened.model, request, torch.device("cpu"), settings)
    assert plain.attention == ()
    on = ForwardSettings(input=opened.input, attention=True)
    result = run_forward(opened.model, request, torch.device("cpu"), on)
    assert [m.module for m in result.attention] == [
        "bert.encoder.layer.0.attention.self",
        "bert.encoder.layer.1.attention.self",
    ]
    np.testing.assert_array_equal(result.output, plain.output)
    assert len(result.steps) == len(plain.steps)


def test_attention_arrays_are_named_by_module_in_order():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            return self.attn(self.attn(x, x, x)[0], x, x)[0]

    _, maps = _watched(Twice().eval(), torch.randn(1, 3, 8))
    arrays = attention_arrays(maps)
    assert list(arrays) == ["attn/attn", "attn/attn#2"]
    assert all(a.shape == (1, 2, 3, 3) and a.dtype == np.float32 for a in arrays.values())


def test_a_map_that_cannot_be_computed_is_left_out_and_the_forward_goes_on():
    class Odd(nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v, attn_mask=torch.ones(3, 3, 3, 3))

    q = torch.randn(1, 2, 3, 4)
    with pytest.raises(RuntimeError):  # the model's own call fails: that is the model's
        _watched(Odd(), q, q, q)

    class Fine(nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v)

    with torch.inference_mode(), watch_attention(Fine()) as watch:
        watch._kept = 0
        original = torch.Tensor.float
        try:  # our own arithmetic breaks: the model's answer still comes back
            torch.Tensor.float = lambda self: (_ for _ in ()).throw(ValueError("broken"))
            out = Fine()(q, q, q)
        finally:
            torch.Tensor.float = original
    assert out.shape == (1, 2, 3, 4) and watch.maps() == ()
    assert "ValueError: broken" in watch.note


def _zoo_case(name: str):
    """A tiny model of each family, its inputs (padding where it takes a mask)."""
    t = pytest.importorskip("transformers")
    small = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
    seq2seq = dict(vocab_size=99, d_model=32, encoder_layers=1, decoder_layers=1,
                   encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
                   decoder_ffn_dim=64, pad_token_id=0, bos_token_id=1, eos_token_id=2,
                   decoder_start_token_id=1)  # fmt: skip
    torch.manual_seed(7)
    ids = torch.randint(3, 90, (2, 10))
    mask = torch.ones(2, 10, dtype=torch.long)
    mask[1, 7:] = 0
    image = torch.randn(2, 3, 32, 32)
    text = dict(input_ids=ids, attention_mask=mask)
    cases = {
        "distilbert": (t.DistilBertModel, t.DistilBertConfig(
            vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=64), text),
        "roberta": (t.RobertaModel, t.RobertaConfig(vocab_size=99, **small), text),
        "mistral": (t.MistralModel, t.MistralConfig(
            vocab_size=99, num_key_value_heads=2, sliding_window=4, **small), text),
        "gemma": (t.GemmaModel, t.GemmaConfig(
            vocab_size=99, num_key_value_heads=1, head_dim=8, **small), text),
        "deit": (t.DeiTModel, t.DeiTConfig(image_size=32, patch_size=8, **small),
                 dict(pixel_values=image)),
        "swin": (t.SwinModel, t.SwinConfig(image_size=32, patch_size=4, embed_dim=16,
                 depths=[1, 1], num_heads=[2, 2], window_size=4), dict(pixel_values=image)),
        "clip_text": (t.CLIPTextModel, t.CLIPTextConfig(vocab_size=99, **small), text),
        "t5": (t.T5Model, t.T5Config(vocab_size=99, d_model=32, d_kv=8, d_ff=64, num_layers=2,
               num_heads=4), dict(input_ids=ids, decoder_input_ids=ids[:, :5])),
        "bart": (t.BartModel, t.BartConfig(**seq2seq),
                 dict(input_ids=ids, attention_mask=mask, decoder_input_ids=ids[:, :5])),
        "whisper": (t.WhisperModel, t.WhisperConfig(
            num_mel_bins=8, max_source_positions=16, **seq2seq),
            dict(input_features=torch.randn(2, 8, 32), decoder_input_ids=ids[:, :5])),
    }  # fmt: skip
    model_class, config, inputs = cases[name]
    return model_class(config).eval(), inputs


@pytest.mark.parametrize(
    "name",
    ["distilbert", "roberta", "mistral", "gemma", "deit", "swin", "clip_text", "t5", "bart",
     "whisper"],
)  # fmt: skip
def test_other_families_match_their_eager_attentions_in_the_order_they_ran(name):
    model, inputs = _zoo_case(name)
    assert model.config._attn_implementation == "sdpa"
    _, maps = _watched(model, **inputs)
    model.set_attn_implementation("eager")
    with torch.inference_mode():
        out = model(**inputs, output_attentions=True)
    encoder = out.encoder_attentions if hasattr(out, "encoder_attentions") else out.attentions
    expected = list(encoder)
    if getattr(out, "cross_attentions", None):  # each decoder layer: self, then cross
        for own, cross in zip(out.decoder_attentions, out.cross_attentions, strict=True):
            expected += [own, cross]
    assert len(maps) == len(expected)
    for found, reference in zip(maps, expected, strict=True):
        assert found.kind == "sdpa"
        np.testing.assert_allclose(found.probs, reference.numpy(), atol=TOLERANCE, rtol=0)
        _rows_sum_to_one(found.probs)


def test_maps_cross_the_wire_to_a_remote_window():
    from inspector.core.attach.codec import decode, encode

    mha = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    x = torch.randn(1, 3, 8)
    _, maps = _watched(mha, x, x, x)
    header, buffers = encode(maps)
    back = decode(header, [bytes(b) for b in buffers])
    assert [m.module for m in back] == [m.module for m in maps] and back[0].kind == "mha"
    np.testing.assert_array_equal(back[0].probs, maps[0].probs)
