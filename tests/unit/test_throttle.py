"""Adaptive throttle: spacing at the ceiling, halving on 429 for everyone, recovery."""

from __future__ import annotations

from bulk_enroll.send.throttle import AdaptiveThrottle


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_calls_are_spaced_by_the_ceiling():
    clock = FakeClock()
    throttle = AdaptiveThrottle(10, clock=clock, sleep=clock.sleep)
    for _ in range(20):
        throttle.acquire()
    assert abs(clock.now - 100 - 19 / 9.5) < 1e-9  # 19 gaps at 95% of the limit


def test_429_halves_the_rate_pauses_everyone_and_successes_recover():
    clock = FakeClock()
    throttle = AdaptiveThrottle(10, clock=clock, sleep=clock.sleep)
    throttle.acquire()
    throttle.too_many_requests(retry_after=3)
    assert throttle.rate == 4.75 and throttle.slowdowns == 1
    before = clock.now
    throttle.acquire()
    assert clock.now - before >= 3  # nobody sends during Retry-After
    for _ in range(40):
        throttle.succeeded()
    assert throttle.rate == 9.5  # back to the ceiling (95% of the limit), never above


def test_without_a_ceiling_a_429_starts_limiting_from_the_observed_rate():
    clock = FakeClock()
    throttle = AdaptiveThrottle(None, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        throttle.acquire()
        clock.now += 0.05  # 20 calls per second observed
    throttle.too_many_requests(retry_after=None)
    assert 8 <= throttle.rate <= 12


def test_a_thread_already_waiting_when_a_pause_starts_waits_for_the_pause_too():
    clock = FakeClock()
    throttle = AdaptiveThrottle(1, clock=clock, sleep=clock.sleep)
    throttle.acquire()  # t=100, next slot ~101.05

    def sleep_and_get_paused(seconds: float) -> None:
        clock.now += seconds
        if not throttle.slowdowns:
            throttle.too_many_requests(retry_after=10)  # another thread's call got a 429

    throttle._sleep = sleep_and_get_paused
    throttle.acquire()
    assert clock.now >= 111  # it did not send during the pause
