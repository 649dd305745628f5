"""Ctrl-C and SIGTERM during a send: stop starting calls, let those in flight finish.

The first signal asks the sender to stop (the report is then written with the rest
`not_sent`); a second one aborts at once, as a person pressing Ctrl-C twice expects.
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
def stop_on_signals(request_stop: Callable[[str], None]) -> Iterator[None]:
    """Route SIGINT/SIGTERM to `request_stop` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous: dict[int, Any] = {}  # whatever signal.signal returned: restored as it was

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        log.warning("%s received: finishing the calls in flight, starting no new ones "
                    "(press Ctrl-C again to abort at once)", name)
        request_stop(f"interrupted by {name}")
        outer = previous.get(signum)
        if callable(outer) and outer is not signal.default_int_handler:
            outer(signum, frame)  # an enclosing stop (the inbox's) hears of it too

    previous.update({sig: signal.signal(sig, handler) for sig in SIGNALS})
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
