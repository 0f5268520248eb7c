"""The recipe that trains the bundled LeNet on MNIST: deterministic, with augmentation for
mouse-drawn digits. ``net-inspector train`` (``cli/train.py``) runs it and writes
``inspector/resources/lenet_mnist.safetensors`` with a JSON card beside it; the window's
``Trainer`` uses its preprocessing, augmentation, step and evaluation."""

from __future__ import annotations

import datetime as _dt
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from inspector.core.model.nets import LENET_CARD, LENET_WEIGHTS, MNIST_MEAN, MNIST_STD, Net
from inspector.core.training import mnist

AUGMENTATION = {
    "rotation_deg": 15.0,
    "scale": [0.8, 1.15],
    "shear": 0.15,
    "shift_px": 2.5,
    "thicker_prob": 0.25,
    "thinner_prob": 0.15,
}


def to_input(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 [N, 28, 28] → float [N, 1, 32, 32], 0-1, padded as the tutorial's LeNet wants."""
    x = torch.tensor(np.asarray(images), dtype=torch.float32).unsqueeze(1) / 255.0
    return F.pad(x, (2, 2, 2, 2))


def normalise(x: torch.Tensor) -> torch.Tensor:
    return (x - MNIST_MEAN) / MNIST_STD


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random affine (rotation, scale, shear, shift) and stroke thickness, on a 0-1 batch."""
    n = x.shape[0]
    a = AUGMENTATION

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=gen)

    angle = uniform(-a["rotation_deg"], a["rotation_deg"]) * math.pi / 180
    scale = uniform(*a["scale"])
    shear = uniform(-a["shear"], a["shear"])
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * a["shift_px"] * 2 / x.shape[-1]
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos, -sin + shear * cos, shift[:, 0]], 1),
            torch.stack([sin, cos + shear * sin, shift[:, 1]], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
    pick = torch.rand(n, generator=gen)
    thicker = (pick < a["thicker_prob"]).view(-1, 1, 1, 1)
    thinner = (pick > 1 - a["thinner_prob"]).view(-1, 1, 1, 1)
    x = torch.where(thicker, F.max_pool2d(x, 3, 1, 1), x)
    x = torch.where(thinner, ((x - 0.35) / 0.65).clamp(0, 1), x)
    return x


def train_step(
    model: torch.nn.Module,
    optimiser: torch.optim.Optimizer,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    gen: torch.Generator,
    augmentation: bool = True,
    prepare: Callable[[torch.Tensor], torch.Tensor] = normalise,
) -> torch.Tensor:
    """One step of the training loop on a 0-1 batch ``[N, 1, 32, 32]``: ``batch_input``, then
    ``fit_batch``. Returns the loss (not synced)."""
    return fit_batch(model, optimiser, batch_input(inputs, gen, augmentation, prepare), targets)


def batch_input(
    inputs: torch.Tensor,
    gen: torch.Generator,
    augmentation: bool = True,
    prepare: Callable[[torch.Tensor], torch.Tensor] = normalise,
) -> torch.Tensor:
    """What the model gets for a 0-1 batch: augmented (if asked), then ``prepare`` (MNIST's
    normalisation; the app's trainer also resamples for other image models)."""
    return prepare(augment(inputs, gen) if augmentation else inputs)


def fit_batch(
    model: torch.nn.Module,
    optimiser: torch.optim.Optimizer,
    x: torch.Tensor,
    targets: torch.Tensor,
) -> torch.Tensor:
    """Cross-entropy, backward, the optimiser's step. Returns the loss (not synced)."""
    loss = F.cross_entropy(model(x), targets)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    return loss


def _batches(n: int, batch: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
    order = torch.randperm(n, generator=gen)
    for start in range(0, n, batch):
        yield order[start : start + batch]


def _progress(prefix: str, done: int, total: int, extra: str = "") -> None:
    width = 30
    filled = int(width * done / total)
    bar = "█" * filled + "·" * (width - filled)
    sys.stderr.write(f"\r{prefix} {bar} {done}/{total} {extra}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    prepare: Callable[[torch.Tensor], torch.Tensor] = normalise,
) -> float:
    """Accuracy (0-1) of ``model`` on uint8 MNIST images, preprocessed as in training
    (``prepare``: see ``train_step``). Leaves the model in eval mode."""
    model.eval()
    correct = 0
    for start in range(0, len(images), 1000):
        x = prepare(to_input(images[start : start + 1000]))
        pred = model(x).argmax(1).cpu().numpy()
        correct += int((pred == labels[start : start + 1000]).sum())
    return correct / len(images)


def train(
    data: Path,
    epochs: int = 12,
    seed: int = 0,
    batch_size: int = 128,
    lr: float = 3e-3,
    out: Path = LENET_WEIGHTS,
    card: Path = LENET_CARD,
) -> dict:
    """Train, evaluate on the 10,000 test images, write weights and card; return the card.
    Deterministic algorithms only while it trains: a caller's process (a notebook, the tests)
    gets its own setting back, also when the data is refused."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        return _train(data, epochs, seed, batch_size, lr, out, card)
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def _train(
    data: Path, epochs: int, seed: int, batch_size: int, lr: float, out: Path, card: Path
) -> dict:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    train_x, train_y = mnist.load_split(data, "train")
    test_x, test_y = mnist.load_split(data, "test")
    inputs = to_input(train_x)
    targets = torch.as_tensor(train_y, dtype=torch.long)

    model = Net()
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(inputs) / batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=lr, epochs=epochs, steps_per_epoch=steps_per_epoch
    )
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        running = 0.0
        for step, idx in enumerate(_batches(len(inputs), batch_size, gen), 1):
            loss = train_step(model, optimiser, inputs[idx], targets[idx], gen)
            schedule.step()
            running += loss.item()
            if step % 20 == 0 or step == steps_per_epoch:
                _progress(
                    f"epoch {epoch:2d}/{epochs}",
                    step,
                    steps_per_epoch,
                    f"loss {running / step:.4f}",
                )
        accuracy = evaluate(model, test_x, test_y)
        print(f"epoch {epoch:2d}: test accuracy {accuracy:.2%}", file=sys.stderr)

    from safetensors.torch import save_file

    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out))
    result = {
        "model": "LeNet (PyTorch 'Neural Networks' tutorial), 61,706 parameters",
        "test_accuracy": round(accuracy, 4),
        "test_images": len(test_x),
        "epochs": epochs,
        "seed": seed,
        "batch_size": batch_size,
        "optimiser": f"AdamW lr {lr} (one-cycle), weight decay 1e-4",
        "input": "28x28 padded to 32x32, normalised with mean 0.1307 / std 0.3081",
        "augmentation": AUGMENTATION,
        "train_seconds": round(time.perf_counter() - started, 1),
        "torch": torch.__version__,
        "data_md5": mnist.checksums(data),
        "date": _dt.date.today().isoformat(),
        "data_credit": "MNIST by Yann LeCun, Corinna Cortes and Christopher J. C. Burges "
        "(CC BY-SA 3.0)",
    }
    card.write_text(json.dumps(result, indent=2) + "\n")
    return result
