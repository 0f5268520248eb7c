"""Session files: exact round trips, self-contained, resolved paths, validation, size caps,
format 1 still opening, and nothing in a session's model file runs while reading it."""

from __future__ import annotations

import json
import math
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from inspector.core.files.checkpoints import ModelLoadError
from inspector.core.files.consent import CAN_DO, code_risks
from inspector.core.files.session import (
    VERSION,
    SessionError,
    SessionState,
    load_session,
    model_to_open,
    restore_weights,
    save_session,
)
from inspector.core.files.session_zip import MAX_JSON_BYTES

DATA = Path(__file__).parent / "data"
ZOO = Path(__file__).resolve().parents[1] / "zoo"


def batchnorm_net() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 30 * 30, 10)
    )
    model.train()
    model(torch.randn(8, 1, 32, 32))  # running stats and num_batches_tracked move
    return model.eval()


def rewrite(path: Path, change) -> None:
    with zipfile.ZipFile(path) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    change(parts)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def edit_meta(path: Path, **changes) -> None:
    def change(parts):
        meta = json.loads(parts["session.json"])
        meta.update(changes)
        parts["session.json"] = json.dumps(meta).encode()

    rewrite(path, change)


def test_a_batchnorm_models_session_round_trips_bit_for_bit(tmp_path):
    model = batchnorm_net()
    state = model.state_dict()
    assert state["1.num_batches_tracked"].shape == ()
    path = tmp_path / "bn.netinspector"
    save_session(path, SessionState(model_spec="lenet", weights=state))
    loaded = load_session(path)
    fresh = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 30 * 30, 10)
    )
    fresh.load_state_dict(loaded.weights, strict=True)
    for name, tensor in state.items():
        got = loaded.weights[name]
        assert got.dtype == tensor.dtype and got.shape == tensor.shape, name
        assert torch.equal(got, tensor), name
    restore_weights(fresh, loaded)  # the checked path the app uses
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in state.items())


def test_every_dtype_and_shape_round_trips(tmp_path):
    weights = {
        "bf16": torch.randn(3, 4).to(torch.bfloat16),
        "fp16": torch.randn(5).half(),
        "fp64": torch.randn(2, 2, dtype=torch.float64),
        "int64": torch.tensor([1, -(2**40), 2**62]),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(7),
        "scalar_bf16": torch.tensor(1.5, dtype=torch.bfloat16),
        "empty": torch.zeros(0, 3),
        "uint8": torch.arange(256, dtype=torch.uint8),
        "strided": torch.randn(4, 6)[:, ::2],
        "nan_inf": torch.tensor([math.nan, math.inf, -math.inf, -0.0]),
    }
    path = tmp_path / "dtypes.netinspector"
    save_session(path, SessionState(weights=weights))
    loaded = load_session(path).weights
    assert set(loaded) == set(weights)
    for name, tensor in weights.items():
        got = loaded[name]
        assert got.dtype == tensor.dtype and got.shape == tensor.shape, name
        a, b = got.contiguous(), tensor.contiguous()
        assert a.view(-1).view(torch.uint8).tolist() == b.view(-1).view(torch.uint8).tolist()


def test_numpy_weights_keep_their_shape_too(tmp_path):
    path = tmp_path / "np.netinspector"
    save_session(path, SessionState(weights={"s": np.array(3, np.int64), "v": np.ones(2)}))
    loaded = load_session(path).weights
    assert loaded["s"].shape == () and loaded["s"].item() == 3
    assert loaded["v"].dtype == torch.float64


def test_tied_weights_can_be_saved(tmp_path):
    shared = torch.randn(4, 4)
    path = tmp_path / "tied.netinspector"
    save_session(path, SessionState(weights={"a": shared, "b": shared}))
    loaded = load_session(path).weights
    assert torch.equal(loaded["a"], shared) and torch.equal(loaded["b"], shared)


