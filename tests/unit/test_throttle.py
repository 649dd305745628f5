"""Adaptive throttle: spacing at the ceiling, halving on 429 for everyone, recovery."""

from __future__ import annotations

from bulk_enroll.throttle import AdaptiveThrottle


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
    for _ in range(21):
        throttle.acquire()
    assert abs(clock.now - 102.0) < 1e-9  # 20 gaps of 0.1 s


def test_429_halves_the_rate_pauses_everyone_and_successes_recover():
    clock = FakeClock()
    throttle = AdaptiveThrottle(10, clock=clock, sleep=clock.sleep)
    throttle.acquire()
    throttle.too_many_requests(retry_after=3)
    assert throttle.rate == 5 and throttle.slowdowns == 1
    before = clock.now
    throttle.acquire()
    assert clock.now - before >= 3  # nobody sends during Retry-After
    for _ in range(40):
        throttle.succeeded()
    assert throttle.rate == 10  # back to the ceiling, never above


def test_without_a_ceiling_a_429_starts_limiting_from_the_observed_rate():
    clock = FakeClock()
    throttle = AdaptiveThrottle(None, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        throttle.acquire()
        clock.now += 0.05  # 20 calls per second observed
    throttle.too_many_requests(retry_after=None)
    assert 8 <= throttle.rate <= 12
