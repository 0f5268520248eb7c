"""Compute's training operations (a part of ``Compute``, kept apart for its size): each is one
``Job`` on the worker, answered through ``done`` or Compute's signals. Training jobs are never
dropped as stale: every chunk's answer counts."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from inspector.core.files.checkpoints import save_weights as write_weights
from inspector.core.training.setup import TrainConfig, TrainingRefused
from inspector.gui.work.runner import Job
from inspector.logs import LOG


class TrainingCalls:
    """Mixed into ``Compute`` (which has ``runner`` and ``weightsUpdated``)."""

    def train_chunk(
        self,
        config: TrainConfig,
        folder: str | None,
        batches: int,
        ms: float,
        threads: int,
        done: Callable[[Any], None],
    ) -> None:
        """At most ``batches`` batches or about ``ms`` of training on ``threads`` torch
        threads; ``done`` gets the ``TrainProgress``, or one sentence when the model or the
        folder is refused or training failed (the loop then stops with it shown)."""

        def run(engine, cancel):
            try:
                with _torch_threads(threads):
                    return engine.train_chunk(config, folder, batches, ms, cancel)
            except TrainingRefused as exc:
                return str(exc)
            except Exception as exc:
                LOG.warning("training failed\n%s", traceback.format_exc())
                return f"Training failed: {type(exc).__name__}: {exc}"

        self.runner.call(Job("train", "Training", run, done))

    def reinitialise(self) -> None:
        """Each module's ``reset_parameters()``; answered with ``weightsUpdated``."""
        run = lambda e, c: e.reinitialise()  # noqa: E731
        done = self.weightsUpdated.emit
        self.runner.call(Job("reinit", "Re-initialising the weights", run, done))

    def save_weights(self, path: Path, done: Callable[[str], None]) -> None:
        """Write the weights as they are now (between chunks) to ``path``, atomically."""

        def run(engine, cancel) -> str:
            write_weights(path, engine.weights())
            return str(path)

        self.runner.call(Job("save-weights", "Saving the weights", run, done))

    def training_state(self, done: Callable[[Any], None]) -> None:
        """``done(snapshot or None)``: the training so far, taken between two chunks."""
        run = lambda e, c: e.training_state()  # noqa: E731
        self.runner.call(Job("training-state", "Reading the training", run, done))


@contextlib.contextmanager
def _torch_threads(count: int):
    """torch's intra-op threads set to ``count`` for the block."""
    was = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(was)
