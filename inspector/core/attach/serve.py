"""The operations a probe runs on the training model, in the training thread between steps.

Each runs through the engine's own typed methods, on the model's device, with the model's
train/eval mode, its RNG state and its parameters' ``.grad`` as the training left them.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn

from inspector.core.attach.describe import example_array, live_opened, model_device
from inspector.core.engine import Engine
from inspector.core.forward.capture import named_outputs
from inspector.core.forward.export import forward_steps
from inspector.core.forward.inference import ForwardSettings, network_input
from inspector.core.forward.summary import summarize
from inspector.core.graph.losses import LossSpec
from inspector.core.model.inputs import make_input, to_tensor

# Above this many parameter values the update/weight ratio is not tracked: it needs a copy of
# the weights between two health requests.
HEALTH_COPY_LIMIT = 64_000_000
_SETTABLE = ("output_index", "focus", "channel_page", "coloured")  # what a viewer may configure


def rank_info(environ: dict | None = None) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    return {
        "rank": int(env.get("RANK", "0") or 0),
        "world_size": int(env.get("WORLD_SIZE", "1") or 1),
        "local_rank": int(env.get("LOCAL_RANK", "0") or 0),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


class ModelServer:
    """The engine around the user's live model, plus what a remote viewer asks of it."""

    def __init__(self, model: nn.Module, example_input: Any = None, name: str | None = None):
        self.example = example_array(example_input)
        opened = live_opened(model, self.example, name)
        self.opened = opened
        self.engine = Engine(opened, str(model_device(opened.model)))
        self.summary = summarize(opened.model)
        self._settings: dict[bytes, ForwardSettings] = {}
        self._health_copy: dict[str, torch.Tensor] | None = None
        self._health_step = 0
        with self.untouched():
            x = self._input(None)
            with torch.inference_mode():
                output = opened.model(x)
        self.output_names = tuple(n for n, _ in named_outputs(output)) or ("output",)

    @property
    def model(self) -> nn.Module:
        return self.engine.model

    def hello(self, step: int) -> dict[str, Any]:
        return {
            "name": self.opened.name,
            "summary": self.summary,
            "input": self.opened.input,
            "output_names": self.output_names,
            "example": self.example,
            "device": str(self.engine.device),
            "step": step,
            "note": self.opened.note,
            **rank_info(),
        }

    @contextlib.contextmanager
    def untouched(self) -> Iterator[None]:
        """The model's mode, the RNG streams and every ``.grad`` as they were on entry."""
        grads = [(p, p.grad) for p in self.model.parameters()]
        was_training = self.model.training
        devices = [self.engine.device.index or 0] if self.engine.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices, device_type="cuda"):
                yield
        finally:
            for p, g in grads:
                p.grad = g
            if self.model.training != was_training:
                self.model.train(was_training)

    # -- operations (the training thread) ---------------------------------------------------
    def configure(self, client: bytes, changes: dict[str, Any]) -> None:
        unknown = set(changes) - set(_SETTABLE)
        if unknown:
            raise ValueError(f"cannot set {', '.join(sorted(unknown))} on an attached model")
        base = self._settings.get(client, ForwardSettings(input=self.opened.input))
        self._settings[client] = replace(base, **changes)

    def run(self, client: bytes, op: str, args: dict[str, Any]) -> Any:
        self.engine.settings = self._settings.get(client, ForwardSettings(input=self.opened.input))
        with self.untouched():
            if op == "forward":
                return self.engine.forward(args["request"])
            if op == "steps":
                array = self._array(args.get("request"))
                x = to_tensor(array, self.opened.input, self.engine.device)
                return {"input": array, "steps": forward_steps(self.model, x)}
            if op == "parameters":
                return self.engine.parameters(str(args["path"]), int(args.get("request_id", 0)))
            if op == "backward":
                loss = args.get("loss") or LossSpec()
                return self.engine.backward(
                    args["request"], loss, bool(args.get("zero_grad", True))
                )
            if op == "saved_value":
                return self.engine.saved_value(int(args["node"]), str(args["name"]))
            if op == "health":
                return self.health(int(args.get("step", 0)))
        raise ValueError(f"unknown operation {op!r}")

    def _array(self, request) -> np.ndarray:
        """The network input for ``request``; without one, the script's example input (or
        an empty canvas)."""
        spec = self.opened.input
        if request is None:
            return make_input(spec, np.zeros((32, 32), np.float32), self.example)
        return network_input(request, spec)

    def _input(self, request) -> torch.Tensor:
        return to_tensor(self._array(request), self.opened.input, self.engine.device)

    @torch.no_grad()
    def health(self, step: int) -> dict[str, Any]:
        """Per parameter tensor: weight norm, gradient norm (the last backward's) and how far
        the weights moved since the last health request, per step, relative to their norm."""
        named = [(n, p) for n, p in self.model.named_parameters()]
        values = np.full((3, len(named)), np.nan, np.float32)
        copy = self._health_copy
        steps = max(1, step - self._health_step)
        for i, (name, p) in enumerate(named):
            weight = torch.linalg.vector_norm(p.detach().float())
            values[0, i] = weight.item()
            values[1, i] = (
                torch.linalg.vector_norm(p.grad.float()).item() if p.grad is not None else 0.0
            )
            if copy is not None and name in copy:
                moved = torch.linalg.vector_norm((p.detach() - copy[name]).float())
                values[2, i] = (moved / weight.clamp_min(1e-12)).item() / steps
        if sum(p.numel() for _, p in named) <= HEALTH_COPY_LIMIT:
            self._health_copy = {n: p.detach().clone() for n, p in named}
        self._health_step = step
        return {"step": step, "names": tuple(n for n, _ in named), "values": values}
