"""The rate limits a real API may enforce, as pure models of time: sliding window, fixed window,
token bucket.

The sandbox answers 429 with them, and the limiter's unit tests drive the same models with a
fake clock, so both agree on what "20 calls per second, sliding" means. Each model says whether
a call arriving at `now` is admitted and, either way, what an honest server could tell about the
limit: the exact wait until the next call would be admitted, and the `RateLimit-*` numbers.
Refused calls do not count against the limit.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import StrEnum


class Shape(StrEnum):
    SLIDING = "sliding"  # at most N calls in any W seconds
    FIXED = "fixed"  # at most N calls in each W-second window, counted from the start
    BUCKET = "bucket"  # N/W calls per second on average, bursts up to `burst`


@dataclass(frozen=True)
class RateRule:
    """`limit` calls per `window_s` seconds, in the given shape (a bucket refills at
    limit/window_s per second and holds `burst` calls, default `limit`)."""

    limit: int
    window_s: float = 1.0
    shape: Shape = Shape.SLIDING
    burst: int | None = None

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window_s <= 0 or (self.burst is not None and self.burst < 1):
            raise ValueError("a rate limit needs at least 1 call, a positive window and burst")


@dataclass(frozen=True)
class Admission:
    """One decision: admitted or not, and what a server could say about its limit."""

    admitted: bool
    wait_s: float  # until the next call would be admitted (0 when one would be now)
    limit: int
    remaining: int
    reset_s: float  # with calls left: until the quota is whole again; with none: `wait_s`


class RateModel:
    """The state of one rule over time; not thread-safe (the caller holds a lock)."""

    def __init__(self, rule: RateRule, start: float = 0.0) -> None:
        self.rule = rule
        self._admitted: deque[float] = deque()  # sliding: admission times within the window
        self._origin = start  # fixed: windows start every window_s seconds from here
        self._window_index = 0  # fixed: the current window
        self._count = 0
        capacity = float(rule.burst or rule.limit)
        self._capacity, self._tokens, self._refilled_at = capacity, capacity, start

    def admit(self, now: float) -> Admission:
        if self.rule.shape is Shape.SLIDING:
            return self._sliding(now)
        if self.rule.shape is Shape.FIXED:
            return self._fixed(now)
        return self._bucket(now)

    def _sliding(self, now: float) -> Admission:
        rule, times = self.rule, self._admitted
        while times and times[0] <= now - rule.window_s:
            times.popleft()
        admitted = len(times) < rule.limit
        if admitted:
            times.append(now)
        full = len(times) >= rule.limit
        wait = times[0] + rule.window_s - now if full else 0.0
        reset = wait if full else (times[-1] + rule.window_s - now if times else 0.0)
        return Admission(admitted, wait, rule.limit, rule.limit - len(times), reset)

    def _fixed(self, now: float) -> Admission:
        rule = self.rule
        index = math.floor((now - self._origin) / rule.window_s)
        if index != self._window_index:
            self._window_index, self._count = index, 0
        admitted = self._count < rule.limit
        self._count += admitted
        reset = self._origin + (index + 1) * rule.window_s - now
        wait = reset if self._count >= rule.limit else 0.0
        return Admission(admitted, wait, rule.limit, rule.limit - self._count, reset)

    def _bucket(self, now: float) -> Admission:
        per_s = self.rule.limit / self.rule.window_s
        self._tokens = min(self._capacity, self._tokens + (now - self._refilled_at) * per_s)
        self._refilled_at = now
        admitted = self._tokens >= 1
        if admitted:
            self._tokens -= 1
        wait = max(0.0, 1 - self._tokens) / per_s
        reset = wait if wait else (self._capacity - self._tokens) / per_s
        return Admission(admitted, wait, int(self._capacity), int(self._tokens), reset)
