"""The one thread that owns the engine: a latest-wins slot for forwards, a queue for the rest.

Forward requests go into a single slot: a newer input replaces one that has not started, so a
fast stroke never builds a backlog. Everything else is a ``Job`` (a callable on the engine), run
in the order asked before the next forward; its result, or its one-sentence failure, comes back
through generic signals. Nothing else ever touches the model.

Work that runs user code for an unbounded time (building a model from a ``.py`` file) runs in a
side thread that Cancel and quitting can leave behind: Python threads cannot be killed, and
``QThread.terminate()`` on a thread running Python aborts the process.
"""

from __future__ import annotations

import threading
import traceback
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from PySide6.QtCore import QThread, Signal

from inspector.core.engine import CancelFlag, Engine
from inspector.core.forward.capture import Cancelled
from inspector.core.forward.results import ForwardRequest
from inspector.core.runtime.schedule import Schedule
from inspector.core.runtime.threads import usable_cores


@dataclass(eq=False)
class Job:
    """One piece of work on the engine. ``run(engine, cancel)`` runs on the worker thread (or,
    if ``abandonable``, in a side thread, and must then not change the engine); ``then(engine,
    result)``, if given, runs on the worker afterwards; ``done(result)`` runs on the GUI thread."""

    kind: str
    what: str  # for messages: "The backward pass" failed: ...
    run: Callable[[Engine, CancelFlag], Any]
    done: Callable[[Any], None] | None = None
    then: Callable[[Engine, Any], Any] | None = None
    latest_only: bool = False  # a newer job of the same kind replaces this one if not started
    abandonable: bool = False
    result: Any = None
    cancelled: threading.Event = field(default_factory=threading.Event)  # Cancel, even early


class Either:
    """Looks set when either event is (what core's ``check`` asks of a cancel flag)."""

    def __init__(self, *events: threading.Event) -> None:
        self._events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self._events)


