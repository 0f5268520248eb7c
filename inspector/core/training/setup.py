"""What training needs around the loop: the data (a folder of MNIST's IDX files, or the
bundled sample), a model made to give class scores for the drawing, fresh weights, and the
optimiser."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from inspector.core.forward.capture import named_outputs, set_training
from inspector.core.model.inputs import IMAGE, MNIST, InputSpec, torch_dtype
from inspector.core.model.nets import RESOURCES
from inspector.core.model.quantized import is_quantized
from inspector.core.training import mnist
from inspector.core.training.recipe import normalise

SAMPLE = RESOURCES / "mnist_sample_1000.npz"
SAMPLE_TRAIN = 800  # of the bundled 1,000 images: the rest are held out


class TrainingRefused(Exception):
    """The model or the data cannot be trained on; ``str()`` is one sentence saying why."""


OPTIMIZERS = {
    "sgd": "SGD (the tutorial's)",
    "momentum": "SGD with momentum 0.9",
    "adam": "Adam",
}
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.01, "adam": 0.002}


@dataclass(frozen=True)
class TrainConfig:
    optimizer: str = "adam"
    # Adam at 2e-3 on batches of 32 with augmentation: 98.1-98.6 % after one epoch from
    # re-initialised LeNet weights (README), and drawn digits recognised.
    lr: float = 0.002
    batch_size: int = 32
    epochs: int = 1
    augment: bool = True
    # Measuring costs training time: a held-out accuracy on 500 images every 200 steps and the
    # gradient health every 20 keep the in-window loop within a few % of the headless one.
    eval_every: int = 200  # steps between held-out accuracies
    eval_images: int = 500  # the held-out slice: the first images of the test split
    log_every: int = 20  # steps between gradient-health records
    seed: int = 0

    def checked(self) -> TrainConfig:
        if self.optimizer not in OPTIMIZERS:
            raise TrainingRefused(f"unknown optimiser {self.optimizer!r}")
        if not (math.isfinite(self.lr) and 0 < self.lr <= 10):
            raise TrainingRefused(f"the learning rate must be above 0 and up to 10, not {self.lr}")
        if not (1 <= self.batch_size <= 65536 and 1 <= self.epochs <= 1000):
            raise TrainingRefused("the batch size and the number of epochs must be positive")
        return self


# -- data ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainData:
    train_x: np.ndarray  # uint8 [N, 28, 28]
    train_y: np.ndarray  # uint8 [N]
    test_x: np.ndarray
    test_y: np.ndarray
    source: str  # in words, for the status line


_CACHE: dict[str, TrainData] = {}


def load_data(folder: str | Path | None) -> TrainData:
    """MNIST from ``folder`` (the four IDX files), or the bundled sample for an empty one.
    Raises ``TrainingRefused`` in one sentence when the folder does not hold MNIST."""
    key = str(folder or "")
    if key in _CACHE:
        return _CACHE[key]
    if not key:
        with np.load(SAMPLE, allow_pickle=False) as sample:
            x, y = sample["images"], sample["labels"]
        data = TrainData(
            x[:SAMPLE_TRAIN], y[:SAMPLE_TRAIN], x[SAMPLE_TRAIN:], y[SAMPLE_TRAIN:],
            f"the bundled sample ({SAMPLE_TRAIN} images; {len(x) - SAMPLE_TRAIN} held out)",
        )  # fmt: skip
    else:
        try:
            train_x, train_y = mnist.load_split(Path(key), "train")
            test_x, test_y = mnist.load_split(Path(key), "test")
        except (OSError, ValueError) as exc:
            raise TrainingRefused(f"{key} does not hold MNIST's four IDX files ({exc})") from exc
        data = TrainData(train_x, train_y, test_x, test_y, f"MNIST ({len(train_x):,} images)")
    _CACHE.clear()  # one data set at a time: the full one is 55 MB
    _CACHE[key] = data
    return data


def saved_folder(folder: str) -> tuple[str | None, str]:
    """The MNIST folder a saved training used, if it holds MNIST here; otherwise ``None`` (the
    bundled sample) and one sentence naming the folder: a session opened on another computer
    goes on training instead of being refused."""
    if not folder:
        return None, ""
    if not Path(folder).is_dir():
        why = "is missing"
    else:
        try:
            load_data(folder)  # read here once; training then takes it from the cache
            return folder, ""
        except TrainingRefused:
            why = "no longer holds MNIST"
    return None, (
        f"The session's MNIST folder {folder} {why}, so its training goes on with the "
        "bundled sample."
    )


# -- the model: what it takes, what it gives -----------------------------------------------------
def input_adapter(spec: InputSpec, device: torch.device, name: str = "This model"):
    """0-1 batches ``[N, 1, 32, 32]`` → what the model takes, on ``device``, the way the app
    feeds it the drawing. ``TrainingRefused`` for a model that does not take the drawing."""
    dtype = torch_dtype(spec.dtype)
    if spec.kind == MNIST and spec.shape == (1, 1, 32, 32):
        return lambda x: normalise(x.to(device)).to(dtype)
    if spec.kind == IMAGE and len(spec.shape) == 4 and not spec.is_integer:
        _, channels, height, width = spec.shape

        def adapt(x: torch.Tensor) -> torch.Tensor:
            x = F.interpolate(x.to(device), size=(height, width), mode="bilinear",
                              antialias=True, align_corners=False)  # fmt: skip
            x = (x - 0.5) / 0.5 if spec.normalise else x
            return x.expand(-1, channels, -1, -1).to(dtype)

        return adapt
    raise TrainingRefused(
        f"{name} cannot be trained on MNIST: it takes {spec.fed()}, not the drawing."
    )


class Scores(nn.Module):
    """The model with its chosen output picked out: what the loss and ``argmax`` see."""

    def __init__(self, net: nn.Module, output_index: int = 0) -> None:
        super().__init__()
        self.net = net
        self.output_index = output_index

    def train(self, mode: bool = True) -> Scores:
        self.training = mode
        set_training(self.net, mode)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = named_outputs(self.net(x))
        return outputs[min(self.output_index, len(outputs) - 1)][1]


def mnist_refusal(
    spec: InputSpec, output_shape: tuple[int, ...] | None, name: str = "This model"
) -> str | None:
    """Why the model cannot be trained on MNIST, told before anyone presses Train: from what
    it takes and (once a forward has run) the shape of its output for one input. ``None``:
    it looks trainable (``check_trainable`` still checks a real batch when training starts)."""
    try:
        input_adapter(spec, torch.device("cpu"), name)
    except TrainingRefused as exc:
        return str(exc)
    if output_shape is not None and tuple(output_shape) != (1, 10):
        return (
            f"{name} cannot be trained on MNIST: its output for one image is "
            f"{list(output_shape)}, not 10 class scores."
        )
    return None


def check_trainable(scores: Scores, adapt, name: str = "This model") -> None:
    """``TrainingRefused`` unless the model gives 10 class scores per image of a batch, and
    has parameters to train."""
    if not any(p.requires_grad for p in scores.parameters()):
        why = " (it is quantized: its weights are packed integers)" if is_quantized(scores) else ""
        raise TrainingRefused(
            f"{name} has no trainable parameters{why}: there is nothing to train."
        )
    with torch.no_grad():
        out = scores(adapt(torch.zeros(2, 1, 32, 32)))
    if out.ndim != 2 or out.shape != (2, 10) or not out.dtype.is_floating_point:
        raise TrainingRefused(
            f"{name} cannot be trained on MNIST: its output for 2 images is "
            f"{list(out.shape)}, not 10 class scores per image."
        )


def reinitialise(model: nn.Module, seed: int = 0) -> tuple[int, int]:
    """Each module's ``reset_parameters()``, seeded; returns (modules reset, parameters kept
    as they were because their module has no ``reset_parameters``)."""
    reset, covered = 0, set()
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for module in model.modules():
            fn = getattr(module, "reset_parameters", None)
            if callable(fn):
                fn()
                reset += 1
                covered.update(id(p) for p in module.parameters(recurse=False))
    kept = sum(p.numel() for p in model.parameters() if id(p) not in covered)
    return reset, kept


def make_optimizer(kind: str, params: list, lr: float) -> torch.optim.Optimizer:
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if kind == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    return torch.optim.Adam(params, lr=lr)


def move_state(optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    for state in optimizer.state.values():
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and key != "step":
                state[key] = value.to(device)
