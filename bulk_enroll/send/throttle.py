"""The rate limiter the sender's worker threads share: a lock and a sleep around `RateLearner`.

The learning (estimate, pauses, probing) is in `rate_learner.py`, a pure object of time; this
module only makes it safe for several threads and turns its slots into waiting. Waits are cut
into short slices so a stop (Ctrl-C, no progress) is noticed within half a second. It also
counts the time the limit held sending back (`waited_s`), which progress and the report show.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bulk_enroll.send.rate_learner import RateLearner
from bulk_enroll.transport.rate_headers import RateLimitHint

WAIT_SLICE_S = 0.5


class Throttle:
    """Hands out send slots; hears every answer's verdict on the limit."""

    def __init__(self, max_rate: float | None = None, *, remembered: float | None = None,
                 window: float | None = None,
                 clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if clock is None and sleep is not time.sleep:
            # A stand-in sleep (tests) moves a virtual clock, or waiting would spin in real time.
            virtual = _VirtualClock(sleep)
            clock, sleep = virtual.now, virtual.sleep
        self._clock, self._sleep = clock or time.monotonic, sleep
        self._lock = threading.Lock()
        self._held = HeldTime()
        self._learner = RateLearner(self._clock(), ceiling=max_rate, remembered=remembered,
                                    window=window)

    def acquire(self, cancelled: Callable[[], bool] = lambda: False) -> float | None:
        """Wait for this thread's slot; returns the send time (give it back with the answer),
        or None if `cancelled()` became true while waiting.

        A slot voided by a pause that began while its thread waited is taken again, after the
        pause, so nobody sends during a server's wait and workers resume one slot apart.
        """
        while True:
            with self._lock:
                now = self._clock()
                slot = self._learner.reserve(now)
                self._held.add(now, slot.at)
            while (left := slot.at - self._clock()) > 0:
                if cancelled():
                    return None
                self._sleep(min(left, WAIT_SLICE_S))
            with self._lock:
                if self._learner.valid(slot):
                    return self._clock()

    def accepted(self, sent_at: float, hint: RateLimitHint | None = None) -> None:
        with self._lock:
            self._learner.accepted(sent_at, self._clock(), hint)

    def refused(self, sent_at: float, retry_after: float | None,
                hint: RateLimitHint | None = None) -> float:
        """A 429; returns how long the refused call should wait before taking a slot again."""
        with self._lock:
            return self._learner.refused(sent_at, self._clock(), retry_after, hint)

    def wait(self, seconds: float, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Sleep `seconds` in slices, returning early once `cancelled()`."""
        with self._lock:
            start = self._clock()
            self._held.add(start, start + seconds)
        end = start + seconds
        while (left := end - self._clock()) > 0 and not cancelled():
            self._sleep(min(left, WAIT_SLICE_S))

    # --- what the run reports -----------------------------------------------------------------

    @property
    def learned_rate(self) -> float | None:
        """The limit (calls per second) learned from this run's answers; None if never limited."""
        with self._lock:
            learner = self._learner
            return learner.limit if learner.learned else None

    @property
    def confirmed_rate(self) -> float | None:
        """The learned limit if this run's answers confirmed it (see `RateLearner.confirmed`):
        what is worth remembering for the next run."""
        with self._lock:
            learner = self._learner
            return learner.limit if learner.confirmed else None

    @property
    def window(self) -> float | None:
        with self._lock:
            return self._learner.window

    @property
    def refusals(self) -> int:
        with self._lock:
            return self._learner.refusals

    @property
    def waited_s(self) -> float:
        """Seconds (wall-clock, not per worker) in which the limit held a call back: pacing,
        pauses after a 429, a refused call waiting out its Retry-After."""
        with self._lock:
            return self._held.elapsed(self._clock())

    def stalled(self) -> tuple[float, float]:
        """(seconds since the last accepted call, seconds of the server's pause still ahead)."""
        with self._lock:
            now = self._clock()
            ahead = max(0.0, self._learner.paused_until - now)
            return now - self._learner.last_accepted, ahead


class HeldTime:
    """The union of waiting intervals, as it elapses: several workers waiting at once count
    once, and a wait still ahead is not waited yet. Intervals must be added in order of their
    start (the throttle adds them under its lock, starting now)."""

    def __init__(self) -> None:
        self._closed = 0.0  # intervals that ended before the current one began
        self._current: tuple[float, float] | None = None

    def add(self, start: float, end: float) -> None:
        if end <= start:
            return
        current = self._current
        if current is None or start > current[1]:
            if current is not None:
                self._closed += current[1] - current[0]
            self._current = (start, end)
        else:
            self._current = (current[0], max(current[1], end))

    def elapsed(self, now: float) -> float:
        if self._current is None:
            return self._closed
        start, end = self._current
        return self._closed + max(0.0, min(now, end) - start)


class _VirtualClock:
    """Real time plus every second a stand-in sleep pretended to wait."""

    def __init__(self, sleep: Callable[[float], None]) -> None:
        self._sleep, self._offset = sleep, 0.0

    def now(self) -> float:
        return time.monotonic() + self._offset

    def sleep(self, seconds: float) -> None:
        self._sleep(seconds)
        self._offset += seconds