class Runner(QThread):
    """The worker thread; what it decides (superseding, pacing, threads) ``schedule`` does."""

    forwardStarted = Signal(int)  # the request id of a forward the worker starts
    forwardReady = Signal(object)  # ForwardResult
    jobDone = Signal(object)  # Job, with its result
    jobFailed = Signal(object, str, str)  # Job, one sentence, details
    jobCancelled = Signal(object)  # Job the user stopped

    def __init__(self, engine: Engine, parent=None, schedule: Schedule | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inferenceWorker")
        self.engine = engine
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._forward: ForwardRequest | None = None
        self._jobs: deque[Job] = deque()
        self._stopping = False
        self._stop = threading.Event()  # set on stop: running work gives up at its next op
        self._user_cancel = threading.Event()  # set by Cancel: the running job gives up
        # Frame pacing: set when the last result is on screen. Computing the next forward while
        # the GUI thread paints the last one only makes both fight over the GIL and the cores;
        # waiting and then taking the newest input gives fresher frames sooner.
        self._frame_shown = threading.Event()
        self._frame_shown.set()
        self._superseded = threading.Event()  # set by submit: the running forward gives up
        self.schedule = schedule or Schedule()
        self.submitted = 0  # forward requests handed in
        self.computed = 0  # forward requests actually run
        self.superseded = 0  # forwards stopped early for a newer input

    # -- called from the GUI thread -------------------------------------------------------
    def submit(self, request: ForwardRequest) -> None:
        with self._lock:
            self.submitted += 1
            self._forward = request
            if self.schedule.input_arrived():
                self._superseded.set()
        self._wake.set()

    def call(self, job: Job) -> None:
        with self._lock:
            if job.latest_only:  # only the newest of these matters (e.g. the latest selection)
                self._jobs = deque(j for j in self._jobs if j.kind != job.kind)
            self._jobs.append(job)
        self._wake.set()

    def cancel(self) -> None:
        """Stop the job in progress (a backward at its next node, an open at once)."""
        self._user_cancel.set()

    def frame_shown(self) -> None:
        """The GUI has painted the last result: the next forward may start."""
        self._frame_shown.set()

    def stop(self, timeout_ms: int = 1000) -> bool:
        """End the loop: work in progress stops at its next op or node. Returns False if the
        thread is still busy after ``timeout_ms`` (one huge kernel); it is then left to finish
        on its own — never terminated, which would abort the process."""
        with self._lock:
            self._stopping = True
        self._stop.set()
        self._wake.set()
        self._frame_shown.set()
        if self.wait(timeout_ms):
            return True
        _LEFT_BEHIND.append(self)  # keep the object alive while its thread runs
        return False

    # -- the worker thread ----------------------------------------------------------------
    def run(self) -> None:
        self._use_threads(self.schedule.last_forward_ms)
        while True:
            self._wake.wait()
            with self._lock:
                if self._stopping:
                    return
                jobs, self._jobs = list(self._jobs), deque()
            for job in jobs:
                self._run_job(job)
                if self._stop.is_set():
                    return
            with self._lock:
                wait_s = self.schedule.frame_wait_s(forward_waiting=self._forward is not None)
            if wait_s:
                self._frame_shown.wait(wait_s)
            with self._lock:
                if self._stopping:
                    return
                if self._jobs:  # asked for while we waited: they go before the forward
                    continue
                request, self._forward = self._forward, None
                fresh = self.schedule.take_input() if request is not None else False
                self._wake.clear()
            if request is not None:
                self._run_forward(request, fresh)

    def _use_threads(self, forward_ms: float) -> None:
        """The worker's torch threads for its next forward (``Schedule.threads``; torch's
        thread count is per calling thread: this sets the worker's own)."""
        current = torch.get_num_threads()
        wanted = self.schedule.threads(forward_ms, current, usable_cores())
        if current != wanted:
            torch.set_num_threads(wanted)

    def _run_forward(self, request: ForwardRequest, fresh: bool) -> None:
        """``fresh``: its input had not waited, so a newer one may stop it (once)."""
        with self._lock:
            self._superseded.clear()
            self.schedule.forward_started(fresh)
        self.forwardStarted.emit(request.request_id)
        newer = None
        forward_ms = None
        try:
            result = self.engine.forward(request, Either(self._stop, self._superseded))
        except Cancelled:
            if not self._stop.is_set():
                with self._lock:  # a newer input: it starts now, and runs to its end
                    newer, self._forward = self._forward, None
                    self.schedule.forward_stopped()
                    self.superseded += 1
            return
        except Exception as exc:  # the worker must survive anything a model does
            job = Job("forward", "The forward pass", lambda e, c: None)
            self.jobFailed.emit(job, _sentence(job, exc), traceback.format_exc())
            return
        else:
            forward_ms = result.forward_ms
        finally:
            with self._lock:
                self.schedule.forward_ended(forward_ms)
            if newer is not None:
                self._run_forward(newer, fresh=False)
        self._use_threads(result.forward_ms)
        with self._lock:
            self.computed += 1
        self._frame_shown.clear()
        self.forwardReady.emit(result)

    def _run_job(self, job: Job) -> None:
        self._user_cancel.clear()  # a Cancel pressed after the last work finished means nothing
        cancel = Either(self._stop, self._user_cancel, job.cancelled)
        try:
            if cancel.is_set():
                raise Cancelled
            if job.abandonable:
                result = self._in_side_thread(job, cancel)
            else:
                result = job.run(self.engine, cancel)
            if job.then is not None:
                if cancel.is_set():  # cancelled while it ran: do not switch to its result
                    raise Cancelled
                result = job.then(self.engine, result)
        except Cancelled:
            if not self._stop.is_set():  # the user's Cancel, not the app quitting
                self.jobCancelled.emit(job)
            return
        except BaseException as exc:
            self.jobFailed.emit(job, _sentence(job, exc), traceback.format_exc())
            return
        job.result = result
        self.jobDone.emit(job)

    def _in_side_thread(self, job: Job, cancel: Either) -> Any:
        box: dict[str, Any] = {}
        finished = threading.Event()

        def work() -> None:
            try:
                # A new thread starts with the count last set anywhere (the GUI thread's 1).
                torch.set_num_threads(usable_cores())
                box["result"] = job.run(self.engine, cancel)
            except BaseException as exc:
                box["error"] = exc
            finally:
                finished.set()

        thread = threading.Thread(target=work, name=f"{job.kind}-side", daemon=True)
        _SIDE_THREADS.add(thread)
        thread.start()
        while not finished.wait(self.schedule.knobs.poll_s):
            if cancel.is_set():
                raise Cancelled  # the side thread finishes (or not) on its own; nobody waits
        if "error" in box:
            raise box["error"]
        return box["result"]


_LEFT_BEHIND: list[Runner] = []
_SIDE_THREADS: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def threads_left_behind() -> bool:
    """Whether quitting left a worker or a side thread busy (a model constructor still running
    Python after Cancel or quit): the app then exits without waiting for it."""
    return any(r.isRunning() for r in _LEFT_BEHIND) or any(
        t.is_alive() for t in list(_SIDE_THREADS)
    )


def _sentence(job: Job, exc: BaseException) -> str:
    text = str(exc)
    # A ModelLoadError (or a connection's error) already is one sentence naming what is wrong.
    if type(exc).__name__ == "ModelLoadError" or getattr(exc, "one_sentence", False):
        return text
    return (
        f"{job.what} failed: {type(exc).__name__}: {text}"
        if text
        else f"{job.what} failed: {type(exc).__name__}"
    )
