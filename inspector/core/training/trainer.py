"""Training the engine's model on MNIST in chunks, so the app can show it learning (no Qt).

A ``Trainer`` runs a few batches at a time (``run_chunk``: at most ``max_batches`` or about
``max_ms``, whichever comes first) with the same preprocessing, augmentation, step and
evaluation as ``net-inspector train`` (``core.train``: ``to_input``, ``normalise``,
``augment``, ``train_step``, ``evaluate``). Between chunks the app's worker is free to run
forwards of the user's drawing. It logs the loss of every step, the accuracy on a held-out
slice of the test set every ``eval_every`` steps and on the whole test set at each epoch's
end, and every ``log_every`` steps each parameter's weight norm, gradient norm and
update/weight ratio. ``snapshot`` / ``restore`` turn all of it, with the optimiser's state, the
random generator and the epoch's order, into plain arrays and JSON for a session file.

Data: a folder with MNIST's four IDX files (``../shared/mnist`` beside a checkout by default),
or, with no folder, the bundled 1,000 test images (800 to train on, 200 held out), enough to
watch a network start learning anywhere, offline.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn

from inspector.core.model.inputs import InputSpec
from inspector.core.runtime.schedule import KNOBS
from inspector.core.runtime.threads import usable_cores
from inspector.core.training.recipe import batch_input, evaluate, fit_batch, to_input
from inspector.core.training.setup import (
    Scores,
    TrainConfig,
    TrainData,
    TrainingRefused,
    check_trainable,
    input_adapter,
    load_data,
    make_optimizer,
    move_state,
    saved_folder,
)
from inspector.core.training.snapshot import SNAPSHOT_VERSION, TrainingSnapshot


# -- progress and snapshots ------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainProgress:
    """What the panels show after a chunk: numpy arrays and numbers only."""

    epoch: int  # the epoch running (or the last one, when finished)
    epochs: int
    step_in_epoch: int
    steps_per_epoch: int
    step: int  # steps taken in all
    losses: np.ndarray  # float32 [step]: every step's loss
    held_steps: np.ndarray  # int64 [H]
    held: np.ndarray  # float32 [H]: accuracy (0-1) on the held-out slice
    test_steps: np.ndarray  # int64 [E]
    test: np.ndarray  # float32 [E]: accuracy on the whole test split, each epoch's end
    names: tuple[str, ...]  # parameter tensors: the gradient-health rows
    health_steps: np.ndarray  # int64 [T]
    health: np.ndarray  # float32 [3, P, T]: weight norm, grad norm, update/weight ratio
    finished: bool = False
    batches: int = 0  # in this chunk
    images: int = 0
    seconds: float = 0.0
    source: str = ""
    folder: str = ""  # the MNIST folder trained on ("": the bundled sample)
    message: str = ""  # a note for the user (a session's data folder missing here)

    def recent_loss(self, n: int = 20) -> float | None:
        return float(self.losses[-n:].mean()) if len(self.losses) else None

    def status(self) -> str:
        """``epoch 1/2 · step 420/469 · loss 0.081 · test 98.1%``; ``step 420 · …`` for a
        training whose epochs are not known here (a script's own loop: ``epochs`` 0)."""
        parts = ([f"epoch {self.epoch}/{self.epochs}",
                  f"step {self.step_in_epoch}/{self.steps_per_epoch}"] if self.epochs > 0
                 else [f"step {self.step}"])  # fmt: skip
        loss = self.recent_loss()
        if loss is not None:
            parts.append(f"loss {loss:.3f}")
        if len(self.test):
            parts.append(f"test {self.test[-1]:.1%}")
        elif len(self.held):
            parts.append(f"held-out {self.held[-1]:.1%}")
        if self.finished:
            parts.append("done")
        return " · ".join(parts)


HEALTH = ("weight norm", "grad norm", "update/weight")


class Trainer:
    """Trains one model on one device; not thread-safe (the engine's worker calls it)."""

    def __init__(self, model: nn.Module, spec: InputSpec, device: torch.device,
                 output_index: int = 0, name: str = "This model") -> None:  # fmt: skip
        self.model, self.spec, self.name = model, spec, name
        self.output_index = output_index
        self.scores = Scores(model, output_index)
        self.config = TrainConfig()
        self.folder: str | None = None
        self.data: TrainData | None = None
        self.params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.optimizer: torch.optim.Optimizer | None = None
        self._opt_kind = ""
        self.device = device
        self.adapt = None
        self._checked_device: torch.device | None = None
        # prepare the next batch in a second thread (run_chunk): True, False, or None: when
        # this thread's torch threads leave a core free (more threads than cores: a team of
        # torch threads with one of them waiting for a core ran 10x slower, bench --train)
        self.prefetch: bool | None = None
        self._pool: ThreadPoolExecutor | None = None
        self.reset_progress()

    def reset_progress(self) -> None:
        self.gen = torch.Generator().manual_seed(self.config.seed)
        self.epoch, self.pos, self.step = 1, 0, 0
        self.order: torch.Tensor | None = None
        self.finished = False
        self.losses: list[float] = []
        self.held_steps: list[int] = []
        self.held: list[float] = []
        self.test_steps: list[int] = []
        self.test: list[float] = []
        self.health_steps: list[int] = []
        self.health: list[np.ndarray] = []  # [3, P] per record
        self.optimizer, self._opt_kind = None, ""

    # -- settings -------------------------------------------------------------------------
    def configure(self, config: TrainConfig, folder: str | None, device: torch.device) -> None:
        config.checked()
        if folder != self.folder or self.data is None:
            data = load_data(folder)
            if self.data is not None and len(data.train_x) != len(self.data.train_x):
                self.order, self.pos = None, 0  # another data set: start the epoch afresh
            self.data, self.folder = data, folder
        if device != self._checked_device:
            self.adapt = input_adapter(self.spec, device, self.name)
            check_trainable(self.scores, self.adapt, self.name)
            self._checked_device = device
            if self.optimizer is not None:
                move_state(self.optimizer, device)
        self.device = device
        if self.optimizer is None or config.optimizer != self._opt_kind:
            self.optimizer = make_optimizer(
                config.optimizer, [p for _, p in self.params], config.lr
            )
            self._opt_kind = config.optimizer
        for group in self.optimizer.param_groups:
            group["lr"] = config.lr
        self.finished = self.epoch > config.epochs  # more epochs asked for: carry on
        self.config = config

    @property
    def steps_per_epoch(self) -> int:
        n = len(self.data.train_x) if self.data is not None else 0
        return max(1, math.ceil(n / self.config.batch_size))

    # -- training ---------------------------------------------------------------------------
    def run_chunk(
        self,
        max_batches: int = KNOBS.chunk_batches,
        max_ms: float = KNOBS.chunk_ms,
        cancel=None,
    ) -> TrainProgress:
        """Batches until ``max_batches``, about ``max_ms`` or the end of training. With
        ``prefetch``, the next batch (indices, augmentation, input) is prepared in a second
        thread while this one trains on the current batch: a core the training thread leaves
        free (to the GUI, while the user draws) is not idle. The generator is used in the same
        order either way, and only batches that will be trained are prepared ahead."""
        started = time.perf_counter()
        batches = images = 0
        ahead: Future | None = None
        step_s: float | None = None  # the last step's time: will the next one fit in max_ms?
        prefetch = self.prefetch
        if prefetch is None:  # CPU only: two threads using an MPS device at once can abort
            prefetch = self.device.type == "cpu" and torch.get_num_threads() < usable_cores()
        saved = None  # the generator's state before the batch prepared ahead
        was_training = self.model.training
        self.scores.train(True)
        try:
            while not self.finished and batches < max_batches:
                if ahead is None and cancel is not None and cancel.is_set():
                    break  # (a batch prepared ahead is trained first: the generator moved)
                if self.order is None:
                    self.order = torch.randperm(len(self.data.train_x), generator=self.gen)
                began = time.perf_counter()
                batch = ahead.result() if ahead is not None else self._prepare(self.pos)
                ahead = None
                batches += 1
                after = self.pos + len(batch[1])
                fits = step_s is not None and (began + 2 * step_s - started) * 1000 < max_ms
                new_epoch = after >= len(self.data.train_x)  # its order is drawn first
                cancelled = cancel is not None and cancel.is_set()
                if prefetch and fits and batches < max_batches and not new_epoch and not cancelled:
                    saved = self.gen.get_state()
                    ahead = self._prefetcher().submit(self._prepare, after)
                images += self._fit(*batch)
                step_s = time.perf_counter() - began
                if ahead is None and (time.perf_counter() - started) * 1000 >= max_ms:
                    break
        finally:
            if ahead is not None:  # a step failed: as if the batch ahead had not been drawn
                wait([ahead])
                self.gen.set_state(saved)
            self.scores.train(was_training)
        return self.progress(batches, images, time.perf_counter() - started)

    def _prefetcher(self) -> ThreadPoolExecutor:
        if self._pool is None:  # one torch thread: the training thread has the others
            self._pool = ThreadPoolExecutor(1, "batches", lambda: torch.set_num_threads(1))
        return self._pool

    def _prepare(self, pos: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The batch at ``pos`` of this epoch's order: the model's input and the targets."""
        data, config = self.data, self.config
        idx = self.order[pos : pos + config.batch_size].numpy()
        x = batch_input(to_input(data.train_x[idx]), self.gen, config.augment, self.adapt)
        targets = torch.as_tensor(data.train_y[idx], dtype=torch.long).to(self.device)
        return x, targets

    def _fit(self, x: torch.Tensor, targets: torch.Tensor) -> int:
        """One step on a prepared batch, and what is logged after it."""
        data, config = self.data, self.config
        logged = self.step % config.log_every == 0
        before = [p.detach().clone() for _, p in self.params] if logged else None
        loss = fit_batch(self.scores, self.optimizer, x, targets)
        self.step += 1
        self.pos += len(targets)
        self.losses.append(float(loss.item()))
        if before is not None:
            self._record_health(before)
        if self.step % config.eval_every == 0:
            self._held_out()
        if self.pos >= len(data.train_x):
            self.test.append(self._accuracy(data.test_x, data.test_y))
            self.test_steps.append(self.step)
            self.epoch, self.pos, self.order = self.epoch + 1, 0, None
            self.finished = self.epoch > config.epochs
        return len(targets)

    @torch.no_grad()
    def _record_health(self, before: list[torch.Tensor]) -> None:
        record = np.zeros((3, len(self.params)), np.float32)
        for i, ((_, p), old) in enumerate(zip(self.params, before, strict=True)):
            weight = torch.linalg.vector_norm(p.detach().float())
            grad = torch.linalg.vector_norm(p.grad.float()) if p.grad is not None else weight * 0
            update = torch.linalg.vector_norm((p.detach() - old).float())
            record[:, i] = [weight.item(), grad.item(), (update / weight.clamp_min(1e-12)).item()]
        self.health.append(record)
        self.health_steps.append(self.step)

    def _held_out(self) -> None:
        n = min(self.config.eval_images, len(self.data.test_x))
        self.held.append(self._accuracy(self.data.test_x[:n], self.data.test_y[:n]))
        self.held_steps.append(self.step)

    def _accuracy(self, images: np.ndarray, labels: np.ndarray) -> float:
        try:
            return evaluate(self.scores, images, labels, self.adapt)
        finally:
            self.scores.train(True)

    def progress(self, batches: int = 0, images: int = 0, seconds: float = 0.0) -> TrainProgress:
        per = self.steps_per_epoch
        step_in_epoch = (
            per if self.finished else min(per, math.ceil(self.pos / self.config.batch_size))
        )
        health = (np.stack(self.health, axis=2) if self.health
                  else np.zeros((3, len(self.params), 0), np.float32))  # fmt: skip
        return TrainProgress(
            epoch=min(self.epoch, self.config.epochs), epochs=self.config.epochs,
            step_in_epoch=step_in_epoch,
            steps_per_epoch=per, step=self.step,
            losses=np.asarray(self.losses, np.float32),
            held_steps=np.asarray(self.held_steps, np.int64),
            held=np.asarray(self.held, np.float32),
            test_steps=np.asarray(self.test_steps, np.int64),
            test=np.asarray(self.test, np.float32),
            names=tuple(n for n, _ in self.params),
            health_steps=np.asarray(self.health_steps, np.int64), health=health,
            finished=self.finished, batches=batches, images=images, seconds=seconds,
            source=self.data.source if self.data is not None else "",
            folder=self.folder or "",
        )  # fmt: skip

    # -- sessions ----------------------------------------------------------------------------
    def snapshot(self) -> TrainingSnapshot:
        p = self.progress()
        arrays: dict[str, torch.Tensor] = {
            "curve/loss": torch.from_numpy(p.losses),
            "curve/held_steps": torch.from_numpy(p.held_steps),
            "curve/held": torch.from_numpy(p.held),
            "curve/test_steps": torch.from_numpy(p.test_steps),
            "curve/test": torch.from_numpy(p.test),
            "health/steps": torch.from_numpy(p.health_steps),
            "health/values": torch.from_numpy(np.ascontiguousarray(p.health)),
            "rng": self.gen.get_state(),
        }
        if self.order is not None:
            arrays["order"] = self.order.clone()
        if self.optimizer is not None:
            names = [n for n, _ in self.params]
            for index, state in self.optimizer.state_dict()["state"].items():
                for key, value in state.items():
                    if isinstance(value, torch.Tensor):
                        arrays[f"optim/{names[index]}/{key}"] = value.detach().cpu().clone()
        meta = {
            "version": SNAPSHOT_VERSION,
            "config": asdict(self.config),
            "data": self.folder or "",
            "train_size": len(self.data.train_x) if self.data is not None else 0,
            "epoch": self.epoch,
            "pos": self.pos,
            "step": self.step,
            "finished": self.finished,
            "optimizer": self._opt_kind,
            "names": [n for n, _ in self.params],
        }
        return TrainingSnapshot(meta, arrays)

    def restore(self, snap: TrainingSnapshot, device: torch.device) -> TrainProgress:
        """Take back a snapshot (checked by ``check_snapshot``) of a trainer of this model.
        Its MNIST folder missing here, it goes on with the bundled sample and says so in the
        progress's ``message``; the curves and optimiser state come back all the same."""
        meta, arrays = snap.meta, snap.arrays
        names = [n for n, _ in self.params]
        if list(meta["names"]) != names:
            raise TrainingRefused("the saved training is of another model's parameters")
        config = TrainConfig(**meta["config"])
        self.reset_progress()
        folder, note = saved_folder(meta["data"])
        self.configure(config, folder, device)
        if meta["optimizer"]:
            self.optimizer = make_optimizer(
                meta["optimizer"], [p for _, p in self.params], config.lr
            )
            self._opt_kind = meta["optimizer"]
            state = self.optimizer.state_dict()
            for key, value in arrays.items():
                if key.startswith("optim/"):
                    _, name, slot = key.split("/")
                    state["state"].setdefault(names.index(name), {})[slot] = value.clone()
            self.optimizer.load_state_dict(state)
            move_state(self.optimizer, device)
        self.gen.set_state(arrays["rng"].clone())
        order = arrays.get("order")
        same_data = meta["train_size"] == len(self.data.train_x)
        self.order = order.clone() if order is not None and same_data else None
        self.epoch, self.step, self.finished = meta["epoch"], meta["step"], meta["finished"]
        self.pos = meta["pos"] if same_data else 0
        self.losses = arrays["curve/loss"].tolist()
        self.held_steps = arrays["curve/held_steps"].tolist()
        self.held = arrays["curve/held"].tolist()
        self.test_steps = arrays["curve/test_steps"].tolist()
        self.test = arrays["curve/test"].tolist()
        self.health_steps = arrays["health/steps"].tolist()
        values = arrays["health/values"].numpy()
        self.health = [values[:, :, t].copy() for t in range(values.shape[2])]
        return replace(self.progress(), message=note)
