"""The worker's scheduling policy as a plain object: whether a newer input stops the running
forward, whether a forward waits for the last result to be on screen, how many torch threads a
forward gets, how long a training chunk runs.

No threads and no Qt: the runner tells ``Schedule`` what happened (an input came, a forward
started or ended) under its own lock and asks it what to do; the clock is injected, so tests
are tables of events and decisions. Every knob is in ``Knobs``, with what set it. Figures
marked "AMD EPYC" were measured on a 2-core AMD EPYC VM shared with other work (interleaved
runs, ``net-inspector bench``); its speed drifts by a fifth within a minute.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Knobs:
    # Pacing: a forward waits for the last result to be on screen, for every model, since
    # torch's threads and the GUI thread painting fight over the cores (a preempted thread
    # stalls the others at the next barrier) and over the GIL. Pacing every forward rather than
    # only those under 15 ms gave the lower p95 in 11 of 13 interleaved runs (AMD EPYC):
    # ResNet-50 60-92 ms against 82-91, ResNet-18 30-59 against 44-62, frames as often.
    # The wait ends after this long anyway: a hidden or minimised window never paints. Not
    # tuned: it only has to be longer than a frame's paint (a few ms) and short enough that
    # a window nobody sees still computes 20 forwards a second.
    frame_timeout_s: float = 0.05
    # Superseding: a newer input arriving before this fraction of the last forward's time
    # stops the running forward at its next op, and starts at once, so a click after a pause
    # waits one forward, not up to two ...
    supersede_before: float = 0.5
    # ... but only a forward whose input had not waited (taken within this fraction of a
    # forward of its arrival): in a stroke faster than the forward every input waits anyway,
    # and stopping one delays what it serves. ResNet-50 (AMD EPYC, three runs each): stopping
    # any early forward gave a frame every 1.21-1.32 forwards, stopping only fresh ones every
    # 1.07-1.10, p95 no worse (3.8-4.0 bare forwards against 4.0-4.7).
    supersede_fresh: float = 0.25
    # ... and only forwards at least this long. Not tuned by a measurement: stopping one saves
    # at most ``supersede_before`` of it, under 7.5 ms here, less than half a 60 Hz frame,
    # while each stop throws away the work already done.
    supersede_above_ms: float = 15.0
    # Threads: a forward at least ``threads_up_ms`` long on one core fewer gets every core;
    # one shorter than ``threads_down_ms`` on every core leaves a core to the GUI thread. One
    # threshold (15 ms) flipped a ResNet-18 between 18 ms on one thread and 11 on two on every
    # frame (AMD EPYC); a LeNet takes ~2 ms, so it always leaves the GUI its core.
    threads_up_ms: float = 8.0
    threads_down_ms: float = 4.0
    # Training in the window: a chunk is at most this many batches or about this long; the
    # drawing's forwards run between chunks, so a chunk's length is what a forward may wait
    # while training, and each chunk's answer costs a round trip through the GUI thread.
    # 200 ms is what the window trained with when `bench --train` measured 0.68-0.95 of the
    # headless speed while drawing (AMD EPYC); 150 against 200 showed no difference under
    # load (Intel Xeon, docs/performance.md).
    chunk_batches: int = 64
    chunk_ms: float = 200.0
    # How often a wait for abandonable work (a model's constructor) looks at Cancel: a Cancel
    # is answered within this, and the idle wait costs nothing measurable.
    poll_s: float = 0.05


KNOBS = Knobs()


class Schedule:
    """The decisions of one worker. Not thread-safe: the runner calls it under its lock."""

    def __init__(self, knobs: Knobs = KNOBS, clock: Callable[[], float] = time.perf_counter):
        self.knobs = knobs
        self.clock = clock
        self.last_forward_ms = 0.0  # the last forward that ran to its end
        self._waiting_since: float | None = None  # the oldest input not yet taken
        self._started: float | None = None  # when the running forward began
        self._supersedable = False  # a newer input may stop the running forward

    @property
    def running(self) -> bool:
        """Whether a forward is running."""
        return self._started is not None

    def input_arrived(self) -> bool:
        """A newer input came: whether the running forward should stop for it (it is long,
        its input had not waited, and it is still early)."""
        now = self.clock()
        if self._waiting_since is None:
            self._waiting_since = now
        k = self.knobs
        if self._started is None or not self._supersedable:
            return False
        if self.last_forward_ms < k.supersede_above_ms:
            return False
        return (now - self._started) * 1000 < k.supersede_before * self.last_forward_ms

    def frame_wait_s(self, forward_waiting: bool) -> float:
        """How long the worker may wait for the last result to be on screen before taking
        the next input: only a forward waits (jobs, a training chunk say, never do)."""
        return self.knobs.frame_timeout_s if forward_waiting else 0.0

    def take_input(self) -> bool:
        """The worker takes the newest input now: whether it is fresh (it had waited less
        than ``supersede_fresh`` of a forward), so that a newer one may stop its forward."""
        since, self._waiting_since = self._waiting_since, None
        waited_ms = 0.0 if since is None else (self.clock() - since) * 1000
        return waited_ms < self.knobs.supersede_fresh * self.last_forward_ms

    def forward_started(self, fresh: bool) -> None:
        self._started, self._supersedable = self.clock(), fresh

    def forward_stopped(self) -> None:
        """The running forward stopped for a newer input, which is taken at once and runs
        to its end (``forward_started(fresh=False)``), or a fast stroke would get no frame."""
        self._started = None
        self._waiting_since = None

    def forward_ended(self, forward_ms: float | None = None) -> None:
        """The running forward ended: with its time, or None if it failed or was stopped."""
        self._started = None
        if forward_ms is not None:
            self.last_forward_ms = forward_ms

    def threads(self, forward_ms: float, current: int, cores: int) -> int:
        """torch threads for the worker after a forward of ``forward_ms`` run on ``current``
        threads: every core for a long forward (it is the frame rate's limit), one fewer for
        a short one, with a gap between the two thresholds so that it does not flip."""
        k = self.knobs
        every = current >= cores
        wanted = (
            cores if forward_ms >= (k.threads_down_ms if every else k.threads_up_ms) else cores - 1
        )
        return max(1, wanted)
