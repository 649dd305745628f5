"""A request-rate limiter shared by all sender threads, that slows down when the server says 429.

The API publishes no rate limit, so the client learns it: additive increase, multiplicative
decrease (AIMD, as TCP does). A 429 halves the rate for everyone and pauses everyone until its
Retry-After; each success then raises the rate a little, up to the configured ceiling.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

MIN_RATE = 0.2  # calls per second: never slower than one call every five seconds
HEADROOM = 0.95  # aim just under a configured limit: at exactly the limit, jitter means 429s
RECOVERY_STEPS = 20  # successes needed to climb back from half to the ceiling


class AdaptiveThrottle:
    def __init__(self, max_rate: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.ceiling = max_rate * HEADROOM if max_rate and max_rate > 0 else math.inf
        self.rate = self.ceiling
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._recent: deque[float] = deque(maxlen=32)
        self.slowdowns = 0

    def acquire(self) -> None:
        """Block until this thread may send its next call.

        A thread that was already waiting for its slot when a 429 paused everyone waits for
        the pause too (it takes a new slot after it), so nobody sends during Retry-After.
        """
        while True:
            with self._lock:
                now = self._clock()
                start = max(now, self._next_slot, self._paused_until)
                if math.isfinite(self.rate):
                    self._next_slot = start + 1.0 / self.rate
                pause_seen = self._paused_until
            if start > now:
                self._sleep(start - now)
            with self._lock:
                if self._paused_until <= pause_seen:
                    self._recent.append(start)
                    return

    def too_many_requests(self, retry_after: float | None) -> None:
        """The server said 429: halve the rate and pause everyone for `retry_after`."""
        with self._lock:
            now = self._clock()
            current = self.rate if math.isfinite(self.rate) else self._observed_rate(now)
            self.rate = max(MIN_RATE, current / 2)
            self._next_slot = max(self._next_slot, now)
            if retry_after:
                self._paused_until = max(self._paused_until, now + retry_after)
            self.slowdowns += 1

    def succeeded(self) -> None:
        """A call went through: creep back towards the ceiling."""
        with self._lock:
            if not math.isfinite(self.rate) or self.rate >= self.ceiling:
                return
            reference = self.ceiling if math.isfinite(self.ceiling) else self.rate * 2
            self.rate = min(self.ceiling, self.rate + reference / (2 * RECOVERY_STEPS))

    def _observed_rate(self, now: float) -> float:
        """Calls per second over the recent window (used when no ceiling was configured)."""
        if len(self._recent) < 2:
            return 1.0
        span = max(now - self._recent[0], 1e-3)
        return len(self._recent) / span
