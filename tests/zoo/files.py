"""Files people bring, written at test time: TorchScript, ``torch.export`` archives and
checkpoints saved the ways people save them. Each builder writes into ``folder`` and returns the
command-line arguments that open it (``--model …`` and ``--weights …``)."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.zoo import hf, patterns

HERE = Path(__file__).parent
HF = str(HERE / "hf.py")
PATTERNS = str(HERE / "patterns.py")


def traced_cnn(folder: Path) -> list[str]:
    model = patterns.sequential_cnn().eval()
    path = folder / "traced_cnn.pt"
    torch.jit.trace(model, torch.zeros(1, 1, 28, 28)).save(str(path))
    return ["--model", str(path)]


def scripted_residual(folder: Path) -> list[str]:
    path = folder / "scripted_residual.pt"
    torch.jit.script(patterns.Residual().eval()).save(str(path))
    return ["--model", str(path)]


def exported_cnn(folder: Path) -> list[str]:
    path = folder / "cnn.pt2"
    program = torch.export.export(patterns.sequential_cnn().eval(), (torch.zeros(1, 1, 28, 28),))
    torch.export.save(program, str(path))
    return ["--model", str(path)]


def exported_ids(folder: Path) -> list[str]:
    """A ``.pt2`` whose example input is int64 token ids: its own dtype must be used."""
    path = folder / "ids.pt2"
    ids = torch.randint(0, 50, (1, 7))
    torch.export.save(torch.export.export(patterns.Embedder().eval(), (ids,)), str(path))
    return ["--model", str(path)]


def tied_lm_safetensors(folder: Path) -> list[str]:
    """``safetensors.torch.save_model`` of a tied LM drops the alias (lm_head.weight)."""
    from safetensors.torch import save_model

    path = folder / "tied.safetensors"
    save_model(hf.gpt2(), str(path))
    return ["--model", f"{HF}:gpt2", "--weights", str(path)]


def gpt2_save_pretrained(folder: Path) -> list[str]:
    target = folder / "gpt2"
    hf.gpt2().save_pretrained(target)
    return ["--model", f"{HF}:gpt2", "--weights", str(target)]


def bert_sharded(folder: Path) -> list[str]:
    target = folder / "bert"
    hf.bert().save_pretrained(target, max_shard_size="50KB")
    return ["--model", f"{HF}:bert", "--weights", str(target / "model.safetensors.index.json")]


def data_parallel_state(folder: Path) -> list[str]:
    """A state dict saved from ``nn.DataParallel``: every key starts with ``module.``."""
    path = folder / "dp.pt"
    state = patterns.sequential_cnn().state_dict()
    torch.save({f"module.{k}": v for k, v in state.items()}, path)
    return ["--model", f"{PATTERNS}:sequential_cnn", "--weights", str(path)]


def compiled_state(folder: Path) -> list[str]:
    """A state dict saved from a ``torch.compile``'d model: keys start with ``_orig_mod.``."""
    path = folder / "compiled.pt"
    state = patterns.Residual().state_dict()
    torch.save({f"_orig_mod.{k}": v for k, v in state.items()}, path)
    return ["--model", f"{PATTERNS}:Residual", "--weights", str(path)]


def plain_state(folder: Path) -> list[str]:
    path = folder / "plain.pt"
    torch.save(patterns.Residual().state_dict(), path)
    return ["--model", f"{PATTERNS}:Residual", "--weights", str(path)]


BUILDERS = {
    "file:traced_cnn": traced_cnn,
    "file:scripted_residual": scripted_residual,
    "file:exported_cnn": exported_cnn,
    "file:exported_ids": exported_ids,
    "ckpt:tied_lm_safetensors": tied_lm_safetensors,
    "ckpt:gpt2_save_pretrained": gpt2_save_pretrained,
    "ckpt:bert_sharded": bert_sharded,
    "ckpt:data_parallel": data_parallel_state,
    "ckpt:compiled": compiled_state,
    "ckpt:plain": plain_state,
}
