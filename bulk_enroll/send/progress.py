"""Progress of a send: a bar on a terminal, a plain log line every so often otherwise, or
typed events to a callback (the Python API's hook, which a web page streams).

A person at a terminal wants an ETA; a scheduler's log wants a few timestamped lines, not
thousands of carriage returns; a program wants numbers it can show its own way.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import IO, Literal

from tqdm import tqdm

from bulk_enroll.model import SETTLED_WELL, Status

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

    def waited(self, waited_s: float, learned_rate: float | None) -> None:
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

    def waited(self, waited_s: float, learned_rate: float | None) -> None:
        with self._lock:
            self.limit = rate_limit_text(learned_rate, waited_s)

    def close(self) -> None:
        log.info("%s", self.line(self._clock()))

    def line(self, now: float) -> str:
        elapsed = max(now - self._started, 1e-9)
        rate = self.done / elapsed
        left = eta_seconds(self.total, self.done, elapsed)
        eta = f"{left:.0f} s" if left is not None else "-"
        limit = f", server limit {self.limit}" if self.limit else ""
        return (f"progress: {self.done}/{self.total} pairs settled, {self.calls} calls "
                f"({self.retries} retries), {self.errors} not enrolled, {rate:.0f} pairs/s"
                f"{limit}, ETA {eta}")


def rate_limit_text(learned_rate: float | None, waited_s: float) -> str:
    """"~19.5 calls/s, 3 s waited": the learned limit and the time it held sending back."""
    rate = f"~{learned_rate:.3g} calls/s" if learned_rate is not None else "not learned yet"
    return f"{rate}, {waited_s:.0f} s waited"


def make_progress(stream: IO[str] | None = None) -> BarProgress | LogProgress:
    """A bar when a person is watching (a terminal), log lines otherwise."""
    stream = stream or sys.stderr
    return BarProgress(stream) if stream.isatty() else LogProgress()


def eta_seconds(total: int, done: int, elapsed_s: float) -> float | None:
    """Seconds left at the rate so far; None while nothing has settled (no honest ETA)."""
    if done <= 0 or elapsed_s <= 0:
        return None
    return (total - done) * elapsed_s / done


Stage = Literal["read", "resolve", "plan", "send", "report", "done"]


@dataclass(frozen=True)
class ProgressEvent:
    """Where a run is: its stage, and from the send on, its counters.

    `stage` is what the run is doing now: "read" (reading and validating the rows), "resolve"
    (looking names up), "plan", "send", "report" (writing it), "done". The counters only grow
    within a run; the last "send" event and the "done" event have `pairs_settled ==
    pairs_total`. `rate_limit_wait_s` is the time the rate limit held calls back (pacing to
    it, pauses after a 429: wall-clock seconds, however many workers waited), the same figure
    as the summary's `rate_wait_s`; `learned_rate_per_s` the server's limit as learned so far
    (None until a 429 or the server's headers taught it); `eta_s` the seconds left at the rate
    so far (None until something has settled).
    """

    stage: Stage
    rows: int = 0  # input rows (known from "resolve" on)
    pairs_total: int = 0  # pairs this send settles (known from "send" on)
    pairs_settled: int = 0
    not_enrolled: int = 0  # settled pairs that did not end well (failed, unknown, not sent)
    calls_planned: int = 0
    calls_made: int = 0
    retries: int = 0
    rate_limit_wait_s: float = 0.0
    learned_rate_per_s: float | None = None
    elapsed_s: float = 0.0  # since the run started
    eta_s: float | None = None


ProgressCallback = Callable[[ProgressEvent], None]


class EventProgress:
    """`ProgressEvent`s to a callback, for the whole run: its stages, then every call and every
    settled batch of the send.

    The sender calls this from its threads; events are built and delivered under one lock, so
    the callback sees them one at a time and in order (keep it quick: calls wait for it). A
    callback that raises is logged once and not called again: a broken progress display must
    not stop a send.
    """

    def __init__(self, callback: ProgressCallback,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._callback: ProgressCallback | None = callback
        self._clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._send_started: float | None = None
        self._last = ProgressEvent("read")

    def stage(self, stage: Stage, **counts: int) -> None:
        """The run moved on to `stage` (counts such as `rows` that are known by now)."""
        with self._lock:
            self._emit(replace(self._last, stage=stage, **counts))

    def start(self, pairs: int, calls: int) -> None:
        with self._lock:
            self._send_started = self._clock()
            self._emit(replace(self._last, stage="send", pairs_total=pairs, calls_planned=calls))

    def called(self, *, retry: bool) -> None:
        with self._lock:
            last = self._last
            self._emit(replace(last, calls_made=last.calls_made + 1,
                               retries=last.retries + retry))

    def waited(self, waited_s: float, learned_rate: float | None) -> None:
        with self._lock:
            last = self._last
            self._emit(replace(last, rate_limit_wait_s=max(last.rate_limit_wait_s, waited_s),
                               learned_rate_per_s=learned_rate))

    def settled(self, pairs: int, status: Status) -> None:
        with self._lock:
            last = self._last
            self._emit(replace(
                last,
                pairs_settled=last.pairs_settled + pairs,
                not_enrolled=last.not_enrolled + (pairs if status not in SETTLED_WELL else 0),
            ))

    def close(self) -> None:
        """The send is over (the "report" and "done" stages follow)."""

    def _emit(self, event: ProgressEvent) -> None:
        now = self._clock()
        eta = None
        if event.stage == "send" and self._send_started is not None:
            eta = eta_seconds(event.pairs_total, event.pairs_settled, now - self._send_started)
        event = replace(event, elapsed_s=round(now - self._started, 3), eta_s=eta)
        self._last = event
        if self._callback is None:
            return
        try:
            self._callback(event)
        except Exception:
            log.exception("the progress callback failed; no more progress events this run")
            self._callback = None
