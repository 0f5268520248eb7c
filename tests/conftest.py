"""Shared fixtures: offscreen Qt, a dangling-QThread guard, the main window and a small zoo."""

from __future__ import annotations

import os
import subprocess
import sys
import weakref
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import tempfile

import pytest
import torch
import torch.nn.functional as F
from PySide6.QtCore import QCoreApplication, QSettings, QStandardPaths
from torch import nn

from inspector.testing import settled

# Keep the tests away from the user's settings, autosave and logs.
QStandardPaths.setTestModeEnabled(True)
QCoreApplication.setOrganizationName("NetInspectorTests")
QCoreApplication.setApplicationName("Net Inspector Tests")
QSettings.setDefaultFormat(QSettings.Format.IniFormat)
QSettings.setPath(
    QSettings.Format.IniFormat, QSettings.Scope.UserScope, tempfile.mkdtemp(prefix="ni-settings-")
)

_started_threads: list[weakref.ref] = []
ROOT = Path(__file__).resolve().parents[1]


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """The environment for a child ``python -m inspector``: offscreen, its own settings, data,
    state and cache folders under ``tmp_path`` (never the user's), this checkout importable."""
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHONPATH": str(ROOT),
    }


def run_inspector(
    *args: str, tmp_path: Path, timeout: float = 120, **options
) -> subprocess.CompletedProcess:
    """``python -m inspector ARGS`` in a fresh process (``isolated_env``), output as text."""
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=isolated_env(tmp_path),
        **options,
    )


def settle(qtbot, window, timeout: int = 20_000) -> None:
    qtbot.waitUntil(lambda: settled(window), timeout=timeout)


@pytest.fixture(autouse=True)
def _fresh_settings():
    """Every test starts as a first run: no saved layout, loss settings or autosave."""
    QSettings().clear()
    from inspector.gui.session.autosave import autosave_path

    for left in autosave_path().parent.glob("drawing*.npy"):  # other runs' too (killed ones)
        left.unlink(missing_ok=True)
    yield


@pytest.fixture(autouse=True)
def _dangling_qthreads(monkeypatch):
    """Fail any test that leaves a QThread running (napari's ``_dangling_qthreads`` idea)."""
    from PySide6.QtCore import QThread

    original = QThread.start

    def recording_start(self, *args, **kwargs):
        _started_threads.append(weakref.ref(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", recording_start)
    yield
    running = []
    for ref in _started_threads:
        thread = ref()
        try:
            if thread is not None and thread.isRunning():
                running.append(thread.objectName() or repr(thread))
        except RuntimeError:  # the C++ object is gone: it cannot be running
            pass
    _started_threads.clear()
    assert not running, f"test left QThreads running: {running}"


@pytest.fixture
def window(qtbot):
    """The real main window with the bundled LeNet, shown offscreen, first result on screen."""
    from inspector.app import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.last_result is not None, timeout=10_000)
    yield win
    win.close()


@pytest.fixture
def mnist_folder(tmp_path) -> Path:
    """A folder of MNIST's four IDX files (uncompressed): 96 training and 32 test images
    taken from the bundled sample, so a test can train on "a folder" and then lose it."""
    import numpy as np

    from inspector.core.training.mnist import FILES
    from inspector.core.training.setup import SAMPLE

    with np.load(SAMPLE, allow_pickle=False) as sample:
        images, labels = sample["images"], sample["labels"]
    folder = tmp_path / "mnist"
    folder.mkdir()
    parts = {"train_images": images[:96], "train_labels": labels[:96],
             "test_images": images[96:128], "test_labels": labels[96:128]}  # fmt: skip
    for key, array in parts.items():
        magic = 0x00000803 if array.ndim == 3 else 0x00000801
        header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
        (folder / FILES[key]).write_bytes(header + array.astype(np.uint8).tobytes())
    return folder


# -- a small model zoo --------------------------------------------------------------------
class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)) + x)


class TinyResNet(nn.Module):
    """Skip connections and functional ops inside a non-leaf submodule."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.block = ResidualBlock(4)
        self.head = nn.Linear(4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(self.stem(x))
        return self.head(x.mean(dim=(2, 3)))


class Exploding(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom in forward")


@pytest.fixture
def tiny_resnet() -> nn.Module:
    torch.manual_seed(0)
    return TinyResNet()


ZOO = Path(__file__).parent / "zoo"


@pytest.fixture(scope="session")
def zoo_files(tmp_path_factory) -> dict[str, Path]:
    """Files a user might open: TorchScript and .pt2 LeNets, checkpoints good and bad."""
    from inspector.core.files.loading import bundled_lenet

    folder = tmp_path_factory.mktemp("zoo")
    lenet = bundled_lenet().model.eval()
    files = {"nets": ZOO / "nets.py", "syntax": ZOO / "broken_syntax.py"}
    files["torchscript"] = folder / "lenet_scripted.pt"
    torch.jit.script(lenet).save(str(files["torchscript"]))
    files["export"] = folder / "lenet.pt2"
    torch.export.save(
        torch.export.export(lenet, (torch.randn(1, 1, 32, 32),)), str(files["export"])
    )
    files["lenet_state"] = folder / "lenet_state.pt"
    torch.save(lenet.state_dict(), files["lenet_state"])
    files["wrong_keys"] = folder / "wrong_keys.pt"
    state = dict(lenet.state_dict())
    state["conv9.weight"] = state.pop("conv1.weight")
    state["fc3.bias"] = torch.zeros(11)
    torch.save(state, files["wrong_keys"])
    files["pickled_model"] = folder / "whole_model.pt"
    torch.save(TinyResNet(), files["pickled_model"])  # needs full unpickling
    return files


def pytest_addoption(parser):
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite tests/golden/ from what the code writes now (then review the diff)",
    )


@pytest.fixture
def update_goldens(request) -> bool:
    return request.config.getoption("--update-goldens")


def assert_reset_brings_back_the_opening_weights(engine, change) -> None:
    """``change(engine)`` moves the weights; Reset puts back the ones the model opened with."""
    opened = {k: v.clone() for k, v in engine.model.state_dict().items()}
    assert engine._initial is None  # no copy held while nothing has changed them
    change(engine)
    assert any(not torch.equal(v, opened[k]) for k, v in engine.model.state_dict().items())
    engine.reset()
    assert all(torch.equal(v, opened[k]) for k, v in engine.model.state_dict().items())
