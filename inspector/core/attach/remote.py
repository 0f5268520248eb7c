"""The engine's typed operations, answered by a probe in another process.

``RemoteEngine`` stands where ``Engine`` stands: the window's ``Compute`` queues the same jobs
on the same runner thread, and this object turns each into a request to the probe. What would
change the training's model (an SGD update, a reset, training here, moving it) is refused in
one sentence: that model is trained by its own script.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from inspector.core.attach.client import AttachError, Client, TrainingGone
from inspector.core.files.loading import ModelLoadError
from inspector.core.forward.inference import ForwardSettings
from inspector.core.forward.results import (
    BackwardResult,
    ForwardRequest,
    ForwardResult,
    ModelLoaded,
    ParametersResult,
    SavedValueResult,
)
from inspector.core.graph.losses import LossSpec
from inspector.core.training.trainer import TrainProgress

_SENT = ("output_index", "focus", "channel_page", "coloured")  # what the probe's settings hold
ACCURACY_KEYS = ("accuracy", "acc", "val_accuracy", "test_accuracy")


class RemoteRefused(RuntimeError):
    """An operation a connected model does not take; ``str()`` is one sentence."""

    one_sentence = True


class RemoteEngine:
    """A connected probe, seen as an engine. Not thread-safe: the runner thread calls it."""

    def __init__(self, client: Client) -> None:
        self.client = client
        info = client.info
        self.info = info
        self.device = str(info["device"])
        self.settings = ForwardSettings(input=info["input"])
        self.spec = f"attach:{client.address}"
        self._health_steps: list[int] = []
        self._health: list[np.ndarray] = []
        self._names: tuple[str, ...] = ()

    @classmethod
    def connect(cls, address: str, token: str | None = None) -> RemoteEngine:
        return cls(Client(address, token))

    def close(self) -> None:
        self.client.close()

    @property
    def where(self) -> str:
        """``rank 1 of 2 on gpu-3 (pid 4242)`` or ``gpu-3 (pid 4242)``."""
        info = self.info
        rank = f"rank {info['rank']} of {info['world_size']} on " if info["world_size"] > 1 else ""
        return f"{rank}{info['host']} (pid {info['pid']})"

    def loaded(self, token: int = 0) -> ModelLoaded:
        """The model as the window's ``modelLoaded`` takes it."""
        info = self.info
        note = f"Connected to {info['name']} training in {self.where}, step {self.client.step}."
        return ModelLoaded(token=token, name=info["name"], summary=info["summary"],
                           input=info["input"], output_names=tuple(info["output_names"]),
                           warning=None, load_ms=0.0, spec=self.spec, note=note)  # fmt: skip

    # -- the engine's operations ------------------------------------------------------------------
    def configure(self, **changes: Any) -> ForwardSettings:
        sent = {k: v for k, v in changes.items() if k in _SENT}
        self.settings = replace(self.settings, **sent)
        if sent:
            self.client.call("configure", changes=sent)
        return self.settings

    def forward(self, request: ForwardRequest, cancel=None) -> ForwardResult:
        return self.client.call("forward", cancel=cancel, request=request)

    def backward(
        self, request: ForwardRequest, loss: LossSpec, zero_grad: bool = True, cancel=None
    ) -> BackwardResult:
        result = self.client.call("backward", cancel=cancel, request=request, loss=loss,
                                  zero_grad=zero_grad)  # fmt: skip
        # The view is of the recorded graph, the same object (the graph panel checks it by
        # identity); the wire delivers two equal copies.
        return replace(result, view=replace(result.view, source=result.record.graph))

    def parameters(self, path: str, request_id: int = 0) -> ParametersResult:
        return self.client.call("parameters", path=path, request_id=request_id)

    def saved_value(self, node: int, name: str) -> SavedValueResult:
        return self.client.call("saved_value", node=node, name=name)

    def set_comparing(self, on: bool) -> bool:
        if on:
            self._refuse("Compare")
        return False

    def pinned_weights(self) -> None:
        return None

    def training_state(self) -> None:
        return None

    def _refuse(self, what: str) -> None:
        raise RemoteRefused(
            f"{what} is not available on a model training in {self.where}: its script "
            "trains it; disconnect to work on a local model."
        )

    def update(self, lr: float) -> None:
        self._refuse("Update weights")

    def reset(self) -> None:
        self._refuse("Reset weights")

    def reinitialise(self, seed: int = 0) -> None:
        self._refuse("Re-initialising")

    def train_chunk(self, *args: Any, **kwargs: Any) -> None:
        self._refuse("Training in the window")

    def load_weights(self, state: dict) -> None:
        self._refuse("Restoring weights")

    def weights(self) -> None:
        self._refuse("Reading every weight")

    def set_device(self, name: str) -> None:
        self._refuse("Moving the model")

    def pin(self, *args: Any, **kwargs: Any) -> None:
        self._refuse("Pinning A")

    def unpin(self) -> None:
        self._refuse("Unpinning A")

    def check_runs(self, *args: Any, **kwargs: Any) -> None:
        raise ModelLoadError("Disconnect from the training first (File > Disconnect).")

    def open(self, *args: Any, **kwargs: Any) -> None:
        raise ModelLoadError("Disconnect from the training first (File > Disconnect).")

    # -- the training's progress --------------------------------------------------------------
    def progress(self, with_health: bool = True) -> TrainProgress:
        """The training's curves from its ``probe.step`` scalars (``loss``; ``accuracy`` as
        the held-out curve), and the gradient health as recorded at each call. Raises
        ``TrainingGone`` (one sentence) once the training ended or died."""
        client = self.client
        client.pump(0.0)
        steps_known = len(client.scalars)
        if steps_known and max(client.scalars) - min(client.scalars) + 1 != steps_known:
            client.fill_scalars()  # pushes were dropped: ask for what is missing
        if with_health:
            record = client.call("health", step=client.step)
            self._names = tuple(record["names"])
            self._health_steps.append(int(record["step"]))
            self._health.append(np.asarray(record["values"], np.float32))
        return self._progress()

    def _progress(self) -> TrainProgress:
        rows = sorted(self.client.scalars.items())
        losses = np.asarray([v.get("loss", np.nan) for _, v in rows], np.float32)
        accuracy = [(s, v[k]) for s, v in rows for k in ACCURACY_KEYS if k in v]
        health = (np.stack(self._health, axis=2) if self._health
                  else np.zeros((3, len(self._names), 0), np.float32))  # fmt: skip
        step = self.client.step
        return TrainProgress(
            epoch=0, epochs=0, step_in_epoch=step, steps_per_epoch=0, step=step,  # its loop's own
            losses=losses,
            held_steps=np.asarray([s for s, _ in accuracy], np.int64),
            held=np.asarray([a for _, a in accuracy], np.float32),
            test_steps=np.zeros(0, np.int64), test=np.zeros(0, np.float32),
            names=self._names, health_steps=np.asarray(self._health_steps, np.int64),
            health=health, source=f"its own script in {self.where}",
        )  # fmt: skip


__all__ = ["AttachError", "RemoteEngine", "RemoteRefused", "TrainingGone"]