def test_the_format_1_file_opens_and_its_scalars_are_fixed(tmp_path):
    sys.path.insert(0, str(ZOO))
    try:
        from nets import ResNetish
    finally:
        sys.path.remove(str(ZOO))
    state = load_session(DATA / "session_v1.netinspector")
    assert state.format_version == 1
    assert state.loss_kind == "ce" and state.target_class == 3 and state.backward_step == 4
    assert state.learning_rate == 0.05 and state.selected_module == "blocks.0.bn1"
    assert state.input_shape == (1, 3, 32, 32) and state.raw_input.shape == (1, 3, 32, 32)
    assert state.pins == []
    assert state.drawing[10, 15] == 1.0 and state.drawing.sum() == 32
    model = ResNetish()
    restore_weights(model, state)
    for i, (name, tensor) in enumerate(model.state_dict().items()):
        if tensor.dtype == torch.int64:
            expected = torch.tensor(7 + i)
        else:
            expected = (torch.arange(tensor.numel(), dtype=torch.float32) * 0.001 + i).reshape(
                tensor.shape
            )
        assert tensor.shape == expected.shape and torch.equal(tensor, expected), name


def test_a_session_is_self_contained_and_opens_from_another_folder(tmp_path, monkeypatch):
    """Saved with a relative model path and a weights file; moved with its model to another
    folder and opened from a third: the model is found beside it, the weights file is not
    needed."""
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    shutil.copy(ZOO / "nets.py", project / "models" / "nets.py")
    model = batchnorm_net()
    torch.save(model.state_dict(), project / "weights.pt")
    monkeypatch.chdir(project)
    save_session(
        project / "s.netinspector",
        SessionState(
            model_spec="models/nets.py:ResNetish",
            model_weights="weights.pt",
            weights=model.state_dict(),
        ),
    )
    meta = json.loads(zipfile.ZipFile(project / "s.netinspector").read("session.json"))
    assert meta["version"] == VERSION == 2
    assert meta["model_files"]["spec"] == {
        "absolute": str(project / "models" / "nets.py"),
        "relative": "models/nets.py",
    }
    moved = tmp_path / "elsewhere"
    shutil.copytree(project, moved)
    shutil.rmtree(project)
    (moved / "weights.pt").unlink()  # the session holds the weights
    other = tmp_path / "cwd"
    other.mkdir()
    monkeypatch.chdir(other)
    state = load_session(moved / "s.netinspector")
    assert state.model_spec == f"{moved / 'models' / 'nets.py'}:ResNetish"
    plan = model_to_open(state)
    assert plan.spec == state.model_spec and plan.weights is None


def test_absolute_path_is_used_when_nothing_is_beside_the_session(tmp_path, monkeypatch):
    nets = tmp_path / "lib" / "nets.py"
    nets.parent.mkdir()
    shutil.copy(ZOO / "nets.py", nets)
    monkeypatch.chdir(nets.parent)
    (tmp_path / "a").mkdir()
    save_session(tmp_path / "a" / "s.netinspector", SessionState(model_spec="nets.py:make_mlp"))
    shutil.move(tmp_path / "a" / "s.netinspector", tmp_path / "s.netinspector")
    monkeypatch.chdir(tmp_path)
    assert load_session(tmp_path / "s.netinspector").model_spec == f"{nets}:make_mlp"


def test_a_missing_model_file_stays_as_typed(tmp_path):
    path = tmp_path / "s.netinspector"
    save_session(path, SessionState(model_spec=str(tmp_path / "gone.py") + ":Net"))
    (tmp_path / "x").mkdir()
    assert load_session(path).model_spec == str(tmp_path / "gone.py") + ":Net"


def test_a_session_naming_a_code_file_runs_nothing_while_read_and_the_risk_is_named(tmp_path):
    marker = tmp_path / "marker"
    code = tmp_path / "evil.py"
    code.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n")
    path = tmp_path / "s.netinspector"
    save_session(path, SessionState(model_spec=f"{code}:Net", trust=True))
    modules = set(sys.modules)
    state = load_session(path)
    plan = model_to_open(state)
    risks = code_risks(plan.spec, plan.weights, plan.trust)
    assert [r.text for r in risks] == [f"runs the Python code in {code.resolve()} ({CAN_DO})"]
    assert not marker.exists()
    assert not [m for m in set(sys.modules) - modules if "evil" in m]


