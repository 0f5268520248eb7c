"""Models with several inputs, and inputs the model states: each opens with no flags, every
input read from the model (its config, its forward's signature, what consumes each input),
and the engine's forward gives exactly what the model's own forward gives on those inputs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from inspector.core.engine import Engine
from inspector.core.feed.named import call_arguments, parse_input_flag
from inspector.core.feed.settle import inputs_of, settle
from inspector.core.files.loading import ModelLoadError, open_model
from inspector.core.forward.capture import named_outputs
from inspector.core.forward.results import ForwardRequest
from inspector.core.graph.losses import LossSpec
from inspector.core.model.input_inference import infer_input_spec
from inspector.core.model.inputs import make_input

MODELS = Path(__file__).with_name("several_inputs_models.py")
BLANK = np.zeros((32, 32), np.float32)


def settled(name: str, **kwargs):
    torch.manual_seed(0)
    opened = open_model(f"{MODELS}:{name}", **kwargs)
    return settle(opened)[0]


def own_output(opened) -> np.ndarray:
    """The model's own forward on the very inputs the app feeds, called with every argument
    (the app's hook stands aside for a complete call)."""
    inputs = inputs_of(opened)
    arrays = {i.name: inputs.array(i.name) for i in inputs.others}
    arrays[inputs.primary] = make_input(inputs.main.spec, BLANK)
    tensors = {n: torch.from_numpy(a).to(getattr(torch, inputs.get(n).spec.dtype))
               for n, a in arrays.items()}  # fmt: skip
    args, kwargs = call_arguments(inputs, tensors)
    with torch.inference_mode():
        output = opened.model(*args, **kwargs)
    return named_outputs(output)[0][1].float().numpy()


# name → {input: (shape, dtype)}, the main input first
PLAIN = {
    "Masked": {"x": ((1, 16), "float32"), "mask": ((1,), "float32")},
    "DictIn": {"batch.image": ((1, 1, 32, 32), "float32")},
    "TwoBranch": {"img": ((1, 3, 64, 64), "float32"), "vec": ((1, 5), "float32")},
    "TimeConditioned": {"x": ((1, 1, 32, 32), "float32"), "t": ((1,), "int64")},
    "double": {"x": ((1, 8), "float64")},
    "GRUNet": {"x": ((1, 16, 6), "float32")},
    "Conv1dNet": {"x": ((1, 100), "float32")},
    "Seq2Seq": {"src": ((1, 16, 16), "float32"), "tgt": ((1, 16, 16), "float32")},
    "IdsMask": {"ids": ((1, 16), "int64"), "mask": ((1, 16), "bool")},
    "SinusoidalTime": {"x": ((1, 3, 64, 64), "float32"), "t": ((1,), "float32")},
    "MultiModal": {"image": ((1, 3, 64, 64), "float32"), "text": ((1, 16), "int64")},
    "TwoKeys": {"batch.features": ((1, 10), "float32"), "batch.category": ((1, 16), "int64")},
    "CondGAN": {"z": ((1, 64), "float32"), "labels": ((1,), "int64")},
    "Siamese": {"a": ((1, 1, 28, 28), "float32"), "b": ((1, 1, 28, 28), "float32")},
    "Packed": {"x": ((1, 16, 5), "float32"), "lengths": ((1,), "int64")},
    "PooledCNN": {"x": ((1, 1, 28, 28), "float32")},
}
HUGGING_FACE = {
    "t5": {"input_ids": ((1, 16), "int64"), "decoder_input_ids": ((1, 16), "int64")},
    "whisper": {"input_features": ((1, 16, 64), "float32"),
                "decoder_input_ids": ((1, 8), "int64")},
    "clip": {"input_ids": ((1, 16), "int64"), "pixel_values": ((1, 3, 32, 32), "float32")},
    "vision_encoder_decoder": {"pixel_values": ((1, 3, 32, 32), "float32"),
                               "decoder_input_ids": ((1, 8), "int64")},
    "mbart_classifier": {"input_ids": ((1, 16), "int64"), "decoder_input_ids": ((1, 16), "int64")},
    "speech_to_text": {"input_features": ((1, 64, 8), "float32"),
                       "decoder_input_ids": ((1, 8), "int64")},
    "bert": {"input_ids": ((1, 16), "int64")},
    "lxmert": {"input_ids": ((1, 16), "int64"), "visual_feats": ((1, 8, 16), "float32"),
               "visual_pos": ((1, 8, 4), "float32")},
}  # fmt: skip


def check_opens(name: str, expected: dict) -> None:
    opened = settled(name)
    inputs = inputs_of(opened)
    got = {i.name: (i.spec.shape, i.spec.dtype) for i in inputs.inputs}
    assert got == expected
    assert inputs.primary == next(iter(expected)) and opened.input == inputs.main.spec

    engine = Engine(opened)
    result = engine.forward(ForwardRequest(1, BLANK))
    assert np.isfinite(result.output).all() and result.steps
    np.testing.assert_allclose(result.output, own_output(opened), rtol=1e-5, atol=1e-6)
    record = engine.backward(ForwardRequest(2, BLANK), LossSpec.parse("mse")).record
    assert math.isfinite(record.loss_value) and record.param_grads


@pytest.mark.parametrize("name", list(PLAIN))
def test_user_models_open_with_every_input_read_from_the_model(name):
    check_opens(name, PLAIN[name])


@pytest.mark.parametrize("name", list(HUGGING_FACE))
def test_transformers_open_with_the_inputs_their_conventions_name(name):
    pytest.importorskip("transformers")
    check_opens(name, HUGGING_FACE[name])


def test_token_ids_carry_the_start_and_end_the_config_names():
    pytest.importorskip("transformers")
    inputs = inputs_of(settled("t5"))
    decoder, ids = inputs.array("decoder_input_ids"), make_input(inputs.main.spec, BLANK)
    assert decoder[0, 0] == 0 and decoder.max() < 97  # T5's decoder_start_token_id
    assert ids.max() < 97 and ids[0, -1] == 1  # its eos closes the encoder's ids
    whisper = inputs_of(settled("whisper"))
    assert whisper.array("decoder_input_ids")[0, 0] == 3
    mbart = inputs_of(settled("mbart_classifier"))
    assert make_input(mbart.main.spec, BLANK)[0, -1] == 1


def test_masks_are_ones_and_other_inputs_reroll():
    inputs = inputs_of(settled("Masked"))
    assert np.array_equal(inputs.array("mask"), np.ones((1,), np.float32))
    two = inputs_of(settled("TwoBranch"))
    assert not np.array_equal(two.array("vec"), two.rerolled("vec", 5).array("vec"))
    assert np.array_equal(two.array("vec"), two.rerolled("vec", 0).array("vec"))


def test_a_batch_of_several_gets_the_other_inputs_repeated():
    opened = settled("TwoBranch")
    with torch.no_grad():
        batch = opened.model(torch.randn(4, 3, 64, 64))
        one = opened.model(torch.zeros(1, 3, 64, 64))
    assert batch.shape == (4, 4) and one.shape == (1, 4)


def test_an_input_nothing_reads_is_named_with_the_flag_that_gives_it():
    with pytest.raises(ModelLoadError) as info:
        settled("Unreadable")
    text = str(info.value)
    assert "'lengths'" in text and "--input lengths=SHAPE[:DTYPE]" in text
    assert text.count("\n") == 0


def test_inputs_given_by_name_win_and_dict_keys_are_dotted():
    opened = settled("DictIn", inputs=["batch.image=1,1,28,28"])
    assert inputs_of(opened).main.spec.shape == (1, 1, 28, 28)
    engine = Engine(opened)
    assert engine.forward(ForwardRequest(1, BLANK)).input.shape == (1, 1, 28, 28)
    masked = inputs_of(settled("Masked", inputs=["x=1,5,16", "mask=1,5:bool"]))
    assert masked.get("mask").spec.dtype == "bool" and masked.main.spec.shape == (1, 5, 16)
    with pytest.raises(ModelLoadError, match="--input foo: the forward takes no 'foo'"):
        open_model(f"{MODELS}:Masked", inputs=["foo=1,2"])
    with pytest.raises(ModelLoadError, match="write NAME=SHAPE"):
        open_model(f"{MODELS}:Masked", inputs=["mask"])


def test_parse_input_flag():
    assert parse_input_flag("mask=1,16:bool") == ("mask", (1, 16), "bool")
    assert parse_input_flag("batch.image=1,1,28,28") == ("batch.image", (1, 1, 28, 28), None)
    assert parse_input_flag(" ids = 1,8 : long") == ("ids", (1, 8), "int64")


def test_an_exported_programs_example_inputs_are_kept(tmp_path):
    import sys

    sys.path.insert(0, str(MODELS.parent))
    try:
        from several_inputs_models import Masked
    finally:
        sys.path.remove(str(MODELS.parent))
    path = tmp_path / "masked.pt2"
    torch.export.save(torch.export.export(Masked(), (torch.randn(1, 5, 16), torch.ones(1, 5))),
                      str(path))  # fmt: skip
    opened = settle(open_model(str(path)))[0]
    inputs = inputs_of(opened)
    assert [(i.name, i.spec.shape) for i in inputs.inputs] == [("x", (1, 5, 16)), ("mask", (1, 5))]
    ids = tmp_path / "ids.pt2"
    program = torch.export.export(torch.nn.Embedding(10, 4), (torch.randint(0, 10, (1, 6)),))
    torch.export.save(program, str(ids))
    spec = settle(open_model(str(ids)))[0].input
    assert (spec.shape, spec.dtype) == ((1, 6), "int64") and spec.high <= 10


def test_the_input_dtype_is_the_first_layers_not_an_extra_parameter_of_the_model():
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(4, 2)
            self.extra = torch.nn.Parameter(torch.zeros(2, dtype=torch.bfloat16))

        def forward(self, x):
            return self.fc(x) + self.extra.float()

    assert infer_input_spec(Net(), (1, 4)).dtype == "float32"
    assert infer_input_spec(Net().double(), (1, 4)).dtype == "float64"
