"""Ctrl-C, SIGTERM or a cancel during a run: stop starting work, let what is in flight finish.

The first signal asks the run to stop (the report is then written with the rest `not_sent`):
during the lookups the read in flight finishes and no other starts, during the send the calls
in flight finish and no new one starts. A second signal aborts at once, as a person pressing
Ctrl-C twice expects. A `CancelToken` is the same stop for a program: another thread (a web
page's Cancel button) calls `cancel()`, and the run stops as it would on SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stop_on_signals(request_stop: Callable[[str], None]) -> Iterator[list[str]]:
    """Route SIGINT/SIGTERM to `request_stop` while the block runs (main thread only); the block
    gets the list of the signals received ("SIGTERM"), for its exit code."""
    received: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous: dict[int, Any] = {}  # whatever signal.signal returned: restored as it was

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if received:
            raise KeyboardInterrupt
        received.append(name)
        log.warning("%s received: stopping; what is in flight finishes, nothing new starts, "
                    "and the report is written (press Ctrl-C again to abort at once)", name)
        request_stop(f"interrupted by {name}")
        outer = previous.get(signum)
        if callable(outer) and outer is not signal.default_int_handler:
            outer(signum, frame)  # an enclosing stop (the inbox's) hears of it too

    previous.update({sig: signal.signal(sig, handler) for sig in SIGNALS})
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class CancelToken:
    """Cancels a run from any thread; the run stops as on SIGTERM (calls in flight finish,
    unsent pairs are `not_sent`, the report is written). Once cancelled, it stays cancelled."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._listeners: list[Callable[[str], None]] = []
        self._cancelled = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._reason is not None

    @property
    def reason(self) -> str | None:
        return self._reason

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask the run to stop; `reason` is what the report says about the pairs not sent."""
        with self._lock:
            if self._reason is not None:
                return
            self._reason = reason
            listeners = list(self._listeners)
        self._cancelled.set()
        log.info("run cancelled (%s): calls in flight finish, no new ones start", reason)
        for listener in listeners:
            listener(reason)

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, less if the run is cancelled meanwhile; True when cancelled."""
        return self._cancelled.wait(seconds)

    def _listen(self, listener: Callable[[str], None]) -> str | None:
        """Register `listener`; returns the reason instead when the token is already cancelled."""
        with self._lock:
            if self._reason is None:
                self._listeners.append(listener)
            return self._reason

    def _forget(self, listener: Callable[[str], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)


@contextmanager
def stop_on_cancel(token: CancelToken, request_stop: Callable[[str], None]) -> Iterator[None]:
    """Route `token.cancel()` to `request_stop` while the block runs (from any thread); a token
    cancelled before the block stops it at once."""
    reason = token._listen(request_stop)
    if reason is not None:
        request_stop(reason)
    try:
        yield
    finally:
        token._forget(request_stop)
