"""Integer inputs, the one-sentence explanation of a rejected input, and the pictures of real
weights and outputs. No Qt here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inspector.core.feed.settle import settle
from inspector.core.files.loading import ModelLoadError, OpenedModel, open_model
from inspector.core.forward.heatmaps import tensor_heatmap
from inspector.core.forward.presentation import class_map, position_top_k, top_k
from inspector.core.graph.losses import LossSpec, evaluate_loss
from inspector.core.model.input_inference import infer_input_spec
from inspector.core.model.inputs import (
    IMAGE,
    TENSOR,
    InputSpec,
    make_input,
    parse_dtype,
    parse_ids,
    validate_raw_input,
    with_overrides,
)

ZOO = Path(__file__).with_name("real_models.py")
IDS = InputSpec((1, 4), TENSOR, dtype="int64", high=1000)


@pytest.mark.parametrize(
    ("text", "name"),
    [("long", "int64"), ("int64", "int64"), ("torch.long", "int64"), ("float", "float32"),
     ("Float32", "float32"), ("double", "float64"), ("half", "float16"), ("int", "int32"),
     ("bf16", "bfloat16"), (torch.half, "float16"), ("", None), (None, None)],
)  # fmt: skip
def test_parse_dtype(text, name):
    assert parse_dtype(text) == name


def test_parse_dtype_refuses_in_one_sentence():
    with pytest.raises(ValueError, match=r"input dtype 'complex': use one of float32, .*int64"):
        parse_dtype("complex")
    with pytest.raises(ModelLoadError, match="input dtype 'lang'"):
        open_model("lenet", input_dtype="lang")


def test_random_ids_are_seeded_and_in_range():
    a = make_input(IDS, np.zeros((32, 32)), seed=1)
    b = make_input(IDS, np.zeros((32, 32)), seed=2)
    assert a.dtype == np.int64 and a.shape == (1, 4)
    assert np.array_equal(a, make_input(IDS, np.zeros((32, 32)), seed=1))
    assert not np.array_equal(a, b)
    many = make_input(InputSpec((1, 4000), TENSOR, dtype="int64", high=7), np.zeros((2, 2)))
    assert many.min() == 0 and many.max() == 6


def test_describe_says_what_is_fed():
    spec = InputSpec((1, 16), TENSOR, dtype="int64", high=1000)
    assert "16 random token ids in [0, 1000)" in spec.describe()
    assert "The canvas is not used" in spec.describe()
    assert (
        InputSpec((1, 3, 96, 96), IMAGE).fed() == "a 1×3×96×96 float32 image made from the drawing"
    )


def test_typed_ids_are_parsed_and_validated():
    assert parse_ids("5 17, 3 [999]", IDS).tolist() == [[5, 17, 3, 999]]
    with pytest.raises(ValueError, match=r"^token id 1000 is outside \[0, 1000\)"):
        parse_ids("1 2 3 1000", IDS)
    with pytest.raises(ValueError, match=r"^token id -1 is outside"):
        parse_ids("1 -1 3 4", IDS)
    with pytest.raises(ValueError, match=r"^the input must be 1×4 \(4 values\), got 3$"):
        parse_ids("1 2 3", IDS)
    with pytest.raises(ValueError, match=r"^token ids: 'x' is not a whole number$"):
        parse_ids("1 x 3 4", IDS)
    with pytest.raises(ValueError, match="whole numbers"):
        validate_raw_input(np.array([[1.5, 2, 3, 4]]), IDS)
    assert validate_raw_input(np.array([[1.0, 2, 3, 4]]), IDS).dtype == np.int64


def test_raw_ids_of_the_right_shape_are_checked_before_the_model_sees_them():
    with pytest.raises(ValueError, match="outside"):
        make_input(IDS, np.zeros((32, 32)), raw=np.array([[0, 1, 2, 5000]]))


def test_with_overrides_switches_kind_with_dtype():
    spec = InputSpec((1, 3, 64, 64), IMAGE)
    assert with_overrides(spec, dtype="long").kind == TENSOR
    assert with_overrides(spec, shape=(1, 3, 32, 32)).kind == IMAGE
    assert with_overrides(spec, shape=(1, 20)).kind == TENSOR


def test_traced_torchscript_reads_shapes_from_weights():
    conv = torch.jit.trace(torch.nn.Conv2d(3, 4, 3), torch.zeros(1, 3, 8, 8))
    assert not hasattr(conv, "in_channels")
    assert infer_input_spec(conv).shape == (1, 3, 64, 64)
    linear = torch.jit.trace(torch.nn.Linear(7, 2), torch.zeros(1, 7))
    assert infer_input_spec(linear).shape == (1, 7)


def test_a_model_that_says_nothing_asks_for_the_flags():
    with pytest.raises(ValueError, match="give --input-shape"):
        infer_input_spec(torch.nn.ReLU())


def test_a_wrong_size_vit_is_explained_in_one_sentence_with_a_size_that_ran():
    pytest.importorskip("transformers")
    torch.manual_seed(0)
    opened = open_model(f"{ZOO}:vit", input_shape="1,3,64,64")
    with pytest.raises(ModelLoadError) as info:
        settle(opened)
    text = str(info.value)
    assert text.startswith("vit rejected its input, a 1×3×64×64 float32 tensor, as given, with ")
    assert "doesn't match model (96*96)" in text
    assert "it runs with --input-shape 1,3,96,96: try that" in text and "Input dialog" in text
    assert text.count(". ") == 0 and text.endswith(".") and "\n" not in text


def test_float_input_to_an_embedding_offers_long_ids_that_ran():
    model = torch.nn.Sequential(torch.nn.Embedding(10, 4))
    opened = OpenedModel(model, "ids", InputSpec((1, 6), TENSOR, source="given"))
    with pytest.raises(ModelLoadError) as info:
        settle(opened)
    assert "a 1×6 float32 tensor, as given" in str(info.value)
    assert "it runs with --input-shape 1,6 --input-dtype long" in str(info.value)


class _WantsWidth(torch.nn.Module):
    """Says which width it wants; with ``lying`` it fails at that width too."""

    def __init__(self, lying: bool = False) -> None:
        super().__init__()
        self.conv, self.lying = torch.nn.Conv2d(3, 4, 3), lying

    def forward(self, x):
        if x.shape[-1] != 128 or self.lying:
            raise AssertionError(f"Wrong image width! Expected 128 but got {x.shape[-1]}!")
        return self.conv(x)


def test_a_guess_that_fails_is_replaced_by_the_size_the_model_asks_for():
    opened = OpenedModel(_WantsWidth(), "w", infer_input_spec(_WantsWidth()))
    settled, names = settle(opened)
    assert settled.input.shape == (1, 3, 128, 128) and names == ("output",)
    assert "1×3×128×128" in settled.note


def test_a_hint_that_does_not_run_is_not_offered():
    model = _WantsWidth(lying=True)
    with pytest.raises(ModelLoadError) as info:
        settle(OpenedModel(model, "w", infer_input_spec(model)))
    text = str(info.value)
    assert "a 1×3×64×64 float32 tensor, guessed from the first Conv2d" in text
    assert "AssertionError: Wrong image width! Expected 128 but got 64;" in text
    assert "128" not in text.split(";", 1)[1] and "choose the input with" in text


@pytest.mark.parametrize(
    ("shape", "label", "value"),
    [((1, 10), "MSELoss vs torch.arange(1, 11)", 28.5),  # mean((1 - k)², k = 1..10)
     ((1, 1000), "MSELoss vs zeros [1, 1000]", 1.0),
     ((1, 16, 50), "MSELoss vs zeros [1, 16, 50]", 1.0)],
)  # fmt: skip
def test_mse_label_names_the_target_really_used(shape, label, value):
    loss, text = evaluate_loss(torch.ones(shape), LossSpec("mse"))
    assert text == label and LossSpec("mse").describe(shape) == label
    assert float(loss) == pytest.approx(value)


def test_sequence_cross_entropy_without_ids_uses_argmax_and_says_so():
    logits = torch.randn(1, 5, 11)
    loss, label = evaluate_loss(logits, LossSpec("ce"), torch.randn(1, 5))
    assert "vs each position's own top token (target = argmax of the logits)" in label
    expected = torch.nn.functional.cross_entropy(logits[0], logits[0].argmax(-1))
    assert float(loss) == pytest.approx(float(expected))


def test_cross_entropy_refuses_shapes_it_cannot_read():
    with pytest.raises(ValueError, match=r"got \[3\]"):
        evaluate_loss(torch.randn(3), LossSpec("ce"))


def test_top_k_and_per_position_top_tokens():
    p = np.array([0.1, 0.5, 0.05, 0.3, 0.05])
    assert top_k(p, 3) == ((1, 0.5), (3, 0.3), (0, 0.1))
    assert [c for c, _ in top_k(p, 10)] == [1, 3, 0, 2, 4]  # ties: the lower class first
    logits = np.log(np.array([[[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]]))
    ranked = position_top_k(logits, 2)
    assert [[c for c, _ in pos] for pos in ranked] == [[0, 1], [2, 0]]
    assert ranked[1][0][1] == pytest.approx(0.8)


def test_class_map_is_the_argmax_class():
    scores = np.zeros((1, 3, 2, 2), np.float32)
    scores[0, 2, 0, 1] = 5
    scores[0, 1, 1, 0] = np.nan  # NaN never wins
    scores[0, 1, 1, 1] = 1
    assert class_map(scores).tolist() == [[0, 2], [0, 1]]


def test_wide_conv_kernels_pack_into_a_near_square_grid():
    weights = np.random.default_rng(0).normal(size=(64, 3, 7, 7)).astype(np.float32)
    heatmap = tensor_heatmap(weights)
    height, width = heatmap.image.shape
    assert heatmap.kind == "kernels" and max(height, width) / min(height, width) < 1.5
    assert heatmap.layout.cols % 3 == 0  # every row holds whole output channels
    out_ch, in_ch, y, x = 37, 2, 4, 5
    row, col = divmod(out_ch * 3 + in_ch, heatmap.layout.cols)
    pixel = (row * 8 + y, col * 8 + x)
    assert heatmap.image[pixel] == weights[out_ch, in_ch, y, x]
    assert heatmap.describe(*pixel) == f"out {out_ch}, in {in_ch} ({y}, {x})"


def test_kernels_with_many_inputs_span_rows():
    weights = np.random.default_rng(1).normal(size=(4, 256, 3, 3)).astype(np.float32)
    heatmap = tensor_heatmap(weights)
    height, width = heatmap.image.shape
    assert max(height, width) / min(height, width) < 2
    assert 256 % heatmap.layout.cols == 0  # each output channel fills whole rows
    row, col = divmod(2 * 256 + 200, heatmap.layout.cols)
    assert heatmap.describe(row * 4 + 1, col * 4 + 2) == "out 2, in 200 (1, 2)"
    assert heatmap.image[row * 4 + 1, col * 4 + 2] == weights[2, 200, 1, 2]


@pytest.mark.parametrize("shape", [(16, 5000), (5000, 12)])
def test_long_matrices_wrap_near_square_instead_of_a_line(shape):
    data = np.random.default_rng(2).normal(size=shape).astype(np.float32)
    heatmap = tensor_heatmap(data)  # [T, V] sequence logits, or [V, D] embedding weights
    height, width = heatmap.image.shape
    assert heatmap.kind == "wrapped" and max(height, width) / min(height, width) < 1.5
    gaps = heatmap.gaps()
    assert (~gaps).sum() == data.size and not np.isnan(heatmap.image[~gaps]).any()
    rows, cols = np.nonzero(~gaps)
    for r, c in zip(rows[::997], cols[::997], strict=True):
        y, x = map(int, heatmap.describe(r, c).strip("()").split(","))
        assert heatmap.image[r, c] == data[y, x]
    r, c = np.argwhere(gaps)[-1]
    assert heatmap.describe(r, c) is None