def test_weights_that_do_not_fit_are_refused_and_change_nothing(tmp_path):
    model = batchnorm_net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    wrong = dict(model.state_dict())
    wrong["1.running_mean"] = torch.zeros(4, dtype=torch.float64)
    wrong.pop("4.bias")
    path = tmp_path / "s.netinspector"
    save_session(path, SessionState(weights=wrong))
    with pytest.raises(ModelLoadError, match=r"missing: 4\.bias; wrong dtype: 1\.running_mean"):
        restore_weights(model, load_session(path), "s.netinspector")
    assert all(torch.equal(model.state_dict()[k], v) for k, v in before.items())


BAD_FIELDS = [
    ("learning_rate", "abc", "learning rate"),
    ("learning_rate", -1, "learning rate"),
    ("learning_rate", 0, "learning rate"),
    ("learning_rate", float("nan"), "learning rate"),
    ("learning_rate", float("inf"), "learning rate"),
    ("learning_rate", True, "learning rate"),
    ("target_class", 10**20, "target class"),
    ("target_class", -1, "target class"),
    ("target_class", 1.5, "target class"),
    ("backward_step", -2, "backward step"),
    ("backward_step", "3", "backward step"),
    ("output_index", None, "output index"),
    ("brush_radius", 1e9, "brush radius"),
    ("model_spec", 42, "model spec"),
    ("model_spec", "", "model spec"),
    ("model_weights", ["a"], "model weights"),
    ("trust", "yes", "trust"),
    ("zero_grad", 1, "zero grad"),
    ("device", 3, "device"),
    ("device", "cuda; rm -rf /", "device"),
    ("selected_module", {"a": 1}, "selected module"),
    ("loss_kind", "hinge", "loss kind"),
    ("input_shape", [1, -3], "input shape"),
    ("input_shape", "1,3", "input shape"),
    ("input_shape", [10**6] * 4, "input shape"),
    ("input_shape", [1, 1, 16384, 16384], "input shape"),  # 1 GiB of input, 8.5 GB asked
    ("pins", "conv1", "pins"),
    ("pins", [1, 2], "pins"),
    ("model_files", {"spec": {"absolute": 5}}, "model files"),
]


@pytest.mark.parametrize("name, value, words", BAD_FIELDS)
def test_a_bad_field_is_refused_naming_the_file_and_the_field(tmp_path, name, value, words):
    path = tmp_path / "bad.netinspector"
    save_session(path, SessionState())
    edit_meta(path, **{name: value})
    with pytest.raises(SessionError) as caught:
        load_session(path)
    message = str(caught.value)
    assert message.startswith("bad.netinspector is damaged: its " + words), message


@pytest.mark.parametrize(
    "array, words",
    [
        (np.full((32, 32), "x"), "drawing"),
        (np.zeros((28, 28), np.float32), "drawing"),
        (np.full((32, 32), np.nan, np.float32), "drawing"),
        (np.zeros((32, 32), np.int64), "drawing"),
    ],
)
def test_a_bad_drawing_is_refused(tmp_path, array, words):
    import io

    path = tmp_path / "bad.netinspector"
    save_session(path, SessionState())
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    rewrite(path, lambda parts: parts.update({"drawing.npy": buffer.getvalue()}))
    with pytest.raises(SessionError, match=f"bad.netinspector is damaged: its {words}"):
        load_session(path)


def test_a_member_that_expands_84_fold_is_refused_before_decompressing(tmp_path):
    path = tmp_path / "bomb.netinspector"
    save_session(path, SessionState())
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, 64 << 10, dtype=np.uint8).tobytes()
    weights = noise + bytes(84 * len(noise))  # deflates to about 1/80 of its size
    rewrite(path, lambda parts: parts.update({"weights.safetensors": weights}))
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("weights.safetensors")
        assert info.file_size > 40 * info.compress_size
    with pytest.raises(SessionError, match=r"bomb\.netinspector is refused: .*zip bomb"):
        load_session(path)


def test_a_raw_input_that_overflows_float32_is_refused(tmp_path):
    import io

    path = tmp_path / "big.netinspector"
    save_session(path, SessionState(raw_input=np.zeros((1, 3), np.float32)))
    buffer = io.BytesIO()
    np.save(buffer, np.full((1, 3), 1e308), allow_pickle=False)
    rewrite(path, lambda parts: parts.update({"raw_input.npy": buffer.getvalue()}))
    with pytest.raises(SessionError, match="its raw input is a float64 array"):
        load_session(path)


