"""The worker's scheduling policy, as tables of events at given times and the decisions they
must give. The clock is a variable the table sets: no threads, no sleeps."""

from __future__ import annotations

import pytest

from inspector.core.runtime.schedule import KNOBS, Knobs, Schedule


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def play(events: list[tuple], last_forward_ms: float = 100.0) -> list:
    """Run ``(time_ms, event, *args)`` rows through a Schedule whose last forward took
    ``last_forward_ms``; return what each row decided (None for events that decide nothing)."""
    clock = Clock()
    schedule = Schedule(KNOBS, clock)
    schedule.last_forward_ms = last_forward_ms
    decided = []
    for time_ms, event, *args in events:
        clock.now = time_ms / 1000
        decided.append(getattr(schedule, event)(*args))
    return decided


# A 100 ms forward: stopping is allowed before 50 ms (supersede_before), for inputs that had
# waited under 25 ms (supersede_fresh).
SUPERSEDING = [
    (
        "an input early in a fresh long forward stops it",
        [
            (0, "input_arrived"),
            (1, "take_input"),
            (1, "forward_started", True),
            (30, "input_arrived"),
        ],
        [False, True, None, True],
    ),
    (
        "an input late in the forward waits for it",
        [
            (0, "input_arrived"),
            (1, "take_input"),
            (1, "forward_started", True),
            (60, "input_arrived"),
        ],
        [False, True, None, False],
    ),
    (
        "a forward whose input waited (a fast stroke) is not stopped",
        [
            (0, "input_arrived"),
            (40, "take_input"),
            (40, "forward_started", False),
            (45, "input_arrived"),
        ],
        [False, False, None, False],
    ),
    (
        "the forward a stop started runs to its end",
        [
            (0, "input_arrived"),
            (0, "take_input"),
            (0, "forward_started", True),
            (10, "input_arrived"),
            (11, "forward_stopped"),
            (11, "forward_ended"),
            (11, "forward_started", False),
            (12, "input_arrived"),
        ],
        [False, True, None, True, None, None, None, False],
    ),
    (
        "no forward running: nothing to stop",
        [(0, "input_arrived"), (5, "input_arrived")],
        [False, False],
    ),
    (
        "the oldest input's wait counts, not the newest's",
        [(0, "input_arrived"), (20, "input_arrived"), (30, "take_input")],
        [False, False, False],
    ),
]


@pytest.mark.parametrize(
    ("events", "decisions"),
    [pytest.param(e, d, id=name) for name, e, d in SUPERSEDING],
)
def test_superseding(events, decisions):
    assert play(events) == decisions


def test_a_short_forward_is_never_stopped():
    events = [(0, "input_arrived"), (0, "take_input"), (0, "forward_started", True),
              (1, "input_arrived")]  # fmt: skip
    assert play(events, last_forward_ms=KNOBS.supersede_above_ms - 1)[-1] is False
    assert play(events, last_forward_ms=KNOBS.supersede_above_ms)[-1] is True


def test_the_forward_time_comes_from_forwards_that_ended():
    clock = Clock()
    schedule = Schedule(clock=clock)
    schedule.forward_started(True)
    assert schedule.running
    schedule.forward_ended(None)  # stopped or failed: its time says nothing
    assert not schedule.running and schedule.last_forward_ms == 0.0
    schedule.forward_started(True)
    schedule.forward_ended(42.0)
    assert schedule.last_forward_ms == 42.0


def test_only_a_forward_waits_for_the_frame():
    schedule = Schedule(Knobs(frame_timeout_s=0.3))
    assert schedule.frame_wait_s(forward_waiting=True) == 0.3
    assert schedule.frame_wait_s(forward_waiting=False) == 0.0


# (forward ms, threads it ran on) -> threads next, on 2 cores: every core from 8 ms up on one
# thread, back to one below 4 ms on two; in between it stays (one threshold flipped a 15 ms
# ResNet-18 on every frame).
THREADS = [
    (0.0, 1, 1),
    (2.0, 2, 1),
    (6.0, 1, 1),
    (6.0, 2, 2),
    (8.0, 1, 2),
    (11.0, 2, 2),
    (18.0, 1, 2),
    (3.9, 2, 1),
]


@pytest.mark.parametrize(("forward_ms", "current", "wanted"), THREADS)
def test_threads(forward_ms, current, wanted):
    assert Schedule().threads(forward_ms, current, cores=2) == wanted


def test_one_core_always_gets_one_thread():
    assert Schedule().threads(100.0, 1, cores=1) == 1
    assert Schedule().threads(0.0, 1, cores=1) == 1
