"""Opening models from files, checkpoints and archives; every refusal names the problem."""

import numpy as np
import pytest
import torch

from inspector.core.files.loading import ModelLoadError, open_model
from inspector.core.model.inputs import IMAGE, MNIST, TENSOR, make_input, parse_shape


def test_python_class_opens_with_an_inferred_image_input(zoo_files):
    opened = open_model(f"{zoo_files['nets']}:ResNetish")
    assert opened.name == "ResNetish"
    assert opened.input.shape == (1, 3, 64, 64) and opened.input.kind == IMAGE
    x = make_input(opened.input, np.ones((32, 32), np.float32))
    assert x.shape == (1, 3, 64, 64) and np.allclose(x[0, 0], x[0, 2])  # replicated channels
    assert opened.model(torch.from_numpy(x)).shape == (1, 10)


def test_factory_function_and_non_image_input(zoo_files):
    opened = open_model(f"{zoo_files['nets']}:make_mlp")
    assert opened.input.shape == (1, 20) and opened.input.kind == TENSOR
    a = make_input(opened.input, np.zeros((32, 32)), seed=1)
    b = make_input(opened.input, np.zeros((32, 32)), seed=2)
    assert a.shape == (1, 20) and not np.array_equal(a, b)


def test_transformer_input_is_inferred(zoo_files):
    opened = open_model(f"{zoo_files['nets']}:TinyTransformer")
    assert opened.input.shape == (1, 16, 32) and opened.input.kind == TENSOR


def test_explicit_input_shape_wins(zoo_files):
    opened = open_model(f"{zoo_files['nets']}:WantsBigImages", input_shape="1,3,128,128")
    assert opened.input.shape == (1, 3, 128, 128)


def test_torchscript_archive(zoo_files):
    opened = open_model(str(zoo_files["torchscript"]))
    assert isinstance(opened.model, torch.jit.ScriptModule)
    assert opened.input.shape == (1, 1, 32, 32)


def test_export_archive_takes_its_example_input(zoo_files):
    opened = open_model(str(zoo_files["export"]))
    assert opened.input.shape == (1, 1, 32, 32)
    out = opened.model(torch.zeros(1, 1, 32, 32))
    assert out.shape == (1, 10)


def test_weights_into_a_file_model(zoo_files, tmp_path):
    opened = open_model(f"{zoo_files['nets']}:ResNetish")
    path = tmp_path / "resnetish.safetensors"
    from safetensors.torch import save_file

    state = {k: torch.full_like(v, 0.5) for k, v in opened.model.state_dict().items()}
    save_file(state, str(path))
    again = open_model(f"{zoo_files['nets']}:ResNetish", weights=path)
    assert torch.all(again.model.head.weight == 0.5)


def test_lenet_with_its_own_state_dict(zoo_files):
    opened = open_model("lenet", weights=zoo_files["lenet_state"])
    assert opened.input.kind == MNIST and opened.warning is None


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("{syntax}:Broken", ["broken_syntax.py", "line 4", "syntax error"]),
        ("{nets}:Missing", ["nets.py has no 'Missing'", "ResNetish"]),
        ("{nets}:NeedsDepth", ["NeedsDepth() needs the argument 'depth'"]),
        ("{nets}", ["nets.py: say which model", "nets.py:ClassName"]),
        ("no_such_file.pt", ["no_such_file.pt: no such file"]),
        ("{lenet_state}", ["holds a state_dict, not a model"]),
        ("{pickled_model}", ["whole_model.pt needs full unpickling", "--trust-checkpoint"]),
    ],
)
def test_refusals_name_the_problem(zoo_files, spec, words):
    with pytest.raises(ModelLoadError) as info:
        open_model(spec.format(**{k: str(v) for k, v in zoo_files.items()}))
    for word in words:
        assert word in str(info.value)


def test_trusted_pickle_opens(zoo_files):
    opened = open_model(str(zoo_files["pickled_model"]), trust=True)
    assert type(opened.model).__name__ == "TinyResNet"


def test_wrong_state_dict_names_the_keys(zoo_files):
    with pytest.raises(ModelLoadError) as info:
        open_model(
            "resnet50" if False else f"{zoo_files['nets']}:ResNetish",
            weights=zoo_files["wrong_keys"],
        )
    assert "wrong_keys.pt does not fit the model" in str(info.value)
    from inspector.core.files.loading import load_weights
    from inspector.core.model.nets import Net

    with pytest.raises(ModelLoadError) as info:
        load_weights(Net(), zoo_files["wrong_keys"])
    message = str(info.value)
    assert "missing: conv1.weight" in message
    assert "unexpected: conv9.weight" in message
    assert "wrong shape: fc3.bias [11] vs [10]" in message


@pytest.mark.parametrize(("text", "shape"), [("1,3,64,64", (1, 3, 64, 64)), ("1x20", (1, 20))])
def test_parse_shape(text, shape):
    assert parse_shape(text) == shape


@pytest.mark.parametrize("text", ["1,a", "0,3", "-1"])
def test_bad_shapes_are_refused(text):
    with pytest.raises(ValueError, match="input shape"):
        parse_shape(text)
