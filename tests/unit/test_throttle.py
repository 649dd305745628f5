"""The threads' face of the learner: waiting for slots, pauses that void them, stopping."""

from __future__ import annotations

import pytest

from bulk_enroll.send.throttle import HeldTime, Throttle


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_calls_are_spaced_at_95_percent_of_a_configured_limit():
    clock = FakeClock()
    throttle = Throttle(10, clock=clock, sleep=clock.sleep)
    for _ in range(20):
        throttle.acquire()
    assert abs(clock.now - 100 - 19 / 9.5) < 1e-9


def test_a_thread_waiting_for_its_slot_when_a_pause_starts_waits_for_the_pause_too():
    clock = FakeClock()
    throttle = Throttle(clock=clock, sleep=clock.sleep)
    throttle.refused(clock.now, retry_after=None)  # refused at once: a short pause first

    def sleep_and_get_paused(seconds: float) -> None:
        clock.sleep(seconds)
        if throttle.refusals == 1:  # meanwhile another thread's call: 429, Retry-After: 10
            throttle.refused(clock.now, retry_after=10)

    throttle._sleep = sleep_and_get_paused
    assert throttle.acquire() is not None
    assert clock.now >= 110  # it did not send during the pause


def test_waiting_is_cut_short_by_a_stop():
    clock = FakeClock()
    throttle = Throttle(clock=clock, sleep=clock.sleep)
    throttle.refused(clock.now, retry_after=None)  # refused at once: a pause, then 1 call/s
    stopped = iter([False, True])
    assert throttle.acquire(cancelled=lambda: next(stopped)) is None
    assert all(s <= 0.5 for s in clock.sleeps)  # slices, so a stop is seen within 0.5 s


def test_time_waited_on_the_server_and_stalled_time_are_reported():
    clock = FakeClock()
    throttle = Throttle(clock=clock, sleep=clock.sleep)
    for _ in range(5):
        sent = throttle.acquire()
        assert sent is not None
        throttle.accepted(sent)
    throttle.refused(clock.now, retry_after=3)
    assert throttle.stalled() == (0.0, 3.0)
    assert throttle.waited_s == 0.0  # not yet waited: the pause is ahead
    throttle.acquire()
    assert throttle.waited_s == 3.0 and throttle.learned_rate is not None


def test_pacing_to_the_limit_counts_as_time_held_back():
    clock = FakeClock()
    throttle = Throttle(10, clock=clock, sleep=clock.sleep)
    for _ in range(20):
        throttle.acquire()
    assert throttle.waited_s == pytest.approx(19 / 9.5)  # every gap but the first call's


def test_waits_that_overlap_count_once_and_a_wait_ahead_is_not_waited_yet():
    held = HeldTime()  # intervals start "now", in time order, as the throttle adds them
    held.add(0, 3)  # one worker waits 3 s
    assert held.elapsed(1) == 1  # the rest is still ahead
    held.add(1, 2)  # another waits meanwhile
    held.add(2, 5)  # a third, past the first
    assert held.elapsed(4) == 4
    assert held.elapsed(6) == 5  # nobody waited from 5 to 6
    held.add(7, 8)
    assert held.elapsed(10) == 6
