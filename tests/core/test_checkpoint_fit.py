"""Checkpoints as people save them open into the model they are for: tied weights saved once,
DataParallel and torch.compile prefixes, save_pretrained folders and sharded checkpoints."""

import pytest
import torch
from safetensors.torch import save_file, save_model
from torch import nn

from inspector.core.files.checkpoint_fit import fit_weights
from inspector.core.files.checkpoints import ModelLoadError
from inspector.core.files.loading import load_weights, open_model
from tests.conftest import ZOO

PATTERNS = ZOO / "people_patterns.py"
IDS = torch.tensor([[1, 5, 9, 2, 7, 3, 30, 11]])


def _build(name: str, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return open_model(f"{PATTERNS}:{name}").model


def _logits(model: nn.Module) -> torch.Tensor:
    with torch.inference_mode():
        out = model(IDS)
    return out if isinstance(out, torch.Tensor) else out["logits"]


def _loads_into_a_fresh_model(name: str, path, expected: torch.Tensor) -> str:
    fresh = _build(name, seed=1)
    assert not torch.allclose(_logits(fresh), expected)  # a different model until loaded
    note = load_weights(fresh, path)
    torch.testing.assert_close(_logits(fresh), expected, rtol=0, atol=0)
    return note


def test_safetensors_save_model_of_a_tied_model(tmp_path):
    original = _build("TiedLM", seed=0)
    path = tmp_path / "tied.safetensors"
    save_model(original, str(path))  # keeps one name of the shared tensor
    note = _loads_into_a_fresh_model("TiedLM", path, _logits(original))
    assert "Tied weights" in note


@pytest.mark.filterwarnings("ignore::UserWarning")  # transformers' config checks
@pytest.mark.parametrize("given", ["folder", "file", "sharded index", "sharded folder"])
def test_gpt2_save_pretrained(tmp_path, given):
    original = _build("tiny_gpt2", seed=0)
    sharded = given.startswith("sharded")
    folder = tmp_path / "gpt2"
    original.save_pretrained(folder, max_shard_size="20KB" if sharded else "1GB")
    assert sharded == (folder / "model.safetensors.index.json").exists()
    path = {
        "folder": folder,
        "file": folder / "model.safetensors",
        "sharded index": folder / "model.safetensors.index.json",
        "sharded folder": folder,
    }[given]
    note = _loads_into_a_fresh_model("tiny_gpt2", path, _logits(original))
    assert "lm_head.weight ← transformer.wte.weight" in note


@pytest.mark.parametrize(
    ("wrap", "said"),
    [
        (nn.DataParallel, "'module.' prefix DataParallel"),
        (torch.compile, "'_orig_mod.' prefix torch.compile"),
        (lambda m: nn.DataParallel(torch.compile(m)), "'_orig_mod.' prefix torch.compile"),
    ],
)
def test_wrapper_prefixes_are_stripped_with_a_note(tmp_path, wrap, said):
    original = _build("TiedLM", seed=0)
    path = tmp_path / "wrapped.pt"
    torch.save(wrap(original).state_dict(), path)
    assert all(k.startswith(("module.", "_orig_mod.")) for k in torch.load(path))
    note = _loads_into_a_fresh_model("TiedLM", path, _logits(original))
    assert said in note and "Took wrapped.pt without" in note


def test_a_lightning_style_prefix_and_a_base_models_weights(tmp_path):
    original = _build("TiedLM", seed=0)
    path = tmp_path / "lightning.pt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in original.state_dict().items()}}, path)
    note = _loads_into_a_fresh_model("TiedLM", path, _logits(original))
    assert "'model.' prefix every key had" in note


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_base_models_weights_go_under_its_prefix(tmp_path):
    original = _build("tiny_gpt2", seed=0)
    path = tmp_path / "base.safetensors"
    save_file({k: v.contiguous() for k, v in original.transformer.state_dict().items()}, path)
    note = _loads_into_a_fresh_model("tiny_gpt2", path, _logits(original))
    assert "'transformer'. added" in note and "lm_head.weight" in note


def test_what_still_does_not_fit_is_refused_naming_the_keys(tmp_path):
    original = _build("TiedLM", seed=0)
    state = {f"module.{k}": v for k, v in original.state_dict().items() if k != "body.bias"}
    path = tmp_path / "short.pt"
    torch.save(state, path)
    with pytest.raises(ModelLoadError, match=r"short.pt does not fit the model \(missing: body"):
        load_weights(_build("TiedLM", seed=1), path)


def test_a_folder_without_weights_and_a_shard_outside_it_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    model = _build("TiedLM", seed=1)
    with pytest.raises(ModelLoadError, match="empty/ holds no weights file"):
        fit_weights(model, tmp_path / "empty")
    index = tmp_path / "model.safetensors.index.json"
    index.write_text('{"weight_map": {"embed.weight": "../elsewhere.safetensors"}}')
    with pytest.raises(ModelLoadError, match="names a shard outside its folder"):
        fit_weights(model, tmp_path)


class _Payload:
    def __reduce__(self):
        return (print, ("ran",))


def test_a_pickled_weights_file_in_a_folder_is_still_refused_without_trust(tmp_path, capsys):
    torch.save({"embed.weight": _Payload()}, tmp_path / "pytorch_model.bin")
    for trust in (False, True):  # consent is asked for files given as themselves only
        with pytest.raises(ModelLoadError, match="needs full unpickling"):
            fit_weights(_build("TiedLM", seed=1), tmp_path, trust=trust)
    assert "ran" not in capsys.readouterr().out  # weights_only refused it unrun


@pytest.mark.parametrize("key", ["module", "net"])
def test_the_weights_inside_a_training_checkpoint_dict(tmp_path, key):
    original = _build("TiedLM", seed=0)
    path = tmp_path / "train.pt"
    torch.save({key: original.state_dict(), "epoch": 3, "optimizer": {"lr": 0.1}}, path)
    _loads_into_a_fresh_model("TiedLM", path, _logits(original))


def test_a_dict_without_weights_is_refused_naming_what_it_holds(tmp_path):
    path = tmp_path / "log.pt"
    torch.save({"epoch": 3, "losses": [0.5, 0.25]}, path)
    with pytest.raises(ModelLoadError, match=r"log.pt: expected a state_dict of tensors \(it "
                       r"holds a dict of epoch, losses\)"):  # fmt: skip
        load_weights(_build("TiedLM", seed=1), path)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("saved", ["save_pretrained", "torch.save"])
def test_a_model_with_a_heads_weights_open_in_its_base_model(tmp_path, saved):
    original = _build("tiny_gpt2", seed=0)
    if saved == "save_pretrained":  # the tied lm_head saved once: every key is transformer.*
        original.save_pretrained(tmp_path / "gpt2")
        path, said = tmp_path / "gpt2", "without the 'transformer.' prefix every key had"
    else:  # every key, the head's lm_head.weight too
        path = tmp_path / "lm.pt"
        torch.save(original.state_dict(), path)
        said = "its 'transformer'. prefix, and its head (lm_head.weight) left out"
    torch.manual_seed(1)
    base = type(original.transformer)(original.config).eval()
    assert said in load_weights(base, path)
    with torch.inference_mode():
        hidden = base(IDS).last_hidden_state
        expected = original.transformer(IDS).last_hidden_state
    torch.testing.assert_close(hidden, expected, rtol=0, atol=0)