def test_a_bad_raw_input_is_refused(tmp_path):
    import io

    path = tmp_path / "bad.netinspector"
    save_session(path, SessionState(raw_input=np.zeros((1, 3), np.float32)))
    buffer = io.BytesIO()
    np.save(buffer, np.full((1, 3), "x"), allow_pickle=False)
    rewrite(path, lambda parts: parts.update({"raw_input.npy": buffer.getvalue()}))
    with pytest.raises(SessionError, match="its raw input is a <U1 array"):
        load_session(path)


def test_a_bad_state_is_not_written(tmp_path):
    path = tmp_path / "s.netinspector"
    with pytest.raises(ValueError, match="its learning rate is nan"):
        save_session(path, SessionState(learning_rate=float("nan")))
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_a_newer_format_is_refused_and_older_fields_default(tmp_path):
    path = tmp_path / "s.netinspector"
    save_session(path, SessionState())
    edit_meta(path, version=VERSION + 1)
    with pytest.raises(SessionError, match="saved by a newer Net Inspector"):
        load_session(path)
    for version in (0, "2", True, None):
        edit_meta(path, version=version)
        with pytest.raises(SessionError, match="damaged: its version"):
            load_session(path)


def test_a_huge_session_json_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "big.netinspector"
    save_session(path, SessionState())

    def pad(parts):
        meta = json.loads(parts["session.json"])
        parts["session.json"] = (json.dumps(meta) + " " * (MAX_JSON_BYTES + 1)).encode()

    rewrite(path, pad)
    assert path.stat().st_size < 20_000  # deflated padding
    read = []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: read.append(a))
    with pytest.raises(SessionError, match=r"big\.netinspector is refused: its session\.json"):
        load_session(path)
    assert read == []


def test_a_zip_bomb_is_refused_before_it_is_expanded(tmp_path):
    path = tmp_path / "bomb.netinspector"
    save_session(path, SessionState())
    zeros = bytes(200 << 20)  # 200 MiB of zeros deflate to ~200 KiB
    rewrite(path, lambda parts: parts.update({"raw_input.npy": zeros}))
    assert path.stat().st_size < 1 << 20
    with pytest.raises(SessionError, match=r"bomb\.netinspector is refused: .* \(a zip bomb\)"):
        load_session(path)


def test_a_lying_size_header_cannot_expand_a_member(tmp_path):
    """The directory says 100 bytes; the data inflates to more: refused as damaged."""
    path = tmp_path / "liar.netinspector"
    save_session(path, SessionState())
    blob = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("drawing.npy")
    real = info.file_size.to_bytes(4, "little")
    fake = (100).to_bytes(4, "little")
    assert blob.count(real) >= 2  # the local header and the central directory
    path.write_bytes(blob.replace(real, fake))
    with pytest.raises(SessionError, match="damaged"):
        load_session(path)


def test_damaged_and_missing_files(tmp_path):
    (tmp_path / "junk.netinspector").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(SessionError, match=r"junk\.netinspector is damaged"):
        load_session(tmp_path / "junk.netinspector")
    with pytest.raises(SessionError, match="no such file"):
        load_session(tmp_path / "gone.netinspector")
    with pytest.raises(SessionError, match="is a folder"):
        load_session(tmp_path)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(SessionError, match="not a Net Inspector session"):
        load_session(other)


def test_devices_and_pipes_are_refused_unread(tmp_path):
    import os

    from inspector.core.files.checkpoints import ModelLoadError
    from inspector.core.files.loading import open_model

    fifo = tmp_path / "s.netinspector"
    os.mkfifo(fifo)  # opening it to read would block until a writer came
    for path in (Path("/dev/zero"), fifo):
        with pytest.raises(SessionError, match="is not a regular file, so not a session"):
            load_session(path)
        with pytest.raises(ModelLoadError, match="not a regular file"):
            open_model(str(path))
        with pytest.raises(ModelLoadError, match="not a regular file"):
            open_model("resnet50", weights=path)
