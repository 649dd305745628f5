"""Progress of a send: a bar on a terminal, a plain log line every so often otherwise.

A person at a terminal wants an ETA; a scheduler's log wants a few timestamped lines, not
thousands of carriage returns.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import IO

from tqdm import tqdm

from bulk_enroll.model import Status
from bulk_enroll.results import SETTLED_WELL

log = logging.getLogger("bulk_enroll.send.progress")
LOG_EVERY_S = 15.0


class BarProgress:
    """tqdm bar of pairs settled, with calls and errors in its postfix."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stderr
        self._bar: tqdm | None = None
        self._lock = threading.Lock()
        self.calls = self.retries = self.errors = 0
        self.limit = ""

    def start(self, pairs: int, calls: int) -> None:
        self._bar = tqdm(total=pairs, unit="pair", desc="enrolling", file=self._stream,
                         dynamic_ncols=True, leave=True)

    def called(self, *, retry: bool) -> None:
        with self._lock:
            self.calls += 1
            self.retries += retry
            self._postfix()

    def settled(self, pairs: int, status: Status) -> None:
        with self._lock:
            if status not in SETTLED_WELL:
                self.errors += pairs
            if self._bar is not None:
                self._bar.update(pairs)
            self._postfix()

    def limited(self, learned_rate: float | None, waited_s: float) -> None:
        with self._lock:
            self.limit = rate_limit_text(learned_rate, waited_s)
            self._postfix()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def _postfix(self) -> None:
        if self._bar is not None:
            extra = {"limit": self.limit} if self.limit else {}
            self._bar.set_postfix(calls=self.calls, retries=self.retries, errors=self.errors,
                                  **extra, refresh=False)


class LogProgress:
    """A log line at most every `every_s` seconds, and one at the end."""

    def __init__(self, every_s: float = LOG_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._every, self._clock = every_s, clock
        self._lock = threading.Lock()
        self.total = self.done = self.calls = self.retries = self.errors = 0
        self._started = self._last = 0.0
        self.limit = ""

    def start(self, pairs: int, calls: int) -> None:
        self.total = pairs
        self._started = self._last = self._clock()
        log.info("sending %d pairs in %d planned calls", pairs, calls)

    def called(self, *, retry: bool) -> None:
        with self._lock:
            self.calls += 1
            self.retries += retry

    def settled(self, pairs: int, status: Status) -> None:
        with self._lock:
            self.done += pairs
            if status not in SETTLED_WELL:
                self.errors += pairs
            now = self._clock()
            if now - self._last >= self._every:
                self._last = now
                log.info("%s", self.line(now))

    def limited(self, learned_rate: float | None, waited_s: float) -> None:
        with self._lock:
            self.limit = rate_limit_text(learned_rate, waited_s)

    def close(self) -> None:
        log.info("%s", self.line(self._clock()))

    def line(self, now: float) -> str:
        elapsed = max(now - self._started, 1e-9)
        rate = self.done / elapsed
        # Nothing settled yet (or a zero rate): no honest ETA, so say so instead of "nan".
        eta = f"{(self.total - self.done) / rate:.0f} s" if rate > 0 else "-"
        limit = f", server limit {self.limit}" if self.limit else ""
        return (f"progress: {self.done}/{self.total} pairs settled, {self.calls} calls "
                f"({self.retries} retries), {self.errors} not enrolled, {rate:.0f} pairs/s"
                f"{limit}, ETA {eta}")


def rate_limit_text(learned_rate: float | None, waited_s: float) -> str:
    """"~19.5 calls/s, 3 s waited": the learned limit and the time paused on it."""
    rate = f"~{learned_rate:.3g} calls/s" if learned_rate is not None else "not learned yet"
    return f"{rate}, {waited_s:.0f} s waited"


def make_progress(stream: IO[str] | None = None) -> BarProgress | LogProgress:
    """A bar when a person is watching (a terminal), log lines otherwise."""
    stream = stream or sys.stderr
    return BarProgress(stream) if stream.isatty() else LogProgress()
