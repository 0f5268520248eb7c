"""``net-inspector activations --attention``: one ``attn/<module>`` array per attention layer,
in the order they ran, ``[B, H, Q, K]`` float32, equal to the model's own eager attentions."""

from pathlib import Path

import numpy as np
import pytest
import torch

from inspector.cli import main

pytest.importorskip("transformers")

ZOO = Path(__file__).parents[1] / "core" / "real_models.py"


def _load(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _reference(name: str, x: np.ndarray) -> list[np.ndarray]:
    """The same weights (the same seed) with eager attention and ``output_attentions``."""
    import sys

    sys.path.insert(0, str(ZOO.parent))
    try:
        import real_models
    finally:
        sys.path.remove(str(ZOO.parent))
    torch.manual_seed(0)
    model = getattr(real_models, name)().eval()
    model.set_attn_implementation("eager")
    with torch.inference_mode():
        return [a.numpy() for a in model(torch.from_numpy(x), output_attentions=True).attentions]


@pytest.mark.parametrize(
    ("name", "layers"),
    [
        ("vit", ["vit.layers.0.attention", "vit.layers.1.attention"]),
        ("gpt2", ["transformer.h.0.attn", "transformer.h.1.attn"]),
    ],
)
def test_attention_arrays_equal_eager(tmp_path, capsys, name, layers):
    out = tmp_path / "acts.npz"
    torch.manual_seed(0)
    argv = ["activations", "--out", str(out), "--model", f"{ZOO}:{name}", "--random", "4"]
    assert main([*argv, "--attention"]) == 0
    assert "2 attention layers" in capsys.readouterr().out
    arrays = _load(out)
    names = [k for k in arrays if k.startswith("attn/")]
    assert names == [f"attn/{layer}" for layer in layers]
    for key, expected in zip(names, _reference(name, arrays["input"]), strict=True):
        found = arrays[key]
        assert found.dtype == np.float32 and found.ndim == 4 and found.shape == expected.shape
        np.testing.assert_allclose(found, expected, atol=2e-5, rtol=0)
        np.testing.assert_allclose(found.sum(-1), 1.0, atol=1e-5)


def test_without_the_flag_no_attention_arrays(tmp_path):
    out = tmp_path / "acts.npz"
    torch.manual_seed(0)
    argv = ["activations", "--out", str(out), "--model", f"{ZOO}:gpt2", "--random", "4"]
    assert main(argv) == 0
    assert not [k for k in _load(out) if k.startswith("attn/")]
