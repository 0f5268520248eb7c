"""The GUI thread's handle on the engine: typed requests in, typed signals out.

Each method wraps one engine operation in a ``Job`` for the runner; results come back here on
the GUI thread, where stale ones are dropped (an older forward, a superseded selection or
backward, a cancelled open) before the signal carrying the result goes out.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from torch import nn

from inspector.core.engine import Engine
from inspector.core.feed.named import reseed
from inspector.core.files.loading import OpenedModel, open_model
from inspector.core.files.session_restore import prepare_restore
from inspector.core.forward.results import DeviceResult, ForwardRequest, ForwardResult
from inspector.core.graph.losses import LossSpec
from inspector.gui.work.runner import Job, Runner
from inspector.gui.work.training_calls import TrainingCalls


class Compute(TrainingCalls, QObject):
    """Owns the runner thread. Panels connect to its signals and never see the model."""

    forwardReady = Signal(object)  # ForwardResult, never older than one already delivered
    parametersReady = Signal(object)  # ParametersResult for the latest selection only
    deviceChanged = Signal(object)  # DeviceResult
    backwardReady = Signal(object)  # BackwardResult of the latest Backward press only
    weightsUpdated = Signal(object)  # UpdateResult
    savedValueReady = Signal(object)  # SavedValueResult
    viewReady = Signal(object)  # LaidOutView of the graph, re-collapsed on request
    modelLoaded = Signal(object)  # ModelLoaded, for the latest Open only
    workCancelled = Signal(str)  # the kind of job the user stopped
    stateReady = Signal(object)  # the current weights: CPU tensors, each in its own dtype
    loadFailed = Signal(str, str)  # one sentence, details; the previous model stays
    failed = Signal(str, str)  # one sentence, details
    pinChanged = Signal(object)  # core.compare.PinResult: what is pinned as A now
    pinWeightsReady = Signal(object)  # A's weights (CPU tensors), or None: for a session file
    comparingChanged = Signal(bool)  # the engine compares (or not) from its next result on
    # core.files.session_restore.Restored, after modelLoaded and the signals of its parts
    restored = Signal(object)
    editsChanged = Signal(object)  # core.edits.board.EditsResult: the interventions made now
    sweepPlanned = Signal(object)  # core.edits.sweep.SweepPlan
    sweepRowReady = Signal(object)  # core.edits.sweep.SweepRow

    def __init__(self, opened: OpenedModel, device: str = "cpu", parent: QObject | None = None):
        super().__init__(parent)
        self._ids = itertools.count(1)
        self.latest_request_id = 0
        self.shown_request_id = 0
        self.last_result: ForwardResult | None = None  # the latest delivered, of this model
        self._latest: dict[str, int] = {}  # kind -> id of the request whose answer counts
        self._jobs: dict[str, Job] = {}  # kind -> the latest job of that kind
        self.local_engine = Engine(opened, device)  # the model opened here (not a probe's)
        self.runner = Runner(self.local_engine)
        self.runner.forwardReady.connect(self._on_forward)
        self.runner.jobDone.connect(self._on_done)
        self.runner.jobFailed.connect(self._on_failed)
        self.runner.jobCancelled.connect(self._on_cancelled)
        self.runner.start()

    # -- plumbing ---------------------------------------------------------------------------
    def _call(self, kind: str, what: str, run, done=None, **options) -> int:
        """Queue ``run(engine, cancel)``; ``done(result)`` gets the answer if still wanted."""
        ident = next(self._ids)
        self._latest[kind] = ident

        def deliver(result, kind=kind, ident=ident) -> None:
            # A superseded answer is dropped, except a model switched to: the panels must
            # show the model the engine has.
            if done is not None and (self._latest.get(kind) == ident or kind == "open"):
                done(result)

        job = Job(kind, what, run, deliver, **options)
        self._jobs[kind] = job
        self.runner.call(job)
        return ident

    @Slot(object)
    def _on_done(self, job: Job) -> None:
        if job.done is not None:
            job.done(job.result)

    @Slot(object, str, str)
    def _on_failed(self, job: Job, message: str, details: str) -> None:
        if job.kind == "open":
            if self._latest.get("open") is not None:
                self._latest.pop("open")
                self.loadFailed.emit(message, details)
            return
        self.failed.emit(message, details)

    @Slot(object)
    def _on_cancelled(self, job: Job) -> None:
        self.workCancelled.emit(job.kind)

    # -- input ------------------------------------------------------------------------------
    def request(
        self, drawing: np.ndarray, raw_input: np.ndarray | None = None, seed: int = 0
    ) -> ForwardRequest:
        """A frozen snapshot of the input with a new, rising id."""
        raw = None if raw_input is None else np.array(raw_input, copy=True)
        return ForwardRequest(next(self._ids), np.array(drawing, np.float32), raw, seed)

    def submit(
        self, drawing: np.ndarray, raw_input: np.ndarray | None = None, seed: int = 0
    ) -> int:
        """Snapshot the input and hand it to the worker; returns the request id."""
        request = self.request(drawing, raw_input, seed)
        self.runner.submit(request)
        self.latest_request_id = request.request_id
        return request.request_id

    def configure(self, **changes) -> None:
        """Input, output index, focused module, channel page for the following forwards."""
        self.runner.call(Job("configure", "Changing the forward settings", _configure(changes)))

    def set_input_seeds(self, seeds, done=None) -> None:
        """The other inputs of a model with several drawn from ``seeds`` ((name, seed) pairs)
        for the following forwards (``core.feed.named.reseed``); ``done()`` once they are."""
        run = lambda engine, cancel: reseed(getattr(engine, "model", None), dict(seeds))  # noqa: E731
        self._call("inputs", "Drawing the other inputs", run, done and (lambda _inputs: done()))

    def frame_shown(self) -> None:
        """Every visible panel shows the latest result: let the worker compute the next."""
        self.runner.frame_shown()

    @Slot(object)
    def _on_forward(self, result: ForwardResult) -> None:
        if result.request_id < self.shown_request_id:
            return  # an older result arriving late must not replace a newer one
        self.shown_request_id = result.request_id
        self.last_result = result
        self.forwardReady.emit(result)

    # -- operations -------------------------------------------------------------------------
    def run_backward(self, request: ForwardRequest, loss: LossSpec, zero_grad: bool) -> int:
        """Forward ``request`` with grad, then backward with every node hooked."""
        return self._call(
            "backward",
            "The backward pass",
            lambda e, cancel: e.backward(request, loss, zero_grad, cancel),
            self.backwardReady.emit,
        )

    def lay_out(self, record, collapsed: frozenset[str], saved: bool) -> int:
        """Collapse and lay out a recorded graph again (off the GUI thread)."""
        from inspector.core.graph.collapse import lay_out

        return self._call(
            "view",
            "Laying out the graph",
            lambda e, c: lay_out(record.graph, collapsed, saved),
            self.viewReady.emit,
            latest_only=True,
        )

    def update_weights(self, lr: float) -> None:
        self._call("update", "Updating the weights", lambda e, c: e.update(lr), self._updated)

    def reset_weights(self) -> None:
        self._call("reset", "Resetting the weights", lambda e, c: e.reset(), self._updated)

    def request_weights(self) -> None:
        self._call("weights", "Reading the weights", lambda e, c: e.weights(), self.stateReady.emit)

    def select_module(self, path: str) -> None:
        self._call(
            "parameters",
            "Reading parameters",
            lambda e, c: e.parameters(path),
            self.parametersReady.emit,
            latest_only=True,
        )

    def request_saved_value(self, node: int, name: str) -> None:
        self._call(
            "saved",
            "Reading a saved tensor",
            lambda e, c: e.saved_value(node, name),
            self.savedValueReady.emit,
            latest_only=True,
        )

    def set_device(self, device: str) -> None:
        run = lambda e, c: e.set_device(device)  # noqa: E731
        self._call("device", "Moving the model", run, self.deviceChanged.emit)

    def open_model(
        self,
        spec: str,
        weights: str | None = None,
        trust: bool = False,
        input_shape=None,
        input_dtype: str | None = None,
        prepare: Callable[[nn.Module], None] | None = None,
        from_elsewhere: bool = False,
        inputs: tuple[str, ...] = (),
    ) -> int:
        """Open a model on the worker: built in a side thread that Cancel can leave behind,
        switched to only once it runs on its input. ``prepare(model)`` (e.g. putting a
        session's weights in) runs on the new model first; if it raises, the open fails and
        the previous model stays. ``from_elsewhere``: a session's or the remembered model,
        tried in a child process first even if it is a ``.py`` (``loading.open_model``'s
        ``probe``). ``inputs``: ``--input`` texts of a model with several."""

        def build(engine: Engine, cancel) -> tuple[OpenedModel, tuple[str, ...], float]:
            started = time.perf_counter()
            opened = open_model(
                spec, weights, trust, input_shape, input_dtype, from_elsewhere or None, inputs
            )
            if prepare is not None:
                prepare(opened.model)
            return (*engine.check_runs(opened, opened.model.to(engine.device)), started)

        def adopt(engine: Engine, built: tuple[OpenedModel, tuple[str, ...], float]):
            opened, names, started = built  # it ran once already: no second forward
            return engine.open(spec, opened=opened, token=token, names=names, started=started)

        token = self._call(
            "open", "Opening the model", build, self._loaded, then=adopt, abandonable=True
        )
        return token

    def restore(self, saved, source: str, reuse_model: bool = False) -> int:
        """Restore a session in one job (``Engine.restore``): built aside in a side thread
        Cancel can leave behind, taken over at once; a failure is ``loadFailed`` and changes
        nothing. ``reuse_model``: the current model is the session's, opened with its weights
        (the command line does that before the window exists). Answers with ``modelLoaded``,
        then its device, pin and backward pass, then ``restored``, in one GUI step."""

        def build(engine: Engine, cancel):
            opened = engine.opened if reuse_model else None
            return prepare_restore(engine, saved, source, cancel, opened)

        def take_over(engine: Engine, built):
            restored = engine.take_over(*built)
            return replace(restored, loaded=replace(restored.loaded, token=token))

        token = self._call("open", "Opening the session", build, self._restored,
                           then=take_over, abandonable=not reuse_model)  # fmt: skip
        return token

    def _restored(self, restored) -> None:
        self._loaded(restored.loaded)
        self.deviceChanged.emit(DeviceResult(restored.device, True))
        if restored.pin is not None:
            self.pinChanged.emit(restored.pin)
        if restored.backward is not None:
            self.backwardReady.emit(restored.backward)
        self.restored.emit(restored)

    def switch_engine(self, what: str, build, adopt) -> int:
        """Put another engine behind the same operations (a probe's ``RemoteEngine``, or the
        local one back): ``build(engine, cancel)`` runs in a side thread Cancel can leave
        behind; ``adopt(engine, built)`` runs on the worker and returns ``(new engine,
        ModelLoaded)``. The panels then follow ``modelLoaded`` as for an opened model."""

        def then(engine, built):
            new, loaded = adopt(engine, built)
            self.runner.engine = new
            return loaded

        return self._call("open", what, build, self._loaded, then=then, abandonable=True)

    def _loaded(self, loaded) -> None:
        self.last_result = None  # the previous model's
        self.modelLoaded.emit(loaded)

    def is_current(self, kind: str, ident: int) -> bool:
        """Whether ``ident`` is the latest request of ``kind`` still wanted (not cancelled,
        failed or superseded)."""
        return self._latest.get(kind) == ident

    def cancel_load(self) -> None:
        """The user gave up waiting: the model being opened is dropped, now or when ready."""
        self._latest.pop("open", None)
        job = self._jobs.get("open")
        if job is not None:
            job.cancelled.set()

    def cancel_work(self) -> None:
        """Stop the backward pass in progress (at its next node); the model is left as it was."""
        self.runner.cancel()

    def shutdown(self) -> bool:
        """Stop the worker; False if it was left behind busy (the app need not wait for it)."""
        return not self.runner.isRunning() or self.runner.stop()

    # -- answers that update what the proxy knows ------------------------------------------------
    def _updated(self, result) -> None:
        self.weightsUpdated.emit(result)

    # -- compare: A (pinned) against B (now) --------------------------------------------------
    def pin(self, request: ForwardRequest, weights: dict | None = None) -> None:
        """Pin ``request`` and the weights as they are now (or ``weights``: a session's A) as A;
        the worker keeps its own copy of them."""
        run = lambda e, c: e.pin(request, weights)  # noqa: E731
        self._call("pin", "Pinning A", run, self.pinChanged.emit)

    def unpin(self) -> None:
        self._call("pin", "Unpinning A", lambda e, c: e.unpin(), self.pinChanged.emit)

    def set_comparing(self, on: bool) -> None:
        """Forwards, backwards and parameters come with their comparison against A while on."""
        run = lambda e, c: e.set_comparing(on)  # noqa: E731
        self._call("comparing", "Switching Compare", run, self.comparingChanged.emit)

    def request_pin_weights(self) -> None:
        run = lambda e, c: e.pinned_weights()  # noqa: E731
        self._call("pin weights", "Reading A's weights", run, self.pinWeightsReady.emit)

    # -- interventions (core.edits) --------------------------------------------------------------
    def set_edits(self, edits: tuple) -> None:
        """The interventions the following forwards and backwards make."""
        run = lambda e, c: e.set_edits(edits)  # noqa: E731
        done = self.editsChanged.emit
        self._call("edits", "Setting the interventions", run, done, latest_only=True)

    def plan_sweep(self, request: ForwardRequest, step: int, token: int | None = None) -> int:
        """Prepare patching every position of every step of ``step``'s kind from A, watching
        the last position's logit of ``token`` (None: B's likeliest)."""
        run = lambda e, c: e.plan_sweep(request, step, token=token)  # noqa: E731
        return self._call("sweep", "Planning the sweep", run, self.sweepPlanned.emit)

    def sweep_row(self, row: int) -> int:
        run = lambda e, c: e.sweep_row(row, c)  # noqa: E731
        return self._call("sweep", f"Row {row + 1} of the sweep", run, self.sweepRowReady.emit)


def _configure(changes: dict):
    return lambda engine, cancel: engine.configure(**changes)
